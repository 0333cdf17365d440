"""The probe view: the layout against pynwb's electrodes table, colours, the index layout of
electrodes without coordinates, and a probe selection becoming an ElectricalSeries' channels.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

import nwbscope
from nwbscope.views.data.probe import INDEX_AXES, choose_axes, read_layout
from nwbscope.views.panels import PanelSet
from nwbscope.views.probe import PROBE_SOURCE, SELECT_JS
from nwbscope.views.window import TimeWindow
from tests.bokeh_docs import all_models, models
from tests.fixtures import view_probe_files as vp

ELECTRODES = vp.PATHS["electrodes"]
SERIES = vp.PATHS["series"]
WINDOW = TimeWindow(0.0, 1.0, 400)


def probe_frame(panels: PanelSet, panel_id: str):
    frames = list(panels.frames(panel_id, WINDOW))
    assert len(frames) == 1 and frames[0].complete
    return frames[0]


def test_layout_is_the_electrodes_rel_coordinates(nwb, ref):
    table = ref.electrodes.to_dataframe()
    layout = read_layout(nwb, ELECTRODES)
    assert layout.axes == ("rel_x", "rel_y") and layout.measured and not layout.notes
    np.testing.assert_array_equal(layout.ids, table.index.to_numpy())
    np.testing.assert_array_equal(layout.x, table["rel_x"].to_numpy())
    np.testing.assert_array_equal(layout.y, table["rel_y"].to_numpy())
    assert list(layout.groups) == [g.name for g in table["group"]]
    assert list(layout.locations) == list(table["location"])
    for name in ("x", "y", "z"):
        np.testing.assert_array_equal(layout.coordinates[name], table[name].to_numpy())


def test_probe_frame_colours_by_group_and_location(nwb, ref):
    table = ref.electrodes.to_dataframe()
    panels = PanelSet(nwb)
    doc = panels.open(ELECTRODES)
    assert doc.view == "probe" and not doc.time_based
    src = probe_frame(panels, doc.panel_id).sources[PROBE_SOURCE]
    np.testing.assert_array_equal(src["row"], np.arange(len(table)))
    np.testing.assert_array_equal(src["id"], table.index.to_numpy())
    for by, values in (("group", [g.name for g in table["group"]]),
                       ("location", list(table["location"]))):
        panels.set_option(doc.panel_id, "color_by", by)
        src = probe_frame(panels, doc.panel_id).sources[PROBE_SOURCE]
        assert list(src["label"]) == values
        by_value: dict[str, set[str]] = {}
        for value, color in zip(values, src["color"], strict=True):
            by_value.setdefault(value, set()).add(color)
        assert all(len(c) == 1 for c in by_value.values())  # one colour per value
        assert len({c.pop() for c in by_value.values()}) == len(set(values))  # distinct


def test_probe_document_sends_the_selection_to_the_page(nwb):
    doc = PanelSet(nwb).open(ELECTRODES)
    named = models(doc.doc)
    assert {PROBE_SOURCE, "status", "option:color_by"} <= set(named)
    callbacks = [m for m in all_models(doc.doc) if m.get("name") == "CustomJS"
                 and m["attributes"].get("code") == SELECT_JS]
    assert len(callbacks) == 1
    args = dict(callbacks[0]["attributes"]["args"]["entries"])
    assert args["table"] == ELECTRODES and args["panel"] == doc.panel_id
    tools = {m["name"] for m in all_models(doc.doc)}
    assert {"BoxSelectTool", "TapTool", "HoverTool"} <= tools


def test_electrodes_without_coordinates_use_an_index_layout(bare, engine):
    with nwbscope.open(bare, engine=engine) as f:
        layout = read_layout(f, ELECTRODES)
        panels = PanelSet(f)
        doc = panels.open(ELECTRODES)
        frame = probe_frame(panels, doc.panel_id)
    assert layout.axes == INDEX_AXES and not layout.measured
    assert "no usable coordinates" in layout.notes[0]
    np.testing.assert_array_equal(layout.x, np.zeros(6))
    np.testing.assert_array_equal(layout.y, np.arange(6))
    assert frame.notes == layout.notes


def test_brain_coordinates_when_rel_is_missing(path, tmp_path, engine):
    """Without rel_x/rel_y the two varying axes of x, y, z are drawn (z is constant)."""
    copy = tmp_path / "no_rel.nwb"
    shutil.copy(path, copy)
    with h5py.File(copy, "a") as f:
        group = f[ELECTRODES]
        del group["rel_x"], group["rel_y"]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["colnames"]]
        group.attrs["colnames"] = [n for n in names if not n.startswith("rel_")]
    with nwbscope.open(copy, engine=engine) as f:
        layout = read_layout(f, ELECTRODES)
    assert layout.axes == ("x", "y")
    np.testing.assert_array_equal(layout.x, [vp.xyz(r)[0] for r in range(vp.N_ELECTRODES)])
    np.testing.assert_array_equal(layout.y, [vp.xyz(r)[1] for r in range(vp.N_ELECTRODES)])


def test_choose_axes_names_why_it_cannot():
    nan = np.full(3, np.nan)
    axes, notes = choose_axes({"x": nan, "y": nan, "z": nan}, 3)
    assert axes is None and "NaN" in notes[0]
    axes, notes = choose_axes({"x": np.zeros(3), "y": np.zeros(3)}, 3)
    assert axes is None and "do not vary" in notes[0]
    axes, _ = choose_axes({"x": np.zeros(3), "y": np.array([1.0, 2, 3]), "z": np.ones(3)}, 3)
    assert axes == ("x", "y")
    axes, _ = choose_axes({"x": np.zeros(3), "y": np.array([1.0, 2, 3]),
                           "z": np.array([0.0, 5, 9])}, 3)
    assert axes == ("y", "z")


# -- the probe's selection in the traces ----------------------------------------------------
def shown_channels(panels: PanelSet, panel_id: str) -> list[int]:
    frame = list(panels.frames(panel_id, WINDOW))[-1]
    return [int(c) for c in frame.sources["traces"]["channel"]]


@pytest.mark.parametrize("rows", [(2, 3, 9), (10,), (0, 1, 5, 15), tuple(range(16))])
def test_probe_rows_become_the_series_channels(nwb, ref, rows):
    series_rows = list(ref.acquisition["es_subset"].electrodes.data[:])
    want = [c for c, r in enumerate(series_rows) if r in rows]
    panels = PanelSet(nwb)
    probe = panels.open(ELECTRODES)
    traces = panels.open(SERIES)
    changed = panels.select(ELECTRODES, list(rows), source=probe.panel_id, window=WINDOW)
    assert set(changed) == {traces.panel_id}
    rebuilt = changed[traces.panel_id]
    assert rebuilt is not None and rebuilt.panel_id == traces.panel_id
    assert shown_channels(panels, traces.panel_id) == want
    shown = models(rebuilt.doc)["option:show"]["attributes"]["value"]
    assert [int(k[1:].split(" ", 1)[0]) for k in shown] == want  # the control shows it
    table = ref.electrodes.to_dataframe()
    labels = list(list(panels.frames(traces.panel_id, WINDOW))[-1].sources["traces"]["label"])
    assert [int(label.split(" ", 1)[0]) for label in labels] == [
        int(table.index[series_rows[c]]) for c in want]


def test_rows_outside_the_series_or_another_table_change_nothing(nwb):
    panels = PanelSet(nwb)
    traces = panels.open(SERIES)
    view = panels.get(traces.panel_id)
    assert view.select_rows(ELECTRODES, [0, 1, 6, 7]) == ""  # none recorded by the series
    assert view.select_rows("/units", [2, 3]) == ""
    assert view.select_rows(ELECTRODES, []) == ""
    assert view.values["show"] == []
    assert view.select_rows(ELECTRODES, [4]) == "rebuild"
    assert view.channels() == [vp.SERIES_ROWS.index(4)]
    assert view.select_rows(ELECTRODES, []) == "rebuild"  # the selection cleared: all again
    assert view.values["show"] == [] and len(view.channels()) == len(vp.SERIES_ROWS)


def test_probe_view_is_offered_for_the_electrodes_table(path: Path):
    with nwbscope.open(path) as f:
        doc = PanelSet(f).open(ELECTRODES)
    assert doc.view == "probe" and "table" in [name for name, _ in doc.alternatives]
