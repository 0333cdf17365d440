"""The pose's source video under its keypoints: the frame at the keypoints' time, drawn as an
RGBA image in the pose plot's own pixel coordinates.

Why an image glyph and not a ``<video>`` behind the plot: the keypoints are in the video's
pixels, and an image in the same data space stays under them however the plot is zoomed,
panned or resized, with y down as the keypoints are. The page decodes the video (a hidden
``<video>`` in Div ``pose_video_player``, seeked as the frames view does:
``data.video.ExternalVideo.position``), draws the frame into a canvas and hands its pixels to
source ``pose_video_image``; the worker only says which file and which time (source
``pose_video``: ``file``, ``video_t``, ``index``, ``t``). The element is in the document, not
detached, and not ``display: none``: Chromium then decodes only the key frame after a seek
(a frame between key frames is never shown).

Which frame: the one shown at the time of the keypoints' drawn sample (not the cursor's), so
the picture and the keypoints are the same moment even when the nearest sample is the next
frame. The image spans the video's ``dimension`` (the pixels the keypoints were measured in)
when the file gives it, else the decoded size. A video the page cannot play (or whose pixels
it may not read: another origin without CORS) leaves the keypoints alone and says so in the
``pose_video_note`` Div.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ViewError
from .data.pose import PoseLayout
from .data.video import ExternalVideo, describe, has_external_frames, read_external

VIDEO_SOURCE = "pose_video"
IMAGE_SOURCE = "pose_video_image"
NOTE = "pose_video_note"
PLAYER_HTML = ("<video muted playsinline preload='auto' crossorigin='anonymous' "
               "style='position:absolute;width:1px;height:1px;visibility:hidden'></video>")
VIDEO_JS = """
const d = source.data;
if (!d.file || !d.file.length) return;
const view = Bokeh.index.find_one(player);
const root = view ? (view.shadow_el || view.el) : null;
const video = root ? root.querySelector('video') : null;
if (!video) return;
if (!video.dataset.watched) {
  video.dataset.watched = '1';
  const fail = (why) => {
    note.text = "<p style='color:#b71c1c'>Could not " + why + " " + video.src + "; the " +
      "keypoints are drawn without it. " + names + "</p>";
  };
  video.addEventListener('error', () => fail('play'));
  const draw = () => {
    const w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) return;
    if (video.readyState < 2) { video.addEventListener('loadeddata', draw, {once: true}); return; }
    const canvas = document.createElement('canvas');
    canvas.width = w; canvas.height = h;
    const ctx = canvas.getContext('2d', {willReadFrequently: true});
    ctx.drawImage(video, 0, 0, w, h);
    let pixels;
    try { pixels = ctx.getImageData(0, 0, w, h); } catch (e) { fail('read the pixels of'); return; }
    const {ndarray} = Bokeh.require('core/util/ndarray');
    const flat = new Uint32Array(pixels.data.buffer);  // RGBA bytes, as image_rgba reads them
    const size = dims.length ? dims : [w, h];
    image.data = {image: [ndarray(flat, {shape: [h, w]})], x: [0], y: [0], dw: [size[0]],
                  dh: [size[1]], video_t: [video.currentTime],
                  file: [Number(video.dataset.file)]};
  };
  video.addEventListener('seeked', draw);
}
const url = urls[d.file[0]], at = d.video_t[0];
if (video.dataset.url !== url) {
  video.dataset.url = url; video.dataset.file = String(d.file[0]); video.src = url;
}
const seek = () => { video.currentTime = at; };
if (video.readyState >= 1) seek(); else video.addEventListener('loadedmetadata', seek,
                                                                {once: true});
"""


def overlay_video(nwb: Any, layout: PoseLayout) -> ExternalVideo | None:
    """The source video to draw under the keypoints, when there is one the page may play:
    a linked external ImageSeries (ndx-pose 0.4), keypoints in pixels, a file address."""
    if layout.video_path is None or not layout.pixels:
        return None
    try:
        group = nwb.group(layout.video_path)
        if not has_external_frames(group):
            return None
        video = read_external(nwb, group)
    except (ViewError, KeyError):
        return None
    return video if video.urls is not None else None


def add_overlay(plot: Any, video: ExternalVideo, layout: PoseLayout, names: str) -> Any:
    """The image glyph (under everything drawn after it), the sources, the JS that fills
    them; answers the note Div."""
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, CustomJS, Div

    image = ColumnDataSource(name=IMAGE_SOURCE, data={
        "image": [], "x": [], "y": [], "dw": [], "dh": [], "video_t": [], "file": []})
    plot.image_rgba(image="image", x="x", y="y", dw="dw", dh="dh", source=image,
                    name="pose_video_frame")
    source = ColumnDataSource(name=VIDEO_SOURCE, data={"file": [], "video_t": [],
                                                       "index": [], "t": []})
    # tags: the source belongs to the document (nothing else draws from it)
    note = Div(name=NOTE, text="", sizing_mode="stretch_width", tags=[source])
    player = Div(name="pose_video_player", text=PLAYER_HTML, width=1, height=1)
    dims = list(layout.dimensions) if layout.dimensions else []
    source.js_on_change("data", CustomJS(code=VIDEO_JS, args={
        "source": source, "image": image, "note": note, "player": player,
        "urls": list(video.urls or ()), "dims": dims, "names": names}))
    return column(note, player, sizing_mode="stretch_width")


def overlay_columns(video: ExternalVideo, t: float) -> tuple[dict[str, np.ndarray], str]:
    """Which file, and where in it, shows the frame at ``t``; and a status phrase."""
    index, k, inside = video.position(t)
    frame_t = video.time.time_of(index)
    columns = {"file": np.array([float(k)]), "video_t": np.array([inside]),
               "index": np.array([float(index)]), "t": np.array([frame_t])}
    return columns, f"video frame {index} ({video.files[k]} at {inside:.4f} s)"


def overlay_note(video: ExternalVideo, group: Any) -> str:
    return describe(video, group) + " It is drawn under the keypoints where the page can " \
        "play it."
