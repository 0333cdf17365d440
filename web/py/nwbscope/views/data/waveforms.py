"""Spike waveforms: a unit's mean (and sd) per channel, and a sample of a SpikeEventSeries.

Why the channel mapping is explicit: NWB stores ``waveform_mean`` as ``(n_units, n_samples,
n_channels)`` without saying which electrode a channel is. Two layouts are common: one
channel per electrode of the unit's own ``electrodes`` row (a sorter's sparse export), or
every electrode of the electrodes table (SpikeInterface's dense export). The channel count
tells them apart; when it matches neither, the channels are drawn by number and the view says
that their electrodes are unknown, rather than placing a waveform at a wrong electrode.

Why a SpikeEventSeries is sampled in a few blocks: it may hold millions of snippets; a few
hundred, read as ``N_BLOCKS`` contiguous runs spread over the recording, show their shape in
a handful of reads instead of one read per event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import NwbscopeError, ViewError
from ...nwb.tables import Table
from ...nwb.values import text
from .columns import read_ragged

N_BLOCKS = 10  # contiguous runs a SpikeEventSeries sample is read in


@dataclass(frozen=True)
class UnitWaveform:
    """One unit's mean waveform on every channel the file stores for it."""

    row: int  # the units table's row
    mean: np.ndarray  # float64 (n_samples, n_channels), in ``unit``
    sd: np.ndarray | None  # same shape, or None
    electrodes: np.ndarray  # int64 electrodes-table row of each channel (-1: unknown)
    unit_electrodes: np.ndarray  # int64 rows of the unit's ``electrodes`` cell
    rate: float | None  # samples per second (``sampling_rate``), None when not stored
    unit: str
    notes: tuple[str, ...] = ()

    @property
    def n_channels(self) -> int:
        return int(self.mean.shape[1])

    @property
    def times(self) -> np.ndarray:
        """Sample times in ms (samples when the rate is unknown)."""
        n = self.mean.shape[0]
        return np.arange(n) * (1000.0 / self.rate) if self.rate else np.arange(n, dtype=float)

    @property
    def peak(self) -> int:
        """The channel with the largest peak-to-peak amplitude."""
        filled = np.nan_to_num(self.mean)  # a NaN channel counts as flat, without warnings
        return int(np.argmax(filled.max(axis=0) - filled.min(axis=0)))

    def around_peak(self, k: int, x: np.ndarray | None = None,
                    y: np.ndarray | None = None) -> list[int]:
        """The ``k`` channels nearest the peak, nearest first: by distance on the probe when
        electrode positions ``x``/``y`` (by table row) are given and every channel's electrode
        is known, else by channel number."""
        peak, channels = self.peak, np.arange(self.n_channels)
        if x is not None and y is not None and np.all(self.electrodes >= 0):
            px, py = x[self.electrodes], y[self.electrodes]
            distance = np.hypot(px - px[peak], py - py[peak])
        else:
            distance = np.abs(channels - peak).astype(float)
        order = np.lexsort((channels, distance))
        return [int(c) for c in order[:max(1, int(k))]]


class UnitWaveforms:
    """The waveform columns of a Units table, read a unit at a time (one hyperslab each)."""

    def __init__(self, nwb: Any, path: str) -> None:
        self.nwb = nwb
        self.path = path
        self.table = Table(nwb.group(path))
        if "waveform_mean" not in self.table.columns:
            raise ViewError(f"The units table {path} has no waveform_mean column, so there "
                            "are no mean waveforms to draw; its spike times are in the "
                            "Raster and Unit views.")
        column = self.table.column("waveform_mean")
        shape = column.data_shape
        if column.ragged or len(shape) not in (2, 3) or shape[0] != self.table.n_rows:
            raise ViewError(f"waveform_mean of {path} has shape {list(shape)}"
                            f"{' (ragged)' if column.ragged else ''}; expected (units, "
                            f"samples) or (units, samples, channels) with {self.table.n_rows} "
                            "units.")
        self.shape = shape
        self.mean_data = self.table.group[column.path]
        self.sd_data = None
        if "waveform_sd" in self.table.columns:
            sd = self.table.column("waveform_sd")
            if not sd.ragged and sd.data_shape == shape:
                self.sd_data = self.table.group[sd.path]
        self._unit_rows: list[np.ndarray] | None = None

    @property
    def n_units(self) -> int:
        return self.table.n_rows

    @property
    def electrodes_table(self) -> str | None:
        column = self.table.columns.get("electrodes")
        return column.target_table if column is not None else None

    def unit_rows(self, row: int) -> np.ndarray:
        """Rows of the electrodes table in the unit's ``electrodes`` cell (empty without)."""
        if self._unit_rows is None:
            self._unit_rows = self._read_unit_rows()
        return self._unit_rows[row]

    def _read_unit_rows(self) -> list[np.ndarray]:
        empty = [np.zeros(0, dtype=np.int64)] * self.n_units
        column = self.table.columns.get("electrodes")
        if column is None or not column.target_table:
            return empty
        try:
            if column.ragged:
                return [np.asarray(r, dtype=np.int64)
                        for r in read_ragged(self.table, "electrodes").rows()]
            values = np.asarray(self.table.group[column.path][:], dtype=np.int64)
            return [np.array([v]) for v in values.tolist()]
        except (NwbscopeError, TypeError, ValueError):
            return empty

    def unit(self, row: int) -> UnitWaveform:
        if not 0 <= row < self.n_units:
            raise ViewError(f"{self.path} has no row {row}")
        mean = np.asarray(self.mean_data[row], dtype=np.float64)
        mean = mean.reshape(mean.shape[0], -1)
        sd = None
        if self.sd_data is not None:
            sd = np.asarray(self.sd_data[row], dtype=np.float64).reshape(mean.shape)
        attrs = self.mean_data.attrs
        rate = attrs.get("sampling_rate")
        rate = float(np.ravel(rate)[0]) if rate is not None else None
        rows = self.unit_rows(row)
        electrodes, notes = self._channel_rows(mean.shape[1], rows)
        if sd is None:
            notes = (*notes, "no waveform_sd: the mean alone is drawn")
        return UnitWaveform(row, mean, sd, electrodes, rows, rate if rate and rate > 0
                            else None, text(attrs.get("unit")) or "volts", notes)

    def _channel_rows(self, n_channels: int, rows: np.ndarray
                      ) -> tuple[np.ndarray, tuple[str, ...]]:
        table_rows = self._table_rows()
        if len(rows) == n_channels:
            return rows.astype(np.int64), ()
        if table_rows == n_channels:
            return np.arange(n_channels, dtype=np.int64), ()
        return np.full(n_channels, -1, dtype=np.int64), (
            f"waveform_mean has {n_channels} channels; the unit has {len(rows)} electrodes "
            f"and the electrodes table {table_rows}: channels are drawn by number, their "
            "electrodes are unknown",)

    def _table_rows(self) -> int | None:
        target = self.electrodes_table
        try:
            return self.nwb.table(target).n_rows if target else None
        except NwbscopeError:
            return None


