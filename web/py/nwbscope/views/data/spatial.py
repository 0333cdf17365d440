"""Positions of a SpatialSeries over a window: a bounded path, and the point at the cursor.

Why a bounded number of points: a path plot draws every point it gets, and an hour of
tracking at 100 Hz is 360 000 points; a few thousand show the same path. Two reductions:
``"stride"`` keeps every ``step``-th sample (actual positions, a sharp corner may be cut),
``"mean"`` averages runs of ``step`` consecutive samples (a low-pass: smoother, no sample
dropped, NaN samples of lost tracking ignored). Times come with the points so the page can
colour the path by time and link it to the other panels' cursor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ...errors import ParameterError, ViewError
from ...nwb.values import text
from ..window import TimeWindow
from .series import SeriesTime, window_indices

Method = Literal["stride", "mean"]
READ_ROWS = 1 << 18  # rows read at once when the window is long
AXES = ("x", "y", "z")


@dataclass(frozen=True, eq=False)
class Track:
    """Positions over a window: ``values[k]`` (float64, one column per axis in ``dims``) at
    ``times[k]``. ``step`` samples per point (1: every sample); ``method`` says how a point
    stands for its samples."""

    window: TimeWindow
    times: np.ndarray  # float64 (n,)
    values: np.ndarray  # float64 (n, len(dims))
    dims: tuple[str, ...]
    step: int
    method: Method
    index_range: tuple[int, int]
    unit: str
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class PositionAt:
    """Where the subject was at time ``t`` (for the cursor marker)."""

    t: float
    values: tuple[float, ...]
    index: int  # nearest sample (``nearest``), or the sample before ``t`` (``linear``)
    method: Literal["nearest", "linear"]


def spatial_dims(series: SeriesTime) -> tuple[str, ...]:
    """Axis names of the columns: x, y, z; ``ViewError`` beyond three."""
    n = series.n_channels
    if n > len(AXES):
        raise ViewError(f"{series.path} has {n} columns; a SpatialSeries holds 1 to 3 "
                        "coordinates (x, y, z) per sample.")
    return AXES[:n]


def reference_frame(group: Any) -> str:
    """The SpatialSeries' ``reference_frame`` text (where 0 is, which way is up), or ''."""
    if "reference_frame" not in group:
        return ""
    return text(group["reference_frame"][()]) or ""


def spatial_track(series: SeriesTime, window: TimeWindow, max_points: int | None = None,
                  method: Method = "stride") -> Track:
    """At most ``max_points`` (default ``2 * width_px``) positions over ``window``."""
    dims = spatial_dims(series)
    limit = int(max_points or 2 * window.width_px)
    if limit < 1:
        raise ParameterError("max_points", f"at least one point is needed, got {limit}")
    if method not in ("stride", "mean"):
        raise ParameterError("method", f"use 'stride' or 'mean', not {method!r}")
    i0, i1 = window_indices(series, window)
    warnings = list(series.warnings)
    if i1 == i0:
        warnings.append(f"{series.path} has no samples between {window.start:.6g} and "
                        f"{window.end:.6g} s.")
    step = max(1, math.ceil((i1 - i0) / limit))
    block = step * max(1, READ_ROWS // step)  # blocks hold whole runs of ``step`` rows
    times, values = [], []
    for a in range(i0, i1, block):
        b = min(i1, a + block)
        t, v = series.times(a, b), _values(series, a, b)
        if step == 1:
            times.append(t)
            values.append(v)
        elif method == "stride":
            times.append(t[::step])
            values.append(v[::step])
        else:
            starts = np.arange(0, b - a, step)
            sizes = np.diff(np.append(starts, b - a))
            times.append(np.add.reduceat(t, starts) / sizes)
            values.append(_nanmean_runs(v, starts))
    return Track(
        window=window, times=np.concatenate(times) if times else np.zeros(0),
        values=np.concatenate(values) if values else np.zeros((0, len(dims))), dims=dims,
        step=step, method=method, index_range=(i0, i1), unit=series.unit,
        warnings=tuple(warnings))


def position_at(series: SeriesTime, t: float,
                method: Literal["nearest", "linear"] = "linear") -> PositionAt | None:
    """The position at ``t``: the nearest sample, or linear between the two around ``t``;
    None outside the samples' span (the marker is hidden). Reads two samples."""
    spatial_dims(series)
    if method not in ("nearest", "linear"):
        raise ParameterError("method", f"use 'nearest' or 'linear', not {method!r}")
    n = series.n_samples
    if n == 0 or not math.isfinite(t) or t < series.start or t > series.stop:
        return None
    j = min(series.index_at(t), n - 1)  # first sample at or after t
    lo = max(0, j - 1)
    times, vals = series.times(lo, j + 1), _values(series, lo, j + 1)
    if times[-1] == t or j == 0:
        return PositionAt(t, tuple(float(v) for v in vals[-1]), j, method)
    t0, t1 = float(times[0]), float(times[-1])
    if method == "nearest":
        k = 0 if t - t0 <= t1 - t else 1
        return PositionAt(t, tuple(float(v) for v in vals[k]), lo + k, method)
    w = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
    point = vals[0] + w * (vals[1] - vals[0])
    return PositionAt(t, tuple(float(v) for v in point), lo, method)


def _values(series: SeriesTime, a: int, b: int) -> np.ndarray:
    raw = np.asarray(series.data[a:b]).reshape(b - a, -1)
    return series.values(raw)


def _nanmean_runs(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Mean of each run of rows beginning at ``starts``, NaN rows left out."""
    valid = ~np.isnan(values)
    sums = np.add.reduceat(np.where(valid, values, 0.0), starts, axis=0)
    counts = np.add.reduceat(valid.astype(np.int64), starts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
