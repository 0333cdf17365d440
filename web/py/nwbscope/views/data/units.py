"""Units tables: all spike times at once, columns to sort and select by, rasters of a window.

Why read every spike at once: a raster, a PSTH and a unit's statistics all need the spike
times of many units, and one read of ``spike_times`` plus one of ``spike_times_index`` (kept
on the ``UnitsTable``) costs two requests where a read per unit costs hundreds. 500 units of
an hour hold a few million spikes: tens of MB, read once per table.

Why a density image above a threshold: tens of thousands of glyphs make the page slow and
show nothing a count per pixel would not. Above ``SPIKE_DENSITY_THRESHOLD`` spikes in the
window the raster becomes counts per unit per time bin (at most one bin per pixel); zooming in
brings the spikes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np

from ...errors import ParameterError, ViewError
from ...nwb.tables import Table
from ..window import TimeWindow
from . import unit_stats
from .columns import (
    ColumnInfo,
    column_infos,
    column_values,
    format_value,
    read_ragged,
    select_rows,
    sort_order,
)
from .walk import find_typed

SPIKE_DENSITY_THRESHOLD = 20_000  # spikes in the window above which the raster is an image
DERIVED = ("n_spikes", "firing_rate_hz")


def find_units(nwb: Any) -> list[str]:
    """Paths of every Units table (``/units`` first, then processing modules and the rest)."""
    paths = [info.path for info in find_typed(nwb, "Units")]
    return sorted(paths, key=lambda p: (p != "/units", p))


@dataclass(frozen=True)
class Raster:
    """Spikes of the shown units in a window, or their density when there are too many.

    ``mode == "spikes"``: ``times`` and ``y`` (the unit's position in ``rows``, 0 at the
    top of the sort order), one entry per spike. ``mode == "density"``: ``counts[k, b]``
    spikes of unit ``rows[k]`` in ``[edges[b], edges[b + 1])``.
    """

    window: TimeWindow
    rows: np.ndarray  # int64 table rows of the units shown, in display order
    unit_ids: np.ndarray  # their ids
    n_spikes: int  # spikes of the shown units in the window
    mode: Literal["spikes", "density"]
    threshold: int
    times: np.ndarray | None = None
    y: np.ndarray | None = None
    counts: np.ndarray | None = None
    edges: np.ndarray | None = None


class UnitsTable:
    """A Units table with its spike times read once, sorted within each unit."""

    def __init__(self, nwb: Any, path: str = "/units") -> None:
        self.nwb = nwb
        self.path = path
        self.table = Table(nwb.group(path))
        if "spike_times" not in self.table.columns:
            raise ViewError(f"The units table {path} has no spike_times column, so there is "
                            "no raster to draw; its other columns are in the table view.")
        self._values: dict[str, np.ndarray] = {}

    @property
    def n_units(self) -> int:
        return self.table.n_rows

    @cached_property
    def _spikes(self) -> tuple[np.ndarray, np.ndarray]:
        ragged = read_ragged(self.table, "spike_times")
        times = np.asarray(ragged.values, dtype=np.float64)
        ends = ragged.ends
        earlier = np.nonzero(np.diff(times) < 0)[0] + 1  # spikes before their predecessor
        if len(earlier) and not np.all(np.isin(earlier, ends[:-1])):  # not a unit's first
            counts = np.diff(np.concatenate([[0], ends])).astype(np.intp)  # Pyodide: int32
            unit = np.repeat(np.arange(len(ends)), counts)
            times = times[np.lexsort((times, unit))]  # NWB does not promise sorted spikes
        return times, ends

    @property
    def spike_times(self) -> np.ndarray:
        """Every spike of every unit, float64, unit after unit (sorted within a unit)."""
        return self._spikes[0]

    @property
    def spike_index(self) -> np.ndarray:
        """int64 end of each unit's spikes in ``spike_times`` (the file's VectorIndex)."""
        return self._spikes[1]

    @property
    def n_spikes(self) -> np.ndarray:
        return np.diff(np.concatenate([[0], self.spike_index])).astype(np.int64)

    def unit_spikes(self, row: int) -> np.ndarray:
        """The spike times of one unit (table row), sorted."""
        if not 0 <= row < self.n_units:
            raise ParameterError("unit", f"row {row} is outside 0..{self.n_units - 1} of "
                                 f"{self.path}")
        ends = self.spike_index
        begin = int(ends[row - 1]) if row else 0
        return self.spike_times[begin: int(ends[row])]

    @cached_property
    def span(self) -> tuple[float, float] | None:
        """First and last spike of the table (None when it has no spikes)."""
        times = self.spike_times
        return (float(times.min()), float(times.max())) if len(times) else None

    # -- columns ------------------------------------------------------------------------
    @cached_property
    def columns(self) -> tuple[ColumnInfo, ...]:
        """What units can be sorted and selected by: the table's columns (less the spike
        times), each column of a region's target table (``electrodes.location``), the spike
        count and the mean firing rate."""
        infos = [c for c in column_infos(self.table)
                 if c.name not in ("spike_times",) and c.kind != "array"]
        for column in self.table.columns.values():
            if not column.target_table or column.target_table not in self.nwb:
                continue
            target = Table(self.nwb.group(column.target_table))
            for info in column_infos(target):
                name = f"{column.name}.{info.name}"
                if info.kind == "numeric" and info.name != "id":
                    infos.append(ColumnInfo(name, "numeric", "float64",
                                            f"mean {info.name} of the unit's {column.name}"))
                elif info.kind in ("numeric", "bool", "text"):
                    infos.append(ColumnInfo(name, "text", "str",
                                            f"{info.name} of the unit's {column.name}"))
        infos.append(ColumnInfo("n_spikes", "numeric", "int64", "spikes of the unit"))
        infos.append(ColumnInfo("firing_rate_hz", "numeric", "float64",
                                "spikes / span of all units' spikes (Hz)"))
        return tuple(infos)

    def values(self, name: str) -> np.ndarray:
        """One value per unit for a column of ``columns`` (read once, then kept)."""
        if name not in self._values:
            self._values[name] = self._read_values(name)
        return self._values[name]

    def _read_values(self, name: str) -> np.ndarray:
        if name == "n_spikes":
            return self.n_spikes
        if name == "firing_rate_hz":
            span = self.span
            duration = span[1] - span[0] if span else 0.0
            return self.n_spikes / duration if duration > 0 else np.zeros(self.n_units)
        if "." in name and name not in self.table.columns:
            return self._target_values(*name.split(".", 1))
        if name not in self.table.columns and name != "id":
            known = ", ".join(c.name for c in self.columns)
            raise ParameterError("column", f"{self.path} has no column {name!r}; it has "
                                 f"{known}")
        return column_values(self.table, name)

    def _target_values(self, region: str, name: str) -> np.ndarray:
        """A column of the table a region points into, one value per unit: text joined
        (the ``location`` of a unit's electrodes: "CA1" or "CA1, CA3"), numbers averaged
        over the unit's rows (the depth ``y`` of its electrodes; NaN without electrodes),
        so that units sort by depth as numbers, not as text."""
        column = self.table.column(region)
        if not column.target_table:
            raise ParameterError("column", f"{region!r} of {self.path} is not a region")
        target = Table(self.nwb.group(column.target_table))
        values = column_values(target, name)
        if column.ragged:
            ragged = read_ragged(self.table, region)
            rows = [r.astype(np.int64) for r in ragged.rows()]
        else:
            rows = [np.array([int(r)]) for r in column_values(self.table, region)]
        rows = [picks[(picks >= 0) & (picks < len(values))] for picks in rows]
        if values.dtype.kind in "iuf" and name != "id":
            numbers = np.asarray(values, dtype=np.float64)
            return np.array([numbers[p].mean() if len(p) else np.nan for p in rows])
        return np.array([", ".join(dict.fromkeys(format_value(values[p]) for p in picks))
                         for picks in rows], dtype=object)

    def sort_units(self, by: str = "id", descending: bool = False,
                   rows: np.ndarray | None = None) -> np.ndarray:
        """Table rows ordered by a column (stable; missing values last); ``rows`` limits and
        pre-orders the units (a selection)."""
        rows = np.arange(self.n_units) if rows is None else np.asarray(rows, dtype=np.int64)
        return rows[sort_order(self.values(by)[rows], descending)]

    def select_units(self, column: str, values: Any = None,
                     value_range: tuple[float | None, float | None] | None = None,
                     rows: np.ndarray | None = None) -> np.ndarray:
        """Rows whose ``column`` is one of ``values`` or in ``value_range`` (inclusive),
        keeping the order of ``rows`` (all units in table order by default)."""
        rows = np.arange(self.n_units) if rows is None else np.asarray(rows, dtype=np.int64)
        return rows[select_rows(self.values(column)[rows], values, value_range)]

    # -- windows ------------------------------------------------------------------------
    def window_bounds(self, rows: np.ndarray, start: float, end: float
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Per unit of ``rows``, the slice of ``spike_times`` inside ``[start, end)``."""
        times, ends = self.spike_times, self.spike_index
        lo = np.empty(len(rows), dtype=np.int64)
        hi = np.empty(len(rows), dtype=np.int64)
        for k, row in enumerate(rows):
            begin = int(ends[row - 1]) if row else 0
            unit = times[begin: int(ends[row])]
            lo[k] = begin + int(np.searchsorted(unit, start, side="left"))
            hi[k] = begin + int(np.searchsorted(unit, end, side="left"))
        return lo, hi

    def raster(self, window: TimeWindow, rows: np.ndarray | None = None,
               threshold: int = SPIKE_DENSITY_THRESHOLD,
               max_bins: int | None = None) -> Raster:
        """The spikes of ``rows`` (display order) in ``[window.start, window.end)``, or, when
        there are more than ``threshold``, counts in ``min(width_px, max_bins)`` bins."""
        rows = np.arange(self.n_units) if rows is None else np.asarray(rows, dtype=np.int64)
        if len(rows) and (rows.min() < 0 or rows.max() >= self.n_units):
            raise ParameterError("units", f"rows must be 0..{self.n_units - 1}")
        lo, hi = self.window_bounds(rows, window.start, window.end)
        per_unit = hi - lo
        total = int(per_unit.sum())
        ids = self.values("id")[rows]
        if total <= threshold:
            times = self.spike_times[_ranges(lo, hi)]
            y = np.repeat(np.arange(len(rows), dtype=np.int32), per_unit.astype(np.intp))
            return Raster(window, rows, ids, total, "spikes", threshold, times=times, y=y)
        n_bins = max(1, min(int(window.width_px), int(max_bins or window.width_px)))
        edges = np.linspace(window.start, window.end, n_bins + 1)
        counts = np.zeros((len(rows), n_bins), dtype=np.int32)
        span = (window.start, window.end)
        for k in range(len(rows)):  # numpy's even-bin path on a view: no copy, no search
            if per_unit[k]:
                counts[k] = np.histogram(self.spike_times[lo[k]: hi[k]], n_bins, span)[0]
        return Raster(window, rows, ids, total, "density", threshold, counts=counts,
                      edges=edges)

    # -- one unit -----------------------------------------------------------------------
    def firing_rate(self, row: int, window: TimeWindow | None = None,
                    bin_s: float | None = None,
                    sigma_s: float | None = None) -> unit_stats.FiringRate:
        """Rate of one unit over the window (default: the span of all spikes); without
        ``bin_s``, bins are sized for one per 5 pixels (at most 200 bins)."""
        if window is None:
            if self.span is None or self.span[1] <= self.span[0]:
                raise ViewError(f"The units of {self.path} have too few spikes for a rate.")
            window = TimeWindow(self.span[0], self.span[1])
        if bin_s is None:
            bin_s = window.duration / max(1, min(200, window.width_px // 5))
        return unit_stats.firing_rate(self.unit_spikes(row), window.start, window.end,
                                      bin_s, sigma_s)

    def autocorrelogram(self, row: int, window_ms: float = 50.0,
                        bin_ms: float = 1.0) -> unit_stats.Correlogram:
        return unit_stats.autocorrelogram(self.unit_spikes(row), window_ms, bin_ms)

    def isi_histogram(self, row: int, n_bins: int = 100, max_s: float = 0.1,
                      log: bool = False, min_s: float = 1e-4) -> unit_stats.IsiHistogram:
        return unit_stats.isi_histogram(self.unit_spikes(row), n_bins, max_s, log, min_s)


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(lo[k], hi[k])`` without a Python loop."""
    lengths = hi - lo
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    lengths = lengths.astype(np.intp)  # repeat counts are intp (32-bit in Pyodide)
    starts = np.repeat(lo - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return starts + np.arange(total, dtype=np.int64)
