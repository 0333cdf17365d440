"""Bounded previews: a few values of a dataset, the first rows of a table, a time base.

Why bounded: a click in the tree must not download a recording. Each preview reads a corner
of the data (the first rows and columns: one chunk at most for chunked data), the first rows
of each table column (each ragged cell cut on its own row, saying how much it left out), and
for a TimeSeries the first and last timestamp only. Results are JSON-ready (lists, str, int,
float, None).
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import NwbscopeError
from .tables import Table
from .timebase import read_timebase
from .values import MAX_TEXT, dtype_text, to_python, truncate

MAX_1D = 10
MAX_ROWS = 5
MAX_COLS = 8
MAX_OTHER_AXES = 3
MAX_MEMBERS = 50
MAX_CHUNK_BYTES = 1024 * 1024  # uncompressed chunk bytes a preview may decode


def _short(value: Any) -> Any:
    """Strings cut to ``MAX_TEXT`` characters, inside lists and dicts too."""
    if isinstance(value, str):
        return truncate(value, MAX_TEXT)
    if isinstance(value, list):
        return [_short(v) for v in value]
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    return value


def corner(shape: tuple[int, ...]) -> tuple[slice, ...]:
    """The selection a preview reads: 10 values of a vector, 5 x 8 of a matrix, ..."""
    if len(shape) == 1:
        return (slice(0, min(shape[0], MAX_1D)),)
    limits = [MAX_ROWS, MAX_COLS] + [MAX_OTHER_AXES] * (len(shape) - 2)
    return tuple(slice(0, min(n, limit)) for n, limit in zip(shape, limits, strict=True))


def selection_text(selection: tuple[slice, ...]) -> str:
    return "[" + ", ".join(f"{s.start}:{s.stop}" for s in selection) + "]"


def chunk_bytes_touched(dataset: Any, selection: tuple[slice, ...]) -> int:
    """Uncompressed bytes of the chunks a selection touches (0 for non-chunked data)."""
    storage = dataset.storage
    if storage.layout != "chunked" or not storage.chunks:
        return 0
    count = 1
    for sel, chunk in zip(selection, storage.chunks, strict=False):
        count *= -(-int(sel.stop) // int(chunk))
    return count * math.prod(int(c) for c in storage.chunks) * max(dataset.dtype.itemsize, 1)


def dataset_preview(dataset: Any, max_chunk_bytes: int = MAX_CHUNK_BYTES) -> dict[str, Any]:
    """The first values of a dataset, with the selection read and whether it is all.

    Chunked data is read whole chunks at a time; when the chunks under the corner hold more
    than ``max_chunk_bytes`` (uncompressed), nothing is read and ``skipped`` says why.
    """
    shape = tuple(int(n) for n in dataset.shape)
    result: dict[str, Any] = {"kind": "values", "dtype": dtype_text(dataset.dtype),
                              "shape": list(shape)}
    try:
        if not shape:
            result.update(selection="[()]", values=_short(to_python(dataset[()])),
                          truncated=False)
            return result
        if 0 in shape:
            result.update(selection=selection_text(tuple(slice(0, 0) for _ in shape)),
                          values=[], truncated=False)
            return result
        selection = corner(shape)
        touched = chunk_bytes_touched(dataset, selection)
        if touched > max_chunk_bytes:
            result.update(selection=selection_text(selection), values=None, truncated=True,
                          skipped=f"Not previewed: the chunks holding the first values are "
                          f"{touched / 1e6:.1f} MB uncompressed; open a view to read them.")
            return result
        values = dataset[selection]
        truncated = any(s.stop < n for s, n in zip(selection, shape, strict=True))
        result.update(selection=selection_text(selection), values=_short(to_python(values)),
                      truncated=truncated)
    except NwbscopeError as exc:  # e.g. a filter the browser cannot decode
        result.update(values=None, error=str(exc), truncated=True)
    return result


def table_preview(table: Table, n_rows: int = MAX_ROWS) -> dict[str, Any]:
    """The first rows of every column. A ragged cell is a list cut on its own row past
    ``MAX_CELL_VALUES``; ``more[i]`` says how many values row ``i`` left out and ``lengths[i]``
    how long its list is, so the page never shows a cut list as the whole value."""
    columns = []
    for name, column in table.columns.items():
        entry: dict[str, Any] = {
            "name": name, "kind": column.kind, "dtype": column.dtype,
            "description": column.description, "target_table": column.target_table,
        }
        try:
            head = table.head(name, n_rows)
            entry.update(values=_short(to_python(head.values)), truncated=head.cut)
            if column.ragged:  # per row: the cell's full length, the data values left out
                entry.update(ragged=column.ragged, lengths=head.lengths, more=head.more)
        except NwbscopeError as exc:
            entry.update(values=None, truncated=True, error=str(exc))
        columns.append(entry)
    return {
        "kind": "table", "n_rows": table.n_rows, "colnames": table.colnames,
        "ids": to_python(table.ids(n_rows)), "columns": columns,
        "truncated": table.n_rows > n_rows,
    }


def timeseries_preview(group: Any, max_chunk_bytes: int = MAX_CHUNK_BYTES) -> dict[str, Any]:
    """The time base (first/last timestamp only) and the first values of ``data``."""
    base = read_timebase(group)
    result: dict[str, Any] = {"kind": "timeseries",
                              "timebase": base.as_dict() if base else None,
                              "timebase_text": base.summary() if base else None}
    if "data" in group and group["data"].kind == "dataset":
        data = group["data"]
        attrs = data.attrs
        result["unit"] = to_python(attrs.get("unit"))
        result["conversion"] = to_python(attrs.get("conversion"))
        result["data"] = dataset_preview(data, max_chunk_bytes)
    if "external_file" in group:  # an ImageSeries whose frames live in video files
        result["external_file"] = dataset_preview(group["external_file"])
    return result


def group_preview(group: Any) -> dict[str, Any]:
    names = list(group.keys())
    return {"kind": "group", "n_members": len(names), "members": names[:MAX_MEMBERS],
            "truncated": len(names) > MAX_MEMBERS}
