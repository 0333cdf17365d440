"""Pages of any DynamicTable: the rows on screen, sorted and filtered, read lazily.

Why pages and not the whole table: an electrodes or trials table is small, but a table an
extension adds may hold millions of rows, and the browser reads by HTTP range requests. A
page reads only its rows of each column (``Table.take``: the chunks under them). A sort or
a filter needs one whole column, its *key*, read once and kept (``TablePages.key``); for a
ragged column the key is each row's count, read from its index alone, never its data.

How cells show: numbers as numbers, text and bools as text, a ragged cell as its count
("3 values"), a region as the target rows (``rows 1, 4, 7``), an object reference as the
target's path. ``detail`` gives one row's cells in full, with what each links to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ParameterError, ViewError
from ...h5.api import ObjectRef
from ...nwb.tables import Table, runs
from .columns import column_kind, format_value, sort_order

PAGE_SIZES = (10, 25, 50, 100, 200)
MAX_REGION_SHOWN = 8  # target rows a region cell lists before "…"
MAX_REGION_READ = 4_096  # region values a page reads for its cells (else counts only)
MAX_DETAIL_VALUES = 1_000  # values of one ragged cell the detail shows
MAX_TEXT = 120  # characters of an array cell on a page
HEAP_GAP = 8  # rows of a text column further apart than this are read apart (see _take)

NUMERIC = ("numeric", "region")  # kinds sent as numbers (the table right-aligns them)


@dataclass(frozen=True)
class Query:
    """What the user asked for: a page of the rows left by ``rows`` and the filter, sorted."""

    page: int = 1  # 1-based
    page_size: int = 50
    sort_by: str = ""  # "" : table order
    descending: bool = False
    filter_column: str = ""
    filter_value: str = ""
    rows: tuple[int, ...] | None = None  # only these table rows (a region followed here)


@dataclass(frozen=True)
class Page:
    """The rows of one page, in order, with each column's display values."""

    rows: np.ndarray  # int64 table row numbers shown, in order
    first: int  # 0-based position of ``rows[0]`` among the matching rows
    n_matching: int  # rows left after ``rows`` and the filter
    n_rows: int  # rows of the table
    page: int  # the page shown (the one asked for, clamped to the last)
    n_pages: int
    cells: dict[str, np.ndarray]  # "id" and every column: float64 or object (str)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DetailLine:
    """One cell of the expanded row, and what a click on it opens ("" : nothing)."""

    column: str
    value: str
    link_path: str = ""
    link_view: str = ""  # "" : the object's default view
    link_rows: str = ""  # "1,4,7": the target table's rows (a region)


def parse_rows(text: str, n_rows: int) -> tuple[int, ...] | None:
    """``"1,4,7"`` or ``"2-5, 9"`` as row numbers (None for empty text); ParameterError
    naming the bad part, or a row outside the table."""
    text = (text or "").strip()
    if not text:
        return None
    rows: list[int] = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:
                a, b = part.split("-", 1) if not part.startswith("-") else ("", part)
                rows.extend(range(int(a), int(b) + 1))
            else:
                rows.append(int(part))
        except ValueError:
            raise ParameterError("rows", f"{part!r} is not a row number or a range "
                                 "like 2-5") from None
    bad = [r for r in rows if not 0 <= r < n_rows]
    if bad:
        raise ParameterError("rows", f"row {bad[0]} is outside 0..{n_rows - 1}")
    return tuple(dict.fromkeys(rows))


