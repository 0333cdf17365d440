"""DynamicTable: columns in ``colnames`` order, ragged columns, regions into other tables.

How NWB stores a table (hdmf-common): a group with a ``colnames`` attribute, an ``id`` dataset
(one value per row) and one dataset per column. A ragged column ``x`` has a ``VectorIndex``
``x_index`` whose i-th value is the end of row i in ``x`` (``x_index_index`` for a second
level). A ``DynamicTableRegion`` column holds row numbers of another table, named by its
``table`` object reference. Reads are bounded: a cell or the first rows, never a whole column.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..errors import NotFoundError, ParameterError
from ..h5.api import ObjectRef
from .values import dtype_text, text, text_list

MAX_CELL_VALUES = 20  # elements of one ragged cell a preview reads (each row on its own)


@dataclass(frozen=True)
class Column:
    """One column: its data dataset, its index datasets (outermost first), its target."""

    name: str
    path: str
    description: str | None
    neurodata_type: str | None
    dtype: str
    data_shape: tuple[int, ...]
    index_paths: tuple[str, ...] = ()  # ("x_index_index", "x_index") paths, outermost first
    target_table: str | None = None  # DynamicTableRegion: path of the table it points into

    @property
    def ragged(self) -> int:
        """How many index levels: 0 for a plain column, 1 for one list per row."""
        return len(self.index_paths)

    @property
    def kind(self) -> str:
        base = "region" if self.target_table else "data"
        return f"ragged_{base}" if self.ragged else base

    def as_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["data_shape"] = list(self.data_shape)
        result["index_paths"] = list(self.index_paths)
        result["ragged"] = self.ragged
        result["kind"] = self.kind
        return result


@dataclass(frozen=True)
class ColumnHead:
    """The first rows of a column, as read for a preview.

    ``values`` has one entry per row; a ragged row is a prefix of its cell (lists of lists
    for a doubly ragged column: the first lists complete, the last one shown perhaps cut).
    ``lengths`` is the full length of each ragged cell (None for a plain column) and ``more``
    the number of data values each row left out (0: the row is shown whole).
    """

    values: list[Any]
    lengths: list[int | None]
    more: list[int]

    def complete(self, row: int) -> bool:
        """Whether row ``row`` is shown whole (no value and no inner list left out)."""
        length = self.lengths[row]
        return self.more[row] == 0 and (length is None or len(self.values[row]) == length)

    @property
    def cut(self) -> bool:
        return not all(self.complete(row) for row in range(len(self.values)))


def _count_values(cell: Any, ragged: int) -> int:
    """Data values in a (prefix of a) ragged cell: the leaves ``ragged`` levels down."""
    if ragged <= 1:
        return len(cell)
    return sum(_count_values(item, ragged - 1) for item in cell)


def is_table(group: Any) -> bool:
    """A DynamicTable by structure (``colnames`` attribute and an ``id`` dataset)."""
    return getattr(group, "kind", None) == "group" and "colnames" in group.attrs and (
        "id" in group)


class Table:
    """A DynamicTable group, read lazily: column layout at once, values on request."""

    def __init__(self, group: Any) -> None:
        if not is_table(group):
            raise ParameterError("path", f"{group.path} is not a DynamicTable "
                                 "(it has no 'colnames' attribute and 'id' dataset)")
        self.group = group
        self.path: str = group.path
        self.description = text(group.attrs.get("description"))
        self.colnames: list[str] = text_list(group.attrs.get("colnames"))
        ids = group["id"]
        self.n_rows: int = int(ids.shape[0]) if ids.shape else 0
        self.columns: dict[str, Column] = {}
        members = set(group.keys())
        extra = [
            n for n in sorted(members)
            if n != "id" and n not in self.colnames and not n.endswith("_index")
            and group[n].kind == "dataset"
        ]
        for name in [*self.colnames, *extra]:
            if name in members:
                self.columns[name] = self._column(name, members)

    def _column(self, name: str, members: set[str]) -> Column:
        data = self.group[name]
        indexes: list[str] = []
        index_name = f"{name}_index"
        while index_name in members:
            indexes.insert(0, self.group[index_name].path)
            index_name += "_index"
        table_ref = data.attrs.get("table")
        return Column(
            name=name, path=data.path, description=text(data.attrs.get("description")),
            neurodata_type=text(data.attrs.get("neurodata_type")),
            dtype=dtype_text(data.dtype), data_shape=tuple(int(n) for n in data.shape),
            index_paths=tuple(indexes),
            target_table=table_ref.path if isinstance(table_ref, ObjectRef) else None,
        )

    def column(self, name: str) -> Column:
        if name not in self.columns:
            raise NotFoundError(f"{self.path}/{name}", f"the table {self.path}")
        return self.columns[name]

    def ids(self, stop: int | None = None) -> np.ndarray:
        stop = self.n_rows if stop is None else min(stop, self.n_rows)
        return np.asarray(self.group["id"][:stop])

    def _bounds(self, index_path: str, row: int) -> tuple[int, int]:
        index = self.group[index_path]
        if row == 0:
            return 0, int(index[0])
        pair = index[row - 1: row + 1]
        return int(pair[0]), int(pair[1])

    def cell(self, name: str, row: int) -> Any:
        """The value of one row: a scalar, or an array for a ragged column (one read each)."""
        column = self.column(name)
        if not 0 <= row < self.n_rows:
            raise ParameterError("row", f"{row} is outside 0..{self.n_rows - 1} of {self.path}")
        if not column.ragged:
            return self.group[column.path][row]
        return self._ragged_cell(column, 0, row, row + 1)[0]

    def _ragged_cell(self, column: Column, level: int, start: int, stop: int) -> list[Any]:
        """Rows ``start..stop`` of level ``level``: lists of the next level's elements."""
        index = self.group[column.index_paths[level]]
        ends = np.asarray(index[start:stop], dtype=np.int64)
        first = 0 if start == 0 else int(index[start - 1])
        bounds = np.concatenate([[first], ends])
        if level + 1 == column.ragged:
            values = self.group[column.path][int(bounds[0]): int(bounds[-1])]
            return [values[b - bounds[0]: e - bounds[0]]
                    for b, e in zip(bounds[:-1], bounds[1:], strict=True)]
        inner = self._ragged_cell(column, level + 1, int(bounds[0]), int(bounds[-1]))
        return [inner[b - bounds[0]: e - bounds[0]]
                for b, e in zip(bounds[:-1], bounds[1:], strict=True)]

    def head(self, name: str, n_rows: int = 5, max_values: int = MAX_CELL_VALUES) -> ColumnHead:
        """The first ``n_rows`` rows of a column, each ragged cell cut on its own.

        Why per row: a budget shared by the rows gave the first unit all of it and showed the
        next units' spike trains short or empty, as if they were whole. Here each row keeps at
        most ``max_values`` elements at every level and in all (a row of a million spikes is
        not read), and ``ColumnHead.more`` says, row by row, how many were left out.
        """
        column = self.column(name)
        n_rows = max(min(n_rows, self.n_rows), 0)
        if not column.ragged:
            values = list(self.group[column.path][:n_rows]) if n_rows else []
            return ColumnHead(values, [None] * n_rows, [0] * n_rows)
        limit = max(int(max_values), 1)
        values, lengths, more = [], [], []
        for row in range(n_rows):
            cell = self._prefix(column, 0, row, row + 1, limit)[0]
            start, stop = self._span(column, 0, row, row + 1)
            lengths.append(stop - start)
            for level in range(1, column.ragged):  # down to the data values of the row
                start, stop = self._span(column, level, start, stop)
            values.append(cell)
            more.append(stop - start - _count_values(cell, column.ragged))
        return ColumnHead(values, lengths, more)

    def _span(self, column: Column, level: int, start: int, stop: int) -> tuple[int, int]:
        """Where items ``start..stop`` of index level ``level`` lie in the next level (the
        data itself after the last index): ``[first, end)``."""
        index = self.group[column.index_paths[level]]
        first = 0 if start == 0 else int(index[start - 1])
        return (first, first) if stop <= start else (first, int(index[stop - 1]))

    def _prefix(self, column: Column, level: int, start: int, stop: int,
                limit: int) -> list[Any]:
        """Items ``start..stop`` of level ``level``, each a list of the next level's items,
        read at most ``limit`` items per level and ``limit`` data values in all: the first
        items complete, the last one shown perhaps cut, the rest left out."""
        index = self.group[column.index_paths[level]]
        stop = min(stop, start + limit) if level else stop
        first = 0 if start == 0 else int(index[start - 1])
        ends = [int(e) for e in index[start:stop]] if stop > start else []
        last = ends[-1] if ends else first
        if level + 1 == column.ragged:
            inner: Any = self.group[column.path][first: min(last, first + limit)]
        else:
            inner = self._prefix(column, level + 1, first, last, limit)
        shown = len(inner)
        items, begin = [], first
        for end in ends:
            if end - first > shown and begin - first >= shown:
                break  # nothing of this item was read
            items.append(inner[begin - first: min(end - first, shown)])
            begin = end
        return items
