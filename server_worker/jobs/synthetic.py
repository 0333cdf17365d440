"""A small ground-truth recording written to NWB, for tests, benchmarks and demos.

SpikeInterface generates the recording and its true spike trains; pynwb writes them as an
``ElectricalSeries`` (int16 with a conversion factor). The true units go in the returned
``SortingExtractor`` only, not in the file, so a sorter cannot peek at them.

Why the layout options: files in the wild hold electrode positions as ``rel_x``/``rel_y``
(what SpikeInterface reads as a probe), as ``x``/``y``/``z`` only, or not at all; several
shanks as several electrode groups; and an LFP series beside the raw one. Each of those is a
way an ordinary file can trip the sorting, so each can be written here and tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

#: How the electrodes table holds the positions: ``rel_x``/``rel_y``, ``x``/``y``/``z``
#: (``z`` = 0), or no position columns at all.
Positions = Literal["rel_xy", "xyz", "none"]

LFP_RATE = 1000.0  # Hz, the rate of the optional LFP series
SHANK_PITCH_UM = 150.0  # distance between shanks when ``num_shanks > 1``


@dataclass(frozen=True)
class GroundTruth:
    """What was written, and the truth to compare a sorting with."""

    path: Path
    sorting: Any  # spikeinterface NumpySorting
    num_channels: int
    duration_s: float
    sampling_frequency: float
    locations: Any = None  # (num_channels, 2) µm, the probe the signal was generated on
    shank_of_channel: tuple[int, ...] = ()


def write_ground_truth_nwb(
    path: str | Path,
    *,
    num_channels: int = 16,
    num_units: int = 10,
    duration_s: float = 40.0,
    sampling_frequency: float = 30000.0,
    seed: int = 2205,
    series_name: str = "ElectricalSeries",
    positions: Positions = "rel_xy",
    with_lfp: bool = False,
    num_shanks: int = 1,
    location: str = "unknown",
) -> GroundTruth:
    """Generate a ground-truth recording and write it to ``path`` as NWB.

    ``num_shanks > 1`` generates a multi-shank probe (shanks ``SHANK_PITCH_UM`` apart, the
    channels split evenly) and writes one electrode group per shank; ``with_lfp`` adds an
    ``LFP`` series (block means down to ``LFP_RATE``) in ``processing/ecephys``.
    """
    import spikeinterface.core as sc
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import LFP, ElectricalSeries

    if positions not in ("rel_xy", "xyz", "none"):
        raise ValueError(f"positions must be 'rel_xy', 'xyz' or 'none', not {positions!r}")
    probe = _multi_shank_probe(num_channels, num_shanks) if num_shanks > 1 else None
    recording, sorting = sc.generate_ground_truth_recording(
        durations=[duration_s],
        sampling_frequency=sampling_frequency,
        num_channels=num_channels,
        num_units=num_units,
        probe=probe,
        seed=seed,
    )
    traces = recording.get_traces()
    gain_uv = 0.195  # a common amplifier step: int16 counts of 0.195 µV
    data = np.round(traces / gain_uv).clip(-32768, 32767).astype("int16")
    locations = recording.get_channel_locations()
    shanks = _shank_of_channel(probe, num_channels)

    nwb = NWBFile(
        session_description="synthetic ground-truth recording (spikeinterface)",
        identifier=f"nwbscope-synthetic-{seed}",
        session_start_time=datetime(2026, 1, 1, tzinfo=UTC),
    )
    device = nwb.create_device(name="probe", description="generated probe")
    groups = [
        nwb.create_electrode_group(
            name=f"shank{k}", description="generated shank", location=location, device=device
        )
        for k in range(max(num_shanks, 1))
    ]
    columns = {"rel_xy": ("rel_x", "rel_y"), "xyz": ("x", "y", "z"), "none": ()}[positions]
    if positions == "rel_xy":
        nwb.add_electrode_column(name="rel_x", description="x position on the probe (µm)")
        nwb.add_electrode_column(name="rel_y", description="y position on the probe (µm)")
    for index in range(num_channels):
        coordinates = (float(locations[index, 0]), float(locations[index, 1]), 0.0)
        nwb.add_electrode(
            group=groups[shanks[index]],
            location=location,
            **dict(zip(columns, coordinates, strict=False)),
        )
    region = nwb.create_electrode_table_region(list(range(num_channels)), "all electrodes")
    series = ElectricalSeries(
        name=series_name,
        data=H5DataIO(data, chunks=(min(len(data), 30000), num_channels)),
        electrodes=region,
        starting_time=0.0,
        rate=sampling_frequency,
        conversion=gain_uv * 1e-6,
    )
    nwb.add_acquisition(series)
    if with_lfp:
        step = max(int(round(sampling_frequency / LFP_RATE)), 1)
        usable = len(data) // step * step
        lfp = data[:usable].reshape(-1, step, num_channels).mean(axis=1).round().astype("int16")
        container = LFP()  # in the file before its series, so the region finds its table
        nwb.create_processing_module("ecephys", "LFP (block means)").add(container)
        container.create_electrical_series(
            name="LFP", data=lfp, starting_time=0.0, rate=sampling_frequency / step,
            electrodes=nwb.create_electrode_table_region(list(range(num_channels)), "LFP"),
            conversion=gain_uv * 1e-6,
            description=f"block means of {step} samples of {series_name}",
        )
    path = Path(path)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return GroundTruth(path, sorting, num_channels, duration_s, sampling_frequency,
                       locations=locations, shank_of_channel=tuple(shanks))


def _multi_shank_probe(num_channels: int, num_shanks: int) -> Any:
    """Shanks of two columns 20 µm apart, ``SHANK_PITCH_UM`` apart, channels in shank order."""
    from probeinterface import generate_multi_shank

    per_shank, rest = divmod(num_channels, num_shanks)
    if rest or per_shank % 2:
        raise ValueError(f"{num_channels} channels do not split into {num_shanks} shanks of "
                         "two equal columns")
    probe = generate_multi_shank(
        num_shank=num_shanks, shank_pitch=[SHANK_PITCH_UM, 0], num_columns=2, xpitch=20,
        ypitch=20, num_contact_per_column=per_shank // 2, contact_shapes="circle",
        contact_shape_params={"radius": 6},
    )
    probe.set_device_channel_indices(np.arange(num_channels))
    return probe


def _shank_of_channel(probe: Any, num_channels: int) -> list[int]:
    if probe is None:
        return [0] * num_channels
    names = list(dict.fromkeys(str(s) for s in probe.shank_ids))
    return [names.index(str(s)) for s in probe.shank_ids]
