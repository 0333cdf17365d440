"""The ROI and ROI-trace views' data through ``PanelSet`` (as the worker calls them), against
pynwb's reading of the same file: labels by the ``rois`` region, the trace of a clicked ROI,
the heatmap against a plain numpy loop, and what bad input says."""

from __future__ import annotations

import numpy as np
import pytest

from nwbscope.errors import ViewError
from nwbscope.views.data.roi_outlines import outlines
from nwbscope.views.data.roi_traces import heatmap, read_roi_region
from nwbscope.views.data.series import read_series_time
from nwbscope.views.panels import PanelSet
from nwbscope.views.window import TimeWindow
from tests.fixtures import view_ophys_files as vo

WINDOW = TimeWindow(0.0, 10.0, 800)


def ref_series(ref, key: str):
    container, name = vo.OPHYS[key].split("/")[-2:]
    return ref.processing["ophys"][container][name]


def ref_plane(ref, key: str):
    return ref.processing["ophys"]["ImageSegmentation"][vo.OPHYS[key].rsplit("/", 1)[1]]


def last(panels: PanelSet, panel_id: str, window: TimeWindow = WINDOW):
    return list(panels.frames(panel_id, window))[-1]


@pytest.mark.parametrize("key", ["raw", "pixel_raw", "dff"])
def test_roi_labels_are_the_ids_of_the_region_rows(nwb, ref, key):
    series = ref_series(ref, key)
    rows = np.asarray(series.rois.data[:])
    ids = np.asarray(series.rois.table.id[:])[rows]
    panels = PanelSet(nwb)
    doc = panels.open(vo.OPHYS[key], options={"mode": "stacked"})
    view = panels.panels[doc.panel_id]
    assert view.labels() == [f"roi {i}" for i in ids]
    frame = last(panels, doc.panel_id)
    assert frame.sources["traces"]["label"].tolist() == [f"roi {i}" for i in ids]
    assert view.region.table == vo.OPHYS["pixel" if key != "raw" else "image"]


def test_container_offers_its_series(nwb):
    panels = PanelSet(nwb)
    doc = panels.open(vo.OPHYS["fluorescence"])
    assert doc.view == "roi_traces"
    view = panels.panels[doc.panel_id]
    series = next(o for o in view.options_cached() if o.name == "series")
    assert [v for v, _ in series.choices] == [vo.OPHYS["raw"], vo.OPHYS["pixel_raw"]]
    assert view.mode == "stacked"  # 12 ROIs
    assert panels.set_option(doc.panel_id, "series", vo.OPHYS["pixel_raw"]) is True
    assert view.mode == "heatmap" and view.series.path == vo.OPHYS["pixel_raw"]  # 40 ROIs


@pytest.mark.parametrize("row", [0, 7, 39])
def test_trace_of_a_clicked_roi_is_its_column_in_the_region(nwb, ref, row):
    series = ref_series(ref, "dff")
    column = list(np.asarray(series.rois.data[:])).index(row)  # reversed: not the row
    expected = np.asarray(series.data[:, column])
    panels = PanelSet(nwb)
    doc = panels.open(vo.OPHYS["pixel"], options={"roi": row, "series": vo.OPHYS["dff"]})
    trace = last(panels, doc.panel_id).sources["roi_trace"]
    np.testing.assert_array_equal(trace["y"], expected.astype(np.float32))
    times = series.starting_time + np.arange(len(expected)) / series.rate
    np.testing.assert_allclose(trace["t"], times, rtol=0, atol=1e-12)


def test_trace_follows_the_series_control_and_a_selection(nwb, ref):
    raw = np.asarray(ref_series(ref, "pixel_raw").data[:])
    panels = PanelSet(nwb)
    doc = panels.open(vo.OPHYS["pixel"], options={"series": vo.OPHYS["pixel_raw"]})
    frame = last(panels, doc.panel_id)
    assert frame.sources["roi_trace"]["y"].size == 0  # nothing picked yet
    other = panels.open(vo.OPHYS["dff"])
    changed = panels.select(vo.OPHYS["pixel"], [5], source=other.panel_id)
    assert set(changed) == {doc.panel_id}
    frame = last(panels, doc.panel_id)
    np.testing.assert_array_equal(frame.sources["roi_trace"]["y"], raw[:, 5])
    picked = frame.sources["selected_roi"]
    view = panels.panels[doc.panel_id]
    alone = outlines(view.masks.crops([5]))
    np.testing.assert_array_equal(picked["xs"][0], alone.xs[0])
    np.testing.assert_array_equal(picked["ys"][0], alone.ys[0])


