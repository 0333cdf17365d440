"""The electrodes table of an input file, and which rows an ElectricalSeries records from.

Why one reader, with h5py: the probe geometry (``geometry``) and the output file
(``nwb_output``) both need the same facts (ids, groups and their devices, the position and
location columns, the series' ``electrodes`` region) and must agree on them row for row.
h5py reads them whatever extensions the file uses (pynwb refuses a file whose extension
types it cannot load), and the table is small: a few datasets of one value per electrode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_TABLE = "general/extracellular_ephys/electrodes"

#: Columns the output file writes through pynwb's own arguments, not as plain copies.
STRUCTURAL = ("id", "group", "group_name", "location")


@dataclass(frozen=True)
class DeviceInfo:
    name: str
    path: str
    description: str = ""
    manufacturer: str = ""
    neurodata_type: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class GroupInfo:
    """An ElectrodeGroup (a shank, a tetrode): name, description, location and device."""

    name: str
    path: str
    description: str = ""
    location: str = ""
    device: str | None = None  # the device's path in the file


@dataclass
class Electrodes:
    """The whole table (``ids``, ``columns``, ``group_of_row``) and the series' rows."""

    table_path: str
    ids: np.ndarray  # electrode id of each table row
    rows: np.ndarray  # table row of each channel of the series, in channel order
    group_of_row: list[str]  # group name of each table row
    groups: dict[str, GroupInfo] = field(default_factory=dict)  # by name, in table order
    devices: dict[str, DeviceInfo] = field(default_factory=dict)  # by path
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # simple columns, by name
    descriptions: dict[str, str] = field(default_factory=dict)  # of the columns

    def channel_values(self, name: str) -> np.ndarray | None:
        """One column's values for the series' channels (None when the table lacks it)."""
        column = self.columns.get(name)
        return None if column is None else column[self.rows]

    @property
    def channel_groups(self) -> list[str]:
        return [self.group_of_row[row] for row in self.rows]


def read_electrodes(path: Path, series_path: str) -> Electrodes:
    """The electrodes table the series at ``series_path`` points into, and its rows."""
    import h5py

    with h5py.File(path, "r") as f:
        series = f[series_path]
        region = series.get("electrodes")
        table_path = DEFAULT_TABLE
        if region is not None and isinstance(region.attrs.get("table"), h5py.Reference):
            try:
                table_path = f[region.attrs["table"]].name.lstrip("/")
            except (ValueError, KeyError):  # a dangling reference: NWB's one table, then
                pass
        table = f[table_path]
        ids = np.asarray(table["id"][:], dtype=np.int64)
        n_channels = int(series["data"].shape[1]) if series["data"].ndim > 1 else 1
        rows = (np.asarray(region[:], dtype=np.int64).reshape(-1) if region is not None
                else np.arange(min(n_channels, len(ids))))
        groups, group_of_row = _read_groups(f, table, len(ids))
        devices = {g.device: _read_device(f, g.device) for g in groups.values()
                   if g.device is not None and g.device in f}
        columns, descriptions = _simple_columns(table, len(ids))
    return Electrodes(table_path, ids, rows, group_of_row, groups, devices, columns,
                      descriptions)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value.item())
    return str(value)


def _read_groups(f: Any, table: Any, n_rows: int) -> tuple[dict[str, GroupInfo], list[str]]:
    """Groups by name and the group name of each row: from the ``group`` references (the
    truth), else from ``group_name``, else one unnamed group."""
    import h5py

    groups: dict[str, GroupInfo] = {}
    names: list[str] = []
    if "group" in table and h5py.check_ref_dtype(table["group"].dtype) is not None:
        for ref in table["group"][:]:
            node = f[ref] if ref else None
            name = node.name.rsplit("/", 1)[-1] if node is not None else "group0"
            if name not in groups:
                groups[name] = _group_info(node, name)
            names.append(name)
        return groups, names
    if "group_name" in table:
        names = [_text(v) for v in table["group_name"][:]]
    else:
        names = ["group0"] * n_rows
    base = "general/extracellular_ephys"
    for name in dict.fromkeys(names):
        node = f.get(f"{base}/{name}")
        groups[name] = _group_info(node, name)
    return groups, names


def _group_info(node: Any, name: str) -> GroupInfo:
    import h5py

    if node is None or not isinstance(node, h5py.Group):
        return GroupInfo(name=name, path="")
    device = None
    link = node.get("device", getlink=True)
    if isinstance(link, h5py.SoftLink):
        device = link.path.lstrip("/")
    elif "device" in node:
        device = node["device"].name.lstrip("/")
    return GroupInfo(name=name, path=node.name.lstrip("/"),
                     description=_text(node.attrs.get("description")),
                     location=_text(node.attrs.get("location")), device=device)


def _read_device(f: Any, path: str) -> DeviceInfo:
    attrs = f[path].attrs
    return DeviceInfo(name=path.rsplit("/", 1)[-1], path=path,
                      description=_text(attrs.get("description")),
                      manufacturer=_text(attrs.get("manufacturer")),
                      neurodata_type=_text(attrs.get("neurodata_type")),
                      namespace=_text(attrs.get("namespace")))


def _simple_columns(table: Any, n_rows: int) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Columns of one number, boolean or string per row: the ones that copy safely (ragged
    columns, regions into other tables and references are left out)."""
    import h5py

    names = [_text(n) for n in table.attrs.get("colnames", [])]
    columns: dict[str, np.ndarray] = {}
    descriptions: dict[str, str] = {}
    for name in names:
        if name in ("id", "group") or name not in table or f"{name}_index" in table:
            continue
        data = table[name]
        if not isinstance(data, h5py.Dataset) or data.shape != (n_rows,):
            continue
        if "table" in data.attrs or h5py.check_ref_dtype(data.dtype) is not None:
            continue
        values = data[:]
        if data.dtype.kind in "OSU":
            values = np.asarray([_text(v) for v in values], dtype=object)
        elif data.dtype.kind not in "biuf":
            continue
        columns[name] = values
        descriptions[name] = _text(data.attrs.get("description")) or name
    return columns, descriptions
