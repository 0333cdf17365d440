"""Which ROI each column of a RoiResponseSeries is, and its traces as a time x ROI heatmap.

Why through the ``rois`` region: column ``k`` of a RoiResponseSeries is the ROI at row
``rois[k]`` of the PlaneSegmentation the region points at (any order, any subset), so labels
are that table's ids at those rows, and the trace of a clicked ROI (a row of the table) is
the column ``k`` with ``rois[k] == row``, not column ``row``.

The heatmap bins the window's samples in equal counts per image column (at most
``width_px`` columns, one per sample when there are fewer), the mean or the maximum of each
bin per ROI, reading at most ``BLOCK_BYTES`` of rows at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import NwbscopeError, ViewError
from ...h5.api import ObjectRef
from ..window import TimeWindow
from .series import SeriesTime, window_indices

BLOCK_BYTES = 8 * 1024 * 1024
SERIES_TYPE = "RoiResponseSeries"


@dataclass(frozen=True)
class RoiRegion:
    """Per column of a series: the table row it is, its id and label."""

    table: str | None  # path of the PlaneSegmentation (None: unknown)
    rows: np.ndarray  # int64 per column (-1: unknown)
    ids: np.ndarray  # int64 per column (the column number when unknown)
    labels: tuple[str, ...]
    notes: tuple[str, ...]

    def column_of(self, row: int) -> int | None:
        """The series column holding table row ``row`` (None: the series has no trace of
        it)."""
        hits = np.nonzero(self.rows == int(row))[0]
        return int(hits[0]) if hits.size else None


def read_roi_region(nwb: Any, group: Any, n_columns: int) -> RoiRegion:
    """The region of a RoiResponseSeries ``group``; column numbers (and a note) when its
    ``rois`` is missing, unreadable or does not fit the data."""
    path = group.path

    def fallback(note: str) -> RoiRegion:
        cols = np.arange(n_columns, dtype=np.int64)
        return RoiRegion(None, np.full(n_columns, -1, dtype=np.int64), cols,
                         tuple(f"col {c}" for c in range(n_columns)), (note,))

    if "rois" not in group:
        return fallback(f"{path} has no 'rois' region; columns are labelled by number.")
    try:
        region = group["rois"]
        rows = np.asarray(region[:], dtype=np.int64).reshape(-1)
        ref = region.attrs.get("table")
        table = nwb.table(ref.path) if isinstance(ref, ObjectRef) else None
    except NwbscopeError as error:
        return fallback(f"The rois of {path} cannot be read ({error}); columns are "
                        "labelled by number.")
    if table is None:
        return fallback(f"The rois of {path} name no table; columns are labelled by number.")
    if rows.size != n_columns:
        return fallback(f"The rois of {path} list {rows.size} ROIs for {n_columns} columns "
                        "of data; columns are labelled by number.")
    if rows.size and (rows.min() < 0 or rows.max() >= table.n_rows):
        return fallback(f"The rois of {path} point past the {table.n_rows} rows of "
                        f"{table.path}; columns are labelled by number.")
    ids = table.ids()[rows].astype(np.int64) if rows.size else rows
    return RoiRegion(table.path, rows, ids, tuple(f"roi {int(i)}" for i in ids), ())


def roi_series_in(nwb: Any, path: str) -> list[str]:
    """The RoiResponseSeries at ``path`` (itself) or directly inside it (a Fluorescence or
    DfOverF), in name order."""
    group = nwb.group(path)
    if nwb.is_a(group, SERIES_TYPE):
        return [group.path]
    found = []
    for name in sorted(group.keys()):
        child = group[name]
        if child.kind == "group" and nwb.is_a(child, SERIES_TYPE):
            found.append(child.path)
    return found


def series_of_table(nwb: Any, table: str) -> list[str]:
    """Every RoiResponseSeries of the file's processing modules and acquisition whose
    ``rois`` point at ``table`` (two levels deep: module / container / series)."""
    found: list[str] = []
    for top in ("/processing", "/acquisition"):
        if top not in nwb:
            continue
        stack = [(nwb.group(top), 0)]
        while stack:
            group, depth = stack.pop()
            for name in sorted(group.keys()):
                child = group[name]
                if child.kind != "group":
                    continue
                if nwb.is_a(child, SERIES_TYPE):
                    ref = child["rois"].attrs.get("table") if "rois" in child else None
                    if isinstance(ref, ObjectRef) and ref.path == table:
                        found.append(child.path)
                elif depth < 2:
                    stack.append((child, depth + 1))
    return sorted(found)


@dataclass(frozen=True, eq=False)
class Heatmap:
    """Values per ROI and image column (``values[roi, col]``, float32 in the unit); column
    ``c`` holds samples ``edges[c]..edges[c + 1] - 1`` and spans ``x0 + c * dw / n`` s."""

    values: np.ndarray
    edges: np.ndarray  # int64 sample indices, n_cols + 1
    x0: float
    dw: float
    how: str


def heatmap(series: SeriesTime, window: TimeWindow, how: str = "mean",
            block_bytes: int = BLOCK_BYTES) -> Heatmap:
    """The window's samples of every column binned to at most ``window.width_px`` image
    columns (equal sample counts), ``how`` = ``"mean"`` or ``"max"`` of each bin."""
    if how not in ("mean", "max"):
        raise ViewError(f"A heatmap bin is the mean or the max, not {how!r}.")
    i0, i1 = window_indices(series, window)
    n = i1 - i0
    n_rois = series.n_channels
    if n <= 0:
        return Heatmap(np.zeros((n_rois, 0), dtype=np.float32), np.array([i0]),
                       window.start, 0.0, how)
    n_cols = int(min(window.width_px, n))
    edges = i0 + (np.arange(n_cols + 1, dtype=np.int64) * n) // n_cols
    out = np.empty((n_rois, n_cols), dtype=np.float32)
    per_col = int(np.max(np.diff(edges)))
    row_bytes = max(1, n_rois * series.dtype.itemsize)
    cols_per_block = max(1, (block_bytes // row_bytes) // per_col)
    for c0 in range(0, n_cols, cols_per_block):
        c1 = min(n_cols, c0 + cols_per_block)
        a, b = int(edges[c0]), int(edges[c1])
        raw = np.asarray(series.data[a:b], dtype=np.float64).reshape(b - a, -1)
        values = series.values(raw)
        starts = (edges[c0:c1] - a).astype(np.intp)  # (reduceat wants intp: int32 in wasm)
        if how == "max":
            out[:, c0:c1] = np.maximum.reduceat(values, starts, axis=0).T
        else:
            sums = np.add.reduceat(values, starts, axis=0)
            counts = np.diff(np.append(starts, b - a))
            out[:, c0:c1] = (sums / counts[:, np.newaxis]).T
    t0 = series.time_of(i0)
    t_last = series.time_of(i1 - 1)
    period = (t_last - t0) / (n - 1) if n > 1 else 1.0 / (series.mean_rate or 1.0)
    return Heatmap(out, edges, t0 - period / 2, (t_last - t0) + period, how)
