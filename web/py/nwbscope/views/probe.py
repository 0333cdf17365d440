"""The electrodes table as a probe: one marker per electrode, coloured by group or location.

Why the selection goes through the page: a box or a tap on the markers chooses electrodes,
and every open ElectricalSeries view should then show those channels. The panels are
separate Bokeh documents, so a ``CustomJS`` on the marker source's selection hands the
chosen table rows to ``window.nwbscopeViews.select`` (``web/views.js``); the page asks the
worker, which calls each panel's ``View.select_rows`` (``ElectricalSeriesView`` maps rows to
its channels) and redraws the panels that changed.

``probe_figure`` draws the layout for other views too (the waveforms view shows where a unit
sits on the probe, its channels highlighted).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np

from .base import Frame, Option, View
from .data.probe import ProbeLayout, read_layout
from .window import TimeWindow

PROBE_SOURCE = "probe_electrodes"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
MISSING_COLOR = "#b0b7bf"
SELECT_JS = """
const rows = source.selected.indices.map(i => source.data.row[i]);
if (window.nwbscopeViews) window.nwbscopeViews.select(panel, table, rows);
"""
COORDINATE_LABELS = {"rel_x": "rel_x", "rel_y": "rel_y", "x": "x", "y": "y", "z": "z"}

_LAYOUTS: weakref.WeakKeyDictionary[Any, dict[str, ProbeLayout]] = weakref.WeakKeyDictionary()


def probe_layout(nwb: Any, path: str) -> ProbeLayout:
    """The layout of an electrodes table, read once per file (shared by the views)."""
    layouts = _LAYOUTS.setdefault(nwb, {})
    if path not in layouts:
        layouts[path] = read_layout(nwb, path)
    return layouts[path]


def colors(layout: ProbeLayout, by: str) -> np.ndarray:
    """A colour per electrode: the palette by category code (grey for a missing value)."""
    codes = layout.categories(by).codes
    return np.array([PALETTE[c % len(PALETTE)] if c >= 0 else MISSING_COLOR
                     for c in codes.tolist()], dtype=object)


def electrode_columns(layout: ProbeLayout, by: str = "group") -> dict[str, Any]:
    """The marker source's columns: position, row, id, labels, colour, coordinates."""
    columns: dict[str, Any] = {
        "x": layout.x, "y": layout.y, "row": np.arange(layout.n, dtype=np.int32),
        "id": layout.ids.astype(np.float64), "group": layout.groups,
        "location": layout.locations, "color": colors(layout, by),
        "label": layout.groups if by == "group" else layout.locations}
    for name in COORDINATE_LABELS:
        values = layout.coordinates.get(name)
        columns["c_" + name] = values if values is not None else np.full(layout.n, np.nan)
    return columns


def probe_figure(layout: ProbeLayout, height: int, tools: str, **kwargs: Any) -> Any:
    """An equal-aspect plot in the layout's axes (um when measured)."""
    from bokeh.plotting import figure

    unit = " (um)" if layout.measured else " (index: no coordinates)"
    plot = figure(height=height, tools=tools, match_aspect=True, x_axis_label=layout.axes[0]
                  + unit, y_axis_label=layout.axes[1] + unit, **kwargs)
    plot.toolbar.logo = None
    return plot


def hover(renderer: Any) -> Any:
    from bokeh.models import HoverTool

    tips = [("row", "@row"), ("id", "@id"), ("group", "@group"), ("location", "@location")]
    tips += [(name, "@c_" + name + "{0.[00]}") for name in COORDINATE_LABELS]
    return HoverTool(renderers=[renderer], tooltips=tips)


class ProbeView(View):
    """The electrodes of an electrodes table at their probe positions; choosing some (a tap
    or a box) shows those channels in every open ElectricalSeries view."""

    height = 480

    @property
    def layout(self) -> ProbeLayout:
        return probe_layout(self.nwb, self.path)

    def options(self) -> list[Option]:
        return [Option("color_by", "Colour by", "select", "group",
                       choices=(("group", "group"), ("location", "location")))]

    def figure(self, window: TimeWindow) -> Any:
        from bokeh.models import ColumnDataSource, CustomJS

        from .bokeh_kit import assemble

        layout = self.layout
        empty = {name: [] for name in electrode_columns(layout)}
        source = ColumnDataSource(name=PROBE_SOURCE, data=empty)
        plot = probe_figure(layout, self.height, "pan,wheel_zoom,box_select,tap,reset,save",
                            sizing_mode="stretch_width", active_drag="box_select")
        size = 12 if layout.n <= 64 else 8 if layout.n <= 400 else 5
        markers = plot.scatter(x="x", y="y", source=source, size=size, marker="square",
                               fill_color="color", line_color="#33404d", line_width=0.5,
                               legend_field="label", nonselection_fill_alpha=0.25,
                               nonselection_line_alpha=0.3)
        plot.add_tools(hover(markers))
        plot.x_range.name, plot.y_range.name = "probe_x_range", "probe_y_range"
        plot.legend.location = "top_right"
        plot.legend.label_text_font_size = "10px"
        source.selected.js_on_change("indices", CustomJS(
            args={"source": source, "panel": self.panel_id, "table": self.path},
            code=SELECT_JS))
        return assemble(self, plot)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        layout = self.layout
        by = str(self.values.get("color_by", "group"))
        status = (f"{layout.n} electrodes drawn by {layout.axes[0]}/{layout.axes[1]}, "
                  f"coloured by {by}; tap or box-select to show channels in the traces")
        yield Frame(sources={PROBE_SOURCE: electrode_columns(layout, by)}, status=status,
                    notes=layout.notes)