class TablePages:
    """One DynamicTable, checked once; keys for sorting and filtering read once each."""

    def __init__(self, table: Table) -> None:
        problems = table.check()
        if problems:
            raise ViewError(f"{table.path} is not a consistent table: " + "; ".join(problems)
                            + ". The file is damaged or was written by a buggy tool; its "
                            "datasets are in the tree.")
        self.table = table
        self.kinds: dict[str, str] = {"id": "numeric"}
        for column in table.columns.values():
            if column.dtype.startswith("compound") and not column.ragged:
                kind = "other"  # (``column_kind`` would ask numpy to parse the label)
            else:
                kind = "reference" if column.dtype == "reference" else column_kind(column)
            self.kinds[column.name] = kind
        self._keys: dict[str, np.ndarray] = {}
        self._orders: dict[tuple[str, bool], np.ndarray] = {}  # rows in a sort's order
        self._ranks: dict[tuple[str, bool], np.ndarray] = {}  # row -> place in a sort
        self._filters: dict[tuple[str, str], tuple[np.ndarray, str]] = {}

    @property
    def n_rows(self) -> int:
        return self.table.n_rows

    @property
    def names(self) -> list[str]:
        return list(self.kinds)

    def sortable(self, name: str) -> bool:
        return self.kinds.get(name) not in (None, "array", "other")

    # -- keys: one value per row, for sorting and filtering --------------------------------------
    def key(self, name: str) -> np.ndarray:
        """The column's sort and filter key for every row, read once: values, the count of
        a ragged cell, the path of a reference."""
        if name not in self._keys:
            if name not in self.kinds:
                raise ParameterError("column", f"{self.table.path} has no column {name!r}; "
                                     f"it has {', '.join(self.kinds)}")
            if not self.sortable(name):
                raise ParameterError("column", f"column {name!r} holds an array per row; "
                                     "it cannot be sorted or filtered")
            self._keys[name] = self._read_key(name)
        return self._keys[name]

    def _read_key(self, name: str) -> np.ndarray:
        kind = self.kinds[name]
        if name != "id" and self.table.column(name).ragged:
            return self.table.lengths(name)
        values = self.table.take(name, np.arange(self.n_rows))
        if kind in ("text", "reference"):
            return np.array([_text(v) for v in values.tolist()], dtype=object)
        return values

    # -- which rows, in which order ---------------------------------------------------------
    def order(self, query: Query) -> tuple[np.ndarray, tuple[str, ...]]:
        """The matching table rows in display order, and notes (a filter value that does
        not fit its column)."""
        notes: tuple[str, ...] = ()
        rows = (np.arange(self.n_rows, dtype=np.int64) if query.rows is None
                else np.asarray(query.rows, dtype=np.int64))
        if query.filter_column and query.filter_value.strip():
            cached = (query.filter_column, query.filter_value)
            if cached not in self._filters:  # (a page turn filters again: keep the answer)
                self._filters[cached] = self.matches(*cached, np.arange(self.n_rows))
            keep, note = self._filters[cached]
            rows = rows[keep[rows]]
            notes = (note,) if note else ()
        if query.sort_by:
            rows = self._sorted(query.sort_by, query.descending, rows,
                                whole=query.rows is None and len(rows) == self.n_rows)
        return rows, notes

    def _sorted(self, name: str, descending: bool, rows: np.ndarray,
                whole: bool = False) -> np.ndarray:
        """``rows`` sorted by ``name`` (missing values last, ties in table order). The
        table's order is kept, so a page turn of a sorted table sorts nothing again."""
        cached = (name, descending)
        if cached not in self._orders:
            self._orders[cached] = key_order(self.key(name), descending)
        order = self._orders[cached]
        if whole:
            return order
        if cached not in self._ranks:
            rank = np.empty(self.n_rows, dtype=np.int64)
            rank[order] = np.arange(self.n_rows)
            self._ranks[cached] = rank
        return rows[np.argsort(self._ranks[cached][rows], kind="stable")]

    def matches(self, name: str, value: str, rows: np.ndarray) -> tuple[np.ndarray, str]:
        """Which of ``rows`` match: equal numbers or bools, text containing ``value`` (case
        ignored), ragged cells holding ``value`` items; a note when ``value`` cannot match."""
        keys = self.key(name)[rows]
        kind, value = self.kinds[name], value.strip()
        if kind in ("text", "reference"):
            wanted = value.lower()
            return np.array([wanted in k.lower() for k in keys.tolist()], dtype=bool), ""
        if kind == "bool":
            truth = {"true": True, "1": True, "yes": True, "false": False, "0": False,
                     "no": False}.get(value.lower())
            if truth is None:
                return np.zeros(len(rows), dtype=bool), (
                    f"{name} holds true/false; {value!r} matches no row")
            return keys.astype(bool) == truth, ""
        try:
            number = float(value)
        except ValueError:
            what = "counts" if name != "id" and self.table.column(name).ragged else "numbers"
            return np.zeros(len(rows), dtype=bool), (
                f"{name} holds {what}; {value!r} is not a number and matches no row")
        if np.isnan(number):
            return np.isnan(keys.astype(np.float64)), ""
        return keys.astype(np.float64) == number, ""

    # -- a page ------------------------------------------------------------------------------
    def page(self, query: Query) -> Page:
        """The rows of ``query``'s page (the last page when it asks past the end), read: only
        those rows of every column (keys already read are reused)."""
        order, notes = self.order(query)
        size = max(int(query.page_size), 1)
        n_pages = max((len(order) + size - 1) // size, 1)
        page = min(max(int(query.page), 1), n_pages)
        first = (page - 1) * size
        rows = order[first: first + size]
        cells = {name: self.display(name, rows) for name in self.kinds}
        return Page(rows, first, len(order), self.n_rows, page, n_pages, cells, notes)

    def display(self, name: str, rows: np.ndarray) -> np.ndarray:
        """One column's cells at ``rows`` as the table shows them."""
        kind = self.kinds[name]
        if not len(rows):
            return np.zeros(0, dtype=np.float64 if kind in NUMERIC else object)
        ragged = name != "id" and self.table.column(name).ragged
        if ragged:
            counts = (self._keys[name][rows] if name in self._keys
                      else self.table.lengths(name, rows))
            if kind == "region" and int(counts.sum()) <= MAX_REGION_READ:
                return np.array([_rows_text(c) for c in self.table.cells(name, rows)],
                                dtype=object)
            unit = "lists" if self.table.column(name).ragged > 1 else "values"
            if kind == "region":
                unit = "rows"
            return np.array([f"{int(n)} {unit if n != 1 else unit[:-1]}" for n in counts],
                            dtype=object)
        values = self._keys[name][rows] if name in self._keys else self._take(name, rows)
        if kind in NUMERIC:
            return np.asarray(values, dtype=np.float64)
        if kind == "array":
            return np.array([_cut(format_value(v)) for v in values], dtype=object)
        items = list(values) if values.dtype.names else values.tolist()  # (keep compounds)
        return np.array([_text(v) for v in items], dtype=object)

    def _take(self, name: str, rows: np.ndarray) -> np.ndarray:
        """``Table.take``, but for values kept in the global heap (text, sequences, region
        references) in runs of rows at most ``HEAP_GAP`` apart. Why: ``take`` reads rows
        up to a chunk apart as one slice, which is right for numbers (the chunk is read
        anyway) but decodes every value of the slice, and each text value is a global heap
        object: two rows of a sorted page 3,000 rows apart cost 3,000 strings and the heap
        collections they lie in. (The chunks of heap IDs are still read once each: the
        decoded-chunk cache keeps them between the runs.)"""
        if name == "id" or self.table.group[self.table.column(name).path].dtype.kind != "O":
            return self.table.take(name, rows)
        spans = runs(np.unique(rows), HEAP_GAP)
        if len(spans) <= 1:
            return self.table.take(name, rows)
        parts = [self.table.take(name, np.arange(a, b)) for a, b in spans]
        where = np.concatenate([np.arange(a, b) for a, b in spans])
        return np.concatenate(parts)[np.searchsorted(where, rows)]

    # -- one row in full ---------------------------------------------------------------------
    def detail(self, row: int) -> list[DetailLine]:
        """Every cell of table row ``row`` in full (a ragged cell up to
        ``MAX_DETAIL_VALUES`` values), with the object or rows each reference opens."""
        if not 0 <= row < self.n_rows:
            raise ParameterError("expand", f"row {row} is outside 0..{self.n_rows - 1}")
        lines = [DetailLine("row", f"{row} (id {int(self.table.take('id', [row])[0])})")]
        for name, column in self.table.columns.items():
            kind = self.kinds[name]
            if column.ragged:
                count = int(self.table.lengths(name, [row])[0])
                if column.ragged == 1 and count > MAX_DETAIL_VALUES:
                    head = self.table.head(name, row + 1, MAX_DETAIL_VALUES).values[row]
                    text = format_value(head) + f" … ({count} values in all)"
                    lines.append(DetailLine(name, text))
                    continue
                cell = self.table.cells(name, [row])[0]
            else:
                cell = self.table.take(name, [row])[0]
            if kind == "region":
                target = column.target_table or ""
                picked = [int(v) for v in np.atleast_1d(np.asarray(cell)).tolist()]
                lines.append(DetailLine(name, _rows_text(picked, None) + f" of {target}",
                                        target, "table", ",".join(map(str, picked))))
            elif isinstance(cell, ObjectRef):
                lines.append(DetailLine(name, cell.path + "  (open)", cell.path))
            elif _first_reference(cell):
                lines.append(DetailLine(name, _text(cell), _first_reference(cell)))
            elif column.ragged and not len(cell):
                lines.append(DetailLine(name, "(empty)"))
            elif column.ragged > 1:
                lines.append(DetailLine(name, "; ".join(f"[{format_value(c)}]" for c in cell)))
            else:
                lines.append(DetailLine(name, _text(cell)))
        return lines


def key_order(key: np.ndarray, descending: bool = False) -> np.ndarray:
    """Rows sorted by ``key``, stable, NaN last either way; numbers sorted as numbers.

    Why not ``columns.sort_order`` for numbers: it ranks through text categories, which
    formats every distinct value (seconds for a million floats); text still goes there.
    """
    if key.dtype.kind not in "fiub":
        return sort_order(key, descending)
    values = key.astype(np.int8) if key.dtype.kind == "b" else key
    missing = np.isnan(values) if values.dtype.kind == "f" else None
    present = None
    kept = values
    if missing is not None and missing.any():
        present = np.nonzero(~missing)[0]
        kept = values[present]
    order = None if key.dtype.kind == "b" else _distinct_order(kept, descending)
    if order is None and descending:  # stable descending: ties stay in table order
        n = len(kept)  # (no negation: unsigned)
        order = (n - 1 - np.argsort(kept[::-1], kind="stable"))[::-1]
    elif order is None:
        order = np.argsort(kept, kind="stable")
    if present is not None:
        order = np.concatenate([present[order], np.nonzero(missing)[0]])
    return np.ascontiguousarray(order, dtype=np.int64)


def _distinct_order(values: np.ndarray, descending: bool) -> np.ndarray | None:
    """The order of ``values`` when no two are equal (None when some are).

    Why: a stable sort of a million floats takes several times an unstable one (timsort
    against introsort), and stability only matters among equal values; with none (a
    measured quantity, an id) every correct sort gives the same order. Ties (-0.0 and 0.0
    included) are seen in the sorted values, and the stable sort is then made after all.
    """
    order = np.argsort(values)
    ordered = values[order]
    if len(ordered) > 1 and bool(np.any(ordered[1:] == ordered[:-1])):
        return None
    return order[::-1] if descending else order


def _text(value: Any) -> str:
    if isinstance(value, ObjectRef):
        return value.path
    if value is None:
        return ""
    if isinstance(value, np.void) and value.dtype.names:  # a compound (icephys references)
        return ", ".join(f"{n}={_text(value[n])}" for n in value.dtype.names)
    return format_value(value)


def _first_reference(value: Any) -> str:
    """The target of a reference inside a compound cell ("" : none)."""
    if isinstance(value, np.void) and value.dtype.names:
        for name in value.dtype.names:
            if isinstance(value[name], ObjectRef):
                return value[name].path
    return ""


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rows_text(rows: Any, limit: int | None = MAX_REGION_SHOWN) -> str:
    """Target rows of a region cell: ``row 5``, ``rows 1, 4, 7``, ``rows 1, 2, … (40)``."""
    picked = [int(v) for v in np.atleast_1d(np.asarray(rows)).tolist()]
    if not picked:
        return "no rows"
    shown = picked if limit is None or len(picked) <= limit else picked[:limit]
    text = ", ".join(map(str, shown))
    if len(shown) < len(picked):
        text += f", … ({len(picked)})"
    return ("row " if len(picked) == 1 else "rows ") + text
