"""A real video beside the NWB file, played over the real ``nwbscope serve`` in Chromium.

What a person sees: the frames view of an ImageSeries whose frames are in a WebM beside the
NWB file (in a folder below it) shows the video at the cursor's frame; the pose view draws
the keypoints over that frame. The fixture video's frame ``k`` is a uniform grey
``level(k)`` with a white bar at ``bar(k)`` (``tests.fixtures.view_video_files``), so the
picture decoded by the browser says which frame it is: the ``<video>`` is drawn into a canvas
and one pixel read back, and the pose view's image source is read as the page filled it.
Screenshots go to ``playwright/artifacts/``.
"""

from __future__ import annotations

from urllib.parse import urljoin

import numpy as np
import pytest
from views_helpers import (
    open_views,
    panel_seq,
    read_source,
    screenshot,
    set_cursor,
    status_text,
    wait_frame,
)

from tests.fixtures import view_video_files as vv

pytestmark = pytest.mark.usefixtures("no_script_errors")  # (playwright/conftest.py)
VIDEO = vv.VIDEO
ROW, COLUMN = 24, 56  # away from the bar and the band in every frame
ELEMENT = """id => { const m = window.nwbscopeViews.model(id, 'video');
  const v = m ? Bokeh.index.find_one(m) : null;
  return v ? (v.shadow_el || v.el).querySelector('video') : null; }"""
STATE = "id => { const el = (" + ELEMENT + """)(id);
  return el ? {src: el.src, ready: el.readyState, t: el.currentTime, seeking: el.seeking,
               error: el.error ? el.error.code : null} : null; }"""
PIXELS = "([id, row]) => { const el = (" + ELEMENT + """)(id);
  const c = document.createElement('canvas');
  c.width = el.videoWidth; c.height = el.videoHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(el, 0, 0);
  return {size: [el.videoWidth, el.videoHeight],
          row: Array.from(ctx.getImageData(0, row, c.width, 1).data)}; }"""


@pytest.fixture(scope="module", autouse=True)
def written(file_urls):
    if vv.NWB_FILE not in file_urls:
        pytest.skip("imageio-ffmpeg was not installed to write the fixture video")


def frame_at(t: float) -> tuple[int, float]:
    """The frame shown at ``t`` (the last at or before it) and the seek time in the video."""
    index = int(np.clip(np.floor((t - VIDEO["start"]) * VIDEO["rate"] + 1e-9), 0,
                        VIDEO["frames"] - 1))
    return index, (index + 0.25) / VIDEO["rate"]


def which_frame(row_rgba: list[int]) -> tuple[int, list[int]]:
    """The frame a decoded row (RGBA bytes) shows, by its grey, and its white columns."""
    pixels = np.asarray(row_rgba, dtype=np.int64).reshape(-1, 4)
    white = np.flatnonzero(pixels[:, 0] > 235).tolist()  # the greys reach 210
    return vv.frame_of_level(float(pixels[COLUMN, 0])), white


def test_frames_view_plays_the_video_at_the_cursor(vpage, site_url, file_urls) -> None:
    page = vpage
    nwb_url = file_urls[vv.NWB_FILE]
    (pid,) = open_views(page, site_url, nwb_url, [VIDEO["path"]])
    src = urljoin(nwb_url, VIDEO["file"])  # /files/<id>/videos/view_video.webm
    for t in (2.0, 2.35, 3.0, 3.45, 2.5):
        seq = panel_seq(page, pid)
        set_cursor(page, pid, t)
        wait_frame(page, pid, after=seq)
        index, inside = frame_at(t)
        page.wait_for_function(
            "([id, src, at]) => { const s = (" + STATE + ")(id);"
            " return s && (s.error !== null || (s.src === src && s.ready >= 2 && !s.seeking"
            " && Math.abs(s.t - at) < 1e-3)); }",
            arg=[pid, src, inside], timeout=30_000)
        state = page.evaluate(STATE, pid)
        assert state["error"] is None, f"Chromium could not play {src}: {state}"
        decoded = page.evaluate(PIXELS, [pid, ROW])
        assert decoded["size"] == [VIDEO["width"], VIDEO["height"]]
        shown, white = which_frame(decoded["row"])
        assert shown == index, (t, shown, index)
        assert white == list(range(vv.bar(index), vv.bar(index) + 4))
        assert f"frame {index} of {VIDEO['frames']}" in status_text(page, pid)
    screenshot(page, "views_video_frames", pid)


CURSOR = "() => window.nwbscopeViews.cursorT"


