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

from ..errors import CorruptFileError, NotFoundError, ParameterError
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

    # -- rows anywhere in the table (pages, sorted pages, whole columns) ----------------------
    def check(self) -> list[str]:
        """What makes the table inconsistent, as sentences (empty: nothing found).

        Cheap on purpose (shapes, and the last value of each outermost index): a view runs it
        before its first page, so a short column or an index past its data is named instead
        of showing rows that belong to no one.
        """
        problems = []
        for column in self.columns.values():
            if not column.ragged:
                length = column.data_shape[0] if column.data_shape else 0
                if length != self.n_rows:
                    problems.append(f"column {column.name!r} has {length} values for "
                                    f"{self.n_rows} rows")
                continue
            index = self.group[column.index_paths[0]]
            length = int(index.shape[0]) if index.shape else 0
            if length != self.n_rows:
                problems.append(f"the index of column {column.name!r} has {length} entries "
                                f"for {self.n_rows} rows")
                continue
            paths = [*column.index_paths[1:], column.path]
            for outer, inner in zip(column.index_paths, paths, strict=True):
                dataset = self.group[outer]
                size = self.group[inner].shape
                if dataset.shape and dataset.shape[0] and int(dataset[-1]) > (
                        size[0] if size else 0):
                    problems.append(f"the index of column {column.name!r} ends at "
                                    f"{int(dataset[-1])}, past the {size[0] if size else 0} "
                                    f"values of {inner.rsplit('/', 1)[-1]}")
                    break
        return problems

    def take(self, name: str, rows: Any) -> np.ndarray:
        """One value per row of a plain column (``id`` included) at ``rows``, in their
        order: rows near each other (within a chunk) are read together, far ones apart, so
        a sorted page reads the chunks under its rows and not the span between them."""
        path = self.group["id"].path if name == "id" else self.column(name).path
        return take(self.group[path], rows)

    def lengths(self, name: str, rows: Any = None) -> np.ndarray:
        """How many items each row of a ragged column holds (outermost level), at ``rows``
        (all rows when None): only its outermost index is read, never the data."""
        column = self.column(name)
        if not column.ragged:
            raise ParameterError("column", f"{name!r} of {self.path} is not a ragged column")
        index = self.group[column.index_paths[0]]
        if rows is None:
            ends = np.asarray(index[:] if self.n_rows else np.zeros(0), dtype=np.int64)
            return np.diff(np.concatenate([[0], ends])).astype(np.int64)
        rows = np.asarray(rows, dtype=np.int64)
        ends = take(index, rows).astype(np.int64)
        before = np.zeros(len(rows), dtype=np.int64)
        later = rows > 0
        if np.any(later):
            before[later] = take(index, rows[later] - 1)
        return ends - before

    def cells(self, name: str, rows: Any = None) -> list[Any]:
        """Whole cells at ``rows`` (all rows when None): plain values, or for a ragged column
        an array per row (a list of arrays per row when doubly ragged), as pynwb gives them.
        Runs of neighbouring rows are read with one request per index level and column."""
        column = self.column(name)
        if rows is None:
            rows = np.arange(self.n_rows, dtype=np.int64)
        rows = np.asarray(rows, dtype=np.int64)
        if not column.ragged:
            return list(self.take(name, rows))
        found: dict[int, Any] = {}
        for start, stop in runs(np.unique(rows), 8):
            for row, cell in zip(range(start, stop),
                                 self._ragged_cell(column, 0, start, stop), strict=True):
                found[row] = cell
        return [found[int(r)] for r in rows]

    def to_dataframe(self) -> Any:
        """The whole table as a pandas DataFrame indexed by ``id``: columns in ``colnames``
        order, then datasets ``colnames`` forgot (pynwb finds those too), valued as pynwb's
        ``to_dataframe(index=True)`` gives them: ragged cells as arrays (a list of arrays
        when doubly ragged), regions as row numbers. One difference: an object reference is
        the target's path (pynwb gives the object it read).

        Reads every column whole: for the viewer's pages use ``take``/``cells`` instead.
        """
        import pandas as pd  # here, not at import: the tree shows before pandas loads

        problems = self.check()
        if problems:
            raise CorruptFileError(f"{self.path} is not a consistent table: "
                                   + "; ".join(problems) + ".")
        data: dict[str, Any] = {}
        for name, column in self.columns.items():
            if column.ragged or len(column.data_shape) > 1:
                data[name] = self.cells(name)
            else:
                values = _read_all(self.group[column.path])
                data[name] = [v.path if isinstance(v, ObjectRef) else v
                              for v in values] if values.dtype.kind == "O" else values
        index = pd.Index(self.ids(), name="id")
        return pd.DataFrame(data, index=index, columns=list(self.columns))

    def __repr__(self) -> str:
        kind = text(self.group.attrs.get("neurodata_type")) or "DynamicTable"
        columns = ", ".join(
            f"{c.name} ({c.kind.replace('_', ' ')} {c.dtype}"
            + (f" -> {c.target_table})" if c.target_table else ")")
            for c in self.columns.values())
        return (f"<{kind} {self.path}: {self.n_rows} rows, {len(self.columns)} columns: "
                f"{columns or 'none'}>")


def runs(rows: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Sorted unique ``rows`` as ``[start, stop)`` runs, split where two rows are more than
    ``gap`` apart: each run is read as one slice."""
    if not len(rows):
        return []
    cuts = np.nonzero(np.diff(rows) > gap)[0]
    starts = np.concatenate([[rows[0]], rows[cuts + 1]])
    stops = np.concatenate([rows[cuts], [rows[-1]]]) + 1
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


def take(dataset: Any, rows: Any) -> np.ndarray:
    """``dataset[rows]`` for rows in any order, read as runs no wider than a chunk apart
    (the facade reads the bounding box of an index list: a sorted page would read it all)."""
    rows = np.asarray(rows, dtype=np.int64)
    size = int(dataset.shape[0]) if dataset.shape else 0
    if len(rows) and (rows.min() < 0 or rows.max() >= size):
        raise ParameterError("rows", f"rows {int(rows.min())}..{int(rows.max())} are outside "
                             f"the {size} values of {dataset.path}")
    if size and len(rows) == size and rows[0] == 0 and np.all(np.diff(rows) == 1):
        return _read_all(dataset)  # the whole column (a sort key): one plain read
    chunks = dataset.storage.chunks
    gap = max(int(chunks[0]) if chunks else 64, 1)
    unique = np.unique(rows)
    parts, where = [], []
    for start, stop in runs(unique, gap):
        block = np.asarray(dataset[start:stop])
        picked = unique[(unique >= start) & (unique < stop)]
        parts.append(block[picked - start])
        where.append(picked)
    if not parts:
        return np.asarray(dataset[0:0])
    values = np.concatenate(parts)
    return values[np.searchsorted(np.concatenate(where), rows)]


def _read_all(dataset: Any) -> np.ndarray:
    """A whole dataset as an array (an empty one without a read)."""
    if dataset.shape and int(dataset.shape[0]) == 0:
        return np.asarray(dataset[0:0])
    return np.asarray(dataset[()] if not dataset.shape else dataset[:])
