"""What the generic view shows of a typed group's ``data`` dataset, decided by its shape.

Why by shape and dtype alone: the generic view draws types no other view knows (a 3-D
TimeSeries, an extension type), so the only thing it can rely on is the array. Numbers of
rank 1 or 2 are lines (one per column, at most ``MAX_LINES``) against the sample times when
the group has a time base of the same length, else against the row index; numbers of rank 3
or more are a picture of the last two axes at chosen indices of the others; anything else
(text, compound records, references) is a table of the first rows. Every reader is bounded:
at most ``MAX_ROWS`` rows of lines (the first ones), one slice of at most ``MAX_PIXELS``
values (a stride beyond), ``TABLE_ROWS`` table rows; what is left out is said.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ...errors import ParameterError, ViewError
from ...nwb.timebase import read_timebase, sample_times
from ...nwb.values import display, dtype_text

Kind = Literal["lines", "image", "table"]
MAX_ROWS = 100_000  # rows of a line plot read (the first ones)
MAX_LINES = 32  # columns of a 2-D array drawn as lines
MAX_PIXELS = 1_000_000  # values of one slice of a 3-D+ array
TABLE_ROWS = 100  # rows of a table shown


def data_of(group: Any) -> Any:
    """The group's ``data`` dataset, or a ViewError saying there is none."""
    if "data" not in group or group["data"].kind != "dataset":
        raise ViewError(f"{group.path} has no 'data' dataset to show.")
    return group["data"]


def kind_of(shape: tuple[int, ...], dtype: Any) -> Kind:
    """How an array of this shape and dtype is shown."""
    numeric = np.dtype(dtype).kind in "biuf"
    if not numeric or len(shape) == 0 or 0 in shape:
        return "table"
    return "lines" if len(shape) <= 2 else "image"


def summary(data: Any) -> str:
    """``shape 120 × 12 × 20, int16`` for the status line."""
    shape = tuple(int(n) for n in data.shape)
    dims = " × ".join(map(str, shape)) if shape else "scalar"
    return f"shape {dims}, {dtype_text(data.dtype)}"


@dataclass(frozen=True, eq=False)
class Lines:
    """Rows ``0..n_shown-1`` of a 1-D/2-D array: ``x`` (times or indices), ``ys`` one float64
    array per column in ``columns``."""

    x: np.ndarray
    ys: list[np.ndarray]
    columns: tuple[int, ...]
    x_label: str
    n_rows: int
    n_shown: int
    scaled: bool  # conversion/offset applied (values in the data's unit)


def read_lines(group: Any, max_rows: int = MAX_ROWS, max_lines: int = MAX_LINES) -> Lines:
    data = data_of(group)
    shape = tuple(int(n) for n in data.shape)
    if kind_of(shape, data.dtype) != "lines":
        raise ViewError(f"The data of {group.path} ({summary(data)}) is not 1-D/2-D numbers.")
    n_rows = shape[0]
    n_shown = min(n_rows, max_rows)
    n_cols = shape[1] if len(shape) == 2 else 1
    columns = tuple(range(min(n_cols, max_lines)))
    raw = data[0:n_shown] if len(shape) == 1 else data[0:n_shown, 0:len(columns)]
    values = np.asarray(raw, dtype=np.float64).reshape(n_shown, -1)
    conversion = _attr(data, "conversion", 1.0)
    offset = _attr(data, "offset", 0.0)
    values = values * conversion + offset
    x, x_label = np.arange(n_shown, dtype=np.float64), "index (row of data)"
    base = read_timebase(group) if "data" in group else None
    if base is not None and base.n_samples >= n_shown:
        try:
            x, x_label = sample_times(group, 0, n_shown), "time (s)"
        except (ParameterError, ValueError):
            pass
    if x.size != n_shown:
        x, x_label = np.arange(n_shown, dtype=np.float64), "index (row of data)"
    return Lines(x, [values[:, c] for c in range(values.shape[1])], columns, x_label, n_rows,
                 n_shown, (conversion, offset) != (1.0, 0.0))


def slice_axes(shape: tuple[int, ...]) -> list[int]:
    """Axes chosen by index (all but the last two) of a 3-D+ array."""
    return list(range(len(shape) - 2))


def slice_step(p: int, q: int, max_pixels: int = MAX_PIXELS) -> int:
    """The stride along both axes that keeps a (p, q) slice to ``max_pixels`` values."""
    return max(1, math.ceil(math.sqrt(p * q / max_pixels)))


def read_slice(data: Any, index: dict[int, int], max_pixels: int = MAX_PIXELS
               ) -> tuple[np.ndarray, int, str]:
    """``data[i0, i1, ..., :, :]`` (the last two axes), every ``step``-th value along both
    when it would hold more than ``max_pixels``; with the step and a text of the slice."""
    shape = tuple(int(n) for n in data.shape)
    picks = []
    for axis in slice_axes(shape):
        i = int(index.get(axis, 0))
        if not 0 <= i < shape[axis]:
            raise ParameterError(f"index_{axis}", f"axis {axis} of the data has indices 0 to "
                                 f"{shape[axis] - 1}, got {i}")
        picks.append(i)
    p, q = shape[-2:]
    step = slice_step(p, q, max_pixels)
    selection = (*picks, slice(0, p, step), slice(0, q, step))
    values = np.asarray(data[selection])
    where = ", ".join([*map(str, picks), *([":"] * 2 if step == 1 else [f"::{step}"] * 2)])
    return values, step, f"data[{where}]"


def index_time(group: Any, index: int) -> float | None:
    """The time of row ``index`` when axis 0 of ``data`` is the group's time axis (a time
    base of the same length), else None."""
    base = read_timebase(group)
    if base is None or base.n_samples != int(data_of(group).shape[0]):
        return None
    try:
        times = sample_times(group, index, index + 1)
    except (ParameterError, ValueError):
        return None
    return float(times[0]) if times.size else None


def read_table(data: Any, max_rows: int = TABLE_ROWS) -> tuple[dict[str, list[str]], int]:
    """The first rows as text columns (a compound's fields, a 2-D array's columns, else one
    ``value`` column), and the number of rows stored."""
    shape = tuple(int(n) for n in data.shape)
    if not shape:
        return {"value": [display(data[()])]}, 1
    n = min(shape[0], max_rows)
    dtype = np.dtype(data.dtype)
    if n == 0 or 0 in shape:
        return {name: [] for name in (dtype.names or ("value",))}, shape[0]
    values = data[0:n]
    columns: dict[str, list[str]] = {}
    if dtype.names:
        array = np.asarray(values)
        for name in dtype.names:
            columns[name] = [display(v) for v in array[name].tolist()]
    elif len(shape) >= 2:
        array = np.asarray(values, dtype=object).reshape(n, shape[1], -1)
        for c in range(min(shape[1], MAX_LINES)):
            columns[f"column {c}"] = [display(v if v.size > 1 else v.reshape(-1)[0])
                                      for v in array[:, c]]
    else:
        columns["value"] = [display(v) for v in np.asarray(values, dtype=object).tolist()]
    return columns, shape[0]


def _attr(data: Any, name: str, default: float) -> float:
    value = data.attrs.get(name)
    try:
        out = float(np.asarray(value).reshape(-1)[0]) if value is not None else default
    except (TypeError, ValueError, IndexError):
        return default
    return out if math.isfinite(out) else default
