"""Attach a probe to a recording read from NWB, from the best positions the file holds.

Every SpikeInterface sorter needs channel positions ("needs a probe to be attached"), and
SpikeInterface's NWB extractor builds a probe only from the electrodes table's ``rel_x`` /
``rel_y``. Ordinary files often have only ``x``/``y``/``z``, or a probe written with the
ndx-probeinterface extension, or nothing at all. In order of preference:

1. ``rel_xy``: the ``rel_x``/``rel_y`` SpikeInterface read (positions kept as they are).
2. ``xyz``: the ``x``/``y``/``z`` columns (microns in NWB). ``x``/``y`` when both vary (the
   plane NWB names first, and the one most probes are drawn in); otherwise the two that vary,
   in x, y, z order; a single varying coordinate becomes the probe's y (depth, the axis
   SpikeInterface's drift correction moves along), with x = 0. Not used when some are NaN or
   when two channels share a position (tetrode files give each wire the tetrode's place):
   a sorter would see them as one point.
3. ``probeinterface``: contact positions of an ndx-probeinterface ``Probe`` device (read
   here with h5py, so the extension need not be installed), matched to the electrodes of
   the groups whose device it is.
4. ``linear``: contacts ``LINEAR_PITCH_UM`` apart along y, in channel order: the sort runs,
   but ignores the real geometry, and the job log says so.

Electrode groups (shanks, tetrodes) are kept: each group is a shank of the probe, and the
recording's ``group`` property holds the group name of each channel. Groups
whose positions overlap (identical probes with ``rel_x``/``rel_y`` relative to each group,
or the linear layout) are laid side by side ``GROUP_GAP_UM`` apart along x, wider than any
sorter's default neighbourhood radius, so that no sorter mixes channels of two shanks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .electrodes import Electrodes

LINEAR_PITCH_UM = 20.0
GROUP_GAP_UM = 1000.0  # > MountainSort5's 250 µm snippet mask, the widest default radius
CONTACT_RADIUS_UM = 1.0  # as SpikeInterface's NWB extractor (the size is not in the file)
UNIT_TO_UM = {"um": 1.0, "micrometer": 1.0, "micrometers": 1.0, "mm": 1e3, "millimeter": 1e3,
              "millimeters": 1e3, "m": 1e6, "meter": 1e6, "meters": 1e6}

GeometryKind = Literal["rel_xy", "xyz", "probeinterface", "linear"]


@dataclass(frozen=True)
class GeometrySource:
    """Which positions the sort uses, and the sentence the job log shows about it."""

    kind: GeometryKind
    message: str
    positions: Any = None  # (num_channels, 2) µm, as attached (groups laid apart included)


def attach_geometry(recording: Any, electrodes: Electrodes, path: Path) -> GeometrySource:
    """Give ``recording`` (channels in ``electrodes.rows`` order) a probe and its groups."""
    groups = np.asarray(electrodes.channel_groups, dtype=object)
    n_groups = len(set(groups.tolist()))
    shanks = f" in {n_groups} groups" if n_groups > 1 else ""
    reasons: list[str] = []

    if recording.has_probe():
        positions = np.asarray(recording.get_channel_locations(), dtype=float)[:, :2]
        if _usable(positions, groups, reasons, "rel_x/rel_y"):
            laid, moved = _attach(recording, positions, groups)
            return GeometrySource("rel_xy", "nwbscope: probe geometry from the electrodes "
                                  f"table's rel_x/rel_y{shanks}{moved}.", laid)

    found = _from_xyz(electrodes, reasons)
    if found is not None:
        positions, axes = found
        if _usable(positions, groups, reasons, "x/y/z"):
            laid, moved = _attach(recording, positions, groups)
            span = float(np.ptp(positions, axis=0).max())
            hint = (" They span less than 1 µm: if the file holds them in mm or m, the "
                    "sorter (which reads µm) sees every channel as a neighbour."
                    if span < 1.0 else "")
            none = "no usable rel_x/rel_y" if reasons else "no rel_x/rel_y"
            return GeometrySource("xyz", f"nwbscope: {none} in the electrodes table"
                                  f"{_because(reasons)}; probe geometry from its {axes} "
                                  f"columns (µm){shanks}{moved}." + hint, laid)

    found_probe = _from_probeinterface(path, electrodes, reasons)
    if found_probe is not None:
        positions, names = found_probe
        if _usable(positions, groups, reasons, "the ndx-probeinterface probe"):
            laid, moved = _attach(recording, positions, groups)
            return GeometrySource("probeinterface", "nwbscope: no usable electrode positions "
                                  f"in the electrodes table{_because(reasons)}; probe geometry "
                                  f"from the ndx-probeinterface device {names}{shanks}{moved}.",
                                  laid)

    positions = np.zeros((len(groups), 2))
    for name in dict.fromkeys(groups.tolist()):
        index = np.flatnonzero(groups == name)
        positions[index, 1] = np.arange(len(index)) * LINEAR_PITCH_UM
    laid, _moved = _attach(recording, positions, groups)
    apart = f", the {n_groups} groups {GROUP_GAP_UM:.0f} µm apart" if n_groups > 1 else ""
    return GeometrySource("linear", "nwbscope: no electrode positions in the file"
                          f"{_because(reasons)}; using a linear layout "
                          f"{LINEAR_PITCH_UM:.0f} µm apart{apart} (the sort ignores real "
                          "geometry).", laid)


def _because(reasons: list[str]) -> str:
    return f" ({'; '.join(reasons)})" if reasons else ""


def _usable(positions: np.ndarray, groups: np.ndarray, reasons: list[str], what: str) -> bool:
    """Finite, and no two channels at one place (per group: groups are laid apart)."""
    if not np.all(np.isfinite(positions)):
        reasons.append(f"{what} has missing (NaN) values")
        return False
    for name in dict.fromkeys(groups.tolist()):
        block = positions[groups == name]
        if len(np.unique(block, axis=0)) < len(block):
            reasons.append(f"{what} puts several channels at one position")
            return False
    return True


def _from_xyz(electrodes: Electrodes, reasons: list[str]) -> tuple[np.ndarray, str] | None:
    coordinates: dict[str, np.ndarray] = {}
    present = [axis for axis in "xyz" if axis in electrodes.columns]
    for axis in present:
        values = electrodes.channel_values(axis)
        if values is None:
            continue
        try:
            values = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            continue
        if np.all(np.isfinite(values)) and np.ptp(values) > 0:
            coordinates[axis] = values
    if not coordinates:
        if present:
            reasons.append(f"{'/'.join(present)} are missing (NaN) or the same for every "
                           "channel")
        return None
    if "x" in coordinates and "y" in coordinates:
        axes = ["x", "y"]
    else:
        ranked = sorted(coordinates, key=lambda a: -np.ptp(coordinates[a]))[:2]
        axes = sorted(ranked)
    if len(axes) == 1:
        only = coordinates[axes[0]]
        return np.column_stack([np.zeros_like(only), only]), axes[0]
    return np.column_stack([coordinates[axes[0]], coordinates[axes[1]]]), "/".join(axes)


def _from_probeinterface(path: Path, electrodes: Electrodes,
                         reasons: list[str]) -> tuple[np.ndarray, str] | None:
    """Positions of each channel from the ndx-probeinterface probes its groups point to."""
    probes = read_probeinterface_contacts(path)
    if not probes:
        return None
    device_of_row = [electrodes.groups[g].device if g in electrodes.groups else None
                     for g in electrodes.group_of_row]
    if len(probes) == 1 and not any(d in probes for d in device_of_row):
        only = next(iter(probes))  # the groups name another device: the file's one probe
        device_of_row = [only] * len(device_of_row)
    positions = np.full((len(electrodes.rows), 2), np.nan)
    used: list[str] = []
    for device, (contacts, channel_index) in probes.items():
        device_rows = [r for r, d in enumerate(device_of_row) if d == device]
        row_to_contact = _match_contacts(device_rows, len(contacts), channel_index)
        if row_to_contact is None:
            reasons.append(f"the contacts of the ndx-probeinterface device {device} do not "
                           "match its electrodes")
            continue
        for channel, row in enumerate(electrodes.rows):
            if int(row) in row_to_contact:
                positions[channel] = contacts[row_to_contact[int(row)]]
        used.append(device.rsplit("/", 1)[-1])
    if not used or not np.all(np.isfinite(positions)):
        if used:
            reasons.append("the ndx-probeinterface probes leave some channels without a contact")
        return None
    return positions, ", ".join(used)


def _match_contacts(device_rows: list[int], n_contacts: int,
                    channel_index: np.ndarray | None) -> dict[int, int] | None:
    """Table row -> contact: ``device_channel_index_pi`` as table rows, else as the index
    among the device's electrodes, else contacts in the electrodes' order."""
    if channel_index is not None:
        indices = [int(i) for i in channel_index]
        if set(device_rows) <= set(indices):
            return {row: indices.index(row) for row in device_rows}
        if set(range(len(device_rows))) <= set(indices):
            return {row: indices.index(k) for k, row in enumerate(device_rows)}
        return None
    if n_contacts == len(device_rows) and device_rows:
        return {row: k for k, row in enumerate(device_rows)}
    return None


def read_probeinterface_contacts(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """``{device path: (contact positions in µm, (n, 2), device_channel_index_pi or None)}``
    for every ndx-probeinterface ``Probe`` under ``/general/devices``.

    The layout (ndx-probeinterface 0.2): a ``Probe`` group (a ``Device``) with ``ndim`` and
    ``unit`` attributes and a ``ContactTable`` (a DynamicTable) holding ``contact_position``
    (n x 2 or n x 3), ``contact_shape`` and optionally ``device_channel_index_pi``,
    ``shank_id``, ``contact_id``, ``radius``... A 3-D probe's positions keep x and y, as
    probeinterface's own ``to_2d`` does.
    """
    import h5py

    found: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    with h5py.File(path, "r") as f:
        devices = f.get("general/devices")
        if not isinstance(devices, h5py.Group):
            return found
        for name in devices:
            device = devices[name]
            if not isinstance(device, h5py.Group) or _attr(device, "neurodata_type") != "Probe":
                continue
            table = next((device[k] for k in device if isinstance(device[k], h5py.Group)
                          and _attr(device[k], "neurodata_type") == "ContactTable"), None)
            if table is None or "contact_position" not in table:
                continue
            scale = UNIT_TO_UM.get(_attr(device, "unit") or "micrometer", 1.0)
            contacts = np.asarray(table["contact_position"][:], dtype=float).reshape(
                len(table["contact_position"]), -1)[:, :2] * scale
            if contacts.shape[1] == 1:
                contacts = np.column_stack([np.zeros(len(contacts)), contacts[:, 0]])
            channel_index = (np.asarray(table["device_channel_index_pi"][:])
                             if "device_channel_index_pi" in table else None)
            found[device.name.lstrip("/")] = (contacts, channel_index)
    return found


def _attr(node: Any, key: str) -> str:
    value = node.attrs.get(key)
    return value.decode() if isinstance(value, bytes) else ("" if value is None else str(value))


def _attach(recording: Any, positions: np.ndarray,
            groups: np.ndarray) -> tuple[np.ndarray, str]:
    """One probe, a shank per group (laid apart when groups overlap), and the group names as
    the ``group`` property.

    One probe and not one per group (as SpikeInterface's NWB extractor builds from
    ``rel_x``/``rel_y``): SpykingCircus2 and Tridesclous2 call ``recording.get_probe()``,
    which refuses a recording with several probes.
    """
    from probeinterface import Probe

    laid, moved = _lay_apart(positions, groups)
    probe = Probe(ndim=2, si_units="um")
    probe.set_contacts(laid, shapes="circle", shape_params={"radius": CONTACT_RADIUS_UM},
                       shank_ids=groups.astype(str))
    probe.set_device_channel_indices(np.arange(len(groups)))
    recording.set_probe(probe, group_mode="by_shank")
    recording.set_channel_groups(groups.astype(str))
    note = (f"; the groups overlap, so they are laid side by side {GROUP_GAP_UM:.0f} µm "
            "apart" if moved else "")
    return laid, note


def _lay_apart(positions: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, bool]:
    """``positions`` as they are when the groups' bounding boxes are disjoint; else each
    group shifted along x to start ``GROUP_GAP_UM`` after the previous one ends."""
    names = list(dict.fromkeys(groups.tolist()))
    boxes = [(positions[groups == n].min(axis=0), positions[groups == n].max(axis=0))
             for n in names]
    overlap = any(
        np.all(boxes[i][0] <= boxes[j][1]) and np.all(boxes[j][0] <= boxes[i][1])
        for i in range(len(boxes)) for j in range(i + 1, len(boxes))
    )
    if not overlap:
        return positions, False
    laid = positions.copy()
    start = 0.0
    for name, (low, high) in zip(names, boxes, strict=True):
        index = groups == name
        laid[index, 0] += start - low[0]
        start += (high[0] - low[0]) + GROUP_GAP_UM
    return laid, True
