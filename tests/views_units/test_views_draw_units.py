"""Drawing steps of the raster and unit views, through ``PanelSet`` as the worker calls them.

Expected spikes, ids and column values come from pynwb's reading of the fixture file (or
the rich file's recipe); histograms are direct numpy counts on those spike trains.
"""

from __future__ import annotations

import numpy as np
import pytest

import nwbscope
from nwbscope.errors import ParameterError, ViewError
from nwbscope.views.panels import PanelSet
from nwbscope.views.window import TimeWindow
from tests.bokeh_docs import models
from tests.fixtures import nwb_files
from tests.fixtures import view_units_files as vu


def source_is_empty(model: dict) -> bool:
    """Every column of a serialized ColumnDataSource holds nothing yet."""
    entries = model["attributes"]["data"]["entries"]
    return all(len(v) == 0 for _, v in entries)


def last(panels: PanelSet, panel_id: str, window: TimeWindow):
    return list(panels.frames(panel_id, window))[-1]


def spikes_in(ref, row: int, window: TimeWindow) -> np.ndarray:
    train = np.asarray(ref.units["spike_times"][row], dtype=np.float64)
    return train[(train >= window.start) & (train < window.end)]


def display_rows(frame) -> np.ndarray:
    """Table rows from the top of the raster down (the units source is bottom-up)."""
    units = frame.sources["raster_units"]
    return units["row"][np.argsort(-units["y"])]


# -- raster ------------------------------------------------------------------------------------
def test_raster_document(nwb):
    doc = PanelSet(nwb).open("/units")
    assert doc.view == "raster" and doc.time_based
    named = models(doc.doc)
    for name in ("raster_spikes", "raster_density", "raster_units"):
        assert source_is_empty(named[name]), name
    assert {"x_range", "y_range", "cursor", "status", "option:sort", "option:show",
            "option:descending", "option:max_spikes"} <= set(named)


