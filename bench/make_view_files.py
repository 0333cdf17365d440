"""Write the time-series view benchmark files: a dense 64-channel and a sparse 384-channel NWB.

Both are pynwb files (an ``ElectricalSeries`` with its electrodes table) whose data set is
created empty by pynwb and then filled with h5py's direct chunk writes: every chunk is one of a
few payloads encoded once (noise, or zeros for a switched-off amplifier), so gigabytes are
written at disk speed instead of being generated and compressed sample by sample.

- ``dense64``: 64 ch x 10 min of int16 at 30 kHz (2.3 GB), uncompressed 32768 x 64 chunks
  (4 MiB, the size neuroconv aims for): the zoomed-out view streams it chunk by chunk.
- ``sparse384``: 384 ch x 5 min (6.9 GB nominal), 8192 x 64 chunks with gzip(4) + shuffle.
  Only the first and last 10 s hold signal; 10-200 s are small chunks (zeros compress to about
  1 kB) and 200-290 s are never allocated (read as the fill value). About 4600 chunks are
  allocated, so its chunk B-tree has about 75 leaves: the "thousands of chunks" case.

A file is rebuilt only when missing (``--force`` to rebuild); it is written under a temporary
name and renamed. ``Recipe.scaled`` makes tiny versions for the smoke test.

    python3 bench/make_view_files.py              # both files into bench/data/
    python3 bench/make_view_files.py --only dense64
"""

from __future__ import annotations

import argparse
import sys
import warnings
import zlib
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import DATA, cached_file  # noqa: E402

RATE = 30_000.0
SERIES = "acquisition/ElectricalSeries/data"
N_PAYLOADS = 8  # distinct noise chunks; enough that no two neighbours are the same bytes


@dataclass(frozen=True)
class Recipe:
    """One benchmark file. Time spans are in seconds; chunks outside every span are zeros."""

    name: str
    channels: int
    seconds: float
    chunk_rows: int
    chunk_cols: int
    gzip: int | None = None  # deflate level; with shuffle when set
    signal: tuple[tuple[float, float], ...] = ((0.0, float("inf")),)
    unallocated: tuple[tuple[float, float], ...] = ()

    @property
    def samples(self) -> int:
        return int(self.seconds * RATE)

    @property
    def chunks(self) -> tuple[int, int]:
        return (self.chunk_rows, self.chunk_cols)

    def scaled(self, seconds: float, folder_name: str | None = None) -> Recipe:
        """The same layout over ``seconds`` (spans scaled alike), for fast tests."""
        k = seconds / self.seconds
        return replace(
            self, name=folder_name or self.name, seconds=seconds,
            signal=tuple((a * k, b * k) for a, b in self.signal),
            unallocated=tuple((a * k, b * k) for a, b in self.unallocated),
        )


DENSE64 = Recipe("dense64", channels=64, seconds=600.0, chunk_rows=32_768, chunk_cols=64)
SPARSE384 = Recipe(
    "sparse384", channels=384, seconds=300.0, chunk_rows=8192, chunk_cols=64, gzip=4,
    signal=((0.0, 10.0), (290.0, 300.0)), unallocated=((200.0, 290.0),),
)
RECIPES = {r.name: r for r in (DENSE64, SPARSE384)}


def path_of(name: str, folder: Path = DATA) -> Path:
    return Path(folder) / f"{name}.nwb"


