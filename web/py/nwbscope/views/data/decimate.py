"""Min/max decimation of traces for a time window drawn ``width_px`` pixels wide.

Why min/max per pixel column, from every sample: a spike one sample wide must show at any
zoom, and a stride would drop it. The window is read in blocks along time (whole HDF5
chunks, or ~2 MB of rows when the data are contiguous), so memory stays bounded for a
window of hours of many channels, and each block is reduced with vectorized numpy
(``np.fmin.reduceat`` over runs of samples that fall in one column): Pyodide is slow per
Python operation, not per array element.

``iter_decimate`` yields partial results while it reads: the blocks are read in a coarse
order first (every 8th, then every 4th, ...), so the first yields already cover the whole
window, and the last yield is the exact result. A caller cancels by no longer iterating.

Column ``k`` of ``width_px`` covers ``[start + k*dt, start + (k+1)*dt)``,
``dt = duration / width_px`` (``pixel_edges``); a sample belongs to the column its time
falls in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ...errors import ParameterError
from ..window import TimeWindow
from .series import SeriesTime, channel_list, window_indices

Mode = Literal["raw", "minmax"]
Reference = Literal["none", "median"]
RAW_FACTOR = 2  # at most this many samples per pixel column: draw the samples themselves
BLOCK_BYTES = 2 * 1024 * 1024  # rows read per block along time (before whole chunks)
BATCH_BYTES = 16 * 1024 * 1024  # a partial result at least every this many bytes read
COARSE_STRIDES = (8, 4, 2, 1)  # the order blocks are read in: every 8th first, then ...


@dataclass(frozen=True, eq=False)
class TraceBlock:
    """Traces of the selected channels over one window, ready to draw.

    ``mode == "raw"``: ``times`` are the sample times (the samples in the window plus one
    neighbour on each side, so lines reach the plot edges); ``lo`` holds the values and
    ``hi`` is the same array. ``mode == "minmax"``: ``times`` are the centres of the
    ``width_px`` pixel columns, ``lo``/``hi`` the minimum/maximum of each column (NaN: no
    sample read there yet, or none at all). Values are float32 in ``unit``, one row per
    entry of ``channels`` (the order asked, duplicates kept).
    """

    mode: Mode
    window: TimeWindow
    times: np.ndarray  # float64 (n,)
    lo: np.ndarray  # float32 (n_channels, n)
    hi: np.ndarray  # float32 (n_channels, n)
    channels: tuple[int, ...]
    index_range: tuple[int, int]  # rows [i0, i1) of data the block covers
    rows_read: tuple[tuple[int, int], ...]  # merged row ranges reduced so far
    complete: bool  # False for the partial results of ``iter_decimate``
    unit: str
    reference: Reference
    warnings: tuple[str, ...]

    @property
    def n_points(self) -> int:
        """Points a channel's line has when drawn (``polyline``)."""
        return self.times.size * (2 if self.mode == "minmax" else 1)

    @property
    def fraction_read(self) -> float:
        """Share of the window's rows reduced so far (1.0 when complete)."""
        total = self.index_range[1] - self.index_range[0]
        done = sum(b - a for a, b in self.rows_read)
        return 1.0 if total <= 0 else min(1.0, done / total)

    def polyline(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """x, y of row ``row``'s line: the samples, or per column (min, max) at its centre."""
        if self.mode == "raw":
            return self.times, self.lo[row]
        x = np.repeat(self.times, 2)
        y = np.column_stack([self.lo[row], self.hi[row]]).reshape(-1)
        return x, y


def pixel_edges(window: TimeWindow) -> np.ndarray:
    """The ``width_px + 1`` column edges (float64); the last is exactly ``window.end``."""
    width = int(window.width_px)
    edges = window.start + np.arange(width + 1, dtype=np.float64) * (window.duration / width)
    edges[-1] = window.end
    return edges


def decimate(series: SeriesTime, window: TimeWindow, channels: Sequence[int] | None = None,
             *, reference: Reference = "none", block_bytes: int = BLOCK_BYTES) -> TraceBlock:
    """The exact result of ``iter_decimate`` (its last yield)."""
    blocks = iter_decimate(series, window, channels, reference=reference,
                           block_bytes=block_bytes, batch_bytes=0)
    return deque(blocks, maxlen=1)[0]


def iter_decimate(series: SeriesTime, window: TimeWindow,
                  channels: Sequence[int] | None = None, *, reference: Reference = "none",
                  block_bytes: int = BLOCK_BYTES,
                  batch_bytes: int = BATCH_BYTES) -> Iterator[TraceBlock]:
    """Partial blocks while reading (``complete=False``), then the exact one.

    A partial block follows each pass of the coarse order and the first ``batch_bytes``
    read, then twice as many, and so on (a long read draws a few times, not hundreds);
    ``batch_bytes=0`` yields the exact block only.

    ``reference="median"`` subtracts, sample by sample, the median across the selected
    channels (common-median reference, for display) before the min/max.
    """
    if reference not in ("none", "median"):
        raise ParameterError("reference", f"use 'none' or 'median', not {reference!r}")
    chans = channel_list(series, channels)
    i0, i1 = window_indices(series, window)
    warnings = list(series.warnings)
    if i1 == i0:
        warnings.append(f"{series.path} has no samples between {window.start:.6g} and "
                        f"{window.end:.6g} s.")
    if reference == "median" and len(set(chans.tolist())) < 2:
        warnings.append("The median reference of a single channel is the channel itself; "
                        "select more channels.")
    reader = _Reader(series, chans)
    common = dict(window=window, channels=tuple(int(c) for c in chans), unit=series.unit,
                  reference=reference, warnings=tuple(warnings))
    if i1 - i0 <= RAW_FACTOR * window.width_px:
        a, b = max(0, i0 - 1), min(series.n_samples, i1 + 1)
        values = _prepared(series, reader.read(a, b), chans, reference, convert=True)
        lo = np.ascontiguousarray(values.T, dtype=np.float32)
        yield TraceBlock(mode="raw", times=series.times(a, b), lo=lo, hi=lo,
                         index_range=(i0, i1), rows_read=((a, b),) if b > a else (),
                         complete=True, **common)
        return
    acc = _Accumulator(series, chans, pixel_edges(window), converted=reference == "median")
    steps = plan_steps(series, i0, i1, reader.row_bytes, block_bytes)
    order = coarse_order(len(steps))
    pass_ends = _pass_ends(len(steps))
    pending = 0
    batch = batch_bytes
    for pos, step in enumerate(order):
        a, b = steps[step]
        raw = reader.read(a, b)
        acc.add(a, b, series.times(a, b),
                _prepared(series, raw, chans, reference, convert=False))
        pending += raw.nbytes
        if batch_bytes > 0 and pos < len(order) - 1 and (
                pos in pass_ends or pending >= batch):
            pending = 0
            batch *= 2  # each partial block costs its drawing: fewer as the read goes on
            yield acc.block(i0, i1, complete=False, **common)
    yield acc.block(i0, i1, complete=True, **common)


def plan_steps(series: SeriesTime, i0: int, i1: int, row_bytes: int,
               block_bytes: int = BLOCK_BYTES) -> list[tuple[int, int]]:
    """Row ranges ``[a, b)`` covering ``[i0, i1)``: whole chunks along time, grouped to about
    ``block_bytes`` (at least one chunk), or ``block_bytes`` of rows for contiguous data."""
    if i1 <= i0:
        return []
    per_block = max(1, int(block_bytes) // max(1, row_bytes))
    if series.chunks:
        rows = int(series.chunks[0])
        step = rows * max(1, per_block // rows)
        first = (i0 // rows) * rows
    else:
        step, first = per_block, i0
    edges = list(range(first + step, i1, step))
    starts = [i0] + edges
    return list(zip(starts, edges + [i1], strict=True))


def coarse_order(n: int) -> list[int]:
    """Indices ``0..n-1``: every 8th first, then the 4th, 2nd and the rest between them."""
    seen: set[int] = set()
    order = []
    for stride in COARSE_STRIDES:
        for i in range(0, n, stride):
            if i not in seen:
                seen.add(i)
                order.append(i)
    return order


def _pass_ends(n: int) -> set[int]:
    """Positions in ``coarse_order(n)`` where one stride's pass ends."""
    ends, count = set(), 0
    for stride in COARSE_STRIDES:
        count = len(range(0, n, stride))
        ends.add(count - 1)
    return ends


def _prepared(series: SeriesTime, raw: np.ndarray, chans: np.ndarray, reference: Reference,
              convert: bool) -> np.ndarray:
    """Rows x channels to reduce: stored numbers (converted after the min/max, which is
    exact as the conversion is monotonic per channel), or values minus the median."""
    if reference == "median":
        values = series.values(raw, chans)
        return values - np.median(values, axis=1, keepdims=True)
    if convert:
        return series.values(raw, chans)
    return raw.astype(np.uint8) if raw.dtype == bool else raw


class _Reader:
    """Reads rows x selected channels, then picks the channels with numpy.

    Contiguous data: whole rows (one byte range per block; the block cache would fetch the
    rest of each row anyway, and h5py reads a column subset row by row). Chunked data: per
    run of adjacent column chunks holding a selected channel, the columns between the first
    and last selected one (only those chunks are read)."""

    def __init__(self, series: SeriesTime, chans: np.ndarray) -> None:
        self.series = series
        self.chans = chans
        self.two_d = len(series.shape) == 2
        self.spans: list[tuple[int, int]] = []
        if self.two_d:
            if not series.chunks:
                chans = np.asarray([0, series.n_channels - 1])
            width = int(series.chunks[1]) if series.chunks else series.n_channels
            groups: list[list[int]] = []
            for c in sorted(set(chans.tolist())):
                if groups and c // width - groups[-1][-1] // width <= 1:
                    groups[-1].append(c)
                else:
                    groups.append([c])
            self.spans = [(g[0], g[-1] + 1) for g in groups]
        cols = sum(b - a for a, b in self.spans) if self.two_d else 1
        self.row_bytes = cols * series.dtype.itemsize
        first = self.spans[0][0] if self.spans else 0
        self.whole = (len(self.spans) == 1 and self.chans.size == cols
                      and bool(np.all(self.chans == np.arange(first, first + cols))))

    def read(self, a: int, b: int) -> np.ndarray:
        data = self.series.data
        if not self.two_d:
            return np.asarray(data[a:b]).reshape(-1, 1)
        if self.whole:  # the channels asked are the columns read, in order: no copy
            c0, c1 = self.spans[0]
            return np.asarray(data[a:b, c0:c1])
        out = np.empty((b - a, self.chans.size), dtype=self.series.dtype)
        for c0, c1 in self.spans:
            part = np.asarray(data[a:b, c0:c1])
            inside = (self.chans >= c0) & (self.chans < c1)
            out[:, inside] = part[:, self.chans[inside] - c0]
        return out


class _Accumulator:
    """Running per-column minima and maxima (float64, ``width x channels``)."""

    def __init__(self, series: SeriesTime, chans: np.ndarray, edges: np.ndarray,
                 converted: bool) -> None:
        self.series = series
        self.chans = chans
        self.edges = edges
        self.converted = converted
        width = edges.size - 1
        self.lo = np.full((width, chans.size), np.inf)
        self.hi = np.full((width, chans.size), -np.inf)
        self.seen = np.zeros(width, dtype=bool)
        self.ranges: list[tuple[int, int]] = []

    def add(self, a: int, b: int, times: np.ndarray, values: np.ndarray) -> None:
        """Fold rows ``[a, b)`` (their times and prepared values) into the columns."""
        self.ranges.append((a, b))
        n = min(times.size, values.shape[0])
        if n == 0:
            return
        times, values = times[:n], values[:n]
        bins = np.searchsorted(self.edges, times, side="right") - 1
        width = self.lo.shape[0]
        keep = (bins >= 0) & (bins < width)
        if not keep.all():
            bins, values = bins[keep], values[keep]
        if bins.size and np.any(np.diff(bins) < 0):  # unsorted timestamps: sort by column
            order = np.argsort(bins, kind="stable")
            bins, values = bins[order], values[order]
        if bins.size == 0:
            return
        starts = np.flatnonzero(np.concatenate(([True], bins[1:] != bins[:-1])))
        cols = bins[starts]
        # NaN-aware fmin/fmax only where NaNs can be (floats: ~3x slower on integers), and
        # along the samples of each channel (the transposed view): the faster axis in numpy
        low, high = (np.fmin, np.fmax) if values.dtype.kind == "f" else (np.minimum, np.maximum)
        mins = low.reduceat(values.T, starts, axis=1).T.astype(np.float64)
        maxs = high.reduceat(values.T, starts, axis=1).T.astype(np.float64)
        self.lo[cols] = np.fmin(self.lo[cols], mins)
        self.hi[cols] = np.fmax(self.hi[cols], maxs)
        self.seen[cols] = True

    def block(self, i0: int, i1: int, complete: bool, **common: Any) -> TraceBlock:
        lo, hi = self.lo, self.hi
        if not self.converted:
            scale = self.series.scale[self.chans][np.newaxis, :]
            with np.errstate(invalid="ignore"):  # inf * 0 in unseen columns: masked below
                lo_v, hi_v = lo * scale + self.series.offset, hi * scale + self.series.offset
            flip = np.broadcast_to(scale < 0, lo_v.shape)
            lo, hi = np.where(flip, hi_v, lo_v), np.where(flip, lo_v, hi_v)
        lo = np.where(self.seen[:, np.newaxis], lo, np.nan)
        hi = np.where(self.seen[:, np.newaxis], hi, np.nan)
        centres = 0.5 * (self.edges[:-1] + self.edges[1:])
        return TraceBlock(
            mode="minmax", times=centres, lo=np.ascontiguousarray(lo.T, dtype=np.float32),
            hi=np.ascontiguousarray(hi.T, dtype=np.float32), index_range=(i0, i1),
            rows_read=_merged(self.ranges), complete=complete, **common)


def _merged(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)
