"""Whole columns of small DynamicTables as numpy arrays: values, ragged lists, categories.

Why here and not in ``nwb/tables.py``: ``Table`` reads cells and heads, bounded for the tree's
preview. The views need a whole column at once (one value per unit, per trial, per event) to
sort, select, colour and group rows, and a ragged column (spike times, tags) as one flat value
array plus its index, read with one request each instead of one per row. These tables have a
row per unit, trial or event, so a whole column is small; the one big ragged column (spike
times) is read once and kept by its owner (``units.UnitsTable``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ...errors import ParameterError, ViewError
from ...nwb.tables import Column, Table

ColumnKind = Literal["numeric", "bool", "text", "ragged", "region", "array", "other"]


@dataclass(frozen=True)
class ColumnInfo:
    """A column as a chooser lists it: what it holds and what a view can do with it."""

    name: str
    kind: ColumnKind
    dtype: str
    description: str | None = None

    @property
    def sortable(self) -> bool:
        """One comparable value per row (ragged and region columns compare as their text)."""
        return self.kind != "array"

    @property
    def numeric(self) -> bool:
        return self.kind in ("numeric", "bool")


@dataclass(frozen=True)
class Ragged:
    """A one-level ragged column: row ``i`` is ``values[starts[i]:ends[i]]``."""

    values: np.ndarray
    ends: np.ndarray  # int64, one per row: the end of the row in ``values``

    @property
    def starts(self) -> np.ndarray:
        return np.concatenate([[0], self.ends[:-1]]).astype(np.int64)

    def row(self, i: int) -> np.ndarray:
        begin = int(self.ends[i - 1]) if i else 0
        return self.values[begin: int(self.ends[i])]

    def rows(self) -> list[np.ndarray]:
        return [self.row(i) for i in range(len(self.ends))]


@dataclass(frozen=True)
class Categories:
    """A column as categories: ``codes[i]`` indexes ``labels`` (sorted), -1 for missing."""

    codes: np.ndarray  # int32, one per row
    labels: tuple[str, ...]


def column_kind(column: Column) -> ColumnKind:
    if column.target_table:
        return "region"
    if column.ragged:
        return "ragged"
    if len(column.data_shape) > 1:
        return "array"
    if column.dtype == "bool":
        return "bool"
    if column.dtype == "str":
        return "text"
    try:
        kind = np.dtype(column.dtype).kind
    except (TypeError, ValueError):  # a compound or reference dtype text: no numbers
        return "other"
    return "numeric" if kind in "iuf" else "other"


def column_infos(table: Table) -> tuple[ColumnInfo, ...]:
    """The columns of a table in ``colnames`` order, ``id`` first."""
    infos = [ColumnInfo("id", "numeric", "int64", "row identifier")]
    for column in table.columns.values():
        infos.append(ColumnInfo(column.name, column_kind(column), column.dtype,
                                column.description))
    return tuple(infos)


def _read_all(dataset: Any) -> np.ndarray:
    """A whole dataset as an array (an empty one without a read)."""
    if dataset.shape and int(dataset.shape[0]) == 0:
        return np.asarray(dataset[0:0])
    return np.asarray(dataset[()] if not dataset.shape else dataset[:])


def read_ragged(table: Table, name: str) -> Ragged:
    """A ragged column as flat values and row ends: two reads whatever the number of rows.

    A doubly ragged column gives its inner lists as the values (object array of arrays).
    """
    column = table.column(name)
    if not column.ragged:
        raise ViewError(f"Column {name!r} of {table.path} holds one value per row, not a list.")
    group = table.group
    values: Any = _read_all(group[column.path])
    for level in range(column.ragged - 1, 0, -1):  # innermost index first
        ends = _read_all(group[column.index_paths[level]]).astype(np.int64)
        starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
        lists = np.empty(len(ends), dtype=object)
        for i, (b, e) in enumerate(zip(starts, ends, strict=True)):
            lists[i] = values[b:e]
        values = lists
    ends = _read_all(group[column.index_paths[0]]).astype(np.int64)
    if len(ends) != table.n_rows:
        raise ViewError(f"The index of column {name!r} of {table.path} has {len(ends)} "
                        f"entries for {table.n_rows} rows; the file is inconsistent.")
    if len(ends) and (np.any(np.diff(ends) < 0) or int(ends[-1]) > len(values)):
        raise ViewError(f"The index of column {name!r} of {table.path} is not increasing "
                        "or points past its data; the file is inconsistent.")
    return Ragged(np.asarray(values), ends)


def format_value(value: Any) -> str:
    """One value as display text: numbers with 6 significant digits, lists joined."""
    if isinstance(value, np.ndarray):
        return ", ".join(format_value(v) for v in value.tolist())
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)


def column_values(table: Table, name: str) -> np.ndarray:
    """One value per row: numbers/bools as their dtype, text as an object array of ``str``,
    ragged columns as their joined text (``"running, reward"``), a region as the joined
    target rows. ``id`` is the row ids."""
    if name == "id":
        return table.ids().astype(np.int64)
    column = table.column(name)
    kind = column_kind(column)
    if kind in ("ragged", "region") and column.ragged:
        ragged = read_ragged(table, name)
        return np.array([format_value(r) for r in ragged.rows()], dtype=object)
    values = _read_all(table.group[column.path])
    if kind == "text":
        return np.array([format_value(v) for v in values.tolist()], dtype=object)
    if kind == "array":
        raise ViewError(f"Column {name!r} of {table.path} holds an array per row "
                        f"(shape {list(column.data_shape)}); choose a column with one value "
                        "per row.")
    return values


def categories(values: np.ndarray) -> Categories:
    """Codes into sorted unique labels; NaN (numbers) and empty text are -1."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        missing = np.isnan(values)
    elif values.dtype.kind in "OUS":
        values = np.array([format_value(v) for v in values.tolist()], dtype=object)
        missing = values == ""
    else:
        missing = np.zeros(len(values), dtype=bool)
    codes = np.full(len(values), -1, dtype=np.int32)
    if np.any(~missing):
        present = values[~missing]
        keys = present.astype(str) if present.dtype.kind == "O" else present
        uniques, inverse = np.unique(keys, return_inverse=True)
        codes[~missing] = inverse.astype(np.int32)
        labels = tuple(format_value(u) for u in uniques.tolist())
    else:
        labels = ()
    return Categories(codes, labels)