def test_every_spike_of_every_unit_in_the_window(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open("/units")
    window = TimeWindow(5.0, 15.0, 800)
    frame = last(panels, doc.panel_id, window)
    spikes, units = frame.sources["raster_spikes"], frame.sources["raster_units"]
    n = len(ref.units)
    assert len(units["row"]) == n  # all units, not a page of them
    np.testing.assert_array_equal(np.sort(units["unit_id"]), ref.units.id[:])
    assert frame.sources["raster_density"]["x"].size == 0
    total = 0
    for y, row in zip(units["y"], units["row"], strict=True):
        expected = spikes_in(ref, int(row), window)
        np.testing.assert_array_equal(np.sort(spikes["x"][spikes["y"] == y]), expected)
        assert units["spikes"][units["y"] == y][0] == len(expected)
        total += len(expected)
    assert len(spikes["x"]) == total and str(total) in frame.status
    assert frame.status.startswith("spikes")


def test_rich_file_raster(rich_nwb, engine):
    with nwbscope.open(rich_nwb, engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open(nwb_files.RICH_PATHS["units"])
        frame = last(panels, doc.panel_id, TimeWindow(0.0, 2.0))
    spikes = frame.sources["raster_spikes"]
    top_down = display_rows(frame)
    for k, train in enumerate(nwb_files.spike_times()):
        y = len(top_down) - 1 - int(np.nonzero(top_down == k)[0][0])
        np.testing.assert_array_equal(np.sort(spikes["x"][spikes["y"] == y]),
                                      train[train < 2.0])


def test_density_counts_and_zooming_back_to_spikes(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open("/units", options={"max_spikes": 1000})
    window = TimeWindow(0.0, vu.DURATION, 600)
    frame = last(panels, doc.panel_id, window)
    assert frame.status.startswith("density")
    assert frame.sources["raster_spikes"]["x"].size == 0
    density = frame.sources["raster_density"]
    assert density["x"].tolist() == [0.0] and density["dw"].tolist() == [vu.DURATION]
    rows = np.vstack(density["image"][0])  # image row j is drawn at y = j
    assert rows.shape == (len(ref.units), 600)
    units = frame.sources["raster_units"]
    for y, row in zip(units["y"], units["row"], strict=True):
        assert rows[y].sum() == len(spikes_in(ref, int(row), window))
    assert rows.sum() == sum(len(spikes_in(ref, r, window)) for r in range(len(ref.units)))
    zoomed = last(panels, doc.panel_id, TimeWindow(10.0, 11.0))
    assert zoomed.status.startswith("spikes")
    assert zoomed.sources["raster_density"]["x"].size == 0
    assert zoomed.sources["raster_spikes"]["x"].size == sum(
        len(spikes_in(ref, r, TimeWindow(10.0, 11.0))) for r in range(len(ref.units)))


def test_sort_changes_the_order_without_a_rebuild(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open("/units")
    window = TimeWindow(0.0, 5.0)
    assert panels.set_option(doc.panel_id, "sort", "snr") is False
    assert panels.set_option(doc.panel_id, "descending", True) is False
    top_down = display_rows(last(panels, doc.panel_id, window))
    snr = np.asarray(ref.units["snr"][:])
    assert np.all(np.diff(snr[top_down]) <= 0) and sorted(top_down) == list(range(len(snr)))
    panels.set_option(doc.panel_id, "sort", "electrodes.location")
    panels.set_option(doc.panel_id, "descending", False)
    frame = last(panels, doc.panel_id, window)
    locations = ref.electrodes["location"][:]
    joined = [", ".join(dict.fromkeys(locations[r] for r in rows))
              for rows in vu.unit_electrodes()]
    order = [joined[r] for r in display_rows(frame)]
    assert order == sorted(order)
    labels = frame.sources["raster_units"]["label"]
    assert all(" · " in str(label) for label in labels)  # the sort value beside the id


def test_select_units_by_column_values(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open("/units")
    quality = list(ref.units["quality"][:])
    location = list(ref.units["location"][:])
    assert panels.set_option(doc.panel_id, "show", ["quality = good"]) is True
    panels.rebuild(doc.panel_id, None)
    frame = last(panels, doc.panel_id, TimeWindow(0.0, 5.0))
    assert sorted(display_rows(frame)) == [i for i, q in enumerate(quality) if q == "good"]
    panels.set_option(doc.panel_id, "show",
                      ["quality = good", "quality = mua", "location = CA3"])
    frame = last(panels, doc.panel_id, TimeWindow(0.0, 5.0))
    assert sorted(display_rows(frame)) == [
        i for i in range(len(quality)) if quality[i] in ("good", "mua") and location[i] == "CA3"]
    panels.set_option(doc.panel_id, "show", [])
    assert len(display_rows(last(panels, doc.panel_id, TimeWindow(0.0, 5.0)))) == len(quality)


def test_bad_raster_options_name_the_field(nwb):
    panels = PanelSet(nwb)
    doc = panels.open("/units")
    for name, value in (("sort", "nonsense"), ("show", ["quality = excellent"]),
                        ("max_spikes", -5), ("descending_order", True)):
        with pytest.raises(ParameterError) as caught:
            panels.set_option(doc.panel_id, name, value)
        assert caught.value.field == name


def test_no_matching_unit_cannot_draw(nwb):
    panels = PanelSet(nwb)
    doc = panels.open("/units")
    panels.set_option(doc.panel_id, "show", ["id = 100", "quality = mua"])  # unit 100: good
    with pytest.raises(ViewError, match="No unit .* matches id = 100, quality = mua"):
        panels.rebuild(doc.panel_id, None)


# -- one unit ----------------------------------------------------------------------------------
def test_unit_view_rate_acg_isi(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open("/units", "unit", options={"unit": "103", "rate_bin_s": 0.5})
    named = models(doc.doc)
    for name in ("unit_rate", "unit_acg", "unit_isi"):
        assert source_is_empty(named[name]), name
    assert {"x_range", "cursor", "acg_x_range", "isi_x_range", "option:unit"} <= set(named)
    window = TimeWindow(10.0, 30.0, 400)
    frame = last(panels, doc.panel_id, window)
    train = np.asarray(ref.units["spike_times"][3], dtype=np.float64)
    rate = frame.sources["unit_rate"]
    edges = np.append(rate["left"], rate["right"][-1])
    np.testing.assert_allclose(np.diff(edges), 0.5)
    counts = np.histogram(train[(train >= 10) & (train < 30)], edges)[0]
    np.testing.assert_array_equal(rate["count"], counts)
    np.testing.assert_allclose(rate["rate"], counts / 0.5)
    acg = frame.sources["unit_acg"]
    lags = (train[None, :] - train[:, None]) * 1000.0
    lags = lags[~np.eye(len(train), dtype=bool)]
    acg_edges = np.append(acg["left"], acg["right"][-1])
    assert acg_edges[0] == -50.0 and acg_edges[-1] == 50.0
    np.testing.assert_array_equal(acg["count"], np.histogram(lags, acg_edges)[0])
    isi = frame.sources["unit_isi"]
    isi_edges = np.append(isi["left"], isi["right"][-1])
    np.testing.assert_array_equal(isi["count"],
                                  np.histogram(np.diff(train) * 1000.0, isi_edges)[0])
    assert "unit 103" in frame.status and str(len(train)) in frame.status


def test_unit_view_options(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open("/units", "unit")
    first = next(i for i in range(len(ref.units)) if len(ref.units["spike_times"][i]))
    assert panels.get(doc.panel_id).values["unit"] == str(ref.units.id[first])
    assert panels.set_option(doc.panel_id, "isi_log", True) is True
    assert panels.set_option(doc.panel_id, "acg_bin_ms", 2.0) is False
    assert panels.set_option(doc.panel_id, "rate_bin_s", 1e-4) is False
    panels.rebuild(doc.panel_id, None)
    window = TimeWindow(0.0, 60.0, 300)
    frame = last(panels, doc.panel_id, window)
    isi = frame.sources["unit_isi"]["left"]
    np.testing.assert_allclose(isi[0], 0.1)  # log bins start at 0.1 ms
    assert np.allclose(np.diff(np.log(isi)), np.log(isi[1] / isi[0]))
    assert len(frame.sources["unit_acg"]["left"]) == 50  # ±50 ms in 2 ms bins
    assert len(frame.sources["unit_rate"]["left"]) <= window.width_px  # bounded
    assert any("widened" in note for note in frame.notes)
    for name, value in (("unit", "999"), ("acg_bin_ms", 0), ("rate_bin_s", "fast")):
        with pytest.raises(ParameterError) as caught:
            panels.set_option(doc.panel_id, name, value)
        assert caught.value.field == name
