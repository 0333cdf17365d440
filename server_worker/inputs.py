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

Before either reads a URL, ``probe_input`` reads its first bytes and its size by range (a few
hundred bytes): a 2 GB web page or an input over ``max_input_bytes`` is refused before
anything is downloaded, with the same words at the broker and at the worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from nwbscope.errors import (
    NotFoundError,
    NotHDF5Error,
    NwbscopeError,
    ParameterError,
    _guess_kind,  # what the bytes look like instead: one list of them
)

from .url_policy import UrlPolicy

FIELD = "recording.electrical_series_path"
NOT_SORTABLE = ("SpikeEventSeries",)
#: A server without Range support sends the whole file to the probe: read it only this small.
PROBE_WHOLE_LIMIT = 64 << 10


class InputTooLargeError(NwbscopeError, ValueError):
    """An input over the ``max_input_bytes`` limit (``size`` None: it ran past the limit
    while downloading, though the server said less or nothing)."""

    def __init__(self, size: int | None, limit: int) -> None:
        self.size = size
        self.limit = limit
        said = (f"is {_bytes(size)}" if size is not None
                else "ran past the limit while downloading")
        super().__init__(f"the input {said}, more than the largest input allowed here, "
                         f"{_bytes(limit)} (the max_input_bytes setting).")


class NotNwbInputError(NotHDF5Error):
    """An input whose first bytes are not HDF5's: refused before it is downloaded."""

    def __init__(self, name: str, head: bytes) -> None:
        super().__init__(name, head)
        self.args = (f"input {name} is not an HDF5/NWB file (starts with {head[:16]!r}"
                     f"{_guess_kind(head)}). NWB files are HDF5 files; NWB stored as Zarr is "
                     "not supported yet.",)


def check_size(size: int | None, limit: int) -> None:
    """InputTooLargeError when ``size`` (bytes; None: unknown, passes) is over ``limit``."""
    if size is not None and size > limit:
        raise InputTooLargeError(size, limit)


def probe_input(url: str, policy: UrlPolicy, max_bytes: int, timeout: float = 60.0
                ) -> int | None:
    """The size of the input at ``url`` (None when its server does not say), from ranged
    reads of its first bytes, after ``policy`` allowed each request (redirects included).

    Raises BlockedUrlError (the policy), InputTooLargeError (over ``max_bytes``),
    NotNwbInputError (no HDF5 signature where HDF5 puts one), SourceError (unreachable).
    A server that ignores ``Range`` gives its size only (``Content-Length``); the download
    checks the signature of such an input on its first bytes.
    """
    from nwbscope.errors import NoRangeSupportError
    from nwbscope.h5.superblock import SIGNATURE, find_signature
    from nwbscope.sources.http import HttpSource

    policy.check(url)
    source = HttpSource(url, opener=policy.opener(), timeout=timeout,
                        whole_file_limit=PROBE_WHOLE_LIMIT)
    try:
        head = source.read_range(0, 64)
        size = source.size if source.size_known else None
        check_size(size, max_bytes)
        if head[:8] != SIGNATURE and (size is None or find_signature(source) is None):
            raise NotNwbInputError(source.name, head)
        return size
    except NoRangeSupportError as error:
        check_size(error.size, max_bytes)
        return error.size
    finally:
        source.close()


def _bytes(n: int) -> str:
    """``2.1 GB (2147483648 bytes)``."""
    return f"{n / 1e9:.1f} GB ({n} bytes)" if n >= 1e8 else f"{n / 1e6:.1f} MB ({n} bytes)"


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


def list_electrical_series(source: str | os.PathLike[str], timeout: float = 60.0,
                           policy: UrlPolicy | None = None) -> list[SeriesInfo]:
    """Every sortable ElectricalSeries of a local path or an http(s) URL, in tree order
    (``timeout``: seconds per range request of a URL; ``policy``: checks each request)."""
    import nwbscope
    from nwbscope.nwb.values import dtype_text
    from nwbscope.sources import is_url
    from nwbscope.views.data.walk import find_typed

    target = source if isinstance(source, str) else os.fspath(source)
    options: dict[str, object] = {"timeout": timeout} if is_url(target) else {}
    if policy is not None and is_url(target):
        options["opener"] = policy.opener()
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
