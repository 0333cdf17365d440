"""Events on the time axis: a row per label, instants as ticks, lasting events as bars.

Why one row per label and not one row for all: a TTL line, a lick sensor and a reward valve
fire in the same second; on one row they hide each other. Instants are vertical ticks
(``segment`` whose ends are ``dodge`` transforms of the row, so the page gets two columns,
``x`` and ``y``); events with a duration (IntervalSeries, EventsTable ``duration``) are bars
from start to stop, and one that never stops runs to the window's end. Above the data step's
mark limit (``data.events.MAX_MARKS``) the window is a density image (events per label per
bin) and zooming in brings the marks back.

The drawing helpers other event-like views share (palette, density image) live here too: the
raster draws spike density with the same image, the PSTH and intervals use the same palette.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from bokeh.models import (
    ColumnDataSource,
    FixedTicker,
    HoverTool,
    Legend,
    LegendItem,
    LinearColorMapper,
    Range1d,
)
from bokeh.palettes import Blues256, Category10_10, Category20_20
from bokeh.transform import dodge

from ..nwb.tables import Table
from .base import Frame, Option, View
from .data.events import MAX_MARKS, EventMarks, EventSet, read_events
from .window import TimeWindow

MARKS_SOURCE = "event_marks"
BARS_SOURCE = "event_bars"
DENSITY_SOURCE = "event_density"
MISSING_COLOR = "#9e9e9e"
DENSITY_PALETTE = tuple(reversed(Blues256))[96:]  # one event already shows; 0 is clear


# -- helpers shared by the event-like views --------------------------------------------------
def palette(n: int) -> list[str]:
    """``n`` distinct colours: Category10 up to 10, Category20 up to 20, then cycled."""
    base = Category10_10 if n <= 10 else Category20_20
    return [base[i % len(base)] for i in range(max(n, 0))]


def category_colors(codes: np.ndarray, n_labels: int) -> np.ndarray:
    """A colour per code (text array, as the page's sources take it); -1 is grey."""
    colors = np.array(palette(n_labels) + [MISSING_COLOR], dtype=object)
    codes = np.asarray(codes, dtype=np.int64)
    return colors[np.where((codes >= 0) & (codes < n_labels), codes, n_labels)]


def density_columns(counts: np.ndarray | None, x0: float, x1: float,
                    y0: float = -0.5) -> dict[str, Any]:
    """One image glyph's columns: ``counts[row, bin]`` drawn from ``x0`` to ``x1``, row ``r``
    at ``y0 + r .. y0 + r + 1``. The image is a list of row arrays inside a one-image list
    (the worker sends it as nested JS arrays, which BokehJS takes as a 2-D array); no counts
    gives the empty columns that clear the image."""
    if counts is None or counts.size == 0:
        return {"image": [], "x": np.zeros(0), "y": np.zeros(0), "dw": np.zeros(0),
                "dh": np.zeros(0)}
    rows = [np.ascontiguousarray(r, dtype=np.float32) for r in counts]
    return {"image": [rows], "x": np.array([x0]), "y": np.array([y0]),
            "dw": np.array([x1 - x0]), "dh": np.array([float(len(rows))])}


def add_density(plot: Any, name: str, what: str) -> Any:
    """An image renderer for ``density_columns``: counts of 0 are transparent, the colour
    scale runs from 1 to the window's largest count (recomputed by BokehJS per frame)."""
    source = ColumnDataSource(name=name, data={k: [] for k in ("image", "x", "y", "dw", "dh")})
    mapper = LinearColorMapper(palette=list(DENSITY_PALETTE), low=0.5,
                               low_color=(0, 0, 0, 0))
    renderer = plot.image(image="image", x="x", y="y", dw="dw", dh="dh", source=source,
                          color_mapper=mapper)
    plot.add_tools(HoverTool(renderers=[renderer], tooltips=[(what, "@image")]))
    return renderer


def static_legend(plot: Any, items: list[tuple[str, str]], name: str,
                  title: str | None = None) -> None:
    """A legend of fixed colours beside the plot, one entry per ``(label, colour)``.

    Why not ``legend_field``: its entries come from the data, which arrive after BokehJS
    has laid out the plot, so a legend beside the plot gets no room and covers the bars.
    Here the entries are fixed when the figure is built; their swatches are the rows of a
    small static source ``name`` (NaN geometry, so nothing is drawn on the plot; the one
    source of a panel that frames never touch).
    """
    if not items:
        return
    source = ColumnDataSource(name=name, data={
        "x": [float("nan")] * len(items), "color": [color for _, color in items]})
    glyph = plot.quad(left="x", right="x", bottom="x", top="x", source=source,
                      fill_color="color", line_color="color", fill_alpha=0.7)
    entries = [LegendItem(label=label, renderers=[glyph], index=i)
               for i, (label, _) in enumerate(items)]
    plot.add_layout(Legend(items=entries, title=title, click_policy="none"), "right")


def row_axis(plot: Any, labels: list[str], flipped: bool = False) -> None:
    """Label the integer y ticks with ``labels`` (row ``i`` at ``y = i``, or at
    ``n - 1 - i`` when ``flipped`` so that the first row is at the top)."""
    n = len(labels)
    ticks = list(range(n))
    plot.yaxis.ticker = FixedTicker(ticks=ticks)
    plot.yaxis.major_label_overrides = {
        (n - 1 - i if flipped else i): text for i, text in enumerate(labels)}
    plot.ygrid.grid_line_alpha = 0.3


# -- the view ----------------------------------------------------------------------------------
class EventsView(View):
    """LabeledEvents, AnnotationSeries, BehavioralEvents, IntervalSeries, events tables."""

    height = 220

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._events: EventSet | None = None
        super().__init__(*args, **kwargs)

    @property
    def events(self) -> EventSet:
        if self._events is None:
            label = self.values.get("label") or None
            self._events = read_events(self.nwb, self.path, label)
        return self._events

    def label_columns(self) -> list[str]:
        """Text columns of an events table (what its labels can come from); else none."""
        group = self.nwb.group(self.path)
        if "timestamp" not in group or "colnames" not in group.attrs:
            return []
        table = Table(group)
        return [c.name for c in table.columns.values() if c.dtype == "str" and not c.ragged]

    def options(self) -> list[Option]:
        options = [Option("max_marks", "Max. marks drawn", "number", MAX_MARKS, low=10,
                          high=50_000, step=100, help="Above this many events in the "
                          "window a density image is drawn")]
        columns = self.label_columns()
        if columns:
            options.insert(0, Option("label", "Label column", "select", columns[0],
                                     choices=tuple((c, c) for c in columns), rebuild=True,
                                     help="The column whose values name the rows"))
        return options

    def set_option(self, name: str, value: Any) -> bool:
        rebuild = super().set_option(name, value)
        if name == "label":
            self._events = None  # the labels come from another column now
        return rebuild

    def span(self) -> tuple[float, float] | None:
        events = self.events
        if not len(events):
            return None
        ends = np.where(np.isfinite(events.durations), events.times + events.durations,
                        events.times)
        return float(np.min(events.times)), float(max(np.max(ends), np.min(events.times)))

    def figure(self, window: TimeWindow) -> Any:
        from .bokeh_kit import assemble, time_figure

        labels = list(self.events.labels)
        n = max(len(labels), 1)
        height = int(min(640, max(self.height, 26 * n + 90)))
        plot = time_figure(self, window, "", height=height,
                           y_range=Range1d(-0.5, n - 0.5, name="y_range"))
        row_axis(plot, labels)
        add_density(plot, DENSITY_SOURCE, "events in bin")
        bars = ColumnDataSource(name=BARS_SOURCE, data={
            "left": [], "right": [], "y": [], "label": [], "duration": [], "color": []})
        bar_glyphs = plot.quad(left="left", right="right", bottom=dodge("y", -0.32),
                               top=dodge("y", 0.32), source=bars, fill_color="color",
                               fill_alpha=0.45, line_color="color")
        marks = ColumnDataSource(name=MARKS_SOURCE, data={
            "x": [], "y": [], "label": [], "value": [], "color": []})
        ticks = plot.segment(x0="x", x1="x", y0=dodge("y", -0.4), y1=dodge("y", 0.4),
                             source=marks, line_color="color", line_width=1.5)
        plot.add_tools(HoverTool(renderers=[ticks], tooltips=[
            ("label", "@label"), ("time (s)", "@x{0.000000}"), ("value", "@value")]))
        plot.add_tools(HoverTool(renderers=[bar_glyphs], tooltips=[
            ("label", "@label"), ("start (s)", "@left{0.000000}"),
            ("duration (s)", "@duration")]))
        return assemble(self, plot)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        yield self.frame(self.events.marks(window, int(self.values["max_marks"])), window)

    def frame(self, marks: EventMarks, window: TimeWindow) -> Frame:
        """Marks split into instants (ticks) and lasting events (bars), or the density."""
        n_labels = len(marks.labels)
        label_text = np.array(list(marks.labels) + [""], dtype=object)
        empty: dict[str, dict[str, Any]] = {
            MARKS_SOURCE: {"x": np.zeros(0), "y": np.zeros(0, np.int32),
                           "label": np.zeros(0, object), "value": np.zeros(0),
                           "color": np.zeros(0, object)},
            BARS_SOURCE: {"left": np.zeros(0), "right": np.zeros(0), "y": np.zeros(0, np.int32),
                          "label": np.zeros(0, object), "duration": np.zeros(0),
                          "color": np.zeros(0, object)}}
        if marks.mode == "density":
            sources = {**empty, DENSITY_SOURCE: density_columns(
                marks.counts, float(marks.edges[0]), float(marks.edges[-1]))}
            bin_s = float(marks.edges[1] - marks.edges[0])
            status = (f"density: {marks.n_in_window} events in bins of {bin_s:.3g} s "
                      f"({marks.n_total} in all)")
            return Frame(sources=sources, status=status,
                         notes=(marks.note,) if marks.note else ())
        codes = marks.codes.astype(np.int32)
        colors = category_colors(codes, n_labels)
        texts = label_text[np.where((codes >= 0) & (codes < n_labels), codes, n_labels)]
        instant = np.isnan(marks.durations)
        values = (np.full(len(codes), np.nan) if marks.values is None
                  else np.asarray(marks.values, dtype=np.float64))
        lasting = ~instant
        starts = marks.times[lasting]
        stops = starts + marks.durations[lasting]
        stops = np.where(np.isinf(stops), np.maximum(window.end, starts), stops)  # still on
        sources = {
            MARKS_SOURCE: {"x": marks.times[instant], "y": codes[instant],
                           "label": texts[instant], "value": values[instant],
                           "color": colors[instant]},
            BARS_SOURCE: {"left": starts, "right": stops, "y": codes[lasting],
                          "label": texts[lasting], "duration": marks.durations[lasting],
                          "color": colors[lasting]},
            DENSITY_SOURCE: density_columns(None, 0.0, 1.0)}
        status = f"{marks.n_in_window} events in the window ({marks.n_total} in all)"
        return Frame(sources=sources, status=status)
