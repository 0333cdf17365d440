"""Drawing step of the alignment view: a bar per time-based object, and a tap that opens one.

Expected spans come from pynwb's reading of the fixture file; the tap callback is checked in
the serialized document (it runs in the browser; the Playwright tests click it).
"""

from __future__ import annotations

import numpy as np
import pytest

import nwbscope
from nwbscope.errors import ViewError
from nwbscope.views.data.alignment import alignment
from nwbscope.views.panels import PanelSet
from nwbscope.views.window import TimeWindow
from tests.bokeh_docs import all_models, models
from tests.fixtures import view_units_files as vu
from tests.views_units.test_views_draw_units import source_is_empty


def pynwb_spans(ref) -> dict[str, tuple[float, float]]:
    """Start and end of some objects as pynwb reads them."""
    spikes = np.concatenate([ref.units["spike_times"][i] for i in range(len(ref.units))])
    speed = ref.acquisition["speed"]
    pupil = ref.acquisition["pupil"].timestamps[:]
    return {
        vu.PATHS["units"]: (spikes.min(), spikes.max()),
        vu.PATHS["trials"]: (ref.trials["start_time"][:].min(),
                             ref.trials["stop_time"][:].max()),
        vu.PATHS["epochs"]: (ref.epochs["start_time"][:].min(),
                             ref.epochs["stop_time"][:].max()),
        vu.PATHS["speed"]: (speed.starting_time,
                            speed.starting_time + (len(speed.data) - 1) / speed.rate),
        vu.PATHS["pupil"]: (pupil[0], pupil[-1]),
    }


def test_document_has_the_tap_that_opens_an_object(nwb):
    doc = PanelSet(nwb).open("/", "alignment")
    assert doc.view == "alignment" and not doc.time_based
    named = models(doc.doc)
    assert source_is_empty(named["alignment"])
    assert {"alignment_x_range", "alignment_legend", "y_range", "status"} <= set(named)
    plot = next(m for m in all_models(doc.doc) if m["name"] == "Figure")
    taps = dict(plot["attributes"]["js_event_callbacks"]["entries"])["tap"]
    codes = [c["attributes"]["code"] for c in taps]
    assert any("window.nwbscopeViews.openAt(d.path[i], t)" in code for code in codes)
    source_id = named["alignment"]["id"]
    args = [dict(c["attributes"]["args"]["entries"]) for c in taps]
    assert any(a.get("src", {}).get("id") == source_id for a in args)  # looks up that source


def test_a_bar_per_object_with_its_span(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open("/", "alignment")
    frame = list(panels.frames(doc.panel_id, TimeWindow(0.0, 1.0)))[-1]
    bars = frame.sources["alignment"]
    rows = alignment(nwb).rows
    assert list(bars["path"]) == [r.path for r in rows]
    assert list(bars["type"]) == [r.neurodata_type for r in rows]
    np.testing.assert_array_equal(bars["count"], [r.count for r in rows])
    for where, (start, end) in pynwb_spans(ref).items():
        k = list(bars["path"]).index(where)
        assert (bars["left"][k], bars["right"][k]) == pytest.approx((start, end), abs=1e-6)
    colors = {}
    for kind, color in zip(bars["type"], bars["color"], strict=True):
        assert colors.setdefault(kind, color) == color  # one colour per type
    assert len(set(colors.values())) == len(colors)
    assert str(len(rows)) in frame.status


def test_tap_lookup_finds_one_bar_per_row(nwb):
    """The callback takes the first bar whose bottom..top holds the tap's y: rows must not
    overlap, and each bar's own y must find it (the first path at the top)."""
    panels = PanelSet(nwb)
    doc = panels.open("/", "alignment")
    bars = list(panels.frames(doc.panel_id, TimeWindow(0.0, 1.0)))[-1].sources["alignment"]
    for k, y in enumerate(bars["y"]):
        hits = np.nonzero((y >= bars["bottom"]) & (y <= bars["top"]))[0]
        assert hits.tolist() == [k]
    assert bars["y"][0] == bars["y"].max()


def test_nothing_to_line_up(minimal_nwb):
    with nwbscope.open(minimal_nwb, engine="pyfive") as f:
        with pytest.raises(ViewError, match="no time-based objects"):
            PanelSet(f).open("/", "alignment")