@dataclass(frozen=True)
class EventSample:
    """Some snippets of a SpikeEventSeries: ``data[k]`` is event ``indices[k]``."""

    indices: np.ndarray  # int64 event numbers, increasing
    data: np.ndarray  # float64 (n_drawn, n_channels, n_samples), converted to ``unit``
    times: np.ndarray  # float64 event times (s)
    n_events: int
    unit: str

    @property
    def mean(self) -> np.ndarray:
        """(n_channels, n_samples): the mean of the drawn snippets."""
        return self.data.mean(axis=0) if len(self.data) else self.data.sum(axis=0)


def sample_blocks(n_events: int, max_events: int, n_blocks: int = N_BLOCKS
                  ) -> list[tuple[int, int]]:
    """``[start, stop)`` runs of at most ``max_events`` events in all, spread evenly."""
    max_events = max(1, int(max_events))
    if n_events <= max_events:
        return [(0, n_events)] if n_events else []
    blocks = max(1, min(n_blocks, max_events))
    per = max_events // blocks
    starts = np.linspace(0, n_events - per, blocks).astype(np.int64)
    runs: list[tuple[int, int]] = []
    for s in starts.tolist():
        s = max(s, runs[-1][1] if runs else 0)
        runs.append((s, min(n_events, s + per)))
    return [r for r in runs if r[1] > r[0]]


def spike_event_sample(group: Any, max_events: int) -> EventSample:
    """A bounded sample of a SpikeEventSeries' snippets as ``(events, channels, samples)``
    (a 2-D series is one channel), with ``conversion`` and ``offset`` applied."""
    if "data" not in group:
        raise ViewError(f"{group.path} has no data")
    data = group["data"]
    shape = tuple(int(n) for n in data.shape)
    if len(shape) not in (2, 3):
        raise ViewError(f"The spike snippets of {group.path} have shape {list(shape)}; "
                        "expected (events, samples) or (events, channels, samples).")
    n_events = shape[0]
    runs = sample_blocks(n_events, max_events)
    parts = [np.asarray(data[a:b], dtype=np.float64) for a, b in runs]
    width = shape[1:] if len(shape) == 3 else (1, shape[1])
    values = (np.concatenate(parts).reshape(-1, *width) if parts
              else np.zeros((0, *width)))
    conversion = data.attrs.get("conversion")
    offset = data.attrs.get("offset")
    values = (values * (float(np.ravel(conversion)[0]) if conversion is not None else 1.0)
              + (float(np.ravel(offset)[0]) if offset is not None else 0.0))
    indices = (np.concatenate([np.arange(a, b) for a, b in runs]) if runs
               else np.zeros(0, dtype=np.int64))
    times = np.full(len(indices), np.nan)
    if "timestamps" in group and runs and runs[-1][1] <= int(group["timestamps"].shape[0]):
        stamps = group["timestamps"]
        times = np.concatenate([np.asarray(stamps[a:b], dtype=np.float64) for a, b in runs])
    return EventSample(indices.astype(np.int64), values, times, n_events,
                       text(data.attrs.get("unit")) or "volts")