def test_play_moves_the_cursor(vpage, site_url, file_urls) -> None:
    """Play: the video runs and the shared cursor follows it; Pause: the video stops at the
    frame of the cursor (the panel's own frame for it seeks it there)."""
    page = vpage
    nwb_url = file_urls[vv.NWB_FILE]
    (pid,) = open_views(page, site_url, nwb_url, [VIDEO["path"]])
    seq = panel_seq(page, pid)
    set_cursor(page, pid, VIDEO["start"])
    wait_frame(page, pid, after=seq)
    page.wait_for_function("id => { const s = (" + STATE + ")(id); return s && s.ready >= 2"
                           " && !s.seeking; }", arg=pid, timeout=30_000)
    button = page.locator(f"#panel-{pid} button", has_text="Play")
    button.click()
    page.wait_for_function("t => window.nwbscopeViews.cursorT > t", arg=VIDEO["start"] + 0.5,
                           timeout=30_000)  # 5 frames on: the video moved the cursor
    page.locator(f"#panel-{pid} button", has_text="Pause").click()
    page.wait_for_function(  # its 'pause' handler ran: the label, then the last cursor
        "id => window.nwbscopeViews.model(id, 'video_play').label.includes('Play')"
        " && (" + ELEMENT + ")(id).paused", arg=pid, timeout=30_000)
    t = page.evaluate(CURSOR)
    index, inside = frame_at(t)
    assert index >= 5
    try:
        page.wait_for_function(  # the frame for the cursor where the video stopped
            "([id, at]) => { const s = (" + STATE + ")(id); return s && !s.seeking"
            " && Math.abs(s.t - at) < 1e-3; }", arg=[pid, inside], timeout=30_000)
    except Exception as exc:
        raise AssertionError(f"cursor {t} then {page.evaluate(CURSOR)}, frame {index} at "
                             f"{inside}: video {page.evaluate(STATE, pid)}, source "
                             f"{read_source(page, pid, 'video_frame')}") from exc
    shown, white = which_frame(page.evaluate(PIXELS, [pid, ROW])["row"])
    assert (shown, white) == (index, list(range(vv.bar(index), vv.bar(index) + 4)))
    page.wait_for_function("([id, i]) => window.nwbscopeViews.model(id, 'frame_slider')"
                           ".value === i", arg=[pid, index], timeout=30_000)
    screenshot(page, "views_video_played", pid)


IMAGE = """id => { const m = window.nwbscopeViews.model(id, 'pose_video_image');
  const d = m ? m.data : {};
  if (!d.image || !d.image.length) return null;
  const im = d.image[0];
  const bytes = new Uint8Array(im.buffer || im.array.buffer);
  return {t: d.video_t[0], shape: im.shape, x: d.x[0], y: d.y[0], dw: d.dw[0], dh: d.dh[0],
          rows: [0, 24].map(r => Array.from(bytes.slice(r * im.shape[1] * 4,
                                                        (r + 1) * im.shape[1] * 4)))}; }"""
NOTE = "id => window.nwbscopeViews.model(id, 'pose_video_note').text"


def test_pose_is_drawn_over_the_video(vpage, site_url, file_urls) -> None:
    if vv.POSE_FILE not in file_urls:
        pytest.skip("ndx-pose was not installed to write the pose fixture")
    page = vpage
    (pid,) = open_views(page, site_url, file_urls[vv.POSE_FILE], [vv.POSE["path"]])
    for t in (2.0, 2.84, 3.3, 3.88):
        seq = panel_seq(page, pid)
        set_cursor(page, pid, t)
        wait_frame(page, pid, after=seq)
        sample = int(round((t - VIDEO["start"]) * VIDEO["rate"]))  # the keypoints' nearest
        index, inside = frame_at(VIDEO["start"] + sample / VIDEO["rate"])
        assert index == sample
        page.wait_for_function(
            "([id, at]) => { const s = (" + IMAGE + ")(id); return (s && Math.abs(s.t - at)"
            " < 1e-3) || (" + NOTE + ")(id).includes('Could not'); }",
            arg=[pid, inside], timeout=30_000)
        assert "Could not" not in page.evaluate(NOTE, pid)
        image = page.evaluate(IMAGE, pid)
        assert image["shape"] == [VIDEO["height"], VIDEO["width"]]
        assert (image["x"], image["y"], image["dw"], image["dh"]) == (
            0, 0, VIDEO["width"], VIDEO["height"])  # the dimension the keypoints are in
        shown, white = which_frame(image["rows"][1])
        assert shown == sample
        assert white == list(range(vv.bar(sample), vv.bar(sample) + 4))
        assert max(image["rows"][0][0::4]) < 40  # row 0 is the top: the black band
        points = read_source(page, pid, "pose_points")
        bar_x = points["x"][points["name"].index("bar")]
        assert bar_x == vv.bar(sample) + 2.0  # the keypoint on the bar drawn under it
        assert f"video frame {sample} " in status_text(page, pid)
    screenshot(page, "views_video_pose", pid)
