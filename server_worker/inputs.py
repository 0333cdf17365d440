"""Which ElectricalSeries an input holds, and which one a job sorts: one place for both.

Why with the browser package (``nwbscope``) and not SpikeInterface or pynwb: the broker calls
this at submit time, in its own process, on a stored file or an http(s) URL. nwbscope reads
the tree by range requests (a member list and object headers per group, the type hierarchy
from ``/specifications``), so a file of gigabytes costs a few reads, and nothing heavy is
imported. The worker's run-time check uses the same two functions on its local copy, so a
job is refused with the same words at submission and at run time.

What counts: groups whose neurodata type is ``ElectricalSeries`` or extends it (an extension
type such as a ``TetrodeSeries`` counts, read through the file's own specifications), but
not ``SpikeEventSeries``: it extends ElectricalSeries but holds snippets around events, not
a continuous signal a sorter can read. Soft links are not followed (a series linked from two
places is listed once); ``/general`` and ``/specifications`` are not searched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from nwbscope.errors import NotFoundError, ParameterError

FIELD = "recording.electrical_series_path"
NOT_SORTABLE = ("SpikeEventSeries",)


@dataclass(frozen=True)
class SeriesInfo:
    """One sortable series: ``path`` as SpikeInterface's ``electrical_series_path`` wants it
    (no leading slash), its type, ``shape`` of ``data`` and ``rate`` (Hz) when it has one."""

    path: str
    neurodata_type: str
    shape: tuple[int, ...]
    dtype: str = ""
    rate: float | None = None

    def describe(self) -> str:
        """``'acquisition/ElectricalSeries' (300000 samples x 16 channels, int16, 30000 Hz)``."""
        parts = []
        if self.shape:
            channels = self.shape[1] if len(self.shape) > 1 else 1
            parts.append(f"{self.shape[0]} samples x {channels} channels")
        if self.dtype:
            parts.append(self.dtype)
        if self.rate:
            parts.append(f"{self.rate:g} Hz")
        if self.neurodata_type != "ElectricalSeries":
            parts.append(self.neurodata_type)
        return f"{self.path!r} ({', '.join(parts)})" if parts else repr(self.path)


def list_electrical_series(source: str | os.PathLike[str], timeout: float = 60.0
                           ) -> list[SeriesInfo]:
    """Every sortable ElectricalSeries of a local path or an http(s) URL, in tree order
    (``timeout``: seconds per range request of a URL)."""
    import nwbscope
    from nwbscope.nwb.values import dtype_text
    from nwbscope.sources import is_url
    from nwbscope.views.data.walk import find_typed

    target = source if isinstance(source, str) else os.fspath(source)
    options = {"timeout": timeout} if is_url(target) else {}
    with nwbscope.open(target, **options) as nwb:
        found: list[SeriesInfo] = []
        for info in find_typed(nwb, "ElectricalSeries"):
            if any(nwb.types.is_a(info.neurodata_type, base, info.namespace)
                   for base in NOT_SORTABLE):
                continue
            group = nwb.group(info.path)
            if "data" not in group or group["data"].kind != "dataset":
                continue
            data = group["data"]
            base = nwb.timebase(info.path)
            found.append(SeriesInfo(
                path=info.path.lstrip("/"),
                neurodata_type=info.neurodata_type or "ElectricalSeries",
                shape=tuple(int(n) for n in data.shape),
                dtype=dtype_text(data.dtype),
                rate=base.rate if base is not None and base.kind == "rate" else None,
            ))
        return found


def resolve_series(series: list[SeriesInfo], wanted: str | None, name: str) -> str:
    """The path to sort: ``wanted`` when it is one of ``series``, else the only series.

    Raises ParameterError on ``recording.electrical_series_path`` naming every series (path,
    shape, rate) when ``wanted`` is not one of them or is empty while there are several, and
    NotFoundError when the file has none.
    """
    if not series:
        error = NotFoundError("ElectricalSeries", name)
        error.args = (f"{name} holds no ElectricalSeries (no continuous extracellular "
                      "recording under acquisition or processing), so there is nothing to "
                      "sort.",)
        raise error
    listed = "; ".join(s.describe() for s in series)
    if wanted and wanted.strip().strip("/"):
        path = wanted.strip().strip("/")
        if path in {s.path for s in series}:
            return path
        raise ParameterError(FIELD, f"{path!r} is not an ElectricalSeries in {name}; it has: "
                             f"{listed}.")
    if len(series) > 1:
        raise ParameterError(FIELD, f"{name} has {len(series)} ElectricalSeries; say which "
                             f"one to sort: {listed}.")
    return series[0].path
