"""The ROI and ROI-trace panels in Chromium against the real ``nwbscope serve``: ROIs over
the plane, hover data, a tap on a ROI (its trace here, its highlight in a traces panel), and
the stacked and heatmap traces, compared with pynwb's reading of the served file.

One page serves the module; screenshots go to ``playwright/artifacts/`` for a person.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from views_helpers import (
    open_views,
    option_value,
    panel_seq,
    read_source,
    screenshot,
    wait_frame,
    x_range,
)

from nwbscope.views.data.roi_traces import heatmap
from nwbscope.views.data.series import read_series_time
from nwbscope.views.window import TimeWindow
from tests.fixtures import view_ophys_files as vo

pytestmark = pytest.mark.usefixtures("no_script_errors")  # (playwright/conftest.py)


@pytest.fixture(scope="module")
def ophys(data_dir: Path):
    """The served view_ophys.nwb as pynwb reads it (the reference values)."""
    from pynwb import NWBHDF5IO

    io = NWBHDF5IO(str(data_dir / "files" / vo.FILE), "r")
    yield io.read()
    io.close()


def overrides(page, panel_id: str) -> dict[int, str]:
    entries = page.evaluate(
        """id => { const doc = window.nwbscopeViews.panels[id].doc;
        const axis = [...doc.all_models].find(m => m.major_label_overrides instanceof Map
                                               && m.major_label_overrides.size);
        return axis ? [...axis.major_label_overrides.entries()] : []; }""", panel_id)
    return {int(k): v for k, v in entries}


def test_rois_over_the_plane_and_a_tap(vpage, site_url, file_urls, ophys) -> None:
    page = vpage
    seg = ophys.processing["ophys"]["ImageSegmentation"]["PlaneSegImage"]
    series = ophys.processing["ophys"]["Fluorescence"]["RoiResponseSeries"]
    rois_id, traces_id = open_views(page, site_url, file_urls[vo.FILE],
                                    [vo.OPHYS["image"], vo.OPHYS["raw"]])
    rois = read_source(page, rois_id, "rois")
    assert len(rois["row"]) == len(rois["xs"]) == len(seg.id)  # every ROI on screen
    assert rois["id"] == [float(i) for i in seg.id[:]]
    assert rois["c_quality"] == list(seg["quality"][:])
    outlines = read_source(page, rois_id, "outlines")  # a line per colour, NaN between ROIs
    assert len(outlines["xs"]) == 10
    assert sum(np.isnan(np.asarray(x, dtype=float)).sum() for x in outlines["xs"]) >= len(
        seg.id)
    background = read_source(page, rois_id, "background")
    first = np.asarray(ophys.acquisition["TwoPhotonSeries"].data[0], dtype=np.float32)
    np.testing.assert_array_equal(np.array(background["image"][0]), first.T)
    screenshot(page, "ophys-rois-image", rois_id)

    page.evaluate("""() => { window._ophysSelect = null;
        document.addEventListener('nwbscope-select', e => {
          window._ophysSelect = {table: e.detail.table, rows: e.detail.rows}; }); }""")
    seq, seq_traces = panel_seq(page, rois_id), panel_seq(page, traces_id)
    row = 4
    index = rois["row"].index(row)
    page.evaluate("([id, i]) => { window.nwbscopeViews.model(id, 'rois').selected.indices = "
                  "[i]; }", [rois_id, index])  # what a tap on the ROI's patch does
    wait_frame(page, rois_id, after=seq)
    assert option_value(page, rois_id, "roi") == row
    chosen = page.evaluate("() => window._ophysSelect")
    assert chosen == {"table": vo.OPHYS["image"], "rows": f"[{row}]"}
    column = list(np.asarray(series.rois.data[:])).index(row)
    trace = read_source(page, rois_id, "roi_trace")
    np.testing.assert_array_equal(np.asarray(trace["y"], dtype=np.float32),
                                  np.asarray(series.data[:, column], dtype=np.float32))
    np.testing.assert_allclose(trace["t"], np.arange(vo.NT) / series.rate, atol=1e-9)
    wait_frame(page, traces_id, after=seq_traces)  # the traces panel follows the pick
    lines = read_source(page, traces_id, "traces")
    highlighted = [i for i, c in enumerate(lines["color"]) if c == "#d32f2f"]
    assert highlighted == [column]
    screenshot(page, "ophys-rois-picked", rois_id)
    screenshot(page, "ophys-traces-stacked", traces_id)
    ids = np.asarray(seg.id[:])[np.asarray(series.rois.data[:])]
    assert overrides(page, traces_id) == {k: f"roi {i}" for k, i in enumerate(ids)}


def test_pixel_masks_and_the_heatmap(vpage, site_url, file_urls, ophys, data_dir) -> None:
    page = vpage
    seg = ophys.processing["ophys"]["ImageSegmentation"]["PlaneSegPixel"]
    dff = ophys.processing["ophys"]["DfOverF"]["dff"]
    rois_id, heat_id = open_views(page, site_url, file_urls[vo.FILE],
                                  [vo.OPHYS["pixel"], vo.OPHYS["dfoverf"]])
    rois = read_source(page, rois_id, "rois")
    assert len(rois["row"]) == len(seg.id) and rois["id"] == [float(i) for i in seg.id[:]]
    screenshot(page, "ophys-rois-pixel", rois_id)
    source = read_source(page, heat_id, "heatmap")
    image = np.array(source["image"][0])
    assert image.shape[0] == len(dff.rois.data)
    start, end = x_range(page, heat_id)
    import nwbscope

    with nwbscope.open(data_dir / "files" / vo.FILE, engine="h5py") as nwb:
        series = read_series_time(nwb.group(vo.OPHYS["dff"]))
        expected = heatmap(series, TimeWindow(start, end, image.shape[1]))
    # the data step here, on the window the panel shows, checked against numpy natively
    np.testing.assert_allclose(image, expected.values, rtol=1e-6)
    times = dff.starting_time + np.arange(vo.NT) / dff.rate
    first = np.nonzero(times >= start)[0][0]
    stop = expected.edges[1]
    np.testing.assert_allclose(image[:, 0], np.asarray(dff.data[first:stop]).mean(axis=0),
                               rtol=1e-5)
    ids = np.asarray(seg.id[:])[np.asarray(dff.rois.data[:])]
    assert overrides(page, heat_id) == {k: f"roi {i}" for k, i in enumerate(ids)}
    screenshot(page, "ophys-traces-heatmap", heat_id)
