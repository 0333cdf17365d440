"""Events of every kind NWB files hold, as one shape: times, optional durations, labels.

The kinds (by neurodata type, from the file's own specifications, so subtypes count):
- ``LabeledEvents``/``TTLs`` (ndx-events 0.2): ``timestamps``, ``data`` indices into the
  ``labels`` attribute (of ``data``, or of the group); ``Events``: timestamps alone;
- ``AnnotationSeries``: text ``data`` per timestamp, the text is the label;
- ``BehavioralEvents``: a container of TimeSeries, each series one label, its data the value;
- ``IntervalSeries``: ``data`` +n where an interval of kind n starts, -n where it stops;
  each start pairs with the next stop of its kind (no stop: the duration is ``inf``);
- ``EventsTable`` (NWB core 2.9+, ndx-events 0.4): a ``timestamp`` column, maybe ``duration``;
  the label is a column chosen by the user (the first text column by default);
  ``AnnotatedEventsTable`` (ndx-events 0.2): a ragged ``event_times`` column, a row per label.

Why read each source whole: an event source has one value per event (thousands, a few
million for TTLs at most) and the window moves often; the ``EventSet`` is kept by the caller.
A window holds at most ``MAX_MARKS`` marks; beyond that the page gets counts per bin and the
number of events, and zooming in brings the marks back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ...errors import ParameterError, ViewError
from ...nwb.tables import Table, is_table
from ...nwb.timebase import read_timebase, sample_times
from ...nwb.values import text_list
from ..window import TimeWindow
from .columns import categories, column_values, read_ragged
from .walk import walk_groups

MAX_MARKS = 5_000
EventKind = Literal["labeled_events", "timestamps", "annotations", "behavioral_events",
                    "interval_series", "events_table", "annotated_events_table"]
_TYPED_KINDS: tuple[tuple[str, EventKind], ...] = (
    ("LabeledEvents", "labeled_events"), ("Events", "timestamps"),
    ("AnnotationSeries", "annotations"), ("IntervalSeries", "interval_series"),
    ("BehavioralEvents", "behavioral_events"), ("EventsTable", "events_table"),
    ("AnnotatedEventsTable", "annotated_events_table"),
)


@dataclass(frozen=True)
class EventMarks:
    """The events of a window: marks, or counts per label and bin when there are too many.

    ``mode == "marks"``: ``times`` (s), ``durations`` (s; NaN for an instant event, inf for an
    interval that never stops), ``codes`` into ``labels`` and ``values`` (or None).
    ``mode == "density"``: ``counts[label, bin]`` over ``edges``; ``note`` says how many.
    """

    path: str
    kind: EventKind
    window: TimeWindow
    n_total: int
    n_in_window: int
    mode: Literal["marks", "density"]
    labels: tuple[str, ...]
    times: np.ndarray
    durations: np.ndarray
    codes: np.ndarray
    values: np.ndarray | None = None
    counts: np.ndarray | None = None
    edges: np.ndarray | None = None
    note: str | None = None


@dataclass(frozen=True)
class EventSet:
    """All events of one source: ``times[i]`` with label ``labels[codes[i]]``."""

    path: str
    kind: EventKind
    times: np.ndarray  # float64 s, in the file's order
    durations: np.ndarray  # float64 s, NaN for an instant
    codes: np.ndarray  # int32 into labels
    labels: tuple[str, ...]
    values: np.ndarray | None = None  # float64 per event (BehavioralEvents data), or None
    label_column: str | None = None  # the EventsTable column the labels came from

    def __len__(self) -> int:
        return len(self.times)

    def in_window(self, window: TimeWindow) -> np.ndarray:
        """Indices of the events in ``[start, end)``, or overlapping it when they last."""
        ends = np.where(np.isnan(self.durations), self.times, self.times + self.durations)
        instant = np.isnan(self.durations)
        inside = (self.times < window.end) & np.where(
            instant, self.times >= window.start, ends >= window.start)
        return np.nonzero(inside)[0]

    def marks(self, window: TimeWindow, max_marks: int = MAX_MARKS,
              max_bins: int | None = None) -> EventMarks:
        picks = self.in_window(window)
        n = len(picks)
        common = dict(path=self.path, kind=self.kind, window=window, n_total=len(self),
                      n_in_window=n, labels=self.labels)
        if n <= max_marks:
            values = None if self.values is None else self.values[picks]
            return EventMarks(mode="marks", times=self.times[picks],
                              durations=self.durations[picks], codes=self.codes[picks],
                              values=values, **common)
        n_bins = max(1, min(int(window.width_px), int(max_bins or window.width_px)))
        edges = np.linspace(window.start, window.end, n_bins + 1)
        times = np.clip(self.times[picks], window.start, window.end)  # ongoing: first bin
        bins = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, n_bins - 1)
        n_labels = max(1, len(self.labels))
        flat = np.bincount(self.codes[picks].astype(np.intp) * n_bins + bins,  # intp: Pyodide
                           minlength=n_labels * n_bins)
        empty = np.zeros(0)
        return EventMarks(mode="density", times=empty, durations=empty,
                          codes=np.zeros(0, dtype=np.int32),
                          counts=flat.reshape(n_labels, n_bins).astype(np.int32), edges=edges,
                          note=f"{n} events in this window, more than {max_marks} marks; "
                               "zoom in to see each one.", **common)


def event_kind(nwb: Any, node: Any) -> EventKind | None:
    """Which kind of event source a group is, or None."""
    node = nwb[node] if isinstance(node, str) else node
    if getattr(node, "kind", None) != "group":
        return None
    for base, kind in _TYPED_KINDS:
        if nwb.is_a(node, base):
            return kind
    if is_table(node) and "timestamp" in node:  # an events table of an unknown extension
        return "events_table"
    return None


def find_events(nwb: Any) -> list[str]:
    """Paths of every event source in the file."""
    return [info.path for info in walk_groups(nwb)
            if info.neurodata_type and event_kind(nwb, info.path)]


def _floats(dataset: Any) -> np.ndarray:
    return np.asarray(dataset[:], dtype=np.float64) if dataset.shape[0] else np.zeros(0)


def _with_labels(values: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Categories of the values; a missing value gets the label ``(none)``."""
    cats = categories(values)
    codes, labels = cats.codes, cats.labels
    if np.any(codes < 0):
        codes = np.where(codes < 0, len(labels), codes).astype(np.int32)
        labels = (*labels, "(none)")
    return codes, labels


