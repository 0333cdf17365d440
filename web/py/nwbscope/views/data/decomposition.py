"""DecompositionSeries (time x channels x bands) as a heatmap of one channel or one band,
reduced to at most one column per pixel of the plot.

Why through ``SeriesTime``: the time base (rate or timestamps, with its odd-file warnings)
and the rows a window covers are the same as for any TimeSeries; only the data are 3-D. So
the group is seen through a small proxy whose ``data`` is the 3-D array flattened to
(time x channels*bands) and whose ``electrodes`` is ``source_channels``: the shared readers
(``read_series_time``, ``read_electrodes``) then work unchanged, and nothing is read twice.

The reduction: the window's rows are read in blocks (only the chosen channel or band), and
each pixel column ``k`` (``[start + k*dt, start + (k+1)*dt)``, as ``decimate.pixel_edges``)
gets the mean or the maximum of its samples; a window with no more samples than pixels keeps
every sample as its own column. A column with no sample is NaN (drawn transparent); NaN
and infinite samples are left out of the mean and the maximum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ...errors import ParameterError, ViewError
from ...nwb.values import text_list
from ..window import TimeWindow
from .decimate import pixel_edges
from .electrodes import read_electrodes
from .series import SeriesTime, read_series_time, window_indices

Axis = Literal["channel", "band"]
Reduce = Literal["mean", "max"]
BLOCK_BYTES = 4 * 1024 * 1024  # rows of the chosen slice read at once


class _FlatData:
    """The 3-D ``data`` seen as (time x channels*bands): what ``read_series_time`` checks."""

    kind = "dataset"

    def __init__(self, data: Any) -> None:
        self._data = data
        n_t, n_c, n_b = (int(n) for n in data.shape)
        self.shape = (n_t, n_c * n_b)
        self.ndim = 2
        self.dtype = data.dtype
        self.attrs = data.attrs
        self.storage = data.storage
        self.path = getattr(data, "path", None)

    def __getitem__(self, selection: Any) -> Any:
        raise ViewError("internal: read the decomposition's 3-D data, not its flat view")


class _Proxy:
    """The series group with ``data`` flattened and ``source_channels`` as ``electrodes``."""

    def __init__(self, group: Any, members: dict[str, Any]) -> None:
        self._group = group
        self._members = members
        self.path = group.path
        self.attrs = group.attrs

    def __contains__(self, name: str) -> bool:
        return name in self._members or name in self._group

    def __getitem__(self, name: str) -> Any:
        return self._members[name] if name in self._members else self._group[name]


@dataclass(frozen=True, eq=False)
class Decomposition:
    """One DecompositionSeries as the view reads it."""

    series: SeriesTime  # time base; ``data`` is the flat proxy (never sliced)
    data: Any  # the 3-D facade dataset
    n_channels: int
    n_bands: int
    band_names: tuple[str, ...]
    band_limits: tuple[tuple[float, float] | None, ...]
    channel_labels: tuple[str, ...]
    metric: str
    unit: str

    def band_label(self, b: int) -> str:
        limits = self.band_limits[b]
        name = self.band_names[b]
        return f"{name} ({limits[0]:g}-{limits[1]:g} Hz)" if limits else name

    def row_labels(self, axis: Axis) -> list[str]:
        """The heatmap's rows: bands when one channel is shown, channels for one band."""
        if axis == "channel":
            return [self.band_label(b) for b in range(self.n_bands)]
        return list(self.channel_labels)


def read_decomposition(nwb: Any, group: Any) -> Decomposition:
    path = str(group.path)
    if "data" not in group or group["data"].kind != "dataset":
        raise ViewError(f"{path} has no 'data' dataset, so there is nothing to plot.")
    data = group["data"]
    if len(data.shape) != 3:
        raise ViewError(f"The data of {path} has shape {tuple(data.shape)}; a "
                        "DecompositionSeries stores time x channels x bands (3-D).")
    n_t, n_c, n_b = (int(n) for n in data.shape)
    members = {"data": _FlatData(data)}
    if "source_channels" in group:  # the schema's name; pynwb 4 writes ``electrodes``
        members["electrodes"] = group["source_channels"]
    proxy = _Proxy(group, members)
    series = read_series_time(proxy)
    labels = read_electrodes(nwb, proxy, n_c).labels
    names, limits = _bands(group, n_b)
    return Decomposition(series, data, n_c, n_b, names, limits, tuple(labels),
                         (text_list(group["metric"][()]) or [""])[0] if "metric" in group
                         else "", series.unit)