def sort_order(values: np.ndarray, descending: bool = False) -> np.ndarray:
    """A stable order of rows by value; missing values (NaN, empty text) last either way."""
    cats = categories(values)
    key = cats.codes.astype(np.int64)
    if descending:
        key = np.where(key >= 0, len(cats.labels) - 1 - key, key)
    key = np.where(key < 0, len(cats.labels), key)
    return np.argsort(key, kind="stable").astype(np.int64)


def select_rows(values: np.ndarray, choices: Any = None,
                value_range: tuple[float | None, float | None] | None = None) -> np.ndarray:
    """Rows whose value is one of ``choices`` (compared as text for text columns) or lies in
    ``value_range`` (inclusive; None is unbounded); both given: both must hold."""
    values = np.asarray(values)
    keep = np.ones(len(values), dtype=bool)
    if choices is not None:
        if values.dtype.kind in "OUS":
            wanted = {format_value(c) for c in np.atleast_1d(np.asarray(choices, dtype=object))}
            keep &= np.array([format_value(v) in wanted for v in values.tolist()], dtype=bool)
        else:
            keep &= np.isin(values, np.atleast_1d(np.asarray(choices)))
    if value_range is not None:
        if values.dtype.kind not in "iufb":
            raise ParameterError("range", "a range selects numbers and this column holds "
                                 "text; choose values from its list instead")
        lo, hi = value_range
        numbers = values.astype(float)
        if lo is not None:
            keep &= numbers >= lo
        if hi is not None:
            keep &= numbers <= hi
    return np.nonzero(keep)[0].astype(np.int64)
