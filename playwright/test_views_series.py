"""The series view panels in Chromium against the real ``nwbscope serve``: traces, shared time
window and URL state, panel controls, errors inside a panel, spectrogram and trajectory.

Each test checks what a person would: read from the panels' Bokeh documents (sources, ranges,
axis labels) and compared with pynwb's reading of the served file, or with the data step run
here on the same file. Screenshots go to ``playwright/artifacts/`` for a person to look at.
One page serves the module (each test loads its own URL on it), so Pyodide's files come
from the cache after the first load.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from viewer_helpers import START_MS, click_row, tree_row
from views_helpers import (
    click_panel_button,
    open_views,
    pan_to,
    panel,
    panel_error,
    panel_ids,
    panel_seq,
    plot_width,
    read_source,
    screenshot,
    set_cursor,
    url_state,
    wait_frame,
    wait_keys,
    wait_panels_settled,
    x_range,
)

from tests.fixtures import view_series_files as vf

ES = vf.EPHYS["small_chunks"]
IRREGULAR = vf.EPHYS["irregular"]
LFP = vf.EPHYS["lfp"]
POSITION = vf.EPHYS["position"]
EPS32 = float(np.finfo(np.float32).eps)


pytestmark = pytest.mark.usefixtures("no_script_errors")  # (playwright/conftest.py)


@pytest.fixture(scope="module")
def ephys(data_dir: Path):
    """The served view_ephys.nwb as pynwb reads it (the reference values)."""
    from pynwb import NWBHDF5IO

    io = NWBHDF5IO(str(data_dir / "files" / "view_ephys.nwb"), "r")
    yield io.read()
    io.close()


def values_back(source: dict, row: int) -> np.ndarray:
    """A traces line's y turned back into the series' unit."""
    y = np.asarray(source["ys"][row], dtype=np.float64)
    return (y - source["offset"][row]) / source["gain"][row] + source["baseline"][row]


def float32_tol(source: dict, row: int) -> float:
    """What the float32 line can hold of a value: its precision, back in the unit."""
    y = np.asarray(source["ys"][row], dtype=np.float64)
    return 4 * EPS32 * (np.nanmax(np.abs(y)) + 1.0) / source["gain"][row]


def y_labels(page, panel_id: str) -> list[str]:
    """The y axis' tick labels (channel names), bottom to top."""
    entries = page.evaluate(
        """id => { const doc = window.nwbscopeViews.panels[id].doc;
        const axis = [...doc.all_models].find(m => m.major_label_overrides instanceof Map
                                               && m.major_label_overrides.size);
        return axis ? [...axis.major_label_overrides.entries()] : []; }""", panel_id)
    return [label for _, label in sorted(entries, key=lambda e: int(e[0]))]


def wait_url_t(page, text: str) -> None:
    page.wait_for_function("t => new URL(location.href).searchParams.get('t') === t", arg=text,
                           timeout=30_000)


def test_electrical_series_from_the_tree(vpage, site_url, file_urls, ephys) -> None:
    page = vpage
    page.goto(site_url + "?url=" + file_urls["view_ephys.nwb"])
    page.wait_for_function("document.body.dataset.state === 'ready'", timeout=START_MS)
    click_row(page, "/acquisition")
    tree_row(page, ES["path"]).click()
    wait_panels_settled(page, 1)
    (pid,) = panel_ids(page)
    assert panel(page, pid).locator(".panel-title").inner_text() == "Traces: es_small_chunks"
    series = ephys.acquisition["es_small_chunks"]
    n, n_chan = series.data.shape
    table = series.electrodes.to_dataframe()
    want_labels = [f"{i} {loc}" for i, loc in zip(table.index, table["location"], strict=True)]

    source = read_source(page, pid, "traces")
    assert len(source["xs"]) == len(source["ys"]) == n_chan  # a line per channel
    assert y_labels(page, pid) == want_labels == source["label"]
    start = series.starting_time
    opened_at = url_state(page)[1]  # the window the page shows, in the address bar
    assert opened_at is not None and x_range(page, pid) == pytest.approx(opened_at)
    assert start <= opened_at[0] < opened_at[1] <= start + n / series.rate + 1e-9
    width = plot_width(page, pid)
    times = start + np.arange(n) / series.rate
    inside = np.flatnonzero((times >= opened_at[0]) & (times < opened_at[1]))
    assert inside.size > 2 * width  # min/max per pixel, not the samples
    for row in range(n_chan):
        assert len(source["xs"][row]) <= 2 * width + 2
        # min/max per pixel keeps the one-sample spikes: the line's extremes are the data's
        got = values_back(source, row)
        want = series.data[inside[0]:inside[-1] + 1, row].astype(np.float64) * series.conversion
        tol = float32_tol(source, row)
        assert np.nanmax(got) == pytest.approx(want.max(), abs=tol)
        assert np.nanmin(got) == pytest.approx(want.min(), abs=tol)
    screenshot(page, "traces-electrical", pid)

    seq = panel_seq(page, pid)  # zoom to 300 samples: the lines are the samples themselves
    pan_to(page, pid, 2.0, 2.01)
    wait_frame(page, pid, after=seq)
    source = read_source(page, pid, "traces")
    t_known = 2.005
    index = round((t_known - start) * series.rate)
    want = series.data[index, :].astype(np.float64) * series.conversion
    for row in range(n_chan):
        xs = np.asarray(source["xs"][row])
        k = int(np.argmin(np.abs(xs - t_known)))
        assert xs[k] == pytest.approx(t_known, abs=1e-9)
        assert values_back(source, row)[k] == pytest.approx(want[row],
                                                            abs=float32_tol(source, row))


