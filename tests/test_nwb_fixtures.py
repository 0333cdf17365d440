"""The fixture recipes themselves: repeatable bytes, and pynwb reads back what they wrote."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from pynwb import NWBHDF5IO

from tests.fixtures import nwb_files as rec


def test_recipes_are_deterministic_and_fast(tmp_path: Path, rich_nwb: Path) -> None:
    started = time.perf_counter()
    again = rec.write_rich(tmp_path / "again.nwb")
    elapsed = time.perf_counter() - started
    assert again.read_bytes() == rich_nwb.read_bytes()  # same hash for the store demo
    assert elapsed < 10  # budget 2 s on an idle machine; loose for shared CI cores
    written = rec.write_all(tmp_path / "all")
    assert set(written) == set(rec.RECIPES)
    assert written["truncated.nwb"].stat().st_size == rich_nwb.stat().st_size // 2


def test_pynwb_reads_the_rich_file(rich_nwb: Path) -> None:
    with NWBHDF5IO(str(rich_nwb), "r") as io:
        nwbfile = io.read()
        assert nwbfile.identifier == rec.RICH["identifier"]
        tetrode = nwbfile.acquisition["tetrode0"]
        assert type(tetrode).__name__ == rec.EXT_TYPE and tetrode.trode_id == 3
        np.testing.assert_array_equal(nwbfile.units["spike_times"][2], rec.spike_times()[2])
        smoothed = nwbfile.acquisition["events_smoothed"].timestamps
        assert smoothed.name == "/acquisition/events/timestamps"  # written as a soft link
        source = nwbfile.processing["ecephys"]["spectral"].source_timeseries
        assert source is nwbfile.acquisition["ElectricalSeries"]
        assert len(nwbfile.trials) == rec.N_TRIALS


def test_rich_paths_exist(rich_nwb: Path) -> None:
    import h5py

    with h5py.File(rich_nwb, "r") as f:
        missing = [path for path in rec.RICH_PATHS.values() if path not in f]
    assert missing == []