def test_outlines_source_is_one_line_per_colour(nwb):
    panels = PanelSet(nwb)
    doc = panels.open(vo.OPHYS["pixel"])
    frame = last(panels, doc.panel_id)
    view = panels.panels[doc.panel_id]
    lines = frame.sources["outlines"]
    assert len(lines["xs"]) == len(lines["color"]) == 10
    alone = outlines(view.masks.crops(list(range(view.masks.n_rows))))
    for g, (xs, ys) in enumerate(zip(lines["xs"], lines["ys"], strict=True)):
        members = [i for i, r in enumerate(alone.rows) if r % 10 == g]
        want_x = np.concatenate([np.append(alone.xs[i], np.nan) for i in members])
        want_y = np.concatenate([np.append(alone.ys[i], np.nan) for i in members])
        np.testing.assert_array_equal(xs, want_x)
        np.testing.assert_array_equal(ys, want_y)
        assert lines["color"][g] == frame.sources["rois"]["color"][members[0]]


def test_rois_source_rows_ids_and_columns(nwb, ref):
    seg = ref_plane(ref, "image")
    panels = PanelSet(nwb)
    doc = panels.open(vo.OPHYS["image"])
    rois = last(panels, doc.panel_id).sources["rois"]
    assert rois["row"].tolist() == list(range(len(seg.id)))
    assert rois["id"].tolist() == [float(i) for i in seg.id[:]]
    assert rois["c_quality"].tolist() == list(seg["quality"][:])
    assert [float(v) for v in rois["c_area"]] == list(seg["area"][:])
    assert rois["c_area"].dtype == np.float64  # numbers as one typed array, not 12 strings
    assert all(x.dtype == np.float32 for x in rois["xs"] + rois["ys"])


def test_voxel_plane_option(nwb, ref):
    seg = ref_plane(ref, "voxel")
    panels = PanelSet(nwb)
    doc = panels.open(vo.OPHYS["voxel"])
    for z in range(vo.N_Z):
        panels.set_option(doc.panel_id, "z", z)
        frame = last(panels, doc.panel_id)
        expected = [r for r in range(len(seg.id))
                    if any(int(v[2]) == z for v in seg["voxel_mask"][r])]
        assert frame.sources["rois"]["row"].tolist() == expected
        assert f"z = {z}" in frame.status


def test_image_segmentation_opens_its_first_plane_with_masks(odd):
    panels = PanelSet(odd)
    doc = panels.open(vo.OPHYS["segmentation"])
    view = panels.panels[doc.panel_id]
    assert view.table_path == vo.OPHYS["image"]  # PlaneSegEmpty sorts first: skipped
    with pytest.raises(ViewError, match="no image_mask, pixel_mask or voxel_mask"):
        panels.open(vo.OPHYS["empty"])


def test_background_reference_then_mean_image(nwb, ref):
    panels = PanelSet(nwb)
    frame = last(panels, panels.open(vo.OPHYS["image"]).panel_id)
    image = np.array(frame.sources["background"]["image"][0])  # rows are y
    first = np.asarray(ref.acquisition["TwoPhotonSeries"].data[0], dtype=np.float32)
    np.testing.assert_array_equal(image, first.T)
    assert frame.sources["background"]["dw"][0] == vo.NX
    frame = last(panels, panels.open(vo.OPHYS["pixel"]).panel_id)
    mean = np.asarray(ref.processing["ophys"]["SummaryImages"]["mean"].data)
    np.testing.assert_array_equal(np.array(frame.sources["background"]["image"][0]), mean.T)


def test_mismatched_masks_are_drawn_without_the_image(nwb):
    panels = PanelSet(nwb)
    frame = last(panels, panels.open(vo.OPHYS["mismatch"]).panel_id)
    assert frame.sources["background"]["image"] == []
    assert any("32 x 32" in n and "not drawn" in n for n in frame.notes)
    assert len(frame.sources["rois"]["row"]) == vo.N_ROIS["mismatch"]


def test_rois_pointing_elsewhere_say_so(odd):
    series = read_series_time(odd.group(vo.OPHYS["dff"]))
    region = read_roi_region(odd, odd.group(vo.OPHYS["dff"]), series.n_channels)
    assert region.labels[0] == "col 0" and "point past" in region.notes[0]
    panels = PanelSet(odd)
    doc = panels.open(vo.OPHYS["pixel"], options={"roi": 3, "series": vo.OPHYS["dff"]})
    frame = last(panels, doc.panel_id)
    assert frame.sources["roi_trace"]["y"].size == 0
    assert any("no trace of ROI row 3" in n for n in frame.notes)


def heatmap_reference(data: np.ndarray, times: np.ndarray, window: TimeWindow, edges,
                      how: str) -> np.ndarray:
    """Bins by a plain loop over the columns, from pynwb's data."""
    inside = np.nonzero((times >= window.start) & (times < window.end))[0]
    assert edges[0] == inside[0] and edges[-1] == inside[-1] + 1
    out = np.empty((data.shape[1], len(edges) - 1))
    for c in range(len(edges) - 1):
        block = data[edges[c]:edges[c + 1]].astype(np.float64)
        out[:, c] = block.max(axis=0) if how == "max" else block.mean(axis=0)
    return out