def test_two_panels_share_the_window_and_the_url(vpage, site_url, file_urls, ephys) -> None:
    page = vpage
    es_key, ts_key = ES["path"], IRREGULAR["path"]
    (es_id,) = open_views(page, site_url, file_urls["view_ephys.nwb"], [es_key], t=(1.6, 3.0))
    click_row(page, "/acquisition")
    tree_row(page, ts_key).click()  # a second panel: a new history entry
    wait_panels_settled(page, 2)
    ts_id = panel_ids(page)[1]
    assert url_state(page) == ([es_key, ts_key], (1.6, 3.0))
    assert x_range(page, ts_id) == pytest.approx((1.6, 3.0))

    seq = panel_seq(page, ts_id)
    pan_to(page, es_id, 2.0, 2.5)  # as a drag of the traces does
    wait_frame(page, ts_id, after=seq)
    assert x_range(page, ts_id) == pytest.approx((2.0, 2.5))
    stamps = np.asarray(ephys.acquisition["irregular"].timestamps[:])
    data = np.asarray(ephys.acquisition["irregular"].data[:], dtype=np.float64)
    source = read_source(page, ts_id, "traces")
    xs = np.asarray(source["xs"][0])
    inside = np.flatnonzero((stamps >= 2.0) & (stamps < 2.5))  # few: drawn as samples
    rows = np.arange(inside[0] - 1, inside[-1] + 2)  # and one neighbour each side
    np.testing.assert_allclose(xs, stamps[rows], rtol=0, atol=1e-12)
    np.testing.assert_allclose(values_back(source, 0), data[rows], rtol=0, atol=1e-6)
    wait_url_t(page, "2,2.5")
    screenshot(page, "two-panels")

    page.reload()  # the link reopens the same panels on the same window
    page.wait_for_function("document.body.dataset.state === 'ready'", timeout=START_MS)
    wait_panels_settled(page, 2)
    assert url_state(page) == ([es_key, ts_key], (2.0, 2.5))
    wait_keys(page, [es_key, ts_key])
    for pid in panel_ids(page):
        assert x_range(page, pid) == pytest.approx((2.0, 2.5))

    page.go_back()  # before the second panel opened
    wait_keys(page, [es_key])
    wait_panels_settled(page, 1)
    assert url_state(page) == ([es_key], (1.6, 3.0))
    assert x_range(page, panel_ids(page)[0]) == pytest.approx((1.6, 3.0))
    page.go_forward()
    wait_keys(page, [es_key, ts_key])
    wait_panels_settled(page, 2)
    for pid in panel_ids(page):
        assert x_range(page, pid) == pytest.approx((2.0, 2.5))


def test_close_and_reorder_panels(vpage, site_url, file_urls) -> None:
    page = vpage
    keys = [ES["path"], IRREGULAR["path"], POSITION["path"]]
    first, second, third = open_views(page, site_url, file_urls["view_ephys.nwb"], keys)
    click_panel_button(page, first, "down")
    wait_keys(page, [keys[1], keys[0], keys[2]])
    assert url_state(page)[0] == [keys[1], keys[0], keys[2]]
    click_panel_button(page, third, "up")
    wait_keys(page, [keys[1], keys[2], keys[0]])
    assert url_state(page)[0] == [keys[1], keys[2], keys[0]]
    click_panel_button(page, second, "up")  # already on top: nothing moves
    click_panel_button(page, second, "close")
    wait_keys(page, [keys[2], keys[0]])
    assert url_state(page)[0] == [keys[2], keys[0]]
    assert panel_ids(page) == [third, first]
    page.go_back()  # the close is undone
    wait_keys(page, [keys[1], keys[2], keys[0]])


