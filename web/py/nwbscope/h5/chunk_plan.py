"""Which chunks a selection needs, and where each chunk's values land in the result.

Why not read the selection's bounding box and index it afterwards: ``ds[t0:t1, [0, 383]]``
would read all six 64-channel chunk columns to keep two channels, and the box would be copied
once more when indexed. Here each axis of the selection is cut by the chunk grid on its own
(``axis_parts``): a part says which chunk along that axis, where its values go in the result
and which positions of the chunk they are. The chunks to read are the product of the axes'
parts, and ``place`` copies each chunk's share straight into the one result array.

Slices stay slices (a plain copy per chunk); index lists become per-chunk index arrays; a
slice whose step is larger than a chunk touches only the chunks holding its elements.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Index = slice | np.ndarray


@dataclass(frozen=True)
class AxisPart:
    """One chunk's share of one axis: result positions ``out`` (``None``: the axis was an
    integer and is dropped) take the chunk's positions ``src``."""

    chunk: int
    out: Index | None
    src: Index | int


def axis_parts(item: Any, lo: int, hi: int, chunk: int) -> tuple[list[AxisPart], int | None]:
    """The parts of one axis for ``item`` (``Box.local``, relative to ``lo``; the box spans
    ``[lo, hi)``) and its length in the result (``None`` for an integer)."""
    if isinstance(item, int | np.integer):
        i = lo + int(item)
        return [AxisPart(i // chunk, None, i % chunk)], None
    if isinstance(item, slice):
        r = range(lo, hi)[item]
        if not r:
            return [], 0
        spanned = abs(r[-1] // chunk - r[0] // chunk) + 1
        if r.step > 0 and spanned <= len(r):
            return _range_parts(r, chunk), len(r)
        return _array_parts(np.arange(r.start, r.stop, r.step, dtype=np.int64), chunk), len(r)
    idx = np.asarray(item, dtype=np.int64) + lo
    return _array_parts(idx, chunk), len(idx)


def _range_parts(r: range, chunk: int) -> list[AxisPart]:
    """An increasing range, chunk by chunk: slices on both sides."""
    a, s, n = r.start, r.step, len(r)
    parts = []
    for g in range(r[0] // chunk, r[-1] // chunk + 1):
        k0 = max(0, -(-(g * chunk - a) // s))  # first element at or after the chunk start
        k1 = min(n, -(-((g + 1) * chunk - a) // s))  # first element at or after its end
        if k0 < k1:
            first = a + k0 * s - g * chunk
            last = a + (k1 - 1) * s - g * chunk
            parts.append(AxisPart(g, slice(k0, k1), slice(first, last + 1, s)))
    return parts


def _array_parts(idx: np.ndarray, chunk: int) -> list[AxisPart]:
    """Any list of indices (unsorted, repeated): grouped by chunk, order kept within."""
    g = idx // chunk
    order = np.argsort(g, kind="stable")
    sorted_g = g[order]
    cuts = (np.flatnonzero(np.diff(sorted_g)) + 1).tolist()
    parts = []
    for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True):
        pos = order[a:b]
        number = int(sorted_g[a])
        parts.append(AxisPart(number, _compact(pos), _compact(idx[pos] - number * chunk)))
    return parts


def _compact(arr: np.ndarray) -> Index:
    """An increasing arithmetic index array as the slice it is (a copy, not a gather)."""
    if len(arr) == 1:
        return slice(int(arr[0]), int(arr[0]) + 1)
    step = int(arr[1] - arr[0])
    if step > 0 and bool(np.all(np.diff(arr) == step)):
        return slice(int(arr[0]), int(arr[-1]) + 1, step)
    return arr


def place(out: np.ndarray, chunk: np.ndarray, cell: tuple[AxisPart, ...]) -> None:
    """Copy the chunk's share of the result (one part per axis) into ``out``."""
    view = chunk[tuple(p.src if p.out is None else slice(None) for p in cell)]
    dst = tuple(p.out for p in cell if p.out is not None)
    src = tuple(p.src for p in cell if p.out is not None)
    out[_outer(dst)] = view[_outer(src)]  # type: ignore[index]


def fill(out: np.ndarray, value: Any, cell: tuple[AxisPart, ...]) -> None:
    """Set the result positions of a chunk that was never written to the fill value."""
    out[_outer(tuple(p.out for p in cell if p.out is not None))] = value  # type: ignore[arg-type]


def _outer(index: tuple[Any, ...]) -> tuple[Any, ...]:
    """numpy broadcasts two or more index arrays together; an outer product is meant."""
    if sum(isinstance(i, np.ndarray) for i in index) < 2:
        return index
    return np.ix_(*[np.arange(i.start, i.stop, i.step) if isinstance(i, slice) else i
                    for i in index])
