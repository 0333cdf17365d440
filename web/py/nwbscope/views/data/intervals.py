"""TimeIntervals tables (trials, epochs, invalid_times, custom): bars in a window, coloured.

Why read start and stop whole: an intervals table has a row per trial or epoch (hundreds,
rarely more than tens of thousands), and every pan of the window needs them again, so they
are read once and kept on the ``IntervalsTable``. A small table is sent whole (the page pans
without asking again); a big one only where it overlaps the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np

from ...errors import ParameterError, ViewError
from ...nwb.tables import Table
from ..window import TimeWindow
from .columns import ColumnInfo, categories, column_infos, column_values, format_value
from .walk import find_typed

SEND_ALL_BELOW = 2_000  # a table with fewer rows is sent whole, whatever the window


def find_intervals(nwb: Any) -> list[str]:
    """Paths of every TimeIntervals table (``/intervals/*`` and any other place)."""
    return [info.path for info in find_typed(nwb, "TimeIntervals")]


@dataclass(frozen=True)
class ColorKey:
    """Colours of the intervals from one column: categories with labels, or numbers."""

    column: str
    kind: Literal["categorical", "numeric"]
    codes: np.ndarray | None = None  # categorical: int32 per interval, -1 when missing
    labels: tuple[str, ...] = ()
    values: np.ndarray | None = None  # numeric: float64 per interval (NaN when missing)


@dataclass(frozen=True)
class Intervals:
    """Intervals of a table, in table order: ``rows[k]`` spans ``start[k]..stop[k]``."""

    path: str
    n_rows: int  # rows of the whole table
    rows: np.ndarray  # int64 table rows returned
    start: np.ndarray  # float64 s
    stop: np.ndarray  # float64 s
    color: ColorKey | None
    text: dict[str, list[str]]  # display text of the requested columns, per interval
    columns: tuple[ColumnInfo, ...]  # what the colour and text choosers offer


class IntervalsTable:
    """A TimeIntervals table with its start/stop times read once."""

    def __init__(self, nwb: Any, path: str) -> None:
        self.nwb = nwb
        self.path = path
        self.table = Table(nwb.group(path))
        missing = [c for c in ("start_time", "stop_time") if c not in self.table.columns]
        if missing:
            raise ViewError(f"{path} has no {' or '.join(missing)} column, so its rows are not "
                            "intervals in time; its columns are in the table view.")
        self._values: dict[str, np.ndarray] = {}

    @property
    def n_rows(self) -> int:
        return self.table.n_rows

    @cached_property
    def columns(self) -> tuple[ColumnInfo, ...]:
        return tuple(c for c in column_infos(self.table) if c.kind != "array")

    def values(self, name: str) -> np.ndarray:
        """One value per row of a column (ragged ones as joined text), read once."""
        if name not in self._values:
            if name != "id" and name not in self.table.columns:
                known = ", ".join(c.name for c in self.columns)
                raise ParameterError("column", f"{self.path} has no column {name!r}; it has "
                                     f"{known}")
            self._values[name] = column_values(self.table, name)
        return self._values[name]

    @property
    def start(self) -> np.ndarray:
        return np.asarray(self.values("start_time"), dtype=np.float64)

    @property
    def stop(self) -> np.ndarray:
        return np.asarray(self.values("stop_time"), dtype=np.float64)

    @cached_property
    def span(self) -> tuple[float, float] | None:
        """Earliest start and latest stop (NaN rows ignored); None for an empty table."""
        start, stop = self.start, self.stop
        if not len(start) or np.all(np.isnan(start)):
            return None
        return float(np.nanmin(start)), float(np.nanmax(np.where(np.isnan(stop), start, stop)))

    def color_key(self, column: str, rows: np.ndarray | None = None) -> ColorKey:
        """Numbers colour by value; text, bools and lists colour by category."""
        values = self.values(column)
        info = next(c for c in self.columns if c.name == column)
        if info.kind == "numeric" and column != "id":
            numbers = np.asarray(values, dtype=np.float64)
            return ColorKey(column, "numeric",
                            values=numbers if rows is None else numbers[rows])
        cats = categories(values)
        codes = cats.codes if rows is None else cats.codes[rows]
        return ColorKey(column, "categorical", codes=codes, labels=cats.labels)

    def intervals(self, window: TimeWindow | None = None, color_by: str | None = None,
                  text_columns: tuple[str, ...] = (),
                  send_all_below: int = SEND_ALL_BELOW) -> Intervals:
        """Intervals overlapping the window (all of them for a table under
        ``send_all_below`` rows or without a window), a colour key and display text."""
        start, stop = self.start, self.stop
        if window is None or self.n_rows < send_all_below:
            rows = np.arange(self.n_rows, dtype=np.int64)
        else:
            ends = np.where(np.isnan(stop), start, stop)
            rows = np.nonzero((start < window.end) & (ends >= window.start))[0].astype(np.int64)
        color = self.color_key(color_by, rows) if color_by else None
        text = {name: [format_value(v) for v in self.values(name)[rows].tolist()]
                for name in text_columns}
        return Intervals(self.path, self.n_rows, rows, start[rows], stop[rows], color, text,
                         self.columns)
