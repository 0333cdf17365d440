"""A small ground-truth recording written to NWB, for tests, benchmarks and demos.

SpikeInterface generates the recording and its true spike trains; pynwb writes them as an
``ElectricalSeries`` (int16 with a conversion factor, electrodes with ``rel_x``/``rel_y`` so
SpikeInterface's NWB extractor rebuilds the probe). The true units go in the returned
``SortingExtractor`` only, not in the file, so a sorter cannot peek at them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class GroundTruth:
    """What was written, and the truth to compare a sorting with."""

    path: Path
    sorting: Any  # spikeinterface NumpySorting
    num_channels: int
    duration_s: float
    sampling_frequency: float


def write_ground_truth_nwb(
    path: str | Path,
    *,
    num_channels: int = 16,
    num_units: int = 10,
    duration_s: float = 40.0,
    sampling_frequency: float = 30000.0,
    seed: int = 2205,
    series_name: str = "ElectricalSeries",
) -> GroundTruth:
    """Generate a ground-truth recording and write it to ``path`` as NWB."""
    import spikeinterface.core as sc
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries

    recording, sorting = sc.generate_ground_truth_recording(
        durations=[duration_s],
        sampling_frequency=sampling_frequency,
        num_channels=num_channels,
        num_units=num_units,
        seed=seed,
    )
    traces = recording.get_traces()
    gain_uv = 0.195  # a common amplifier step: int16 counts of 0.195 µV
    data = np.round(traces / gain_uv).clip(-32768, 32767).astype("int16")
    locations = recording.get_channel_locations()

    nwb = NWBFile(
        session_description="synthetic ground-truth recording (spikeinterface)",
        identifier=f"nwbscope-synthetic-{seed}",
        session_start_time=datetime(2026, 1, 1, tzinfo=UTC),
    )
    device = nwb.create_device(name="probe", description="generated probe")
    group = nwb.create_electrode_group(
        name="shank0", description="generated shank", location="unknown", device=device
    )
    nwb.add_electrode_column(name="rel_x", description="x position on the probe (µm)")
    nwb.add_electrode_column(name="rel_y", description="y position on the probe (µm)")
    for index in range(num_channels):
        nwb.add_electrode(
            group=group,
            location="unknown",
            rel_x=float(locations[index, 0]),
            rel_y=float(locations[index, 1]),
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
    path = Path(path)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return GroundTruth(path, sorting, num_channels, duration_s, sampling_frequency)
