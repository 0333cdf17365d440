"""The view of last resort: any typed group with a ``data`` dataset that no view claims.

Why one view with three faces: the registry gives this view only what nothing else draws
(decided from metadata), so its job is to show that the data are there and what they look
like, by shape (``data.generic``): lines for 1-D/2-D numbers, a picture of a slice for
3-D+ numbers (an index control per leading axis), a table of the first rows for text and
records. The status line always says what is shown and the shape and dtype stored.

Sources: ``lines`` (``xs``, ``ys``, ``label``, ``color``), ``picture``/``picture_rgba`` (the
picture plot of ``views.images``) or ``table`` (one text column per field), by the kind;
only the one for the data's kind is in the document.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .base import Frame, Option, View
from .data.generic import (
    data_of,
    index_time,
    kind_of,
    read_lines,
    read_slice,
    read_table,
    slice_axes,
    slice_step,
    summary,
)
from .window import TimeWindow

LINES_SOURCE = "lines"
TABLE_SOURCE = "table"
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf")


class GenericView(View):
    """The data of a group by their shape: lines, a slice picture or a table."""

    height = 320

    @property
    def data(self) -> Any:
        return data_of(self.nwb.group(self.path))

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.data.shape)

    @property
    def kind(self) -> str:
        return kind_of(self.shape, self.data.dtype)

    def options(self) -> list[Option]:
        if self.kind != "image":
            return []
        from .images import picture_options

        shape = self.shape
        return [*(Option(f"index_{axis}", f"Index on axis {axis}", "number", 0, low=0,
                         high=shape[axis] - 1, step=1,
                         help=f"Which of the {shape[axis]} entries of axis {axis}")
                  for axis in slice_axes(shape)), *picture_options()]

    def index(self) -> dict[int, int]:
        return {axis: int(self.values[f"index_{axis}"]) for axis in slice_axes(self.shape)}

    # -- drawing ----------------------------------------------------------------------------
    def figure(self, window: TimeWindow) -> Any:
        from .bokeh_kit import assemble

        kind = self.kind
        if kind == "image":
            from .images import picture_figure

            p, q = self.shape[-2:]
            step = slice_step(p, q)
            ndim = len(self.shape)
            plot = picture_figure(self, -(-p // step), -(-q // step), f"axis {ndim - 2}",
                                  f"axis {ndim - 1}")
        elif kind == "lines":
            plot = self._lines_figure()
        else:
            plot = self._table()
        return assemble(self, plot)

    def _lines_figure(self) -> Any:
        from bokeh.models import ColumnDataSource
        from bokeh.plotting import figure

        source = ColumnDataSource(name=LINES_SOURCE, data={"xs": [], "ys": [], "label": [],
                                                           "color": []})
        unit = self.data.attrs.get("unit")
        plot = figure(height=self.height, sizing_mode="stretch_width",
                      tools="pan,wheel_zoom,box_zoom,reset,save,hover",
                      tooltips=[("line", "@label"), ("x", "$x"), ("y", "$y")],
                      y_axis_label=str(unit) if isinstance(unit, str) and unit else "value")
        plot.toolbar.logo = None
        plot.multi_line(xs="xs", ys="ys", source=source, line_color="color", line_width=1)
        return plot

    def _table(self) -> Any:
        from bokeh.models import ColumnDataSource, DataTable, TableColumn

        names, _ = read_table(self.data, max_rows=1)
        source = ColumnDataSource(name=TABLE_SOURCE, data={"row": [], **{n: [] for n in names}})
        columns = [TableColumn(field="row", title="row", width=60),
                   *(TableColumn(field=n, title=n) for n in names)]
        return DataTable(source=source, columns=columns, height=self.height,
                         sizing_mode="stretch_width", index_position=None)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        data = self.data
        kind = self.kind
        if kind == "image":
            yield self._image_frame(data)
        elif kind == "lines":
            yield self._lines_frame()
        else:
            columns, n_rows = read_table(data)
            n = len(next(iter(columns.values()), []))
            yield Frame(sources={TABLE_SOURCE: {
                "row": np.arange(n, dtype=np.int64),
                **{k: np.array(v, dtype=object) for k, v in columns.items()}}},
                status=f"data: {summary(data)} · table of the first {n} of {n_rows} rows")

    def _lines_frame(self) -> Frame:
        lines = read_lines(self.nwb.group(self.path))
        n_cols = self.shape[1] if len(self.shape) == 2 else 1
        labels = [f"column {c}" for c in lines.columns] if len(self.shape) == 2 else ["data"]
        parts = [f"data: {summary(self.data)}",
                 f"{len(lines.ys)} line{'s' if len(lines.ys) > 1 else ''} against "
                 f"{lines.x_label}"]
        if lines.n_shown < lines.n_rows:
            parts.append(f"the first {lines.n_shown} of {lines.n_rows} rows")
        if len(lines.columns) < n_cols:
            parts.append(f"the first {len(lines.columns)} of {n_cols} columns")
        if lines.scaled:
            parts.append("conversion and offset applied")
        return Frame(sources={LINES_SOURCE: {
            "xs": [lines.x] * len(lines.ys), "ys": lines.ys,
            "label": np.array(labels, dtype=object),
            "color": np.array([COLORS[i % len(COLORS)] for i in range(len(lines.ys))],
                              dtype=object)}},
            status=" · ".join(parts))

    def _image_frame(self, data: Any) -> Frame:
        from .images import GRAY_SOURCE, describe, picture_ranges, picture_sources

        values, step, where = read_slice(data, self.index())
        sources = picture_sources(values.astype(np.float64), self)
        ndim = len(self.shape)
        status = (f"data: {summary(data)} · picture of {where} (axis {ndim - 2} → right, "
                  f"axis {ndim - 1} ↓) · " + describe(values, sources[GRAY_SOURCE],
                                                     str(values.dtype)))
        if step > 1:
            status += f" · every {step}th value along both axes"
        if ndim >= 3:
            moment = index_time(self.nwb.group(self.path), self.index()[0])
            if moment is not None:
                status += f" · axis 0 is time: index {self.index()[0]} at {moment:.6g} s"
        return Frame(sources=sources, status=status, ranges=picture_ranges(values))