def test_a_view_error_stays_in_its_panel(vpage, site_url, file_urls) -> None:
    page = vpage
    shape = str(vf.ODD["data_3d"]["shape"])
    # (3-D data opens in the generic view by default; these two views refuse it)
    keys = ["traces:" + vf.ODD["data_3d"]["path"], "spectrogram:" + vf.ODD["data_3d"]["path"],
            vf.ODD["converted"]["path"]]
    open_views(page, site_url, file_urls["view_odd.h5"], keys)
    boxes = page.locator("#views section.panel")
    for i in (0, 1):
        box = boxes.nth(i)
        assert "failed" in box.get_attribute("class")
        assert shape in panel_error(page, box)
    screenshot(page, "view-error")
    assert not page.is_visible("#error")  # the page itself is fine
    (good,) = panel_ids(page)
    assert read_source(page, good, "traces")["label"] == [f"ch {c}" for c in range(6)]
    tree_row(page, vf.ODD["dyadic"]["path"]).click()  # and another view still opens
    wait_panels_settled(page, 4)
    assert len(panel_ids(page)) == 2


def test_spectrogram_and_trajectory(vpage, site_url, file_urls, ephys, data_dir) -> None:
    from nwbscope import open as open_file
    from nwbscope.views.data.series import read_series_time
    from nwbscope.views.data.spectrogram import spectrogram
    from nwbscope.views.window import TimeWindow

    page = vpage
    keys = ["spectrogram:" + LFP["path"], POSITION["path"]]
    spec_id, pos_id = open_views(page, site_url, file_urls["view_ephys.nwb"], keys,
                                 t=(2.0, 12.0))
    image = np.asarray(read_source(page, spec_id, "spectrogram")["image"][0])
    width = plot_width(page, spec_id)
    with open_file(data_dir / "files" / "view_ephys.nwb", engine="h5py") as f:
        want = spectrogram(read_series_time(f[LFP["path"]]), TimeWindow(2.0, 12.0, width), 0,
                           segment_s=0.256, overlap=0.5, fmin=0.0, fmax=LFP["rate"] / 2,
                           max_times=width)
    assert image.shape == want.power_db.shape and image.shape[1] <= width
    np.testing.assert_allclose(image, want.power_db, rtol=0, atol=1e-3)
    screenshot(page, "spectrogram", spec_id)
    seq = panel_seq(page, spec_id)  # the "To (Hz)" control, as typing 100 does
    page.evaluate("id => { window.nwbscopeViews.model(id, 'option:fmax').value = 100; }",
                  spec_id)
    wait_frame(page, spec_id, after=seq)
    band = page.evaluate("id => { const r = window.nwbscopeViews.model(id, 'y_range');"
                         " return [r.start, r.end]; }", spec_id)
    assert band == [0.0, 100.0]
    rows = len(read_source(page, spec_id, "spectrogram")["image"][0])
    assert rows == int(np.sum(want.freqs <= 100.0))

    track = read_source(page, pos_id, "trajectory")
    position = ephys.processing["behavior"]["Position"]["position"]
    xy = np.asarray(position.data[:])
    times = position.starting_time + np.arange(xy.shape[0]) / position.rate
    inside = (times >= 2.0) & (times < 12.0)  # 300 samples: every one is a point
    np.testing.assert_allclose(track["t"], times[inside], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(track["x"], xy[inside, 0])
    np.testing.assert_array_equal(track["y"], xy[inside, 1])
    for t in (5.0, 7.21):
        set_cursor(page, spec_id, t)  # a tap in another panel moves the marker here
        index = round((t - position.starting_time) * position.rate)
        page.wait_for_function(
            "([id, t]) => { const m = window.nwbscopeViews.model(id, 'position_marker');"
            " return m.data.t.length === 1 && Math.abs(m.data.t[0] - t) < 0.02; }",
            arg=[pos_id, float(times[index])], timeout=10_000)
        marker = read_source(page, pos_id, "position_marker")
        assert (marker["x"], marker["y"]) == ([xy[index, 0]], [xy[index, 1]])
    screenshot(page, "trajectory", pos_id)
    set_cursor(page, spec_id, 50.0)  # outside the window: no marker
    page.wait_for_function(
        "id => window.nwbscopeViews.model(id, 'position_marker').data.t.length === 0",
        arg=pos_id, timeout=10_000)
