"""Write the raster benchmark file: 500 units over one hour (about 9 million spikes), by pynwb.

Each unit fires as a Poisson process at a rate drawn from a log-normal (median about 4 Hz,
as in a cortical recording), seeded, so the file is the same on every machine. It is written
once into ``bench/data/units500.nwb`` (``--force`` to rebuild); ``make(n_units, seconds)``
makes smaller ones for the smoke test.

    python3 bench/make_units_nwb.py
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import DATA, cached_file  # noqa: E402

N_UNITS = 500
SECONDS = 3600.0


def spike_trains(n_units: int, seconds: float, seed: int = 11) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    rates = np.exp(rng.normal(np.log(4.0), 0.8, n_units))
    trains = []
    for rate in rates:
        n = rng.poisson(rate * seconds)
        trains.append(np.sort(rng.uniform(0.0, seconds, n)))
    return trains


def make(n_units: int = N_UNITS, seconds: float = SECONDS, folder: Path = DATA,
         force: bool = False) -> dict:
    """Write the file unless it exists; return what it holds."""
    from pynwb import NWBHDF5IO, NWBFile

    name = f"units{n_units}" + ("" if seconds == SECONDS else f"_{seconds:g}s")

    def write(tmp: Path) -> dict:
        nwb = NWBFile(session_description=f"{n_units} units over {seconds:g} s (benchmark)",
                      identifier=f"nwbscope-bench-{name}",
                      session_start_time=datetime(2024, 1, 1, tzinfo=UTC))
        nwb.add_unit_column("quality", "good or mua")
        trains = spike_trains(n_units, seconds)
        for i, train in enumerate(trains):
            nwb.add_unit(spike_times=train, quality="good" if i % 3 else "mua")
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
        return {"units": n_units, "seconds": seconds,
                "spikes": int(sum(len(t) for t in trains))}

    return cached_file(folder / f"{name}.nwb", write, force)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    info = make(force=args.force)
    print(f"{info['name']}: {info['spikes']} spikes, {info['bytes'] / 1e6:.1f} MB, "
          f"written in {info['seconds_to_write']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
