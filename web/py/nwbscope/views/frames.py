"""The frame at the cursor of an ImageSeries (TwoPhotonSeries, OnePhotonSeries, ImageMaskSeries,
OpticalSeries, ...) or of an IndexSeries, with a slider over the frames.

Why the cursor: frames are moments, and the other panels (traces, ROI responses) are on the
same time axis; the frame shown is the last one whose time is at or before the shared cursor
(``data.frames.frame_index_at``), and the slider over the frame index moves that cursor
(``nwbscopeViews.cursor(panel, time of the frame)``), so every panel follows a step. When a
frame arrives because the cursor moved elsewhere, a ``CustomJS`` on the source sets the
slider to its ``index`` column, and the slider's own callback sees that index already shown
and does not call back. A step reads that one frame (``data[i]``); mean and max projections
read a sample of at most ``MAX_SAMPLE`` frames once and are kept.

Sources: ``picture`` / ``picture_rgba`` (see ``views.images``; plus ``index`` and ``t``: the
frame's number and time), ``frame_times`` (``t`` of every frame, filled in the document
itself, only for a series with timestamps: the slider turns an index into a time with it).
Widgets: ``frame_slider``.

An ImageSeries whose frames are in external files (a video beside the NWB file): a ``video``
Div holds a ``<video>`` element, and source ``video_frame`` (``index``, ``t``, ``file``,
``video_t``; ``data.video``) says which file holds the cursor's frame and where in it; a
``CustomJS`` loads that file and seeks to that time. When the file cannot be played (or the
NWB file has no address: a dropped file) the ``external_note`` Div names the files. The
``video_play`` button plays the video, and the video then moves the shared cursor
(``PLAY_JS``); a frame that arrives while it plays does not seek it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ViewError
from .base import Frame, Option, View
from .data.frames import (
    FrameSeries,
    frame_index_at,
    projection,
    read_frame,
    read_frame_series,
)
from .data.images import indexed_picture
from .data.series import SeriesTime, read_series_time
from .data.video import ExternalVideo, describe, has_external_frames, read_external
from .images import (
    GRAY_SOURCE,
    RGBA_SOURCE,
    picture_figure,
    picture_options,
    picture_ranges,
    picture_sources,
)
from .images import describe as describe_picture
from .window import TimeWindow

SLIDER = "frame_slider"
MICROSCOPY = ("TwoPhotonSeries", "OnePhotonSeries")  # 4-D data: planes, never colour
VIDEO_SOURCE = "video_frame"
VIDEO_HTML = ("<video muted playsinline preload='auto' style='height:360px;max-width:100%;"
              "background:#000'></video>")  # one height: small videos scaled up
# A frame for the <video>: the slider follows, the file is loaded when it changes, the
# video seeks to the frame's time in it. A file that cannot be played: the note says so.
VIDEO_JS = """
const d = source.data;
if (!d.index || !d.index.length) return;
if (slider.value !== d.index[0]) slider.value = d.index[0];
const view = Bokeh.index.find_one(player);
const root = view ? (view.shadow_el || view.el) : null;
const video = root ? root.querySelector('video') : null;
if (!video) return;
if (!video.dataset.watched) {
  video.dataset.watched = '1';
  video.addEventListener('error', () => {
    note.text = "<p style='color:#b71c1c'>Could not play " + video.src + ". " + names + "</p>";
  });
}
if (!video.paused) return;  // playing: the video moves the cursor (PLAY_JS), not back
const url = urls[d.file[0]], at = d.video_t[0];
if (video.dataset.url !== url) { video.dataset.url = url; video.src = url; }
const seek = () => { video.currentTime = at; };
if (video.readyState >= 1) seek(); else video.addEventListener('loadedmetadata', seek,
                                                                {once: true});
