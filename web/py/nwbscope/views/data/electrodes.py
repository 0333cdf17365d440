"""The electrodes of an ElectricalSeries: a label per channel and choices by any column.

Why a record of its own: traces are labelled by electrode (id, and location or group), and a
scientist picks channels by what they are ("location = CA1", "group_name = shank1") rather
than by a contiguous range. The series' ``electrodes`` region gives the table row of each
channel; columns with a few distinct values become choices, and each channel is one too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import NwbscopeError, ParameterError
from ...h5.api import ObjectRef
from .columns import column_values, format_value

DEFAULT_TABLE = "/general/extracellular_ephys/electrodes"
MAX_CATEGORIES = 64  # a column with more distinct values is not offered as a choice
LABEL_COLUMNS = ("location", "group_name")


@dataclass(frozen=True)
class ElectrodeLabels:
    """Per channel: its label and the values of the choosable columns."""

    labels: tuple[str, ...]
    rows: tuple[int, ...]  # electrodes-table row of each channel (-1: unknown)
    columns: tuple[tuple[str, tuple[str, ...]], ...]  # (column, value per channel)
    table: str | None

    @property
    def choices(self) -> tuple[str, ...]:
        """``column = value`` for every value of every choosable column, then each channel."""
        keys = []
        for name, values in self.columns:
            keys.extend(f"{name} = {v}" for v in sorted(set(values)) if v != "")
        keys.extend(self.channel_key(c) for c in range(len(self.labels)))
        return tuple(keys)

    def channel_key(self, channel: int) -> str:
        return f"#{channel} {self.labels[channel]}"

    def select(self, keys: Sequence[str]) -> list[int]:
        """Channels matching any of ``keys`` (a union), in channel order; all when empty."""
        if not keys:
            return list(range(len(self.labels)))
        by_column = dict(self.columns)
        chosen: set[int] = set()
        for key in keys:
            if key.startswith("#"):
                number = key[1:].split(" ", 1)[0]
                if not number.isdigit() or int(number) >= len(self.labels):
                    raise ParameterError("show", f"there is no channel {key!r}")
                chosen.add(int(number))
                continue
            name, sep, value = key.partition(" = ")
            if not sep or name not in by_column:
                raise ParameterError("show", f"{key!r} names no electrodes column")
            chosen.update(c for c, v in enumerate(by_column[name]) if v == value)
        return sorted(chosen)


def read_electrodes(nwb: Any, group: Any, n_channels: int) -> ElectrodeLabels:
    """Labels and choices for the ``n_channels`` columns of an ElectricalSeries ``group``;
    channel numbers alone when the series has no readable electrodes region."""
    fallback = ElectrodeLabels(tuple(f"ch {c}" for c in range(n_channels)),
                               tuple([-1] * n_channels), (), None)
    if "electrodes" not in group:
        return fallback
    try:
        region = group["electrodes"]
        rows = np.asarray(region[:], dtype=np.int64).reshape(-1)
        ref = region.attrs.get("table")
        path = ref.path if isinstance(ref, ObjectRef) else DEFAULT_TABLE
        table = nwb.table(path)
    except NwbscopeError:
        return fallback
    if rows.size != n_channels or (rows.size and (rows.min() < 0 or rows.max() >= table.n_rows)):
        return fallback
    ids = table.ids()[rows] if table.n_rows else rows
    columns = []
    for name in table.colnames:
        try:
            values = column_values(table, name)
        except NwbscopeError:
            continue
        if values.ndim != 1 or len(values) != table.n_rows:
            continue
        per_channel = tuple(format_value(v) for v in values[rows].tolist())
        if 1 <= len(set(per_channel)) <= MAX_CATEGORIES:
            columns.append((name, per_channel))
    by_name = dict(columns)
    labels = []
    for c in range(n_channels):
        parts = [str(int(ids[c]))]
        parts += [by_name[n][c] for n in LABEL_COLUMNS if n in by_name and by_name[n][c]]
        labels.append(" ".join(parts[:2]))
    return ElectrodeLabels(tuple(labels), tuple(int(r) for r in rows), tuple(columns), path)
