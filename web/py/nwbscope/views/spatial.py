"""A SpatialSeries: the path in space, coloured by time, and each coordinate against time.

Why the whole window's path goes to the page, with its times: the cursor marker (where the
subject was at the cursor's time) moves inside the Bokeh document, by a ``CustomJS`` on the
``cursor`` span's location that finds the nearest time in the ``trajectory`` source. A tap
then costs no worker round trip, and the marker is exactly a drawn point of the path. The
path is bounded (``data.spatial.spatial_track``: at most two points per pixel column of the
window), so sending it whole is cheap.

Sources: ``trajectory`` (``t``, ``x``[, ``y``[, ``z``]]: one row per point) drives the path
and the lines against time; ``position_marker`` (``t``, ``x``, ``y``: one row, or none when
the cursor is outside the window or tracking was lost there) is written only by the JS.
A 1-D series (linearized position) has no path: only its line against time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .base import Frame, Option
from .data.series import SeriesTime
from .data.spatial import reference_frame, spatial_dims, spatial_track
from .series_view import SeriesView
from .window import TimeWindow

TRACK_SOURCE = "trajectory"
MARKER_SOURCE = "position_marker"
AXIS_COLORS = {"x": "#1f77b4", "y": "#ff7f0e", "z": "#2ca02c"}
MARKER_COLOR = "#d32f2f"  # the cursor span's colour: the marker is the cursor in space

# The cursor's time → the nearest point of the path (binary search: times are increasing).
# Empty when the cursor is unset, outside the path's times (by more than one point's
# spacing), or at a point where tracking was lost (NaN).
MARKER_JS = """
const d = track.data, t = d.t || [], n = t.length, at = span.location;
let out = {t: [], x: [], y: []};
if (at !== null && at !== undefined && n > 0) {
  const gap = n > 1 ? (t[n - 1] - t[0]) / (n - 1) : 0;
  if (at >= t[0] - gap && at <= t[n - 1] + gap) {
    let lo = 0, hi = n;
    while (lo < hi) { const m = (lo + hi) >> 1; if (t[m] < at) lo = m + 1; else hi = m; }
    let k = Math.min(lo, n - 1);
    if (k > 0 && at - t[k - 1] <= t[k] - at) k -= 1;
    const x = d.x[k], y = d.y[k];
    if (Number.isFinite(x) && Number.isFinite(y)) out = {t: [t[k]], x: [x], y: [y]};
  }
}
marker.data = out;
"""
# The colour scale spans the path's times (the window), whatever window it shows.
COLORS_JS = """
const t = track.data.t || [];
if (t.length) { mapper.low = t[0]; mapper.high = t[t.length - 1] > t[0] ? t[t.length - 1]
                                                                      : t[0] + 1e-9; }
"""


class SpatialSeriesView(SeriesView):
    """Position over the visible window; 2-D/3-D series also as a path with the marker (a
    3-D path is drawn as x against y; z is shown against time only)."""

    height = 220  # of the plot against time; the path's plot has its own

    path_height = 360

    @property
    def series(self) -> SeriesTime:
        """Read once; a series of more than three columns is refused here (ViewError)."""
        series = super().series
        spatial_dims(series)
        return series

    @property
    def dims(self) -> tuple[str, ...]:
        return spatial_dims(self.series)

    def options(self) -> list[Option]:
        return [Option("method", "Each point is", "select", "stride",
                       choices=(("stride", "a sample (every n-th)"),
                                ("mean", "a mean of n samples")),
                       help="How a long window is reduced to at most two points per pixel: "
                       "actual samples (corners may be cut) or means (smoother)")]


    # -- drawing ----------------------------------------------------------------------------
    def figure(self, window: TimeWindow) -> Any:
        from bokeh.models import ColumnDataSource, CustomJS

        from .bokeh_kit import assemble, time_figure

        dims = self.dims
        unit = self.series.unit or "value"
        track = ColumnDataSource(name=TRACK_SOURCE, data={"t": [], **{d: [] for d in dims}})
        against_time = time_figure(self, window, unit, height=self.height)
        for dim in dims:
            against_time.line("t", dim, source=track, line_color=AXIS_COLORS[dim],
                              line_width=1.5, legend_label=dim)
        against_time.legend.location = "top_left"
        against_time.legend.click_policy = "hide"
        if len(dims) < 2:
            return assemble(self, against_time)
        marker = ColumnDataSource(name=MARKER_SOURCE, data={"t": [], "x": [], "y": []})
        path_plot = self._path_figure(track, marker, unit)
        cursor = against_time.select_one({"name": "cursor"})
        cursor.js_on_change("location", CustomJS(args={"track": track, "marker": marker,
                                                       "span": cursor}, code=MARKER_JS))
        track.js_on_change("data", CustomJS(args={"track": track, "marker": marker,
                                                  "span": cursor}, code=MARKER_JS))
        return assemble(self, path_plot, against_time)

    def _path_figure(self, track: Any, marker: Any, unit: str) -> Any:
        """x against y with equal scales (a circle stays a circle), points coloured by time."""
        from bokeh.models import ColorBar, CustomJS, LinearColorMapper
        from bokeh.palettes import Viridis256
        from bokeh.plotting import figure

        frame = reference_frame(self.nwb.group(self.path))
        plot = figure(height=self.path_height, sizing_mode="stretch_width", match_aspect=True,
                      tools="pan,wheel_zoom,box_zoom,reset,save", active_scroll="wheel_zoom",
                      x_axis_label=f"x ({unit})", y_axis_label=f"y ({unit})",
                      title=f"reference frame: {frame}" if frame else None)
        plot.toolbar.logo = None
        mapper = LinearColorMapper(palette=Viridis256, name="time_colors")
        track.js_on_change("data", CustomJS(args={"track": track, "mapper": mapper},
                                            code=COLORS_JS))
        plot.line("x", "y", source=track, line_color="#b0b7bf", line_width=1)
        plot.scatter("x", "y", source=track, size=4, line_color=None,
                     fill_color={"field": "t", "transform": mapper})
        plot.scatter("x", "y", source=marker, size=16, marker="circle", fill_alpha=0.0,
                     line_color=MARKER_COLOR, line_width=3)
        plot.add_layout(ColorBar(color_mapper=mapper, title="time (s)", width=10), "right")
        return plot

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        track = spatial_track(self.series, window, method=self.values.get("method", "stride"))
        columns: dict[str, np.ndarray] = {"t": track.times}
        for k, dim in enumerate(track.dims):
            columns[dim] = np.ascontiguousarray(track.values[:, k])
        n = track.times.size
        if track.step == 1:
            status = f"{n} samples"
        else:
            how = "every" if track.method == "stride" else "mean of"
            status = f"{n} points, {how} {track.step} samples"
        yield Frame(sources={TRACK_SOURCE: columns}, status=status, notes=track.warnings)