def _empty_series_file(recipe: Recipe, path: Path) -> None:
    """pynwb writes the NWB file with the series' data set allocated but no chunk written."""
    from pynwb import NWBHDF5IO, H5DataIO, NWBFile
    from pynwb.ecephys import ElectricalSeries

    nwb = NWBFile(
        session_description=f"nwbscope view benchmark '{recipe.name}'",
        identifier=f"nwbscope-view-{recipe.name}",
        session_start_time=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    device = nwb.create_device(name="probe", description="synthetic probe")
    group = nwb.create_electrode_group(name="shank0", description="one shank",
                                       location="CA1", device=device)
    for ch in range(recipe.channels):
        nwb.add_electrode(group=group, location="CA1", x=0.0, y=float(ch) * 20.0, z=0.0)
    region = nwb.create_electrode_table_region(list(range(recipe.channels)), "all electrodes")
    options = {"compression": "gzip", "compression_opts": recipe.gzip, "shuffle": True} if (
        recipe.gzip is not None) else {}
    data = H5DataIO(shape=(recipe.samples, recipe.channels), dtype=np.dtype("int16"),
                    chunks=recipe.chunks, **options)
    nwb.add_acquisition(ElectricalSeries(
        name="ElectricalSeries", data=data, electrodes=region, starting_time=0.0, rate=RATE,
        conversion=0.195e-6, description="synthetic broadband voltage",
    ))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)


def _encode(chunk: np.ndarray, recipe: Recipe) -> bytes:
    """A chunk's stored bytes, as libhdf5 would write them (shuffle, then deflate)."""
    if recipe.gzip is None:
        return chunk.tobytes()
    planes = chunk.reshape(-1).view(np.uint8).reshape(-1, chunk.itemsize).T
    return zlib.compress(planes.tobytes(), recipe.gzip)


def _payloads(recipe: Recipe) -> tuple[list[bytes], bytes]:
    """A few noisy chunks (band noise plus spikes, like a raw probe signal) and a zero one."""
    rng = np.random.default_rng(42)
    shape = recipe.chunks
    noisy = []
    for k in range(N_PAYLOADS):
        chunk = rng.normal(0.0, 40.0, size=shape)
        chunk += 300.0 * np.sin(np.arange(shape[0])[:, None] / (50.0 + 7 * k))
        spikes = rng.integers(0, shape[0], size=shape[0] // 500)
        chunk[spikes, rng.integers(0, shape[1], size=spikes.size)] -= 800.0
        noisy.append(_encode(chunk.astype(np.int16), recipe))
    return noisy, _encode(np.zeros(shape, dtype=np.int16), recipe)


def _inside(t: float, spans: tuple[tuple[float, float], ...]) -> bool:
    return any(a <= t < b for a, b in spans)


def fill_chunks(recipe: Recipe, path: Path) -> dict[str, int]:
    """Write every chunk the recipe allocates with direct chunk writes; count them."""
    import h5py

    noisy, zeros = _payloads(recipe)
    counts = {"signal": 0, "zeros": 0, "unallocated": 0}
    with h5py.File(path, "r+") as f:
        ds = f[SERIES]
        rows = -(-recipe.samples // recipe.chunk_rows)
        cols = -(-recipe.channels // recipe.chunk_cols)
        for r in range(rows):
            t = r * recipe.chunk_rows / RATE
            if _inside(t, recipe.unallocated):
                counts["unallocated"] += cols
                continue
            for c in range(cols):
                offset = (r * recipe.chunk_rows, c * recipe.chunk_cols)
                if _inside(t, recipe.signal):
                    ds.id.write_direct_chunk(offset, noisy[(r * cols + c) % len(noisy)])
                    counts["signal"] += 1
                else:
                    ds.id.write_direct_chunk(offset, zeros)
                    counts["zeros"] += 1
    return counts


def make(recipe: Recipe, force: bool = False, folder: Path = DATA) -> dict:
    """Write ``recipe`` unless its file exists; return what it holds."""
    def write(tmp: Path) -> dict:
        _empty_series_file(recipe, tmp)
        return {"nominal_bytes": recipe.samples * recipe.channels * 2, "series": SERIES,
                "chunks": fill_chunks(recipe, tmp), "recipe": asdict(recipe)}

    return cached_file(path_of(recipe.name, folder), write, force)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(RECIPES), help="make one file only")
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args(argv)
    for name in [args.only] if args.only else list(RECIPES):
        info = make(RECIPES[name], force=args.force)
        print(f"{name}: {info['bytes'] / 1e9:.2f} GB on disk, "
              f"{info['nominal_bytes'] / 1e9:.2f} GB of samples, chunks {info['chunks']}, "
              f"written in {info['seconds_to_write']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
