"""The frames and images views in Chromium against the real ``nwbscope serve``.

What a person does: opens the TwoPhotonSeries, sets the cursor and sees the frame at that
time (its pixels read back from the panel's Bokeh source and compared with pynwb's
``data[i]``, the slider at ``i``); moves the slider and sees the cursor go to that frame's
time and the frame change; opens the Images group and sees its first picture in colour.
Screenshots of each view go to ``playwright/artifacts/``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin

import numpy as np
import pytest
from views_helpers import (
    model_values,
    open_views,
    panel_seq,
    read_source,
    screenshot,
    set_cursor,
    status_text,
    wait_frame,
)

from tests.fixtures import view_imaging_files as vi

pytestmark = pytest.mark.usefixtures("no_script_errors")  # (playwright/conftest.py)
TWO_PHOTON = vi.SERIES["two_photon"]


@pytest.fixture(scope="module")
def imaging(data_dir: Path):
    """The served view_imaging.nwb as pynwb reads it (the reference values)."""
    from pynwb import NWBHDF5IO

    io = NWBHDF5IO(str(data_dir / "files" / vi.FILE), "r")
    yield io.read()
    io.close()


def shown(page, panel_id: str, source: str = "picture") -> tuple[int, np.ndarray]:
    """The frame index and the picture rows the panel draws."""
    columns = read_source(page, panel_id, source)
    assert columns is not None and columns["image"], columns
    return int(columns["index"][0]), np.array(columns["image"][0])


def cursor(page) -> float:
    return page.evaluate("window.nwbscopeViews.cursorT")


def test_frame_follows_cursor_and_slider(vpage, site_url, file_urls, imaging) -> None:
    page = vpage
    data = imaging.acquisition["two_photon"].data
    rate, start = TWO_PHOTON["rate"], TWO_PHOTON["start"]
    (pid,) = open_views(page, site_url, file_urls[vi.FILE], [TWO_PHOTON["path"]])
    index, rows = shown(page, pid)
    assert index == 0  # no cursor yet: the window's start, the first frame
    np.testing.assert_array_equal(rows, np.asarray(data[0]).T)

    seq = panel_seq(page, pid)
    set_cursor(page, pid, 2.25)  # frames at 1.0 + i / 10 s: the last one before is 12
    wait_frame(page, pid, after=seq)
    index, rows = shown(page, pid)
    assert index == 12
    np.testing.assert_array_equal(rows, np.asarray(data[12]).T)  # rows: y, columns: x
    assert model_values(page, pid, "frame_slider", ["value"])["value"] == 12
    assert cursor(page) == 2.25  # the slider followed without moving the cursor back
    assert "frame 12 of 20" in status_text(page, pid)
    assert model_values(page, pid, "picture_bar", ["visible"])["visible"] is True
    screenshot(page, "views_imaging_two_photon", pid)

    seq = panel_seq(page, pid)
    page.evaluate("id => { window.nwbscopeViews.model(id, 'frame_slider').value = 5; }", pid)
    wait_frame(page, pid, after=seq)
    index, rows = shown(page, pid)
    assert index == 5
    np.testing.assert_array_equal(rows, np.asarray(data[5]).T)
    assert cursor(page) == pytest.approx(start + 5 / rate, abs=1e-12)


def test_slider_on_timestamps(vpage, site_url, file_urls, imaging) -> None:
    """A series with timestamps: the slider moves the cursor to that frame's timestamp."""
    page = vpage
    ref = imaging.acquisition["image_ts"]
    (pid,) = open_views(page, site_url, file_urls[vi.FILE], [vi.SERIES["image_ts"]["path"]])
    seq = panel_seq(page, pid)
    page.evaluate("id => { window.nwbscopeViews.model(id, 'frame_slider').value = 4; }", pid)
    wait_frame(page, pid, after=seq)
    index, rows = shown(page, pid)
    assert index == 4
    assert cursor(page) == float(ref.timestamps[4])
    np.testing.assert_array_equal(rows, np.asarray(ref.data[4]).T)


def test_images_group(vpage, site_url, file_urls, imaging) -> None:
    page = vpage
    (pid,) = open_views(page, site_url, file_urls[vi.FILE], [vi.IMAGES["path"]])
    first = vi.IMAGES["order"][0]  # order_of_images decides the first picture: rgb
    stored = np.asarray(imaging.stimulus_template["stimuli"].images[first].data[:])
    columns = read_source(page, pid, "picture_rgba")
    packed = np.array(columns["image"][0], dtype=np.uint32)
    nx, ny = stored.shape[:2]
    assert packed.shape == (ny, nx)
    as_bytes = packed.view(np.uint8).reshape(ny, nx, 4)
    np.testing.assert_array_equal(as_bytes[..., :3], np.transpose(stored, (1, 0, 2)))
    assert model_values(page, pid, "option:image", ["value"])["value"] == first
    assert model_values(page, pid, "picture_bar", ["visible"])["visible"] is False  # colour
    screenshot(page, "views_imaging_images", pid)


