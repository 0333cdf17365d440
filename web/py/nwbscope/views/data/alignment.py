"""Every time-based object of a file as one row: where it starts and ends in session time.

Why: the first question about a session is whether its streams line up (a camera that
starts 3 s late, spikes sorted from a shorter segment, trials past the recording). One row
per TimeSeries (and subtype), event source, intervals table and Units table, from what the
tree already read plus the first and last timestamps (``read_timebase``); a rate-based series
costs no read at all. Whole columns are read only for tables: start/stop of intervals,
timestamps of an EventsTable, and spike times when a Units table is small (otherwise the
first and last spike of each unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ...errors import NwbscopeError
from ...nwb.tables import Table
from ...nwb.timebase import read_timebase
from ...nwb.tree import NodeInfo
from .columns import column_values, read_ragged
from .events import event_kind
from .walk import is_a, walk_groups

SMALL_READ = 100_000  # values of a column read whole to find its span exactly
RowKind = Literal["series", "events", "intervals", "units"]


@dataclass(frozen=True)
class AlignmentRow:
    """One time-based object: ``start``/``end`` in s (None when unknown, then ``note``
    says why); ``count`` samples, events, intervals or spikes (``count_label``)."""

    path: str
    neurodata_type: str | None
    kind: RowKind
    start: float | None
    end: float | None
    count: int
    count_label: str
    note: str | None = None


@dataclass(frozen=True)
class Alignment:
    rows: tuple[AlignmentRow, ...]
    start: float | None  # earliest start of all rows
    end: float | None  # latest end of all rows


def alignment(nwb: Any) -> Alignment:
    """The rows of every time-based object, in tree order (breadth-first)."""
    rows: list[AlignmentRow] = []
    for info in walk_groups(nwb):
        if not info.neurodata_type:
            continue
        try:
            row = _row(nwb, info)
        except NwbscopeError as exc:  # one unreadable object must not hide the others
            row = AlignmentRow(info.path, info.neurodata_type, "series", None, None, 0, "",
                               f"could not be read: {exc}")
        if row is not None:
            rows.append(row)
    starts = [r.start for r in rows if r.start is not None]
    ends = [r.end for r in rows if r.end is not None]
    return Alignment(tuple(rows), min(starts) if starts else None, max(ends) if ends else None)


def _row(nwb: Any, info: NodeInfo) -> AlignmentRow | None:
    kind = event_kind(nwb, info.path)
    if is_a(nwb, info, "TimeSeries") or kind in ("labeled_events", "timestamps"):
        return _series_row(nwb, info, "events" if kind else "series")
    if is_a(nwb, info, "Units"):
        return _units_row(nwb, info)
    if is_a(nwb, info, "TimeIntervals"):
        return _intervals_row(nwb, info)
    if kind == "events_table":
        return _events_table_row(nwb, info)
    if kind == "annotated_events_table":
        table = Table(nwb.group(info.path))
        times = np.asarray(read_ragged(table, "event_times").values, dtype=np.float64)
        return _span_row(info, "events", times, times, "events")
    return None


def _series_row(nwb: Any, info: NodeInfo, kind: RowKind) -> AlignmentRow:
    base = read_timebase(nwb.group(info.path))
    label = "events" if kind == "events" else "samples"
    if base is None:
        return AlignmentRow(info.path, info.neurodata_type, kind, None, None, 0, label,
                            "no time base (neither timestamps nor starting_time)")
    note = None if base.n_samples else "no samples"
    return AlignmentRow(info.path, info.neurodata_type, kind, base.start, base.stop,
                        base.n_samples, label, note)


def _finite_span(starts: np.ndarray, ends: np.ndarray) -> tuple[float, float] | None:
    starts, ends = starts[np.isfinite(starts)], ends[np.isfinite(ends)]
    if not len(starts):
        return None
    return float(starts.min()), float(max(ends.max(), starts.max()) if len(ends) else
                                      starts.max())


def _span_row(info: NodeInfo, kind: RowKind, starts: np.ndarray, ends: np.ndarray,
              label: str, count: int | None = None, note: str | None = None) -> AlignmentRow:
    span = _finite_span(np.asarray(starts, dtype=np.float64), np.asarray(ends, np.float64))
    count = len(starts) if count is None else count
    if span is None:
        return AlignmentRow(info.path, info.neurodata_type, kind, None, None, count, label,
                            note or f"no {label}")
    return AlignmentRow(info.path, info.neurodata_type, kind, span[0], span[1], count,
                        label, note)


def _intervals_row(nwb: Any, info: NodeInfo) -> AlignmentRow:
    table = Table(nwb.group(info.path))
    if "start_time" not in table.columns:
        return AlignmentRow(info.path, info.neurodata_type, "intervals", None, None,
                            table.n_rows, "intervals", "no start_time column")
    starts = column_values(table, "start_time")
    stops = column_values(table, "stop_time") if "stop_time" in table.columns else starts
    return _span_row(info, "intervals", starts, stops, "intervals")


def _events_table_row(nwb: Any, info: NodeInfo) -> AlignmentRow:
    table = Table(nwb.group(info.path))
    times = np.asarray(column_values(table, "timestamp"), dtype=np.float64)
    ends = times
    if "duration" in table.columns:
        durations = np.asarray(column_values(table, "duration"), dtype=np.float64)
        ends = np.where(np.isfinite(durations), times + durations, times)
    return _span_row(info, "events", times, ends, "events")


def _units_row(nwb: Any, info: NodeInfo) -> AlignmentRow:
    """Spike span of a Units table: exact for a small table; for a big one the first and
    last spike of each unit (NWB writers keep a unit's spikes sorted)."""
    table = Table(nwb.group(info.path))
    note = f"{table.n_rows} units"
    if "spike_times" not in table.columns or not table.columns["spike_times"].ragged:
        return AlignmentRow(info.path, info.neurodata_type, "units", None, None, 0, "spikes",
                            f"{note}, no spike times")
    column = table.columns["spike_times"]
    group = table.group
    data = group[column.path]
    n_spikes = int(data.shape[0])
    if n_spikes <= SMALL_READ:
        times = np.asarray(data[:], dtype=np.float64) if n_spikes else np.zeros(0)
        return _span_row(info, "units", times, times, "spikes", n_spikes, note)
    ends = np.asarray(group[column.index_paths[0]][:], dtype=np.int64)
    begins = np.concatenate([[0], ends[:-1]])
    firsts = [float(data[int(b)]) for b, e in zip(begins, ends, strict=True) if e > b]
    lasts = [float(data[int(e) - 1]) for b, e in zip(begins, ends, strict=True) if e > b]
    return _span_row(info, "units", np.array(firsts), np.array(lasts), "spikes", n_spikes,
                     note)
