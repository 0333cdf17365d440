"""The demo NWB file ``nwbscope serve`` offers at ``/files/demo.nwb``.

Small (about 5 MB) but rich enough to show what the viewer does: subject and session
metadata, a 16-channel raw ElectricalSeries (10 s at 20 kHz, int16, chunked with gzip +
shuffle) with six units' spikes really in the signal, an LFP in a processing module, a Units
table (spike times, electrodes, mean waveforms, a quality column), trials with extra columns,
and behavior (a 2-D SpatialSeries at a fixed rate and a speed TimeSeries with timestamps).
Deterministic: the same seed gives the same data.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

RATE = 20_000.0
DURATION = 10.0
N_CHANNELS = 16
N_UNITS = 6
WAVEFORM_SAMPLES = 40
SEED = 20240611


def _templates(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per unit: a spike shape in microvolts on every channel, and its peak channel."""
    t = np.arange(WAVEFORM_SAMPLES) / RATE * 1e3 - 0.5  # ms, trough at 0.5 ms
    shape = -np.exp(-((t / 0.15) ** 2)) + 0.35 * np.exp(-(((t - 0.45) / 0.3) ** 2))
    peaks = rng.choice(N_CHANNELS, size=N_UNITS, replace=False)
    channels = np.arange(N_CHANNELS)
    templates = np.empty((N_UNITS, WAVEFORM_SAMPLES, N_CHANNELS), dtype=np.float32)
    for u, peak in enumerate(peaks):
        amplitude = rng.uniform(80, 200)
        spread = np.exp(-((channels - peak) ** 2) / (2 * 1.5**2))
        templates[u] = amplitude * shape[:, None] * spread[None, :]
    return templates, peaks


def _spike_trains(rng: np.random.Generator) -> list[np.ndarray]:
    trains = []
    for _ in range(N_UNITS):
        rate = rng.uniform(3, 15)
        isi = rng.exponential(1 / rate, size=int(rate * DURATION * 2)) + 0.002  # refractory
        times = np.cumsum(isi)
        trains.append(times[times < DURATION - WAVEFORM_SAMPLES / RATE])
    return trains


def make_demo_arrays(seed: int = SEED) -> dict[str, object]:
    """The demo's numbers, apart from the file (tests compare the file against these)."""
    rng = np.random.default_rng(seed)
    n = int(RATE * DURATION)
    templates, peaks = _templates(rng)
    trains = _spike_trains(rng)
    signal = rng.normal(0, 12.0, size=(n, N_CHANNELS)).astype(np.float32)  # microvolts
    slow = np.sin(2 * np.pi * 7 * np.arange(n) / RATE)[:, None] * 30.0  # theta-like LFP
    signal += slow.astype(np.float32)
    for u, train in enumerate(trains):
        for index in (train * RATE).astype(int):
            signal[index : index + WAVEFORM_SAMPLES] += templates[u]
    conversion = 0.195e-6  # volts per count, as many headstages
    raw = np.round(signal * 1e-6 / conversion).astype(np.int16)
    lfp = signal.reshape(-1, 20, N_CHANNELS).mean(axis=1).astype(np.float32) * 1e-6
    t_pos = np.arange(0, DURATION, 1 / 50.0)
    position = np.stack([np.cos(t_pos * 0.6), np.sin(t_pos * 0.6)], axis=1) * 0.4 + 0.5
    t_speed = np.sort(rng.uniform(0, DURATION, size=300))
    speed = np.abs(np.sin(t_speed)) * 0.25
    return {
        "raw": raw, "conversion": conversion, "lfp": lfp, "templates": templates,
        "peaks": peaks, "trains": trains, "position": position, "speed": speed,
        "t_speed": t_speed,
    }


def write_demo_nwb(path: str | os.PathLike[str], seed: int = SEED) -> Path:
    """Write the demo file to ``path`` (atomically: readers never see half a file)."""
    from hdmf.backends.hdf5 import H5DataIO
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.behavior import Position
    from pynwb.ecephys import LFP, ElectricalSeries
    from pynwb.file import Subject

    a = make_demo_arrays(seed)
    nwb = NWBFile(
        session_description="nwbscope demo: synthetic 16-channel recording with six units",
        identifier="nwbscope-demo-1",
        session_start_time=datetime(2024, 6, 11, 9, 30, tzinfo=UTC),
        experimenter=["Doe, Jane"],
        lab="nwbscope lab",
        institution="Example University",
        related_publications=["doi:10.7554/eLife.78362"],
        keywords=["demo", "synthetic", "extracellular"],
        subject=Subject(subject_id="mouse-001", species="Mus musculus", age="P90D", sex="M",
                        description="a synthetic mouse"),
    )
    device = nwb.create_device(name="probe", description="16-channel silicon probe (synthetic)")
    for shank in range(2):
        group = nwb.create_electrode_group(
            name=f"shank{shank}", description=f"shank {shank}", location="CA1", device=device
        )
        for i in range(8):
            nwb.add_electrode(x=shank * 200.0, y=i * 25.0, z=0.0, location="CA1", group=group)
    electrodes = nwb.create_electrode_table_region(list(range(N_CHANNELS)), "all electrodes")
    nwb.add_acquisition(ElectricalSeries(
        name="ElectricalSeries", description="raw voltage, int16 counts",
        data=H5DataIO(a["raw"], chunks=(8192, N_CHANNELS), compression="gzip",
                      compression_opts=1, shuffle=True),
        electrodes=electrodes, rate=RATE, starting_time=0.0, conversion=a["conversion"],
    ))
    ecephys = nwb.create_processing_module("ecephys", "LFP (boxcar average, 1 kHz)")
    ecephys.add(LFP(electrical_series=ElectricalSeries(
        name="LFP", description="LFP", data=a["lfp"], electrodes=electrodes, rate=RATE / 20,
    )))
    nwb.add_unit_column("quality", "sorting quality label")
    for u, train in enumerate(a["trains"]):
        nwb.add_unit(spike_times=train, electrodes=[int(a["peaks"][u])],
                     waveform_mean=a["templates"][u], quality="good" if u < 4 else "mua")
    nwb.add_trial_column("correct", "whether the animal answered correctly")
    nwb.add_trial_column("stimulus", "side of the stimulus")
    for k in range(20):
        nwb.add_trial(start_time=k * 0.5, stop_time=k * 0.5 + 0.4, correct=bool(k % 3),
                      stimulus="left" if k % 2 else "right")
    behavior = nwb.create_processing_module("behavior", "position and running speed")
    position = Position()
    position.create_spatial_series(
        name="SpatialSeries", data=a["position"], reference_frame="arena corner (0, 0)",
        rate=50.0, unit="meters", description="head position",
    )
    behavior.add(position)
    behavior.add(TimeSeries(name="speed", data=a["speed"], timestamps=a["t_speed"],
                            unit="m/s", description="running speed, irregularly sampled"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.nwb")
    try:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def ensure_demo(path: Path) -> Path:
    """Write the demo file unless it is already there."""
    return path if path.is_file() else write_demo_nwb(path)