def test_index_series_at_cursor(vpage, site_url, file_urls, imaging) -> None:
    page = vpage
    index_series = imaging.stimulus["stim_index"]
    order = index_series.indexed_images.order_of_images.data[:]
    (pid,) = open_views(page, site_url, file_urls[vi.FILE], [vi.SERIES["index"]["path"]])
    seq = panel_seq(page, pid)
    set_cursor(page, pid, 4.5)  # index times 0, 1.5, 2, 4.25, 6: entry 3
    wait_frame(page, pid, after=seq)
    image = order[int(index_series.data[3])]
    stored = np.asarray(image.data[:])
    source = "picture" if stored.ndim == 2 else "picture_rgba"
    index, rows = shown(page, pid, source)
    assert index == 3
    if stored.ndim == 2:
        np.testing.assert_array_equal(rows, stored.T)
    else:
        as_bytes = rows.astype(np.uint32).view(np.uint8).reshape(*rows.shape, 4)
        np.testing.assert_array_equal(as_bytes[..., :stored.shape[2]],
                                      np.transpose(stored, (1, 0, 2)))
    screenshot(page, "views_imaging_index_series", pid)


VIDEO_SRC = """id => { const m = window.nwbscopeViews.model(id, 'video');
  const v = m ? Bokeh.index.find_one(m) : null;
  const el = v ? (v.shadow_el || v.el).querySelector('video') : null;
  return el ? el.src : null; }"""


def test_external_video_not_reachable(vpage, site_url, file_urls) -> None:
    """The video next to the NWB's address is asked for; the server has none there, so the
    panel says which files the frames are in (and no script error)."""
    page = vpage
    ext = vi.SERIES["external"]
    (pid,) = open_views(page, site_url, file_urls[vi.FILE], [ext["path"]])
    for t, k in [(1.0, 0), (4.0, 1)]:  # 30 frames/s, the second file from frame 90 (3 s)
        seq = panel_seq(page, pid)
        set_cursor(page, pid, t)
        wait_frame(page, pid, after=seq)
        assert page.evaluate(VIDEO_SRC, pid) == urljoin(file_urls[vi.FILE], ext["files"][k])
        assert model_values(page, pid, "frame_slider", ["value"])["value"] == round(t * 30)
    page.wait_for_function("id => window.nwbscopeViews.model(id, 'external_note').text"
                           ".includes('Could not play')", arg=pid, timeout=30_000)
    note = model_values(page, pid, "external_note", ["text"])["text"]
    for name in ext["files"]:
        assert name in note
    screenshot(page, "views_imaging_external", pid)


MEDIA_STATE = """id => { const m = window.nwbscopeViews.model(id, 'video');
  const v = m ? Bokeh.index.find_one(m) : null;
  const el = v ? (v.shadow_el || v.el).querySelector('video') : null;
  return el ? {src: el.src, ready: el.readyState, t: el.currentTime,
               seeking: el.seeking} : null; }"""


def test_external_media_follow_the_cursor(vpage, site_url, tmp_path_factory) -> None:
    """Media files beside the NWB file (served from one folder) are played in the panel: a
    cursor move loads the file that holds that frame and seeks it to the frame's time."""
    from bench.range_server import start_in_thread

    page = vpage
    clips = vi.CLIPS
    folder = tmp_path_factory.mktemp("clips")
    vi.write_clips(folder)
    server = start_in_thread(folder)
    try:
        (pid,) = open_views(page, site_url, server.url(vi.CLIPS_FILE), [clips["path"]])
        for t, k in [(1.0, 0), (5.5, 1), (2.0, 0)]:
            seq = panel_seq(page, pid)
            set_cursor(page, pid, t)
            wait_frame(page, pid, after=seq)
            index = int(t * clips["rate"])
            inside = (index - clips["starting_frame"][k] + 0.25) / clips["rate"]
            page.wait_for_function(
                "([id, src, at]) => { const s = (" + MEDIA_STATE + ")(id);"
                " return s && s.src === src && s.ready >= 1 && !s.seeking"
                " && Math.abs(s.t - at) < 1e-3; }",
                arg=[pid, server.url(clips["files"][k]), inside], timeout=30_000)
            assert model_values(page, pid, "frame_slider", ["value"])["value"] == index
        assert "Could not play" not in model_values(page, pid, "external_note",
                                                    ["text"])["text"]
    finally:
        server.shutdown()
        server.server_close()
