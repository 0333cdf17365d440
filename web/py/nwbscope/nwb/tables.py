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

    def head(self, name: str, n_rows: int = 5, max_values: int = 64) -> tuple[list[Any], bool]:
        """The first rows of a column and whether values were cut to stay under
        ``max_values`` elements in all (a ragged row of a million spikes is not read)."""
        column = self.column(name)
        n_rows = min(n_rows, self.n_rows)
        if n_rows <= 0:
            return [], False
        data = self.group[column.path]
        if not column.ragged:
            return list(data[:n_rows]), False
        if column.ragged > 1:
            return [self.cell(name, r) for r in range(n_rows)], False
        index = self.group[column.index_paths[0]]
        ends = [int(v) for v in index[:n_rows]]
        stop = min(ends[-1], max_values)
        values = data[:stop] if stop else data[:0]
        rows, begin, cut = [], 0, ends[-1] > stop
        for end in ends:
            rows.append(values[begin: min(end, stop)])
            begin = end
        return rows, cut
