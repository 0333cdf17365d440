"""TimeIntervals (trials, epochs, invalid times): bars on the time axis above the table's rows.

Why lanes: intervals of one table may overlap (a stimulus epoch inside a behaviour epoch);
on one row the later bar would hide the earlier. Lanes are packed once for the whole table
(each interval in the first lane free at its start), so a bar never changes lane on a pan.

Why one source for the bars and the ``DataTable``: a click on a row selects its bar and a
tap on a bar selects its row, with nothing written for it. Table columns travel as
``col_<name>`` (numbers as numbers, so the table sorts them as numbers; the rest as display
text), apart from the geometry columns, so that no table column can clash with them.
A small table is sent whole once (``data.intervals.SEND_ALL_BELOW``) and later pans send
nothing for it, so the table keeps its scroll position and selection while the plot pans.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any

import numpy as np
from bokeh.models import (
    ColorBar,
    ColumnDataSource,
    DataTable,
    HoverTool,
    NumberFormatter,
    Range1d,
    TableColumn,
)
from bokeh.palettes import Viridis256
from bokeh.transform import linear_cmap

from .base import Frame, Option, View
from .data.columns import ColumnInfo
from .data.intervals import Intervals, IntervalsTable
from .events import MISSING_COLOR, category_colors, palette, static_legend
from .window import TimeWindow

SOURCE = "intervals"
TABLE = "intervals_table"
MAX_LANES = 12  # more overlapping intervals than this share the last lane
MAX_LEGEND = 20  # categories beyond this get colours but no legend
MAX_TOOLTIP_COLUMNS = 12
TIME_COLUMNS = ("start_time", "stop_time")


def pack_lanes(start: np.ndarray, stop: np.ndarray, max_lanes: int = MAX_LANES) -> np.ndarray:
    """The lane of each interval: the first whose last interval ended by its start."""
    ends = np.where(np.isnan(stop), start, stop)
    lanes = np.zeros(len(start), dtype=np.int32)
    lane_end: list[float] = []
    for i in np.argsort(start, kind="stable"):
        if np.isnan(start[i]):
            continue
        free = next((k for k, end in enumerate(lane_end) if end <= start[i]), None)
        if free is None:
            free = len(lane_end) if len(lane_end) < max_lanes else max_lanes - 1
            if free == len(lane_end):
                lane_end.append(-np.inf)
        lanes[i] = free
        lane_end[free] = max(lane_end[free], float(ends[i]))
    return lanes


class IntervalsView(View):
    """One TimeIntervals table: bars coloured by a column, and its rows in a table."""

    height = 160

    @cached_property
    def table(self) -> IntervalsTable:
        return IntervalsTable(self.nwb, self.path)

    @cached_property
    def lanes(self) -> np.ndarray:
        return pack_lanes(self.table.start, self.table.stop)

    @cached_property
    def shown_columns(self) -> tuple[ColumnInfo, ...]:
        """The table's columns that have one value per row to show (references do not)."""
        return tuple(c for c in self.table.columns if c.kind != "other")

    def options(self) -> list[Option]:
        names = [c.name for c in self.shown_columns
                 if c.name not in ("id", *TIME_COLUMNS)]
        default = next((c.name for c in self.shown_columns
                        if c.name in names and c.kind in ("text", "bool", "ragged")), "")
        return [Option("color_by", "Colour by", "select", default,
                       choices=(("", "(none)"), *((n, n) for n in names)), rebuild=True)]

    def span(self) -> tuple[float, float] | None:
        return self.table.span

    def figure(self, window: TimeWindow) -> Any:
        from .bokeh_kit import assemble, time_figure

        self._sent: bytes | None = None  # a new document starts with empty sources
        n_lanes = int(self.lanes.max()) + 1 if len(self.lanes) else 1
        color_by = self.values.get("color_by") or ""
        labels = (self.table.color_key(color_by).labels
                  if color_by and not self._numeric(color_by) else ())
        legend = len(labels) <= MAX_LEGEND
        height = int(max(80 + 34 * n_lanes, 50 + 21 * (len(labels) + 1) if legend else 0))
        plot = time_figure(self, window, "", height=height,
                           y_range=Range1d(0, n_lanes, name="y_range"))
        plot.yaxis.visible = False
        plot.ygrid.visible = False
        data: dict[str, list] = {k: [] for k in (
            "left", "right", "bottom", "top", "row", "color", "color_label", "color_value")}
        data.update({"col_" + c.name: [] for c in self.shown_columns})
        source = ColumnDataSource(name=SOURCE, data=data)
        glyph: dict[str, Any] = {"fill_color": "color", "line_color": "#37474f",
                                 "fill_alpha": 0.7, "line_alpha": 0.6}
        if color_by and self._numeric(color_by):
            low, high = self._value_range(color_by)
            mapper = linear_cmap("color_value", Viridis256, low, high, nan_color=MISSING_COLOR)
            glyph["fill_color"] = mapper
            plot.add_layout(ColorBar(color_mapper=mapper.transform, title=color_by,
                                     width=10), "right")
        elif labels and legend:
            static_legend(plot, list(zip(labels, palette(len(labels)), strict=True)),
                          SOURCE + "_legend", color_by)
        bars = plot.quad(left="left", right="right", bottom="bottom", top="top",
                         source=source, **glyph)
        tips = [("row", "@row")] + [(c.name, "@{col_" + c.name + "}")
                                    for c in self.shown_columns[:MAX_TOOLTIP_COLUMNS]]
        plot.add_tools(HoverTool(renderers=[bars], tooltips=tips))
        columns = []
        for info in self.shown_columns:
            number = ({"formatter": NumberFormatter(format="0,0.[000000]")}
                      if self._numeric(info.name) else {})
            columns.append(TableColumn(field="col_" + info.name, title=info.name, **number))
        table = DataTable(name=TABLE, source=source, columns=columns,
                          height=int(min(260, 30 + 25 * max(1, self.table.n_rows))),
                          index_position=None, reorderable=False,
                          sizing_mode="stretch_width")
        return assemble(self, plot, table)

    def _numeric(self, name: str) -> bool:
        info = next((c for c in self.shown_columns if c.name == name), None)
        return info is not None and info.kind == "numeric"

    def _value_range(self, name: str) -> tuple[float, float]:
        values = np.asarray(self.table.values(name), dtype=np.float64)
        values = values[np.isfinite(values)]
        if not len(values):
            return 0.0, 1.0
        low, high = float(values.min()), float(values.max())
        return (low - 0.5, high + 0.5) if low == high else (low, high)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        color_by = self.values.get("color_by") or None
        text = tuple(c.name for c in self.shown_columns if not self._numeric(c.name))
        found = self.table.intervals(window, color_by, text)
        in_window = int(np.count_nonzero((found.start < window.end) & (np.where(
            np.isnan(found.stop), found.start, found.stop) >= window.start)))
        status = (f"{in_window} of {found.n_rows} intervals in the window"
                  + ("" if len(found.rows) == found.n_rows else
                     f" ({len(found.rows)} listed)"))
        key = found.rows.tobytes() + str(color_by).encode()
        if key == getattr(self, "_sent", None):
            yield Frame(sources={}, status=status)  # the page has these rows already
            return
        yield Frame(sources={SOURCE: self.columns(found)}, status=status)
        self._sent = key  # reached only when the frame was taken (not superseded)

    def columns(self, found: Intervals) -> dict[str, Any]:
        """The bars' geometry, their colours and every column's value, per interval."""
        lane = self.lanes[found.rows]
        stop = np.where(np.isnan(found.stop), found.start, found.stop)
        n = len(found.rows)
        data: dict[str, Any] = {
            "left": found.start, "right": stop, "bottom": lane + 0.12, "top": lane + 0.88,
            "row": found.rows.astype(np.int32), "color": np.full(n, MISSING_COLOR, object),
            "color_label": np.full(n, "", object), "color_value": np.full(n, np.nan)}
        key = found.color
        if key is not None and key.kind == "numeric":
            data["color_value"] = np.asarray(key.values, dtype=np.float64)
        elif key is not None:
            labels = np.array([*key.labels, "(none)"], dtype=object)
            codes = np.asarray(key.codes)
            data["color"] = category_colors(codes, len(key.labels))
            data["color_label"] = labels[np.where(codes >= 0, codes, len(key.labels))]
        for info in self.shown_columns:
            if info.name in found.text:
                data["col_" + info.name] = np.array(found.text[info.name], dtype=object)
            else:
                values = self.table.values(info.name)[found.rows]
                data["col_" + info.name] = np.asarray(values, dtype=np.float64)
        return data
