"""Drawing steps of the intervals and events views, through ``PanelSet``.

Expected starts, stops, labels and times come from pynwb's reading of the fixture file (and
for the IntervalSeries, the fixture's own on/off recipe, which pynwb leaves unpaired).
"""

from __future__ import annotations

import numpy as np
import pytest

from nwbscope.errors import ParameterError
from nwbscope.views.intervals import pack_lanes
from nwbscope.views.panels import PanelSet
from nwbscope.views.window import TimeWindow
from tests.bokeh_docs import all_models, models
from tests.fixtures import view_units_files as vu
from tests.views_units.test_views_draw_units import source_is_empty

WHOLE = TimeWindow(0.0, vu.DURATION, 600)





def frames(panels: PanelSet, panel_id: str, window: TimeWindow):
    return list(panels.frames(panel_id, window))


# -- intervals ---------------------------------------------------------------------------------
def test_trials_bars_and_table(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open(vu.PATHS["trials"])
    named = models(doc.doc)
    assert source_is_empty(named["intervals"])
    assert named["intervals_table"]["name"] == "DataTable"
    assert {"x_range", "cursor", "status", "option:color_by", "intervals_legend"} <= set(named)
    frame = frames(panels, doc.panel_id, TimeWindow(0.0, 10.0))[-1]
    bars = frame.sources["intervals"]
    trials = ref.trials
    np.testing.assert_array_equal(bars["left"], trials["start_time"][:])  # small: all rows
    np.testing.assert_array_equal(bars["right"], trials["stop_time"][:])
    np.testing.assert_array_equal(bars["col_response_time"], trials["response_time"][:])
    assert list(bars["col_condition"]) == list(trials["condition"][:])
    assert list(bars["color_label"]) == list(trials["condition"][:])  # coloured by condition
    by_label = {}
    for label, color in zip(bars["color_label"], bars["color"], strict=True):
        assert by_label.setdefault(label, color) == color
    assert len(set(by_label.values())) == len(by_label)
    in_window = np.sum((trials["start_time"][:] < 10.0) & (trials["stop_time"][:] >= 0.0))
    assert frame.status.startswith(f"{in_window} of {len(trials)}")
    assert {len(v) for v in bars.values()} == {len(trials)}


def test_a_small_table_is_sent_once_per_document(nwb):
    panels = PanelSet(nwb)
    doc = panels.open(vu.PATHS["trials"])
    assert "intervals" in frames(panels, doc.panel_id, TimeWindow(0.0, 10.0))[-1].sources
    assert frames(panels, doc.panel_id, TimeWindow(10.0, 20.0))[-1].sources == {}
    unfinished = panels.frames(doc.panel_id, TimeWindow(20.0, 30.0))
    assert panels.set_option(doc.panel_id, "color_by", "response_time") is True
    panels.rebuild(doc.panel_id, None)
    assert "intervals" in next(unfinished).sources  # taken, superseded, never posted ...
    unfinished.close()
    frame = frames(panels, doc.panel_id, TimeWindow(20.0, 30.0))[-1]
    assert "intervals" in frame.sources  # ... so the new document still gets the rows


def test_numeric_colour_and_colour_bar(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open(vu.PATHS["trials"], options={"color_by": "response_time"})
    assert any(m["name"] == "ColorBar" for m in all_models(doc.doc))
    bars = frames(panels, doc.panel_id, WHOLE)[-1].sources["intervals"]
    np.testing.assert_array_equal(bars["color_value"], ref.trials["response_time"][:])
    with pytest.raises(ParameterError) as caught:
        panels.set_option(doc.panel_id, "color_by", "start_times")
    assert caught.value.field == "color_by"


def test_epochs_tags_and_lanes(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open(vu.PATHS["epochs"])
    bars = frames(panels, doc.panel_id, WHOLE)[-1].sources["intervals"]
    epochs = ref.epochs
    np.testing.assert_array_equal(bars["left"], epochs["start_time"][:])
    assert list(bars["col_tags"]) == [", ".join(t) for t in epochs["tags"][:]]
    assert list(bars["color_label"]) == list(bars["col_tags"])  # first text column
    assert set(bars["bottom"].tolist()) == {0.12}  # epochs do not overlap: one lane


def test_overlapping_intervals_get_their_own_lanes():
    start = np.array([0.0, 1.0, 2.0, 5.0, 5.5, np.nan, 9.0])
    stop = np.array([3.0, 4.0, 2.5, 6.0, 7.0, np.nan, np.nan])
    lanes = pack_lanes(start, stop)
    ends = np.where(np.isnan(stop), start, stop)
    timed = np.nonzero(~np.isnan(start))[0]
    for a in timed:
        for b in timed[timed > a]:
            if lanes[a] == lanes[b]:  # one lane: one after the other
                assert max(start[a], start[b]) >= min(ends[a], ends[b])
    assert lanes.max() == 2  # 0-3, 1-4 and 2-2.5 overlap at 2.0
    assert pack_lanes(start, stop, max_lanes=2).max() == 1


# -- events ------------------------------------------------------------------------------------
def test_labeled_events_marks(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open(vu.PATHS["ttl"])
    named = models(doc.doc)
    for name in ("event_marks", "event_bars", "event_density"):
        assert source_is_empty(named[name]), name
    window = TimeWindow(10.0, 20.0)
    frame = frames(panels, doc.panel_id, window)[-1]
    marks = frame.sources["event_marks"]
    ttl = ref.acquisition["ttl"]
    labels = list(ttl.data__labels)
    times = np.asarray(ttl.timestamps[:], dtype=np.float64)
    codes = np.asarray(ttl.data[:])
    inside = (times >= 10.0) & (times < 20.0)
    for code, label in enumerate(labels):
        mine = marks["x"][marks["label"] == label]
        np.testing.assert_array_equal(np.sort(mine), np.sort(times[inside & (codes == code)]))
        assert set(marks["y"][marks["label"] == label].tolist()) <= {code}
    assert len(marks["x"]) == inside.sum() and frame.sources["event_bars"]["left"].size == 0
    ticks = named["event_marks"]  # the axis names each row by its label
    assert ticks and _axis_labels(doc.doc) == {str(i): label for i, label in enumerate(labels)}


def test_many_events_become_a_density(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open(vu.PATHS["ttl"], options={"max_marks": 100})
    frame = frames(panels, doc.panel_id, WHOLE)[-1]
    assert frame.sources["event_marks"]["x"].size == 0 and frame.notes
    rows = np.vstack(frame.sources["event_density"]["image"][0])
    codes = np.asarray(ref.acquisition["ttl"].data[:])
    np.testing.assert_array_equal(rows.sum(axis=1), np.bincount(codes, minlength=3))
    assert frame.sources["event_density"]["dh"].tolist() == [3.0]
    zoomed = frames(panels, doc.panel_id, TimeWindow(0.0, 2.0))[-1]
    assert zoomed.sources["event_marks"]["x"].size > 0
    assert zoomed.sources["event_density"]["x"].size == 0


def test_interval_series_as_bars(nwb):
    panels = PanelSet(nwb)
    doc = panels.open(vu.PATHS["laser"])
    window = TimeWindow(0.0, 55.0)
    bars = frames(panels, doc.panel_id, window)[-1].sources["event_bars"]
    on_off = list(zip(vu.LASER_DATA, vu.LASER_TIMES, strict=True))
    expected = []
    for k, (value, t) in enumerate(on_off):
        if value > 0:
            stop = next((u for v, u in on_off[k + 1:] if v == -value), window.end)
            expected.append((t, stop, str(value)))
    got = sorted(zip(bars["left"].tolist(), bars["right"].tolist(), bars["label"].tolist(),
                     strict=True))
    assert got == sorted(expected)  # the last one never stops: drawn to the window's end
    assert np.isinf(bars["duration"][bars["left"] == 50.0]).all()


def test_events_table_labels_and_durations(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open(vu.PATHS["events_table"])
    assert panels.get(doc.panel_id).values["label"] == "stimulus"
    bars = frames(panels, doc.panel_id, WHOLE)[-1].sources["event_bars"]
    table = ref.events["stimulus_onsets"]
    np.testing.assert_array_equal(bars["left"], table["timestamp"][:])
    np.testing.assert_allclose(bars["right"] - bars["left"], table["duration"][:])
    assert list(bars["label"]) == list(table["stimulus"][:])
    for name, value in (("label", "timestamp"), ("max_marks", 1)):
        with pytest.raises(ParameterError) as caught:
            panels.set_option(doc.panel_id, name, value)
        assert caught.value.field == name


def test_behavioral_events_values(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open(vu.PATHS["behavioral_events"])
    marks = frames(panels, doc.panel_id, WHOLE)[-1].sources["event_marks"]
    container = ref.processing["behavior"]["BehavioralEvents"]
    for name in ("licks", "rewards"):
        series = container.time_series[name]
        np.testing.assert_array_equal(np.sort(marks["x"][marks["label"] == name]),
                                      series.timestamps[:])
        np.testing.assert_array_equal(marks["value"][marks["label"] == name],
                                      series.data[:])


def _axis_labels(doc: str) -> dict[str, str]:
    """The y axis' tick label overrides of an events panel."""
    for model in all_models(doc):
        if model["name"] == "LinearAxis":
            overrides = model["attributes"].get("major_label_overrides")
            if overrides:
                return {str(k): v for k, v in overrides["entries"]}
    return {}