def read_events(nwb: Any, path: str, label_column: str | None = None) -> EventSet:
    """Every event of the source at ``path``; ``label_column`` picks an EventsTable's labels."""
    group = nwb.group(path)
    kind = event_kind(nwb, group)
    if kind is None:
        raise ViewError(f"{path} is not an event source (LabeledEvents, AnnotationSeries, "
                        "BehavioralEvents, IntervalSeries or an EventsTable).")
    reader = {"labeled_events": _labeled, "timestamps": _labeled,
              "annotations": _annotations, "behavioral_events": _behavioral,
              "interval_series": _interval_series, "events_table": _events_table,
              "annotated_events_table": _annotated_table}[kind]
    return reader(nwb, group, path, kind, label_column)


def _labeled(nwb: Any, group: Any, path: str, kind: EventKind, _: Any) -> EventSet:
    times = _floats(group["timestamps"])
    instant = np.full(len(times), np.nan)
    if kind == "timestamps" or "data" not in group:
        return EventSet(path, kind, times, instant, np.zeros(len(times), np.int32),
                        (group.name,))
    data = group["data"]
    names = text_list(data.attrs.get("labels", group.attrs.get("labels")))
    indices = np.asarray(data[:], dtype=np.int64) if data.shape[0] else np.zeros(0, np.int64)
    if len(indices) != len(times):
        raise ViewError(f"{path} has {len(times)} timestamps but {len(indices)} labels; the "
                        "file is inconsistent.")
    unknown = sorted({int(i) for i in indices if not 0 <= i < len(names)})
    labels = (*names, *(str(i) for i in unknown))  # an index without a label shows itself
    codes = indices.copy()
    for k, value in enumerate(unknown):
        codes[indices == value] = len(names) + k
    return EventSet(path, kind, times, instant, codes.astype(np.int32), labels)


def _series_times(group: Any, path: str) -> np.ndarray:
    base = read_timebase(group)
    if base is None:
        raise ViewError(f"{path} has neither timestamps nor a starting time and rate, so its "
                        "events cannot be placed in time.")
    return sample_times(group, 0, base.n_samples)


