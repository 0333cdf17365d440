"""Any DynamicTable as a paged Bokeh DataTable: sort, filter, expand a row, follow its links.

Why the server pages and not the DataTable: BokehJS sorts and filters only the rows it holds,
and holding a million rows means reading them. So the grid's own sorting is off; the page,
the sort column and the filter are the view's options, and each frame carries one page
(``data.table_page``). Bokeh's header click would sort only the page on screen, which looks
like a sort of the table and is not.

Why links go through the detail table: a DataTable tells JavaScript which *row* was selected,
not which cell was clicked. So a click on a row puts its number into "Row in full" (the
``expand`` option) and the row's cells are listed in full below, one line per column; a click
on a line that points somewhere (an object reference, a region's rows) opens it with
``window.nwbscopeViews.openView``: the referenced object's default view, or this view on the
target table restricted to those rows (the ``rows`` option).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any

import numpy as np
from bokeh.layouts import column, row
from bokeh.models import (
    Button,
    ColumnDataSource,
    CustomJS,
    DataTable,
    NumberFormatter,
    StringEditor,
    StringFormatter,
    TableColumn,
    UnionRenderers,
)

from ..errors import ParameterError
from .base import Frame, Option, View
from .data.table_page import NUMERIC, PAGE_SIZES, Page, Query, TablePages, parse_rows
from .window import TimeWindow

SOURCE = "table_page"
DETAIL = "table_detail"
INFO = "table_info"  # the number of pages, for the next button
GRID = "table_grid"  # the grids' names, and their CSS classes (tests click their cells)
DETAIL_GRID = "table_detail_grid"
RESETS_PAGE = ("page_size", "sort_by", "descending", "filter_column", "filter_value", "rows")
ROW_HEIGHT = 25

SELECT_JS = """const i = cb_obj.indices;
if (!i.length) return;
const r = source.data.row[i[0]];
if (expand.value !== r) expand.value = r;"""
CLEAR_JS = "if (source.selected.indices.length) source.selected.indices = [];"
OPEN_JS = """const i = cb_obj.indices;
if (!i.length) return;
const d = source.data, k = i[0], path = d.link_path[k];
source.selected.indices = [];
if (!path || !window.nwbscopeViews) return;
const rows = d.link_rows[k];
window.nwbscopeViews.openView(path, d.link_view[k] || null, rows ? {rows: rows} : null, null);"""
STEP_JS = """const last = info.data.n_pages && info.data.n_pages.length ? info.data.n_pages[0] : 1;
const now = Number(input.value) || 1;
const next = Math.min(Math.max(now + step, 1), last);
if (next !== now) input.value = next;"""


class TableView(View):
    """One DynamicTable, a page at a time."""

    height = 420

    @cached_property
    def pages(self) -> TablePages:
        return TablePages(self.nwb.table(self.path))

    def options(self) -> list[Option]:
        pages = self.pages
        sortable = [(n, n) for n in pages.names if pages.sortable(n)]
        last = max(pages.n_rows, 1)
        return [
            Option("page", "Page", "number", 1, low=1, high=last, step=1),
            Option("page_size", "Rows per page", "select", "25",
                   choices=tuple((str(n), str(n)) for n in PAGE_SIZES)),
            Option("sort_by", "Sort by", "select", "",
                   choices=(("", "(table order)"), *sortable), rebuild=True),
            Option("descending", "Descending", "toggle", False, rebuild=True),
            Option("filter_column", "Filter column", "select", "",
                   choices=(("", "(none)"), *sortable), rebuild=True),
            Option("filter_value", "Filter value", "text", "", rebuild=True,
                   help="numbers and true/false: equal; text: contains; lists: their count"),
            Option("rows", "Only rows", "text", "", rebuild=True,
                   help="row numbers, e.g. 1,4,7 or 10-20 (a region link sets them)"),
            Option("expand", "Row in full", "number", -1, low=-1, high=last - 1, step=1,
                   help="a row number (or click a row); -1: none"),
        ]

    def set_option(self, name: str, value: Any) -> bool:
        """A new sort, filter or page size starts again at page 1 (rebuilt, so the page
        control shows it)."""
        before = self.values.get(name)
        if name == "rows":  # a bad row list: say so now, and keep the one before
            parse_rows(str(value), self.pages.n_rows)
        rebuild = super().set_option(name, value)
        if name in RESETS_PAGE and self.values[name] != before and self.values["page"] != 1:
            self.values["page"] = 1
            return True
        return rebuild

    def select_rows(self, table: str, rows: list[int]) -> str:
        """Rows of this table chosen elsewhere (channels on a probe): show only those."""
        if table != self.path:
            return ""
        self.values["rows"] = ",".join(str(r) for r in rows)
        self.values["page"] = 1
        return "rebuild"

    def query(self) -> Query:
        values = self.values
        return Query(page=int(values["page"]), page_size=int(values["page_size"]),
                     sort_by=values["sort_by"], descending=bool(values["descending"]),
                     filter_column=values["filter_column"],
                     filter_value=values["filter_value"],
                     rows=parse_rows(values["rows"], self.pages.n_rows))

    # -- drawing -----------------------------------------------------------------------------
    def figure(self, window: TimeWindow) -> Any:
        from .bokeh_kit import controls, status_line

        self._sent: bytes | None = None  # a new document starts with empty sources
        self._detail_sent = -1  # (an empty detail: what "no row in full" shows)
        # one editor, formatter and selection policy shared by every column and source:
        # Bokeh would make one of each per column (a third of the document's models), and
        # each costs its build and JSON here and its model and view in BokehJS
        self._shared = {"editor": StringEditor(), "text": StringFormatter(),
                        "number": NumberFormatter(format="0,0.[000000]", nan_format="NaN")}
        policy = UnionRenderers()
        widgets = controls(self)
        named = {w.name: w for w in widgets.children} if widgets is not None else {}
        page_input, expand_input = named["option:page"], named["option:expand"]
        pages = self.pages
        data: dict[str, list] = {"row": [], **{"col_" + n: [] for n in pages.names}}
        source = ColumnDataSource(name=SOURCE, data=data, selection_policy=policy)
        info = ColumnDataSource(name=INFO, data={"n_pages": []}, selection_policy=policy)
        source.selected.js_on_change("indices", CustomJS(
            args={"source": source, "expand": expand_input}, code=SELECT_JS))
        source.js_on_change("data", CustomJS(args={"source": source}, code=CLEAR_JS))
        columns = [self._column(name) for name in pages.names]
        size = int(self.values["page_size"])
        grid = DataTable(name=GRID, source=source, columns=columns, sortable=False,
                         reorderable=False, index_position=None, selectable=True,
                         height=int(30 + ROW_HEIGHT * min(size, max(pages.n_rows, 1), 16)),
                         sizing_mode="stretch_width", css_classes=[GRID])
        detail = ColumnDataSource(name=DETAIL, selection_policy=policy, data={
            k: [] for k in ("column", "value", "link", "link_path", "link_view", "link_rows")})
        detail.selected.js_on_change("indices", CustomJS(args={"source": detail},
                                                         code=OPEN_JS))
        detail_grid = DataTable(
            name=DETAIL_GRID, source=detail, sortable=False, reorderable=False,
            index_position=None, height=int(30 + ROW_HEIGHT * min(len(pages.names) + 1, 12)),
            sizing_mode="stretch_width", css_classes=[DETAIL_GRID],
            columns=[TableColumn(field=field, title=title, width=width, **self._plain())
                     for field, title, width in (("column", "column", 140),
                                                 ("value", "value (the row in full)", 600),
                                                 ("link", "click to open", 160))])
        buttons = []
        for label, step in (("◀ previous", -1), ("next ▶", 1)):
            button = Button(label=label, name=f"page_step:{step}", width=100)
            button.js_on_event("button_click", CustomJS(
                args={"input": page_input, "info": info, "step": step}, code=STEP_JS))
            buttons.append(button)
        parts = [p for p in (widgets, row(*buttons), grid, detail_grid, status_line())
                 if p is not None]
        return column(*parts, sizing_mode="stretch_width")

    def _column(self, name: str) -> TableColumn:
        kind = self.pages.kinds[name]
        title = name
        if name != "id":
            spec = self.pages.table.column(name)
            if spec.target_table:
                title += " → " + spec.target_table.rsplit("/", 1)[-1]
            elif spec.ragged:
                title += " (lists)"
        extra = self._plain()
        if kind in NUMERIC and not (name != "id" and self.pages.table.column(name).ragged):
            extra["formatter"] = self._shared["number"]
        return TableColumn(field="col_" + name, title=title, sortable=False, **extra)

    def _plain(self) -> dict[str, Any]:
        """The shared editor and text formatter (a column's defaults, made once)."""
        return {"editor": self._shared["editor"], "formatter": self._shared["text"]}

    # -- data --------------------------------------------------------------------------------
    def prefetch(self) -> None:
        """Read the page the next frame shows, ahead of it. Why: the worker calls this just
        after sending a new document, while the page embeds it (100-200 ms in which the
        worker would idle), so the frame asked for next is ready instead of reading then."""
        query = self.query()
        self._ready = (repr(query).encode(), self.pages.page(query))

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        query = self.query()
        key = repr(query).encode()
        ready = getattr(self, "_ready", None)
        page = ready[1] if ready is not None and ready[0] == key else self.pages.page(query)
        self._ready = None
        sources: dict[str, dict[str, Any]] = {}
        if key != getattr(self, "_sent", None):
            sources[SOURCE] = self.columns(page)
            sources[INFO] = {"n_pages": np.array([page.n_pages], dtype=np.int32)}
        expand = int(self.values.get("expand", -1))
        if expand != getattr(self, "_detail_sent", None):  # (unchanged: BokehJS would
            sources[DETAIL] = self.detail_columns()  # redraw the detail grid for nothing)
        yield Frame(sources=sources, status=self.status(query, page), notes=page.notes)
        self._sent = key  # reached only when the frame was taken (not superseded)
        self._detail_sent = expand

    def columns(self, page: Page) -> dict[str, Any]:
        data: dict[str, Any] = {"row": page.rows.astype(np.int32)}
        for name, values in page.cells.items():
            data["col_" + name] = values
        return data

    def detail_columns(self) -> dict[str, Any]:
        """The expanded row's cells (one line per column), empty when none is chosen."""
        row_number = int(self.values.get("expand", -1))
        names = ("column", "value", "link", "link_path", "link_view", "link_rows")
        if row_number < 0 or not self.pages.n_rows:
            return {n: np.zeros(0, dtype=object) for n in names}
        try:
            lines = self.pages.detail(row_number)
        except ParameterError:
            lines = []
        out = {
            "column": [line.column for line in lines],
            "value": [line.value for line in lines],
            "link": [("open rows" if line.link_rows else "open") if line.link_path else ""
                     for line in lines],
            "link_path": [line.link_path for line in lines],
            "link_view": [line.link_view for line in lines],
            "link_rows": [line.link_rows for line in lines],
        }
        return {k: np.array(v, dtype=object) for k, v in out.items()}

    def status(self, query: Query, page: Page) -> str:
        if not page.n_rows:
            names = ", ".join(n for n in self.pages.names if n != "id") or "none"
            return f"this table has no rows (its columns: {names})"
        if not len(page.rows):
            text = f"no rows of {page.n_rows:,} match"
        else:
            text = (f"rows {page.first + 1:,}-{page.first + len(page.rows):,} of "
                    f"{page.n_matching:,} (page {page.page} of {page.n_pages})")
        if query.filter_column and query.filter_value.strip():
            text += (f" · {page.n_matching:,} of {page.n_rows:,} rows match "
                     f"{query.filter_column} = {query.filter_value!r}")
        if query.rows is not None:
            text += f" · only {len(query.rows):,} chosen rows"
        if query.sort_by:
            text += f" · sorted by {query.sort_by} {'↓' if query.descending else '↑'}"
        expand = int(self.values.get("expand", -1))
        if expand >= 0:
            text += f" · row {expand} in full below"
        return text