"""
# The play button: the video plays on its own, and each time it reports (``timeupdate``,
# about 4 per second) the cursor goes to the series time it shows, so every panel follows.
PLAY_JS = """
const view = Bokeh.index.find_one(player);
const root = view ? (view.shadow_el || view.el) : null;
const video = root ? root.querySelector('video') : null;
if (!video || !video.src) return;
if (!video.dataset.playWatched) {
  video.dataset.playWatched = '1';
  const follow = () => {
    const k = source.data.file && source.data.file.length ? source.data.file[0] : 0;
    if (window.nwbscopeViews) window.nwbscopeViews.cursor(panel, starts[k] + video.currentTime);
  };
  video.addEventListener('timeupdate', () => { if (!video.paused) follow(); });
  video.addEventListener('play', () => { button.label = PAUSE; });
  video.addEventListener('pause', () => {  // to the frame last sent for the cursor: when the
    button.label = PLAY;                   // cursor did not change, no new frame comes
    follow();
    const d = source.data;
    if (d.video_t && d.video_t.length) video.currentTime = d.video_t[0];
  });
}
if (video.paused) video.play().catch(() => { button.label = PLAY; }); else video.pause();
"""
PLAY, PAUSE = "\u25b6 Play", "\u275a\u275a Pause"
TIMES_SOURCE = "frame_times"
MAX_TIMES_IN_DOCUMENT = 1_000_000  # timestamps carried to the slider (8 MB at most)
SLIDER_JS = """
const i = Math.round(cb_obj.value);
const shown = gray.data.index && gray.data.index.length ? gray.data.index : rgba.data.index;
if (shown && shown.length && shown[0] === i) return;  // set from a frame: no echo
const t = times ? times.data.t[i] : start + i / rate;
if (t !== undefined && window.nwbscopeViews) window.nwbscopeViews.cursor(panel, t);
"""
FOLLOW_JS = """
const d = source.data;
if (d.index && d.index.length && slider.value !== d.index[0]) slider.value = d.index[0];
"""


class FramesView(View):
    """One frame (or a projection) at the cursor, with a frame slider."""

    height = 480

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._frames: FrameSeries | None = None
        self._index_time: SeriesTime | None = None
        self._video: ExternalVideo | None = None
        self._projections: dict[tuple[str, int], tuple[np.ndarray, int]] = {}
        super().__init__(*args, **kwargs)

    # -- what the object is ---------------------------------------------------------------
    @property
    def group(self) -> Any:
        return self.nwb.group(self.path)

    @property
    def is_index(self) -> bool:
        return self.nwb.is_a(self.group, "IndexSeries")

    @property
    def external(self) -> bool:
        """The frames are in external files (a video), not in the NWB file."""
        return not self.is_index and has_external_frames(self.group)

    @property
    def video(self) -> ExternalVideo:
        if self._video is None:
            self._video = read_external(self.nwb, self.group)
        return self._video

    @property
    def series(self) -> FrameSeries:
        if self._frames is None:
            group = self.group
            microscopy = any(self.nwb.is_a(group, t) for t in MICROSCOPY)
            self._frames = read_frame_series(group, colour=not microscopy)
        return self._frames

    @property
    def time(self) -> SeriesTime:
        """Frame times (an IndexSeries: the times of its indices)."""
        if self.is_index:
            if self._index_time is None:
                self._index_time = read_series_time(self.group)
                if self._index_time.n_samples == 0:
                    raise ViewError(f"{self.path} has no indices (its data is empty).")
            return self._index_time
        return self.video.time if self.external else self.series.time

    def options(self) -> list[Option]:
        if self.external:
            return []
        options: list[Option] = []
        if not self.is_index:
            series = self.series
            options.append(Option("show", "Show", "select", "frame", choices=(
                ("frame", "frame"), ("mean", "mean"), ("max", "max")),
                help="The frame at the cursor, or the mean / maximum of a sample of frames"))
            if series.layout == "volume":
                options.append(Option("plane", "Plane (z)", "select", "0", choices=tuple(
                    (str(z), str(z)) for z in range(series.n_planes))))
        return options + picture_options()

    def span(self) -> tuple[float, float] | None:
        if self.external and not self.video.counted:
            return None
        time = self.time
        end = time.stop + (1.0 / time.rate if time.rate else 0.0)
        return (time.start, max(end, time.start + 1e-9))

    # -- the data step ----------------------------------------------------------------------
    def picture_at(self, t: float) -> tuple[np.ndarray, int, str]:
        """What the view draws at time ``t``: the picture, the frame index, what it is."""
        time = self.time
        index = frame_index_at(time, t)
        if self.is_index:
            stored = int(np.asarray(self.group["data"][index]).reshape(-1)[0])
            picture, label = indexed_picture(self.nwb, self.group, stored)
            return picture, index, f"image {stored} ({label})"
        series = self.series
        plane = int(self.values.get("plane", "0"))
        show = self.values.get("show", "frame")
        if show == "frame":
            return read_frame(series, index, plane), index, str(series.data.dtype)
        key = (show, plane)
        if key not in self._projections:
            self._projections[key] = projection(series, show, plane)
        picture, used = self._projections[key]
        return picture, index, f"{show} of {used} of {series.n_frames} frames (evenly spread)"

    # -- drawing ----------------------------------------------------------------------------
    def figure(self, window: TimeWindow) -> Any:
        from .bokeh_kit import assemble

        if self.external:
            return self._video_figure(window)
        if self.is_index:
            picture, _, _ = self.picture_at(window.moment)
            nx, ny = picture.shape[:2]
            labels = ("x (image axis 0)", "y (image axis 1)")
        else:
            nx, ny = self.series.size_xy
            labels = ("x (data axis 1)", "y (data axis 2)")
        plot = picture_figure(self, nx, ny, *labels)
        sources = [plot.select_one({"name": name}) for name in (GRAY_SOURCE, RGBA_SOURCE)]
        slider = self._slider(window, *sources)
        for source in sources:
            source.data.update(index=[], t=[])
            source.js_on_change("data", _follow(source, slider))
        return assemble(self, plot, slider)

    def _slider(self, window: TimeWindow, gray: Any, rgba: Any) -> Any:
        """The frame slider: a change moves the cursor to that frame's time, unless the
        frame shown (``index`` of ``gray`` or ``rgba``) is that frame already."""
        from bokeh.models import ColumnDataSource, CustomJS, Slider

        time = self.time
        n = time.n_samples
        slider = Slider(name=SLIDER, title="Frame", start=0, end=max(1, n - 1), step=1,
                        value=frame_index_at(time, window.moment), disabled=n < 2,
                        sizing_mode="stretch_width")
        times = None
        if time.kind == "timestamps":
            if n > MAX_TIMES_IN_DOCUMENT:
                raise ViewError(f"{self.path} has {n} timestamps; the frame slider carries at "
                                f"most {MAX_TIMES_IN_DOCUMENT}.")
            times = ColumnDataSource(name=TIMES_SOURCE, data={"t": time.times(0, n)})
        slider.js_on_change("value", CustomJS(code=SLIDER_JS, args={
            "panel": self.panel_id, "gray": gray, "rgba": rgba, "times": times,
            "start": time.start, "rate": float(time.rate or 1.0)}))
        return slider

    def _video_figure(self, window: TimeWindow) -> Any:
        """The external files' note and, when they have addresses, a <video> kept at the
        cursor's frame (``VIDEO_JS``) with the frame slider."""
        from bokeh.models import Button, ColumnDataSource, CustomJS, Div

        from .bokeh_kit import assemble

        video = self.video
        names = describe(video, self.group)
        note = Div(name="external_note", text=_html(names), sizing_mode="stretch_width")
        if video.urls is None:
            return assemble(self, note)
        player = Div(name="video", text=VIDEO_HTML, sizing_mode="stretch_width")
        source = ColumnDataSource(name=VIDEO_SOURCE, data={
            "index": [], "t": [], "file": [], "video_t": []})
        slider = self._slider(window, source, source)
        source.js_on_change("data", CustomJS(code=VIDEO_JS, args={
            "source": source, "player": player, "note": note, "slider": slider,
            "urls": list(video.urls), "names": names}))
        button = Button(name="video_play", label=PLAY, width=110)
        starts = [video.time.time_of(min(f, video.time.n_samples - 1))
                  for f in video.starting_frame]  # the series time of each file's start
        button.js_on_event("button_click", CustomJS(code=PLAY_JS, args={
            "player": player, "source": source, "button": button, "panel": self.panel_id,
            "starts": starts, "PLAY": PLAY, "PAUSE": PAUSE}))
        return assemble(self, player, button, slider, note)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        if self.external:
            yield self._video_frame(window)
            return
        t = window.moment
        picture, index, stored = self.picture_at(t)
        time = self.time
        frame_t = time.time_of(index)
        sources = picture_sources(picture, self)
        for columns in sources.values():
            filled = len(columns["image"]) > 0
            columns["index"] = np.array([float(index)]) if filled else np.zeros(0)
            columns["t"] = np.array([frame_t]) if filled else np.zeros(0)
        shown = sources[RGBA_SOURCE if picture.ndim == 3 else GRAY_SOURCE]
        notes = list(time.warnings)
        if t < time.start:
            notes.append(f"The cursor ({t:.6g} s) is before the first frame ({time.start:.6g} "
                         "s); the first frame is shown.")
        elif time.n_samples > 1 and t > time.stop + (1.0 / time.rate if time.rate else 0.0):
            notes.append(f"The cursor ({t:.6g} s) is after the last frame ({time.stop:.6g} "
                         "s); the last frame is shown.")
        cursor = (f"cursor {t:.6g} s" if window.cursor is not None
                  else f"no cursor (the window's start, {t:.6g} s)")
        status = (f"frame {index} of {time.n_samples} (0 to {time.n_samples - 1}) at "
                  f"{frame_t:.6g} s · {cursor} · "
                  + describe_picture(picture, shown, stored))
        if not self.is_index and self.series.layout == "volume":
            status += f" · plane z = {int(self.values.get('plane', '0'))}"
        yield Frame(sources=sources, status=status, notes=tuple(notes),
                    ranges=picture_ranges(picture))

    def _video_frame(self, window: TimeWindow) -> Frame:
        """Which file, and where in it, the <video> shows for the cursor's frame."""
        video, t = self.video, window.moment
        if video.urls is None:
            return Frame(sources={}, status="frames in external files",
                         notes=(describe(video, self.group),))
        index, k, inside = video.position(t)
        frame_t = video.time.time_of(index)
        columns = {"index": np.array([float(index)]), "t": np.array([frame_t]),
                   "file": np.array([float(k)]), "video_t": np.array([inside])}
        count = f" of {video.time.n_samples}" if video.counted else ""
        status = (f"frame {index}{count} at {frame_t:.6g} s · cursor {t:.6g} s · "
                  f"{video.files[k]} at {inside:.4f} s")
        return Frame(sources={VIDEO_SOURCE: columns}, status=status, notes=video.warnings)


def _follow(source: Any, slider: Any) -> Any:
    from bokeh.models import CustomJS

    return CustomJS(args={"source": source, "slider": slider}, code=FOLLOW_JS)


def _html(text: str) -> str:
    import html

    return f"<p style='color:#5f6b77'>{html.escape(text)}</p>"

