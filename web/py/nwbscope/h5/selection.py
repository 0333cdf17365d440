"""Selections (ints, slices, Ellipsis, index lists) as a bounding box plus a local selection.

An engine that reads by chunks or byte runs reads the box ``[lo, hi)`` once and applies the
local selection to it with numpy; only the chunks or rows the box touches are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Box:
    lo: tuple[int, ...]
    hi: tuple[int, ...]
    local: tuple[Any, ...]  # applied to the box array

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(b - a for a, b in zip(self.lo, self.hi, strict=True))

    @property
    def empty(self) -> bool:
        return any(b <= a for a, b in zip(self.lo, self.hi, strict=True))


def selection_box(selection: Any, shape: tuple[int, ...]) -> Box:
    """The smallest box holding ``selection`` of an array of ``shape``; IndexError if out."""
    items = _expand(selection, len(shape))
    lo, hi, local = [], [], []
    for item, n in zip(items, shape, strict=True):
        a, b, loc = _one_axis(item, n)
        lo.append(a)
        hi.append(b)
        local.append(loc)
    return Box(tuple(lo), tuple(hi), tuple(local))


def _expand(selection: Any, ndim: int) -> list[Any]:
    if not isinstance(selection, tuple):
        selection = (selection,)
    if sum(1 for s in selection if s is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis")
    if Ellipsis in [s for s in selection if not isinstance(s, np.ndarray | list)]:
        at = next(i for i, s in enumerate(selection) if s is Ellipsis)
        fill = ndim - (len(selection) - 1)
        selection = selection[:at] + (slice(None),) * fill + selection[at + 1 :]
    if len(selection) > ndim:
        raise IndexError(f"too many indices for a dataset of {ndim} dimensions")
    return list(selection) + [slice(None)] * (ndim - len(selection))


def _one_axis(item: Any, n: int) -> tuple[int, int, Any]:
    if isinstance(item, int | np.integer):
        i = int(item)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"index {int(item)} is out of range for an axis of size {n}")
        return i, i + 1, 0
    if isinstance(item, slice):
        start, stop, step = item.indices(n)
        idx = range(start, stop, step)
        if len(idx) == 0:
            return 0, 0, slice(0, 0)
        first, last = idx[0], idx[-1]
        lo, hi = min(first, last), max(first, last) + 1
        end = last - lo + (1 if step > 0 else -1)
        return lo, hi, slice(first - lo, end if end >= 0 else None, step)
    arr = np.asarray(item)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise IndexError("a boolean index must match the axis length")
        arr = np.nonzero(arr)[0]
    if arr.dtype.kind not in "iu":
        raise IndexError(f"unsupported index {item!r}")
    arr = np.where(arr < 0, arr + n, arr).astype(np.int64)
    if arr.size == 0:
        return 0, 0, arr
    if arr.min() < 0 or arr.max() >= n:
        raise IndexError(f"an index is out of range for an axis of size {n}")
    lo = int(arr.min())
    return lo, int(arr.max()) + 1, arr - lo