@pytest.mark.parametrize("how", ["mean", "max"])
@pytest.mark.parametrize("window", [TimeWindow(0.0, 10.0, 37), TimeWindow(1.02, 4.5, 64),
                                    TimeWindow(2.0, 2.5, 500)])
def test_heatmap_bins_equal_a_numpy_loop(nwb, ref, how, window):
    series_ref = ref_series(ref, "dff")
    data = np.asarray(series_ref.data[:])
    times = series_ref.starting_time + np.arange(len(data)) / series_ref.rate
    series = read_series_time(nwb.group(vo.OPHYS["dff"]))
    result = heatmap(series, window, how=how)
    sizes = np.diff(result.edges)
    assert sizes.max() - sizes.min() <= 1 and len(sizes) <= window.width_px
    expected = heatmap_reference(data, times, window, result.edges, how)
    np.testing.assert_allclose(result.values, expected, rtol=1e-6, atol=1e-6)
    small = heatmap(series, window, how=how, block_bytes=1000)  # many reads: same bins
    np.testing.assert_array_equal(small.values, result.values)
    period = 1.0 / series_ref.rate
    n = result.edges[-1] - result.edges[0]
    assert result.x0 == pytest.approx(times[result.edges[0]] - period / 2)
    assert result.dw == pytest.approx(n * period)


def test_heatmap_frame(nwb, ref):
    data = np.asarray(ref_series(ref, "dff").data[:])
    panels = PanelSet(nwb)
    doc = panels.open(vo.OPHYS["dfoverf"])
    window = TimeWindow(0.5, 7.2, 100)
    frame = last(panels, doc.panel_id, window)
    source = frame.sources["heatmap"]
    image = np.array(source["image"][0])
    assert image.shape == (40, 100)
    np.testing.assert_allclose(image[:, 0], data[0:2].mean(axis=0), rtol=1e-6)
    assert source["y"][0] == -0.5 and source["dh"][0] == 40
    assert source["low"][0] < source["high"][0]


def test_image_masks_of_a_page_only_and_once(nwb, monkeypatch):
    from nwbscope.views.data import masks as mask_data

    monkeypatch.setattr(mask_data, "PAGE_BYTES", 5 * vo.NX * vo.NY * 4)  # 5 masks a page
    panels = PanelSet(nwb)
    doc = panels.open(vo.OPHYS["image"])
    view = panels.panels[doc.panel_id]
    assert "first" in {o.name for o in view.options_cached()}
    frame = last(panels, doc.panel_id)
    assert frame.sources["rois"]["row"].tolist() == [0, 1, 2, 3, 4]
    assert view.masks.rows_read == 5 and "rows 0 to 4 of 12" in frame.status
    panels.set_option(doc.panel_id, "first", 5)
    assert last(panels, doc.panel_id).sources["rois"]["row"].tolist() == [5, 6, 7, 8, 9]
    panels.set_option(doc.panel_id, "first", 0)
    panels.set_option(doc.panel_id, "roi", 2)
    last(panels, doc.panel_id)
    assert view.masks.rows_read == 10  # pages seen before are not read again
    panels.set_option(doc.panel_id, "first", 12)
    with pytest.raises(ViewError, match="rows 0 to 11"):
        last(panels, doc.panel_id)


def test_a_page_of_image_masks_is_drawn_while_it_is_read(nwb, monkeypatch):
    from nwbscope.views.data import masks as mask_data

    monkeypatch.setattr(mask_data, "READ_BYTES", 2 * vo.NX * vo.NY * 4)  # 2 masks a read
    panels = PanelSet(nwb)
    doc = panels.open(vo.OPHYS["image"])
    frames = list(panels.frames(doc.panel_id, WINDOW))
    assert [f.complete for f in frames] == [False, False, False, True]
    assert [len(f.sources["rois"]["row"]) for f in frames] == [3, 6, 9, 12]
    assert "background" in frames[0].sources and "background" not in frames[1].sources
    again = list(panels.frames(doc.panel_id, WINDOW))  # read once: one exact frame now
    assert len(again) == 1 and again[0].complete


def test_a_pick_sends_the_pick_not_the_rois_again(nwb):
    panels = PanelSet(nwb)
    doc = panels.open(vo.OPHYS["pixel"])
    assert "rois" in last(panels, doc.panel_id).sources
    panels.set_option(doc.panel_id, "roi", 3)
    frame = last(panels, doc.panel_id)
    assert set(frame.sources) == {"selected_roi", "roi_trace"}
    assert len(frame.sources["selected_roi"]["xs"]) == 1
    panels.rebuild(doc.panel_id, None)  # a new document has empty sources: all again
    assert {"rois", "outlines", "background"} <= set(last(panels, doc.panel_id).sources)
    unfinished = panels.frames(doc.panel_id, WINDOW)
    next(unfinished)  # a frame the page may never have drawn (superseded): all next time
    unfinished.close()
    assert "rois" in last(panels, doc.panel_id).sources
