"""Drawing step of the event-aligned view: Units (raster + PSTH) and TimeSeries (traces).

Expected counts are direct numpy histograms of pynwb's spike trains around pynwb's trial
times; expected traces are ``np.interp`` over the fixture's whole series.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nwbscope
from nwbscope.errors import ParameterError, ViewError
from nwbscope.views.panels import PanelSet
from nwbscope.views.psth import GROUP_PALETTE
from nwbscope.views.window import TimeWindow
from tests.bokeh_docs import models
from tests.fixtures import view_units_files as vu
from tests.views_units.test_views_draw_units import source_is_empty

ANY = TimeWindow(0.0, 1.0)  # the view is not time-based: any window gives the same frame





def frame_of(panels: PanelSet, panel_id: str):
    return list(panels.frames(panel_id, ANY))[-1]


def trains(ref, rows=None) -> list[np.ndarray]:
    rows = range(len(ref.units)) if rows is None else rows
    return [np.asarray(ref.units["spike_times"][r], dtype=np.float64) for r in rows]


def direct_counts(spike_trains, events, pre, post, bin_s) -> np.ndarray:
    edges = np.linspace(pre, post, int(round((post - pre) / bin_s)) + 1)
    counts = np.zeros(len(edges) - 1, dtype=np.int64)
    for event in events:
        for train in spike_trains:
            rel = train - event
            counts += np.histogram(rel[(rel >= pre) & (rel < post)], edges)[0]
    return counts


def test_document_and_defaults(nwb):
    panels = PanelSet(nwb)
    doc = panels.open("/units", "psth")
    assert doc.view == "psth" and not doc.time_based
    named = models(doc.doc)
    for name in ("psth_raster", "psth_bands", "psth"):
        assert source_is_empty(named[name]), name
    assert {"psth_x_range", "psth_trials_range", "option:align", "option:group",
            "option:units", "status"} <= set(named)
    assert "x_range" not in named  # relative time does not follow the shared window
    values = panels.get(doc.panel_id).values
    assert values["align"] == "/intervals/trials:start_time"
    assert values["group"] == "condition"


def test_psth_per_condition_equals_direct_counts(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open("/units", "psth", options={"pre": -0.4, "post": 0.8, "bin_s": 0.04})
    frame = frame_of(panels, doc.panel_id)
    assert frame.ranges["psth_x_range"] == (-0.4, 0.8)
    starts = np.asarray(ref.trials["start_time"][:])
    conditions = np.array(ref.trials["condition"][:], dtype=object)
    rate = frame.sources["psth"]
    all_trains = trains(ref)
    for label, xs, ys, n in zip(rate["label"], rate["xs"], rate["ys"], rate["n_trials"],
                                strict=True):
        condition = str(label).split(" (n=")[0]
        events = starts[conditions == condition]
        assert n == len(events)
        expected = direct_counts(all_trains, events, -0.4, 0.8, 0.04)
        per_bin = ys[::2] * n * len(all_trains) * 0.04  # the step's rate back to counts
        np.testing.assert_allclose(per_bin, expected, rtol=1e-9, atol=1e-9)
        assert (xs[0], xs[-1]) == pytest.approx((-0.4, 0.8))
    raster = frame.sources["psth_raster"]
    assert len(raster["x"]) == direct_counts(all_trains, starts, -0.4, 0.8, 0.04).sum()
    assert frame.ranges["psth_trials_range"] == (-0.5, len(starts) - 0.5)
    bands = frame.sources["psth_bands"]
    for bottom, top, color, n in zip(bands["bottom"], bands["top"], bands["color"],
                                     bands["n_trials"], strict=True):
        assert top - bottom == n  # one row per trial of the group
        inside = (raster["y"] > bottom) & (raster["y"] < top)
        groups = set(raster["group"][inside].tolist())
        assert len(groups) == 1  # a band holds the spikes of one group, in its colour
        assert GROUP_PALETTE[groups.pop()] == color
    assert np.all(np.diff(np.sort(bands["bottom"])) > 0)


def test_one_unit_ungrouped(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open("/units", "psth", options={"units": ["105"], "group": ""})
    frame = frame_of(panels, doc.panel_id)
    rate = frame.sources["psth"]
    assert len(rate["xs"]) == 1 and str(rate["label"][0]).startswith("all")
    starts = np.asarray(ref.trials["start_time"][:])
    expected = direct_counts(trains(ref, [5]), starts, -0.5, 1.0, 0.02)
    np.testing.assert_allclose(rate["ys"][0][::2] * len(starts) * 0.02, expected, atol=1e-9)
    assert "1 units" in frame.status


def test_align_to_events_groups_by_label(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open("/units", "psth")
    assert panels.set_option(doc.panel_id, "align", vu.PATHS["ttl"]) is True
    view = panels.get(doc.panel_id)
    assert view.values["group"] == "label"
    named = models(panels.rebuild(doc.panel_id, None).doc)
    choices = [c[0] for c in named["option:group"]["attributes"]["options"]]
    assert choices == ["", "label"]  # the group-by choices follow the source
    panels.set_option(doc.panel_id, "units", ["110"])
    frame = frame_of(panels, doc.panel_id)
    ttl = ref.acquisition["ttl"]
    labels = list(ttl.data__labels)
    times = np.asarray(ttl.timestamps[:], dtype=np.float64)
    codes = np.asarray(ttl.data[:])
    rate = frame.sources["psth"]
    assert sorted(str(t).split(" (n=")[0] for t in rate["label"]) == sorted(labels)
    for label, ys, n in zip(rate["label"], rate["ys"], rate["n_trials"], strict=True):
        events = times[codes == labels.index(str(label).split(" (n=")[0])]
        expected = direct_counts(trains(ref, [10]), events, -0.5, 1.0, 0.02)
        np.testing.assert_allclose(ys[::2] * n * 0.02, expected, atol=1e-9)


def test_bad_options_name_the_field(nwb):
    panels = PanelSet(nwb)
    doc = panels.open("/units", "psth")
    for name, value in (("align", "/intervals/nothing:start_time"), ("post", -1.0),
                        ("pre", 2.0), ("bin_s", 0), ("units", ["999"]),
                        ("group", "no_such_column")):
        with pytest.raises(ParameterError) as caught:
            panels.set_option(doc.panel_id, name, value)
        assert caught.value.field == name
    values = panels.get(doc.panel_id).values
    assert (values["pre"], values["post"]) == (-0.5, 1.0)  # a refused window is not kept


def test_aligned_traces_of_a_time_series(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open(vu.PATHS["speed"], "psth", options={"channel": "1"})
    named = models(doc.doc)
    for name in ("psth_traces", "psth_mean", "psth_sem"):
        assert source_is_empty(named[name]), name
    frame = frame_of(panels, doc.panel_id)
    traces = frame.sources["psth_traces"]
    starts = np.asarray(ref.trials["start_time"][:])
    assert len(traces["ys"]) == len(starts)
    grid = traces["xs"][0]
    series = ref.acquisition["speed"]
    times = series.starting_time + np.arange(len(series.data)) / series.rate
    values = np.asarray(series.data[:, 1], dtype=np.float64)
    expected = np.array([np.interp(grid + s, times, values) for s in starts])
    np.testing.assert_allclose(np.vstack(traces["ys"]), expected, rtol=1e-6, atol=1e-6)
    conditions = np.array(ref.trials["condition"][:], dtype=object)
    mean = frame.sources["psth_mean"]
    sem = frame.sources["psth_sem"]
    for label, ys, band in zip(mean["label"], mean["ys"], sem["ys"], strict=True):
        block = expected[conditions == str(label).split(" (n=")[0]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            want = np.nanmean(block, axis=0)
            spread = np.nanstd(block, axis=0, ddof=1) / np.sqrt(len(block))
        np.testing.assert_allclose(ys, want, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(band[: len(grid)], want + spread, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(band[len(grid):][::-1], want - spread, rtol=1e-6,
                                   atol=1e-6)


def test_nothing_to_align_to(tmp_path):
    vu.write_unsorted_units(tmp_path / "units_only.nwb")
    with nwbscope.open(tmp_path / "units_only.nwb", engine="pyfive") as f:
        with pytest.raises(ViewError, match="no trials, intervals or events"):
            PanelSet(f).open("/units", "psth")