def _annotations(nwb: Any, group: Any, path: str, kind: EventKind, _: Any) -> EventSet:
    times = _series_times(group, path)
    data = group["data"]
    texts = np.asarray(data[:], dtype=object) if data.shape[0] else np.zeros(0, object)
    codes, labels = _with_labels(texts[: len(times)])
    return EventSet(path, kind, times, np.full(len(times), np.nan), codes, labels)


def _behavioral(nwb: Any, group: Any, path: str, kind: EventKind, _: Any) -> EventSet:
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    names: list[str] = []
    for info in nwb.children(path):
        if info.kind != "group" or not nwb.is_a(info.path, "TimeSeries"):
            continue
        series = nwb.group(info.path)
        base = read_timebase(series)
        if base is None:
            continue
        times = sample_times(series, 0, base.n_samples)
        data = series["data"]
        values = np.full(len(times), np.nan)
        if len(data.shape) == 1 and data.dtype.kind in "iufb" and data.shape[0]:
            values[: min(len(times), data.shape[0])] = np.asarray(
                data[: len(times)], dtype=np.float64)
        parts.append((times, values))
        names.append(info.name)
    if not parts:
        return EventSet(path, kind, np.zeros(0), np.zeros(0), np.zeros(0, np.int32), ())
    times = np.concatenate([p[0] for p in parts])
    codes = np.repeat(np.arange(len(parts), dtype=np.int32), [len(p[0]) for p in parts])
    values = np.concatenate([p[1] for p in parts])
    return EventSet(path, kind, times, np.full(len(times), np.nan), codes, tuple(names),
                    values)


def _interval_series(nwb: Any, group: Any, path: str, kind: EventKind, _: Any) -> EventSet:
    times = _series_times(group, path)
    data = group["data"]
    marks = np.asarray(data[: len(times)], dtype=np.int64) if data.shape[0] else np.zeros(0)
    kinds = sorted({int(v) for v in marks if v > 0})
    starts, durations, codes = [], [], []
    for code, value in enumerate(kinds):
        on = times[marks == value]
        off = np.sort(times[marks == -value])
        nxt = np.searchsorted(off, on, side="left")
        stop = np.full(len(on), np.inf)
        paired = nxt < len(off)
        stop[paired] = off[nxt[paired]]
        starts.append(on)
        durations.append(stop - on)
        codes.append(np.full(len(on), code, dtype=np.int32))
    if not kinds:
        return EventSet(path, kind, np.zeros(0), np.zeros(0), np.zeros(0, np.int32), ())
    start = np.concatenate(starts)
    order = np.argsort(start, kind="stable")
    return EventSet(path, kind, start[order], np.concatenate(durations)[order],
                    np.concatenate(codes)[order], tuple(str(v) for v in kinds))


def _events_table(nwb: Any, group: Any, path: str, kind: EventKind,
                  label_column: str | None) -> EventSet:
    table = Table(group)
    if "timestamp" not in table.columns:
        raise ViewError(f"The events table {path} has no timestamp column.")
    times = np.asarray(column_values(table, "timestamp"), dtype=np.float64)
    durations = np.full(len(times), np.nan)
    if "duration" in table.columns:
        durations = np.asarray(column_values(table, "duration"), dtype=np.float64)
    if label_column is None:
        label_column = next((c.name for c in table.columns.values()
                             if c.dtype == "str" and not c.ragged), None)
    if label_column is None:
        return EventSet(path, kind, times, durations, np.zeros(len(times), np.int32),
                        (group.name,))
    if label_column not in table.columns:
        raise ParameterError("label", f"{path} has no column {label_column!r}")
    codes, labels = _with_labels(column_values(table, label_column))
    return EventSet(path, kind, times, durations, codes, labels, label_column=label_column)


def _annotated_table(nwb: Any, group: Any, path: str, kind: EventKind, _: Any) -> EventSet:
    table = Table(group)
    ragged = read_ragged(table, "event_times")
    names = (column_values(table, "label") if "label" in table.columns
             else table.ids().astype(str))
    times = np.asarray(ragged.values, dtype=np.float64)
    rows = np.repeat(np.arange(table.n_rows),
                     np.diff(np.concatenate([[0], ragged.ends])).astype(np.intp))
    return EventSet(path, kind, times, np.full(len(times), np.nan), rows.astype(np.int32),
                    tuple(str(n) for n in names))
