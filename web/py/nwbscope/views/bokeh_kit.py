"""The Bokeh parts every view shares: a time figure wired to the page, controls, a status line.

Why through ``window.nwbscopeViews`` (``web/views.js``): every panel is its own Bokeh
document, so one shared ``Range1d`` is impossible; instead each figure's x range and tap call
the page's glue, which moves the other panels' ranges and cursors and asks the worker for new
frames. The names given here (``x_range``, ``cursor``, ``status``, and each source's) are the
contract with that glue and with the browser tests, which read values from these models.
"""

from __future__ import annotations

from typing import Any

from bokeh.embed import json_item
from bokeh.layouts import column, row
from bokeh.models import (
    Checkbox,
    CustomJS,
    Div,
    MultiChoice,
    NumericInput,
    Range1d,
    Select,
    Span,
    TextInput,
)
from bokeh.plotting import figure

from .base import Option, View
from .window import TimeWindow

TOOLS = "xpan,xwheel_zoom,box_zoom,reset,save"
TIME_BORDER_LEFT = 110  # px for y labels (channel and unit names) left of the time axis
TIME_BORDER_RIGHT = 170  # px for a legend or colour bar right of it, and the toolbar
RANGE_JS = "window.nwbscopeViews && window.nwbscopeViews.range(panel, r.start, r.end)"
TAP_JS = "window.nwbscopeViews && window.nwbscopeViews.cursor(panel, cb_obj.x)"
OPTION_JS = "window.nwbscopeViews && window.nwbscopeViews.option(panel, name, cb_obj.{attr})"


def time_figure(view: View, window: TimeWindow, y_label: str = "", height: int | None = None,
                shared: bool = True, **kwargs: Any) -> Any:
    """A figure on session time: its x range follows (and leads) every other panel's, a tap
    sets the shared cursor, and a vertical ``cursor`` span shows it."""
    x_range = Range1d(window.start, window.end, name="x_range" if shared else "x_local")
    if shared:  # the same borders everywhere: one time sits at one x in every panel
        kwargs.setdefault("min_border_left", TIME_BORDER_LEFT)
        kwargs.setdefault("min_border_right", TIME_BORDER_RIGHT)
    plot = figure(x_range=x_range, height=height or view.height, sizing_mode="stretch_width",
                  tools=TOOLS, active_drag="xpan", active_scroll="xwheel_zoom",
                  x_axis_label="time (s)", y_axis_label=y_label, **kwargs)
    plot.toolbar.logo = None
    if shared:
        callback = CustomJS(args={"panel": view.panel_id, "r": x_range}, code=RANGE_JS)
        x_range.js_on_change("start", callback)
        x_range.js_on_change("end", callback)
        plot.js_on_event("tap", CustomJS(args={"panel": view.panel_id}, code=TAP_JS))
        plot.add_layout(Span(name="cursor", location=None, dimension="height",
                             line_color="#d32f2f", line_width=1))
    return plot


def controls(view: View) -> Any | None:
    """One row of widgets for the view's options; each change goes to the page's glue."""
    widgets = []
    for option in view.options_cached():
        widget, attr = _widget(option, view.values.get(option.name, option.value))
        code = OPTION_JS.format(attr=attr)
        widget.js_on_change(attr, CustomJS(args={"panel": view.panel_id, "name": option.name},
                                           code=code))
        widgets.append(widget)
    if not widgets:
        return None
    # Bokeh's Row does not wrap: a narrow panel would cut its last controls off
    return row(*widgets, sizing_mode="stretch_width", styles={"flex-wrap": "wrap"})


def _widget(option: Option, value: Any) -> tuple[Any, str]:
    common = {"name": "option:" + option.name, "title": option.label}
    if option.help:
        common["description"] = option.help
    if option.kind == "select":
        return Select(value=str(value), options=list(option.choices), width=160, **common), \
            "value"
    if option.kind == "multiselect":
        return MultiChoice(value=list(value), options=list(option.choices), width=320,
                           **common), "value"
    if option.kind == "number":
        mode = "int" if option.step is not None and float(option.step).is_integer() else "float"
        return NumericInput(value=value, low=option.low, high=option.high, mode=mode,
                            width=110, **common), "value"
    if option.kind == "toggle":
        common.pop("title")
        common.pop("description", None)
        return Checkbox(label=option.label, active=bool(value), **common), "active"
    return TextInput(value=str(value), width=200, **common), "value"


def status_line() -> Div:
    """Where the glue writes a frame's status and notes (refining, truncated data)."""
    return Div(name="status", text="", sizing_mode="stretch_width",
               styles={"color": "#5f6b77", "font-size": "12px"})


def assemble(view: View, *plots: Any) -> Any:
    """The panel's layout: controls, plots, status line."""
    parts = [p for p in (controls(view), *plots, status_line()) if p is not None]
    return column(*parts, sizing_mode="stretch_width")


def warm_up() -> None:
    """Import and exercise what the first view needs, in the background after the tree shows:
    Bokeh's ``ColumnDataSource`` imports pandas on first use (seconds in Pyodide), and the
    first figure fills Bokeh's property caches; a click on a view then waits for neither."""
    from bokeh.models import ColumnDataSource

    import nwbscope.views.traces  # noqa: F401 - the most common first view

    plot = figure(height=10, width=10)
    plot.multi_line(xs="xs", ys="ys", source=ColumnDataSource(data={"xs": [], "ys": []}))
    json_item(column(row(Select(options=["a"]), NumericInput()), plot))


def document_json(layout: Any) -> dict[str, Any]:
    """The layout as BokehJS embeds it (``Bokeh.embed.embed_item``); sources are empty here,
    their data comes as typed arrays in frames."""
    return json_item(layout)
