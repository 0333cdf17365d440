"""The electrodes table as a probe: where each electrode sits, its group and location.

Why ``rel_x``/``rel_y`` first: they are the electrode's place on the probe (what a person
draws a probe with), whereas ``x, y, z`` are brain coordinates where a straight shank is a
line in 3-D; when only those are there, the two axes that vary most are drawn (a coronal
insertion varies in x and y, a sagittal one in y and z). An electrodes table without any
usable coordinates is still drawn, as an index layout (one column per group, one row per
electrode), and the layout says so: a made-up position must never pass for a measured one.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import NwbscopeError, ViewError
from ...h5.api import ObjectRef
from ...nwb.tables import Table
from .columns import Categories, categories, column_values, format_value

RELATIVE = ("rel_x", "rel_y")
ABSOLUTE = ("x", "y", "z")
INDEX_AXES = ("group", "electrode")  # the axes' names of the index layout


@dataclass(frozen=True)
class ProbeLayout:
    """One row per electrode (table row order): its drawn position and its labels."""

    table: str  # the electrodes table's path
    ids: np.ndarray  # int64 row ids
    x: np.ndarray  # float64 drawn position (um, or index units for the index layout)
    y: np.ndarray
    axes: tuple[str, str]  # the columns drawn as x and y (INDEX_AXES: no coordinates)
    groups: np.ndarray  # object array of str: the electrode group's name
    locations: np.ndarray  # object array of str
    coordinates: dict[str, np.ndarray]  # every coordinate column present (for the hover)
    notes: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def measured(self) -> bool:
        """False for the index layout (no coordinates in the file)."""
        return self.axes != INDEX_AXES

    def categories(self, by: str) -> Categories:
        """Codes for colouring by ``group`` or ``location``."""
        return categories(self.groups if by == "group" else self.locations)

    def pitch(self) -> tuple[float, float]:
        """The smallest non-zero spacing between electrodes along x and along y (1 when
        all share one value): the size a waveform drawn at an electrode may take."""
        def smallest(values: np.ndarray) -> float:
            steps = np.diff(np.unique(values[np.isfinite(values)]))
            steps = steps[steps > 1e-9]
            return float(steps.min()) if steps.size else 1.0
        return smallest(self.x), smallest(self.y)


def _text_column(table: Table, name: str) -> np.ndarray | None:
    if name not in table.columns:
        return None
    try:
        values = column_values(table, name)
    except NwbscopeError:
        return None
    if values.ndim != 1 or len(values) != table.n_rows:
        return None
    return np.array([_text(v) for v in values.tolist()], dtype=object)


def _text(value: Any) -> str:
    if isinstance(value, ObjectRef):  # a ``group`` column: the group's name
        return posixpath.basename(value.path or "")
    return format_value(value)


def _number_column(table: Table, name: str) -> np.ndarray | None:
    if name not in table.columns:
        return None
    try:
        values = np.asarray(column_values(table, name))
    except NwbscopeError:
        return None
    if values.ndim != 1 or len(values) != table.n_rows or values.dtype.kind not in "iuf":
        return None
    return values.astype(np.float64)


def read_layout(nwb: Any, path: str) -> ProbeLayout:
    """The probe layout of the electrodes table at ``path`` (see the module's docstring)."""
    try:
        table = nwb.table(path)
    except NwbscopeError as error:
        raise ViewError(f"{path} is not a readable electrodes table: {error}") from None
    n = table.n_rows
    if n == 0:
        raise ViewError(f"The electrodes table {path} has no electrodes.")
    ids = table.ids().astype(np.int64)
    groups = _text_column(table, "group_name")
    if groups is None:
        groups = _text_column(table, "group")
    groups = groups if groups is not None else np.full(n, "", dtype=object)
    locations = _text_column(table, "location")
    locations = locations if locations is not None else np.full(n, "", dtype=object)
    coordinates = {name: values for name in (*RELATIVE, *ABSOLUTE)
                   if (values := _number_column(table, name)) is not None}
    axes, notes = choose_axes(coordinates, n)
    if axes is None:
        x, y = index_layout(groups)
        axes = INDEX_AXES
    else:
        x, y = coordinates[axes[0]], coordinates[axes[1]]
    return ProbeLayout(path, ids, np.asarray(x, np.float64), np.asarray(y, np.float64), axes,
                       groups, locations, coordinates, tuple(notes))


def choose_axes(coordinates: dict[str, np.ndarray], n: int
                ) -> tuple[tuple[str, str] | None, list[str]]:
    """The two columns to draw, and notes; None when no pair is usable (index layout)."""
    def usable(name: str) -> bool:
        values = coordinates.get(name)
        return values is not None and bool(np.all(np.isfinite(values)))

    def spread(name: str) -> float:
        values = coordinates[name]
        return float(values.max() - values.min())

    notes: list[str] = []
    if all(usable(a) for a in RELATIVE) and max(spread(a) for a in RELATIVE) > 0:
        return RELATIVE, notes
    present = [a for a in ABSOLUTE if usable(a)]
    varying = sorted((a for a in present if spread(a) > 0), key=spread, reverse=True)
    if len(varying) >= 2:
        pair = sorted(varying[:2], key=ABSOLUTE.index)
        if "rel_x" in coordinates or "rel_y" in coordinates:
            notes.append("rel_x/rel_y are missing or incomplete; drawn from "
                         f"{pair[0]} and {pair[1]} (brain coordinates)")
        return (pair[0], pair[1]), notes
    if len(varying) == 1:
        other = next((a for a in present if a != varying[0]), None)
        if other is not None:
            return (other, varying[0]), notes
    missing = [a for a in (*RELATIVE, *ABSOLUTE) if a in coordinates and not usable(a)]
    why = (f"{', '.join(missing)} hold missing values (NaN)" if missing else
           "it has no rel_x/rel_y or x/y/z columns" if not coordinates else
           "its coordinates do not vary")
    notes.append(f"The electrodes have no usable coordinates ({why}): drawn in an index "
                 f"layout, one column per group, {n} electrodes in table order.")
    return None, notes


def index_layout(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x: the group's number (in order of first appearance), y: the electrode's number in
    its group: a made-up but stable layout."""
    order = list(dict.fromkeys(groups.tolist()))
    x = np.array([order.index(g) for g in groups.tolist()], dtype=np.float64)
    y = np.zeros(len(groups), dtype=np.float64)
    seen: dict[Any, int] = {}
    for i, g in enumerate(groups.tolist()):
        y[i] = seen.get(g, 0)
        seen[g] = int(y[i]) + 1
    return x, y
