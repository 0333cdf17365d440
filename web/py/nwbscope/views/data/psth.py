"""Event-aligned views: spikes around events (raster + PSTH) and TimeSeries around events.

Alignment times come from a TimeIntervals column (trial ``start_time``, ``stop_time`` or any
number column, e.g. a response time) or from an event source (``events.read_events``); trials
are grouped by a column (the condition) or by event label. Relative time ``t - event`` is in
``[pre, post)``, with ``pre`` usually negative (``pre=-0.5, post=1.0``).

Why spikes by ``searchsorted``: each unit's sorted spikes are cut at ``event + pre`` and
``event + post`` for all events in one call, so the cost is the spikes that fall in windows,
not units x trials x spikes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ParameterError, ViewError
from .columns import categories
from .events import EventSet, read_events
from .intervals import IntervalsTable
from .series import read_series_time
from .unit_stats import MAX_BINS
from .units import UnitsTable

RASTER_LIMIT = 200_000  # spikes in the aligned raster above which only the PSTH is sent
MAX_TRACE_POINTS = 2_000  # points of the common relative time grid of aligned traces


@dataclass(frozen=True)
class AlignTimes:
    """Trials to align to: ``times[k]`` (s) from row ``rows[k]`` of the source, in group
    ``groups[k]`` (into ``group_labels``)."""

    source: str  # "path:column" or the event source's path
    times: np.ndarray  # float64
    rows: np.ndarray  # int64 row (trial) or event index in the source
    groups: np.ndarray  # int32
    group_labels: tuple[str, ...]
    group_by: str | None = None

    @property
    def n_trials(self) -> int:
        return len(self.times)

    @property
    def display_rows(self) -> np.ndarray:
        """Raster row of each trial: grouped by group, in time within a group."""
        order = np.lexsort((self.times, self.groups))
        rank = np.empty(len(order), dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        return rank


def _grouped(source: str, times: np.ndarray, rows: np.ndarray, values: np.ndarray | None,
             group_by: str | None) -> AlignTimes:
    times = np.asarray(times, dtype=np.float64)
    keep = ~np.isnan(times)
    if values is None:
        groups, labels = np.zeros(len(times), dtype=np.int32), ("all",)
    else:
        cats = categories(values)
        groups, labels = cats.codes, cats.labels
        if np.any(groups[keep] < 0):
            groups = np.where(groups < 0, len(labels), groups).astype(np.int32)
            labels = (*labels, "(none)")
    return AlignTimes(source, times[keep], rows[keep].astype(np.int64), groups[keep],
                      labels, group_by)


def align_to_intervals(nwb: Any, path: str, column: str = "start_time",
                       group_by: str | None = None) -> AlignTimes:
    """One alignment time per row of an intervals table (rows where it is NaN are left out)."""
    table = IntervalsTable(nwb, path)
    info = next((c for c in table.columns if c.name == column), None)
    if info is None or info.kind != "numeric":
        numbers = ", ".join(c.name for c in table.columns if c.kind == "numeric")
        raise ParameterError("align", f"{path} has no number column {column!r} to align to; "
                             f"its number columns are {numbers}")
    times = table.values(column)
    values = table.values(group_by) if group_by else None
    return _grouped(f"{path}:{column}", times, np.arange(len(times)), values, group_by)


def align_to_events(nwb: Any, source: str | EventSet, labels: Any = None,
                    group_by_label: bool = True) -> AlignTimes:
    """The events of a source (those with one of ``labels`` if given), grouped by label."""
    events = read_events(nwb, source) if isinstance(source, str) else source
    rows = np.arange(len(events), dtype=np.int64)
    if labels is not None:
        wanted = {str(v) for v in np.atleast_1d(np.asarray(labels, dtype=object))}
        codes = [i for i, name in enumerate(events.labels) if name in wanted]
        rows = rows[np.isin(events.codes, codes)]
    values = (np.array([events.labels[c] for c in events.codes[rows]], dtype=object)
              if group_by_label else None)
    return _grouped(events.path, events.times[rows], rows, values,
                    "label" if group_by_label else None)


def _window(pre: float, post: float, bin_s: float | None = None) -> int:
    if not (math.isfinite(pre) and math.isfinite(post) and post > pre):
        raise ParameterError("window", f"the aligned window must end after it starts, got "
                             f"[{pre}, {post}] s")
    if bin_s is None:
        return 0
    if not (math.isfinite(bin_s) and bin_s > 0):
        raise ParameterError("bin_s", f"must be a positive number of seconds, got {bin_s}")
    n = max(1, int(round((post - pre) / bin_s)))
    if n > MAX_BINS:
        raise ParameterError("bin_s", f"{n} bins is too many; choose wider bins")
    return n


@dataclass(frozen=True)
class Psth:
    """Spikes of the chosen units around each trial: a raster and a histogram per group.

    ``counts[g, b]``: spikes of all chosen units in bin ``b`` over the trials of group ``g``;
    ``rate_hz`` divides by trials, units and bin width (mean rate of one unit in one trial).
    Raster (when ``raster_complete``): one entry per spike, ``raster_trial`` indexes the
    trials of ``align``, ``raster_y`` is that trial's display row.
    """

    align: AlignTimes
    unit_rows: np.ndarray  # int64 units table rows
    pre: float
    post: float
    edges: np.ndarray  # relative bin edges (s)
    counts: np.ndarray  # int64 (n_groups, n_bins)
    n_trials: np.ndarray  # int64 trials per group
    rate_hz: np.ndarray  # float64 (n_groups, n_bins); NaN for a group without trials
    n_spikes: int  # spikes in all aligned windows
    raster_complete: bool
    raster_trial: np.ndarray  # int32
    raster_y: np.ndarray  # int32
    raster_time: np.ndarray  # float64 relative time (s)
    raster_unit: np.ndarray  # int32 position in unit_rows


def psth(units: UnitsTable, align: AlignTimes, rows: Any = None, pre: float = -0.5,
         post: float = 1.0, bin_s: float = 0.02, raster_limit: int = RASTER_LIMIT) -> Psth:
    """Aligned spikes of ``rows`` (all units by default) in ``[event + pre, event + post)``."""
    n_bins = _window(pre, post, bin_s)
    rows = np.arange(units.n_units) if rows is None else np.atleast_1d(
        np.asarray(rows, dtype=np.int64))
    edges = np.linspace(pre, post, n_bins + 1)
    margin = (post - pre) * 1e-9 + 1e-9  # search a hair wider; the exact cut is on rel time
    events = align.times
    parts_t, parts_trial, parts_unit = [], [], []
    for k, row in enumerate(rows):
        spikes = units.unit_spikes(int(row))
        lo = np.searchsorted(spikes, events + pre - margin, side="left")
        hi = np.searchsorted(spikes, events + post + margin, side="left")
        lengths = hi - lo
        total = int(lengths.sum())
        if not total:
            continue
        trial = np.repeat(np.arange(len(events), dtype=np.int32), lengths)
        picks = np.repeat(lo - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        rel = spikes[picks + np.arange(total)] - events[trial]
        keep = (rel >= pre) & (rel < post)
        parts_t.append(rel[keep])
        parts_trial.append(trial[keep])
        parts_unit.append(np.full(int(keep.sum()), k, dtype=np.int32))
    rel = np.concatenate(parts_t) if parts_t else np.zeros(0)
    trial = np.concatenate(parts_trial) if parts_trial else np.zeros(0, np.int32)
    unit = np.concatenate(parts_unit) if parts_unit else np.zeros(0, np.int32)
    n_groups = len(align.group_labels)
    counts = np.zeros((n_groups, n_bins), dtype=np.int64)
    groups_of_spike = align.groups[trial] if len(trial) else np.zeros(0, np.int32)
    for g in range(n_groups):
        counts[g] = np.histogram(rel[groups_of_spike == g], edges)[0]
    n_trials = np.bincount(align.groups, minlength=n_groups).astype(np.int64)
    width = (post - pre) / n_bins
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = counts / (n_trials[:, None] * max(len(rows), 1) * width)
    rate = np.where(n_trials[:, None] > 0, rate, np.nan)
    complete = len(rel) <= raster_limit
    y = align.display_rows[trial] if len(trial) else np.zeros(0, np.int32)
    empty_i, empty_f = np.zeros(0, np.int32), np.zeros(0)
    return Psth(align, rows, float(pre), float(post), edges, counts, n_trials, rate,
                int(len(rel)), complete,
                trial if complete else empty_i, y if complete else empty_i,
                rel if complete else empty_f, unit if complete else empty_i)


@dataclass(frozen=True)
class AlignedTraces:
    """A TimeSeries channel around each trial, on one relative time grid.

    The grid is ``pre + k * step`` up to ``post``, ``step`` the series' sample period (the
    mean period for timestamps), widened so that there are at most ``MAX_TRACE_POINTS``
    points. Each trial's samples are linearly interpolated onto it (point values, not bin
    averages); grid points outside the trial's first and last sample are NaN, never
    extrapolated. ``mean``/``sem`` per group ignore NaN; ``sem`` is std (ddof 1) / sqrt(n).
    """

    path: str
    channel: int
    unit: str
    align: AlignTimes
    rel_time: np.ndarray  # float64 grid (s)
    traces: np.ndarray  # float64 (n_trials, n_grid), in ``unit``
    mean: np.ndarray  # float64 (n_groups, n_grid)
    sem: np.ndarray  # float64 (n_groups, n_grid); NaN where fewer than 2 trials
    n_valid: np.ndarray  # int64 (n_groups, n_grid) trials with a value there


def aligned_traces(nwb: Any, path: str, align: AlignTimes, pre: float = -0.5,
                   post: float = 1.0, channel: int = 0,
                   max_points: int = MAX_TRACE_POINTS) -> AlignedTraces:
    """The values of one channel of a TimeSeries in ``[event + pre, event + post]``."""
    _window(pre, post)
    series = read_series_time(nwb.group(path))
    if not 0 <= channel < series.n_channels:
        raise ParameterError("channel", f"{path} has channels 0 to {series.n_channels - 1}")
    rate = series.mean_rate
    if not rate:
        raise ViewError(f"{path} has fewer than two samples; there is nothing to align.")
    step = max(1.0 / rate, (post - pre) / max(1, int(max_points) - 1))
    grid = pre + np.arange(int(math.floor((post - pre) / step + 1e-9)) + 1) * step
    traces = np.full((align.n_trials, len(grid)), np.nan)
    channels = np.array([channel])
    for k, event in enumerate(align.times):
        i0 = max(0, series.index_at(event + pre) - 1)  # one sample either side: interpolation
        i1 = min(series.n_samples, series.index_at(event + post) + 1)
        if i1 - i0 < 1:
            continue
        raw = series.data[i0:i1, channel] if len(series.shape) == 2 else series.data[i0:i1]
        values = series.values(np.asarray(raw).reshape(-1), channels)
        rel = series.times(i0, i1) - event
        inside = (grid >= rel[0]) & (grid <= rel[-1])
        traces[k, inside] = np.interp(grid[inside], rel, values)
    n_groups = len(align.group_labels)
    mean = np.full((n_groups, len(grid)), np.nan)
    sem = np.full((n_groups, len(grid)), np.nan)
    n_valid = np.zeros((n_groups, len(grid)), dtype=np.int64)
    for g in range(n_groups):
        block = traces[align.groups == g]
        valid = ~np.isnan(block)
        n = valid.sum(axis=0)
        n_valid[g] = n
        total = np.where(valid, block, 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = total / n
            squares = np.where(valid, (block - m) ** 2, 0.0).sum(axis=0)
            s = np.sqrt(squares / (n - 1)) / np.sqrt(n)
        mean[g] = np.where(n > 0, m, np.nan)
        sem[g] = np.where(n > 1, s, np.nan)
    return AlignedTraces(path, int(channel), series.unit, align, grid, traces, mean, sem,
                         n_valid)
