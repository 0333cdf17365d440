"""Events data step: every kind of event source against what pynwb reads; bounded marks."""

from __future__ import annotations

import numpy as np
import pytest

from nwbscope.errors import ViewError
from nwbscope.views.data.events import event_kind, find_events, read_events
from nwbscope.views.window import TimeWindow
from tests.fixtures import view_units_files as vu


def _labels_of(events):
    return [events.labels[c] for c in events.codes]


def test_find_events_and_kinds(nwb):
    expected = {"annotations": "annotations", "laser": "interval_series",
                "ttl": "labeled_events", "events_table": "events_table",
                "behavioral_events": "behavioral_events"}
    assert sorted(find_events(nwb)) == sorted(vu.PATHS[k] for k in expected)
    for key, kind in expected.items():
        assert event_kind(nwb, vu.PATHS[key]) == kind
    assert event_kind(nwb, vu.PATHS["speed"]) is None


def test_labeled_events(nwb, ref):
    ttl = ref.acquisition["ttl"]
    events = read_events(nwb, vu.PATHS["ttl"])
    np.testing.assert_array_equal(events.times, np.asarray(ttl.timestamps[:], np.float64))
    labels = list(ttl.data__labels)
    assert _labels_of(events) == [labels[i] for i in ttl.data[:]]
    assert np.isnan(events.durations).all()


def test_annotation_series(nwb, ref):
    series = ref.acquisition["annotations"]
    events = read_events(nwb, vu.PATHS["annotations"])
    np.testing.assert_array_equal(events.times, series.timestamps[:])
    assert _labels_of(events) == list(series.data[:])


def test_behavioral_events(nwb, ref):
    container = ref.processing["behavior"]["BehavioralEvents"]
    events = read_events(nwb, vu.PATHS["behavioral_events"])
    assert set(events.labels) == set(container.time_series)
    for name, series in container.time_series.items():
        mine = events.codes == events.labels.index(name)
        np.testing.assert_array_equal(events.times[mine], series.timestamps[:])
        np.testing.assert_array_equal(events.values[mine], series.data[:])


def test_interval_series_pairs_starts_and_stops(nwb, ref):
    series = ref.acquisition["laser"]
    data, times = list(series.data[:]), list(series.timestamps[:])
    expected = []  # a direct walk: each start ends at the next stop of its value
    for i, (value, start) in enumerate(zip(data, times, strict=True)):
        if value > 0:
            stop = next((t for v, t in zip(data[i:], times[i:], strict=True) if v == -value),
                        np.inf)
            expected.append((start, stop - start, str(value)))
    expected.sort()
    events = read_events(nwb, vu.PATHS["laser"])
    got = sorted(zip(events.times, events.durations, _labels_of(events), strict=True))
    assert got == expected
    assert np.isinf(got[-1][1])  # the last start never stops


def test_events_table(nwb, ref):
    table = ref.events["stimulus_onsets"]
    events = read_events(nwb, vu.PATHS["events_table"])
    np.testing.assert_array_equal(events.times, table["timestamp"][:])
    np.testing.assert_array_equal(events.durations, table["duration"][:])
    assert events.label_column == "stimulus"
    assert _labels_of(events) == list(table["stimulus"][:])


def test_marks_in_a_window_include_lasting_events(nwb, ref):
    table = ref.events["stimulus_onsets"]
    times, durations = table["timestamp"][:], table["duration"][:]
    window = TimeWindow(10.5, 21.0)
    events = read_events(nwb, vu.PATHS["events_table"])
    marks = events.marks(window)
    expected = np.nonzero((times < window.end) & (times + durations >= window.start))[0]
    assert times[expected[0]] < window.start  # the first one began before the window
    assert marks.mode == "marks" and marks.n_in_window == len(expected)
    np.testing.assert_array_equal(marks.times, times[expected])
    np.testing.assert_array_equal(marks.durations, durations[expected])


def test_many_marks_become_a_density(nwb, ref):
    ttl = ref.acquisition["ttl"]
    times = np.asarray(ttl.timestamps[:], np.float64)
    codes = np.asarray(ttl.data[:])
    window = TimeWindow(5.0, 45.0, 80)
    inside = (times >= window.start) & (times < window.end)
    events = read_events(nwb, vu.PATHS["ttl"])
    few = events.marks(window, max_marks=int(inside.sum()))
    assert few.mode == "marks" and len(few.times) == inside.sum()
    np.testing.assert_array_equal(few.times, times[inside])
    many = events.marks(window, max_marks=int(inside.sum()) - 1)
    assert many.mode == "density" and many.n_in_window == inside.sum()
    assert str(int(inside.sum())) in many.note
    edges = np.linspace(window.start, window.end, 81)
    for code in range(len(vu.TTL_LABELS)):
        expected = np.histogram(times[inside & (codes == code)], edges)[0]
        np.testing.assert_array_equal(many.counts[code], expected)


def test_not_an_event_source(nwb):
    with pytest.raises(ViewError, match="not an event source"):
        read_events(nwb, vu.PATHS["speed"])
