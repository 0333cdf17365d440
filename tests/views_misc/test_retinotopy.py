"""The ImagingRetinotopy view: every map equal to pynwb's reading, drawn upright (row 0 at
the top, columns left to right) at its aspect ratio, with its unit and field of view."""

from __future__ import annotations

import numpy as np
import pytest

from nwbscope.views.panels import PanelSet
from nwbscope.views.retinotopy import MAPS
from nwbscope.views.window import TimeWindow
from tests.bokeh_docs import all_models, models
from tests.fixtures import view_misc_files as vm

PATH = vm.MISC["retinotopy"]["path"]
WINDOW = TimeWindow(0.0, 1.0)


def pynwb_maps(ref) -> dict[str, np.ndarray]:
    group = ref.processing["ophys"]["retinotopy"]
    return {name: np.asarray(getattr(group, name)[()]) for name, _ in MAPS}


def test_the_select_lists_every_map(misc) -> None:
    panels = PanelSet(misc)
    doc = panels.open(PATH)
    assert doc.view == "retinotopy" and not doc.time_based
    view = panels.get(doc.panel_id)
    choices = next(o for o in view.options_cached() if o.name == "map").choices
    assert [c for c, _ in choices] == list(vm.RETINOTOPY_MAPS)


@pytest.mark.parametrize("name", vm.RETINOTOPY_MAPS)
def test_each_map_equals_pynwb(misc, ref, name: str) -> None:
    want = pynwb_maps(ref)[name]
    panels = PanelSet(misc)
    doc = panels.open(PATH, options={"map": name})
    frame = list(panels.frames(doc.panel_id, WINDOW))[-1]
    source = frame.sources["picture"]
    image = np.array(source["image"][0])  # glyph rows = screen rows = the stored rows
    np.testing.assert_array_equal(image, want.astype(np.float32))
    rows, cols = want.shape
    assert (source["dw"][0], source["dh"][0]) == (cols, rows)
    assert frame.ranges["image_y"] == (rows, 0.0)  # row 0 at the top
    assert frame.sources["picture_rgba"]["image"] == []
    assert frame.status.startswith(name) and "field of view 2.4 × 3.84 m" in frame.status


def test_figure_keeps_the_aspect_ratio(misc) -> None:
    doc = PanelSet(misc).open(PATH, options={"map": "sign_map"})
    named = models(doc.doc)
    rows, cols = vm.MISC["retinotopy"]["shape"]
    plot = next(m for m in all_models(doc.doc) if "frame_width" in m.get("attributes", {}))
    attrs = plot["attributes"]
    assert attrs["frame_width"] / attrs["frame_height"] == pytest.approx(cols / rows, rel=0.02)
    assert named["image_y"]["attributes"]["start"] == rows
    assert "picture_colors" in named and "option:map" in named
