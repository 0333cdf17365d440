"""A RoiResponseSeries (or the chosen one of a Fluorescence / DfOverF): stacked traces
labelled by ROI id, or a time x ROI heatmap when there are many ROIs.

Why reuse the traces view: stacked ROI traces are stacked channels (one gain, min/max per
pixel column, ``views.traces``); only the labels differ, taken from the ``rois`` region
(``data.roi_traces``). Above ``STACK_LIMIT`` ROIs lines become unreadable, so the heatmap is
the default there (the ``mode`` control switches); its source ``heatmap`` is one image row
(``image`` = ``[[row per ROI]]``, row ``k`` is column ``k`` of the data, drawn at y = k),
``x``/``dw`` the time extent, ``low``/``high`` the colour scale. A ROI picked in another panel
(``select_rows`` on the PlaneSegmentation) is drawn red in the stacked traces.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ViewError
from .base import Frame, Option
from .data.decimate import TraceBlock
from .data.roi_traces import RoiRegion, heatmap, read_roi_region, roi_series_in
from .data.series import SeriesTime, read_series_time
from .traces import TRACE_SOURCE, TimeSeriesView
from .window import TimeWindow

STACK_LIMIT = 32
HEATMAP_SOURCE = "heatmap"
HIGHLIGHT = "#d32f2f"
SCALE_JS = """
const d = source.data;
if (d.low && d.low.length) { mapper.low = d.low[0]; mapper.high = d.high[0]; }
"""


class RoiTracesView(TimeSeriesView):
    """ROI traces of one RoiResponseSeries, chosen among a container's series."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._highlight: set[int] = set()
        super().__init__(*args, **kwargs)

    # -- the series ---------------------------------------------------------------------------
    @property
    def choices(self) -> list[str]:
        if not hasattr(self, "_choices"):
            self._choices = roi_series_in(self.nwb, self.path)
            if not self._choices:
                raise ViewError(f"{self.path} holds no RoiResponseSeries: there are no ROI "
                                "traces to draw.")
        return self._choices

    @property
    def series_path(self) -> str:
        return getattr(self, "values", {}).get("series") or self.choices[0]

    @property
    def series(self) -> SeriesTime:
        if self._series is None or self._series.path != self.series_path:
            self._series = read_series_time(self.nwb.group(self.series_path))
            self._region = None
        return self._series

    @property
    def region(self) -> RoiRegion:
        series = self.series
        if getattr(self, "_region", None) is None:
            self._region = read_roi_region(self.nwb, self.nwb.group(series.path),
                                           series.n_channels)
        return self._region

    def labels(self) -> list[str]:
        return list(self.region.labels)

    @property
    def mode(self) -> str:
        mode = self.values.get("mode", "auto")
        if mode == "auto":
            return "heatmap" if self.series.n_channels > STACK_LIMIT else "stacked"
        return mode

    def options(self) -> list[Option]:
        options = []
        if len(self.choices) > 1 or self.choices[0] != self.path:
            options.append(Option("series", "Series", "select", self.choices[0], rebuild=True,
                                  choices=tuple((p, posixpath.basename(p))
                                                for p in self.choices)))
        options.append(Option("mode", "Show as", "select", "auto", rebuild=True, choices=(
            ("auto", f"automatic (heatmap above {STACK_LIMIT} ROIs)"),
            ("stacked", "stacked traces"), ("heatmap", "heatmap"))))
        options.append(Option("bin", "Heatmap pixel", "select", "mean",
                              choices=(("mean", "mean"), ("max", "max")),
                              help="How the samples of one heatmap column are reduced"))
        return [*options, *super().options()]

    def set_option(self, name: str, value: Any) -> bool:
        rebuild = super().set_option(name, value)
        if name == "series":
            self._highlight = set()
        return rebuild

    def select_rows(self, table: str, rows: list[int]) -> str:
        if table != self.region.table:
            return ""
        self._highlight = {int(r) for r in rows}
        return "frames"

    # -- drawing ------------------------------------------------------------------------------
    def figure(self, window: TimeWindow) -> Any:
        if self.mode != "heatmap":
            return super().figure(window)
        from bokeh.models import (
            BasicTicker,
            ColorBar,
            ColumnDataSource,
            CustomJS,
            LinearColorMapper,
            Range1d,
        )
        from bokeh.palettes import Viridis256

        from .bokeh_kit import assemble, time_figure

        n = self.series.n_channels
        source = ColumnDataSource(name=HEATMAP_SOURCE, data={
            "image": [], "x": [], "y": [], "dw": [], "dh": [], "low": [], "high": []})
        plot = time_figure(self, window, "ROI", height=int(min(700, max(self.height,
                                                                        4 * n + 80))),
                           y_range=Range1d(-0.5, n - 0.5, name="y_range"))
        plot.yaxis.ticker = BasicTicker(desired_num_ticks=12, min_interval=1)
        plot.yaxis.major_label_overrides = dict(enumerate(self.labels()))
        mapper = LinearColorMapper(palette=Viridis256, name="heatmap_colors")
        source.js_on_change("data", CustomJS(args={"source": source, "mapper": mapper},
                                             code=SCALE_JS))
        plot.image(image="image", x="x", y="y", dw="dw", dh="dh", source=source,
                   color_mapper=mapper)
        plot.add_layout(ColorBar(color_mapper=mapper, title=self.series.unit or "value",
                                 width=10), "right")
        return assemble(self, plot)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        if self.mode != "heatmap":
            yield from super().frames(window)
            return
        result = heatmap(self.series, window, how=self.values.get("bin", "mean"))
        notes = (*self.series.warnings, *self.region.notes)
        n_rois, n_cols = result.values.shape
        if n_cols == 0:
            empty = np.zeros(0)
            yield Frame(sources={HEATMAP_SOURCE: {
                "image": [], "x": empty, "y": empty, "dw": empty, "dh": empty, "low": empty,
                "high": empty}}, status="no samples in the window", notes=notes)
            return
        finite = result.values[np.isfinite(result.values)]
        low = float(np.percentile(finite, 1)) if finite.size else 0.0
        high = float(np.percentile(finite, 99)) if finite.size else 1.0
        per = (result.edges[-1] - result.edges[0]) / n_cols
        status = (f"{n_rois} ROIs · {n_cols} columns, one sample each" if per == 1 else
                  f"{n_rois} ROIs · {n_cols} columns, {result.how} of {per:.3g} samples each")
        yield Frame(sources={HEATMAP_SOURCE: {
            "image": [[np.ascontiguousarray(r) for r in result.values]],
            "x": np.array([result.x0]), "y": np.array([-0.5]),
            "dw": np.array([result.dw]), "dh": np.array([float(n_rois)]),
            "low": np.array([low]), "high": np.array([high if high > low else low + 1.0])}},
            status=status, notes=notes)

    def frame(self, block: TraceBlock) -> Frame:
        """The stacked traces, the ROIs picked elsewhere in red, the region's notes added."""
        frame = super().frame(block)
        if self._highlight:
            rows = self.region.rows
            colors = frame.sources[TRACE_SOURCE]["color"]
            for i, channel in enumerate(block.channels):
                if int(rows[channel]) in self._highlight:
                    colors[i] = HIGHLIGHT
        frame.notes = (*frame.notes, *(n for n in self.region.notes if n not in frame.notes))
        return frame