def _bands(group: Any, n_bands: int) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """Band names and limits from the ``bands`` table; "band k" where it lacks them."""
    names = [f"band {b}" for b in range(n_bands)]
    limits: list[tuple[float, float] | None] = [None] * n_bands
    if "bands" not in group:
        return tuple(names), tuple(limits)
    bands = group["bands"]
    if "band_name" in bands:
        found = text_list(bands["band_name"][()])
        if len(found) == n_bands:
            names = found
    if "band_limits" in bands:
        values = np.asarray(bands["band_limits"][()], dtype=np.float64)
        if values.shape == (n_bands, 2):
            limits = [(float(a), float(b)) for a, b in values]
    return tuple(names), tuple(limits)


@dataclass(frozen=True, eq=False)
class BandImage:
    """A heatmap: ``values[row, column]`` in the series' unit, rows as ``row_labels``.

    Column ``k`` spans ``[x0 + k*dx, x0 + (k+1)*dx)`` seconds; ``per_column`` is the number
    of samples reduced into each column (0: none, the value is NaN).
    """

    values: np.ndarray  # float64 (rows, columns)
    x0: float
    dx: float
    per_column: np.ndarray  # int64 (columns,)
    index_range: tuple[int, int]
    mode: Literal["samples", "binned"]
    reduce: Reduce


def band_image(dec: Decomposition, window: TimeWindow, axis: Axis, index: int,
               reduce: Reduce = "mean") -> BandImage:
    """The window of one channel (rows: bands) or one band (rows: channels)."""
    limit = dec.n_channels if axis == "channel" else dec.n_bands
    if axis not in ("channel", "band") or not 0 <= index < limit:
        raise ParameterError(axis, f"{dec.series.path} has {limit} {axis}s; there is no "
                             f"{axis} {index}")
    if reduce not in ("mean", "max"):
        raise ParameterError("reduce", f"reduce must be mean or max, got {reduce!r}")
    series = dec.series
    i0, i1 = window_indices(series, window)
    n_rows = dec.n_bands if axis == "channel" else dec.n_channels
    width = int(window.width_px)
    if i1 - i0 <= width:
        return _samples(dec, axis, index, i0, i1, n_rows, reduce)
    edges = pixel_edges(window)
    dx = float(edges[1] - edges[0])
    sums = np.zeros((n_rows, width))
    finite = np.zeros((n_rows, width), dtype=np.int64)  # NaN samples are left out of a mean
    counts = np.zeros(width, dtype=np.int64)
    peak = np.full((n_rows, width), -np.inf)
    step = max(1, BLOCK_BYTES // max(1, n_rows * np.dtype(series.dtype).itemsize))
    for a in range(i0, i1, step):
        b = min(i1, a + step)
        block = _read(dec, axis, index, a, b)  # (rows_read, n_rows)
        cols = np.clip(np.searchsorted(edges, series.times(a, b), side="right") - 1, 0,
                       width - 1)
        starts = np.flatnonzero(np.r_[True, cols[1:] != cols[:-1]])
        hit = cols[starts]
        with np.errstate(invalid="ignore"):
            usable = np.isfinite(block)
            np.add.at(sums.T, hit, np.add.reduceat(np.where(usable, block, 0.0), starts,
                                                   axis=0))
            np.add.at(finite.T, hit, np.add.reduceat(usable.astype(np.int64), starts, axis=0))
            np.fmax.at(peak.T, hit, np.fmax.reduceat(np.where(usable, block, np.nan), starts,
                                                     axis=0))
        np.add.at(counts, hit, np.diff(np.r_[starts, block.shape[0]]))
    with np.errstate(invalid="ignore", divide="ignore"):
        values = sums / finite if reduce == "mean" else peak
    values = np.where(finite > 0, values, np.nan)
    values = np.where(np.isinf(values), np.nan, values)
    return BandImage(values, float(edges[0]), dx, counts, (i0, i1), "binned", reduce)


def _samples(dec: Decomposition, axis: Axis, index: int, i0: int, i1: int, n_rows: int,
             reduce: Reduce) -> BandImage:
    """Few samples: each its own column, as wide as the sample period."""
    series = dec.series
    if i1 <= i0:
        return BandImage(np.zeros((n_rows, 0)), 0.0, 1.0, np.zeros(0, dtype=np.int64),
                         (i0, i1), "samples", reduce)
    times = series.times(i0, i1)
    if series.rate:
        dx = 1.0 / series.rate
    else:
        dx = float(np.median(np.diff(times))) if times.size > 1 else 1.0
    values = _read(dec, axis, index, i0, i1).T
    return BandImage(values, float(times[0] - dx / 2), dx, np.ones(i1 - i0, dtype=np.int64),
                     (i0, i1), "samples", reduce)


def _read(dec: Decomposition, axis: Axis, index: int, a: int, b: int) -> np.ndarray:
    """Rows ``a..b-1`` of the chosen slice in the unit: (rows, bands or channels)."""
    raw = dec.data[a:b, index, :] if axis == "channel" else dec.data[a:b, :, index]
    values = np.asarray(raw, dtype=np.float64).reshape(b - a, -1)
    return values * dec.series.conversion + dec.series.offset
