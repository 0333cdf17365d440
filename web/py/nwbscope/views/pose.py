"""Pose estimation: the keypoints at the cursor with their skeleton, and each keypoint's path.

Why it follows the cursor: the skeleton is one moment (one video frame); the page asks for a
new frame whenever the shared cursor moves (``ViewSpec.follows_cursor``), and the paths are
those of the visible window (bounded: ``data.spatial.spatial_track``), so the skeleton is
seen moving along them. A small plot of each keypoint's x against time shares the session's
time axis: a tap there sets the cursor.

Why y points down for pixels: image coordinates start at the top left corner; drawn with y
up, a mouse would walk upside down beside its video. The video frame's outline (its
``dimension``) is drawn so the auto ranges, with equal x and y scales, show the whole frame.

Sources: ``pose_points`` (``x``, ``y``, ``name``, ``color``, ``t``: the keypoints at the
cursor, tracked ones only), ``pose_edges`` (``x0``, ``y0``, ``x1``, ``y1``: skeleton edges
whose ends are both tracked), ``pose_tracks`` (``xs``, ``ys``, ``color``, ``name``: paths
over the window, NaN gaps where tracking was lost), ``pose_time`` (``xs`` times, ``ys`` the
x coordinate, per keypoint). Over a source video the page can play (``views.pose_video``):
``pose_video`` (which file and time) and ``pose_video_image`` (the decoded frame, under the
keypoints).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ViewError
from .base import Frame, View
from .data.pose import PoseLayout, keypoint_series, keypoints_at, read_pose, trajectories
from .data.series import SeriesTime
from .data.video import ExternalVideo
from .window import TimeWindow

POINTS_SOURCE = "pose_points"
EDGES_SOURCE = "pose_edges"
TRACKS_SOURCE = "pose_tracks"
TIME_SOURCE = "pose_time"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
MIN_TRACK_POINTS = 50  # per keypoint, however many keypoints share the budget


class PoseView(View):
    """A PoseEstimation (all keypoints, skeleton) or one PoseEstimationSeries."""

    height = 380
    time_height = 150

    @property
    def layout(self) -> PoseLayout:
        if not hasattr(self, "_layout"):
            self._layout = read_pose(self.nwb, self.path)
        return self._layout

    @property
    def video(self) -> ExternalVideo | None:
        """The source video drawn under the keypoints (``pose_video``), or None."""
        if not hasattr(self, "_video"):
            from .pose_video import overlay_video

            self._video = overlay_video(self.nwb, self.layout)
        return self._video

    @property
    def series(self) -> list[SeriesTime | None]:
        if not hasattr(self, "_series"):
            self._series = keypoint_series(self.nwb, self.layout)
            if all(s is None for s in self._series):
                raise ViewError(f"No keypoint of {self.path} has a series to draw.")
        return self._series

    def span(self) -> tuple[float, float] | None:
        spans = [(s.start, s.stop + (1.0 / s.rate if s.rate else 0.0))
                 for s in self.series if s is not None and s.n_samples]
        if not spans:
            return None
        return min(a for a, _ in spans), max(max(b for _, b in spans), spans[0][0] + 1e-9)

    def colors(self) -> list[str]:
        return [PALETTE[k % len(PALETTE)] for k in range(len(self.layout.nodes))]

    # -- drawing ----------------------------------------------------------------------------
    def figure(self, window: TimeWindow) -> Any:
        from bokeh.models import ColumnDataSource, HoverTool
        from bokeh.plotting import figure

        from .bokeh_kit import assemble, time_figure

        layout = self.layout
        unit = layout.unit or "value"
        plot = figure(height=self.height, sizing_mode="stretch_width", match_aspect=True,
                      tools="pan,wheel_zoom,box_zoom,reset,save", active_scroll="wheel_zoom",
                      x_axis_label=f"x ({unit})", y_axis_label=f"y ({unit})")
        plot.toolbar.logo = None
        plot.x_range.name, plot.y_range.name = "pose_x_range", "pose_y_range"
        plot.y_range.flipped = layout.pixels
        video_note = None
        if self.video is not None:  # first: the frame lies under everything else
            from .data.video import describe
            from .pose_video import add_overlay

            names = describe(self.video, self.nwb.group(layout.video_path or ""))
            video_note = add_overlay(plot, self.video, layout, names)
        if layout.dimensions:  # the video frame's outline: the ranges (equal scales) hold it
            width, height = layout.dimensions
            plot.quad(left=[0.0], right=[width], bottom=[0.0], top=[height], fill_alpha=0.0,
                      line_color="#b0b7bf", line_dash="dashed", name="pose_frame")
        tracks = ColumnDataSource(name=TRACKS_SOURCE, data={"xs": [], "ys": [], "color": [],
                                                            "name": []})
        plot.multi_line(xs="xs", ys="ys", source=tracks, line_color="color", line_alpha=0.35,
                        line_width=1)
        edges = ColumnDataSource(name=EDGES_SOURCE, data={"x0": [], "y0": [], "x1": [],
                                                          "y1": []})
        plot.segment(x0="x0", y0="y0", x1="x1", y1="y1", source=edges, line_color="#37474f",
                     line_width=2)
        points = ColumnDataSource(name=POINTS_SOURCE, data={"x": [], "y": [], "name": [],
                                                            "color": [], "t": []})
        dots = plot.scatter("x", "y", source=points, size=10, fill_color="color",
                            line_color="white", legend_field="name")
        plot.add_tools(HoverTool(renderers=[dots], tooltips=[("keypoint", "@name"),
                                                            ("x", "@x"), ("y", "@y"),
                                                            ("t (s)", "@t")]))
        plot.legend.location = "top_right"
        plot.legend.label_text_font_size = "9px"
        against_time = time_figure(self, window, f"x ({unit})", height=self.time_height)
        times = ColumnDataSource(name=TIME_SOURCE, data={"xs": [], "ys": [], "color": [],
                                                         "name": []})
        against_time.multi_line(xs="xs", ys="ys", source=times, line_color="color",
                                line_width=1)
        return assemble(self, plot, video_note, against_time)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        layout, series = self.layout, self.series
        colors = self.colors()
        t = window.moment
        at = keypoints_at(layout, series, t)
        tracked = np.isfinite(at.x) & np.isfinite(at.y)
        shown = np.flatnonzero(tracked)
        points = {"x": at.x[shown], "y": at.y[shown],
                  "name": np.array([layout.nodes[k] for k in shown], dtype=object),
                  "color": np.array([colors[k] for k in shown], dtype=object),
                  "t": at.times[shown]}
        pairs = [(a, b) for a, b in layout.edges if tracked[a] and tracked[b]]
        edges = {"x0": np.array([at.x[a] for a, _ in pairs], dtype=np.float64),
                 "y0": np.array([at.y[a] for a, _ in pairs], dtype=np.float64),
                 "x1": np.array([at.x[b] for _, b in pairs], dtype=np.float64),
                 "y1": np.array([at.y[b] for _, b in pairs], dtype=np.float64)}
        n_series = max(1, sum(s is not None for s in series))
        budget = max(MIN_TRACK_POINTS, 2 * window.width_px // n_series)
        paths = trajectories(series, window, budget)
        tracks: dict[str, list[Any]] = {"xs": [], "ys": [], "color": [], "name": []}
        against: dict[str, list[Any]] = {"xs": [], "ys": [], "color": [], "name": []}
        notes = list(layout.warnings)
        for k, track in enumerate(paths):
            if track is None or track.values.shape[1] < 2:
                continue
            for w in track.warnings:
                if w not in notes and "has no samples between" not in w:
                    notes.append(w)
            for out, xs, ys in ((tracks, track.values[:, 0], track.values[:, 1]),
                                (against, track.times, track.values[:, 0])):
                out["xs"].append(np.ascontiguousarray(xs))
                out["ys"].append(np.ascontiguousarray(ys))
                out["color"].append(colors[k])
                out["name"].append(layout.nodes[k])
        lost = [layout.nodes[k] for k in range(len(layout.nodes))
                if series[k] is not None and at.index[k] >= 0 and not tracked[k]]
        outside = [layout.nodes[k] for k in range(len(layout.nodes))
                   if series[k] is not None and at.index[k] < 0]
        if lost:
            notes.append(f"Not tracked at {t:.6g} s (NaN in the file): {', '.join(lost)}.")
        if outside:
            notes.append(f"No sample at {t:.6g} s (outside the recorded times): "
                         f"{', '.join(outside)}.")
        if layout.videos:
            notes.append(self.video_note())
        frame_index = int(at.index[shown[0]]) if shown.size else -1
        status = (f"{len(shown)} of {len(layout.nodes)} keypoints at {t:.6g} s"
                  + (f" (sample {frame_index})" if frame_index >= 0 else "")
                  + f" · paths over {window.start:.6g} to {window.end:.6g} s")
        sources = {POINTS_SOURCE: points, EDGES_SOURCE: edges,
                   TRACKS_SOURCE: _columns(tracks), TIME_SOURCE: _columns(against)}
        if self.video is not None:  # the frame of the drawn sample's time
            from .pose_video import VIDEO_SOURCE, overlay_columns

            drawn = at.times[shown[0]] if shown.size else t
            sources[VIDEO_SOURCE], phrase = overlay_columns(self.video, float(drawn))
            status += " · " + phrase
        yield Frame(sources=sources, status=status, notes=tuple(notes))


    def video_note(self) -> str:
        """The source video's files, and whether it is drawn under the keypoints."""
        layout = self.layout
        if layout.video_path is not None:
            from .data.video import describe, read_external

            try:
                group = self.nwb.group(layout.video_path)
                if self.video is not None:
                    from .pose_video import overlay_note

                    return overlay_note(self.video, group)
                return describe(read_external(self.nwb, group), group) + (
                    " The keypoints are drawn without it.")
            except ViewError:
                pass
        return f"Video: {', '.join(layout.videos)} (not drawn here)."


def _columns(lines: dict[str, list[Any]]) -> dict[str, Any]:
    return {"xs": lines["xs"], "ys": lines["ys"],
            "color": np.array(lines["color"], dtype=object),
            "name": np.array(lines["name"], dtype=object)}
