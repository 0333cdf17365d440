"""Write the two benchmark NWB files, "small" and "big", with pynwb (cached in bench/data/).

The layout mirrors docs/performance.md's "big" file on purpose: the 307 MB ElectricalSeries
(64 channels x 80 s of int16 at 30 kHz, 30000 x 64 chunks) is written *first*, in its own
write, and everything else is appended afterwards. Its metadata therefore sits in clusters
near the end of the file, far from the superblock: the case where a reader that fetches
metadata blindly pays most, and the case real acquisition files usually are.

A file is regenerated only when it is missing (``--force`` to rebuild); it is written under a
temporary name and renamed, so an interrupted run never leaves a half file that looks cached.

    python3 bench/make_big_nwb.py            # both files
    python3 bench/make_big_nwb.py --only small
"""

from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import DATA, cached_file  # noqa: E402

RATE = 30_000.0


@dataclass(frozen=True)
class Recipe:
    """What goes into one benchmark file."""

    name: str
    channels: int
    samples: int
    chunk_rows: int
    timeseries: int
    spatialseries: int
    trials: int
    units: int


SMALL = Recipe("small", channels=32, samples=62_500, chunk_rows=15_625, timeseries=0,
               spatialseries=0, trials=50, units=20)
BIG = Recipe("big", channels=64, samples=int(80 * RATE), chunk_rows=30_000, timeseries=40,
             spatialseries=60, trials=500, units=80)
RECIPES = {r.name: r for r in (SMALL, BIG)}


def path_of(name: str, folder: Path = DATA) -> Path:
    return Path(folder) / f"{name}.nwb"


def _base_file(recipe: Recipe):
    """An NWBFile with subject, device, electrodes and the ElectricalSeries (nothing else)."""
    from hdmf.data_utils import GenericDataChunkIterator
    from pynwb import H5DataIO, NWBFile
    from pynwb.ecephys import ElectricalSeries
    from pynwb.file import Subject

    nwb = NWBFile(
        session_description=f"nwbscope benchmark file '{recipe.name}'",
        identifier=f"nwbscope-bench-{recipe.name}",
        session_start_time=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        experimenter=["Bench, Mark"],
        lab="nwbscope",
        institution="nwbscope benchmarks",
        related_publications=["doi:10.0000/nwbscope.bench"],
        subject=Subject(subject_id="mouse-1", species="Mus musculus", age="P90D", sex="M"),
    )
    device = nwb.create_device(name="probe", description="synthetic silicon probe")
    shanks = 4
    groups = [
        nwb.create_electrode_group(name=f"shank{k}", description=f"shank {k}",
                                   location="CA1", device=device)
        for k in range(shanks)
    ]
    per_shank = recipe.channels // shanks
    for ch in range(recipe.channels):
        nwb.add_electrode(group=groups[ch // per_shank], location="CA1",
                          x=float(ch % 2) * 20.0, y=float(ch) * 25.0, z=0.0)
    region = nwb.create_electrode_table_region(list(range(recipe.channels)), "all electrodes")

    class _Noise(GenericDataChunkIterator):
        """Deterministic int16 noise produced chunk by chunk (307 MB never sits in memory)."""

        def _get_data(self, selection):
            rows = selection[0]
            rng = np.random.default_rng(rows.start)
            n = rows.stop - rows.start
            return rng.integers(-2000, 2000, size=(n, recipe.channels), dtype=np.int16)[
                :, selection[1]
            ]

        def _get_maxshape(self):
            return (recipe.samples, recipe.channels)

        def _get_dtype(self):
            return np.dtype("int16")

    chunks = (recipe.chunk_rows, recipe.channels)
    data = _Noise(chunk_shape=chunks, buffer_shape=chunks, display_progress=False)
    nwb.add_acquisition(ElectricalSeries(
        name="ElectricalSeries", data=H5DataIO(data, chunks=chunks), electrodes=region,
        starting_time=0.0, rate=RATE, conversion=0.195e-6,
        description="synthetic broadband voltage",
    ))
    return nwb


def _append_rest(nwb, recipe: Recipe) -> None:
    """TimeSeries, a behavior module of SpatialSeries, trials and units (metadata-heavy)."""
    from pynwb import TimeSeries
    from pynwb.behavior import Position, SpatialSeries

    rng = np.random.default_rng(7)
    duration = recipe.samples / RATE
    for k in range(recipe.timeseries):
        n = 10_000
        common = dict(name=f"TimeSeries{k:02d}", data=rng.standard_normal(n).astype("f4"),
                      unit="a.u.", description=f"synthetic signal {k}",
                      control=(np.arange(n) % 2).astype("u1"),
                      control_description=["baseline", "stimulated"])
        if k % 2:
            nwb.add_acquisition(TimeSeries(**common, timestamps=np.arange(n) / 125.0))
        else:
            nwb.add_acquisition(TimeSeries(**common, starting_time=0.0, rate=125.0))
    if recipe.spatialseries:
        behavior = nwb.create_processing_module("behavior", "synthetic tracking")
        position = Position(name="Position")
        for k in range(recipe.spatialseries):
            n = 5_000
            position.add_spatial_series(SpatialSeries(
                name=f"SpatialSeries{k:02d}", data=rng.random((n, 2)),
                timestamps=np.arange(n) / 60.0, reference_frame="arena corner",
                description=f"tracked point {k}",
            ))
        behavior.add(position)
    nwb.add_trial_column("condition", "stimulus condition")
    nwb.add_trial_column("correct", "whether the answer was right")
    step = duration / recipe.trials
    for t in range(recipe.trials):
        nwb.add_trial(start_time=t * step, stop_time=t * step + step * 0.8,
                      condition=f"c{t % 4}", correct=bool(t % 3))
    nwb.add_unit_column("quality", "sorting quality label")
    for u in range(recipe.units):
        spikes = np.sort(rng.uniform(0, duration, size=int(rng.integers(200, 2000))))
        nwb.add_unit(spike_times=spikes, electrodes=[u % recipe.channels],
                     quality="good" if u % 4 else "mua")


def count_objects(path: Path) -> int:
    """Groups + datasets reachable from the root (soft links not followed)."""
    import h5py

    seen: list[str] = []
    with h5py.File(path, "r") as f:
        f.visit(seen.append)
    return len(seen)


def make(recipe: Recipe, force: bool = False, folder: Path = DATA) -> dict:
    """Write ``recipe`` unless its file exists; return its size and object count."""
    from pynwb import NWBHDF5IO

    def write(tmp: Path) -> dict:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with NWBHDF5IO(str(tmp), "w") as io:
                io.write(_base_file(recipe))
            with NWBHDF5IO(str(tmp), "a") as io:
                nwb = io.read()
                _append_rest(nwb, recipe)
                io.write(nwb)
        return {"objects": count_objects(tmp), "recipe": recipe.__dict__}

    return cached_file(path_of(recipe.name, folder), write, force)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(RECIPES), help="make one file only")
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args(argv)
    for name in [args.only] if args.only else ["small", "big"]:
        info = make(RECIPES[name], force=args.force)
        print(f"{name}: {info['path']} {info['bytes'] / 1e6:.1f} MB, {info['objects']} objects")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
