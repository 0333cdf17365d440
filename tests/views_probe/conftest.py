"""The files every probe/waveforms test reads, pynwb's reading of them, and ours per engine.

``path``/``bare`` are the fixture files (``tests.fixtures.view_probe_files``), written once a
session into pytest's base temporary folder; ``ref`` is pynwb's reading of ``path`` (what the
values are checked against); ``nwb`` is our reading of it, on each HDF5 engine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import nwbscope
from tests.fixtures import view_probe_files as vp


@pytest.fixture(scope="session")
def probe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.getbasetemp() / "view_probe"
    vp.ensure_files(folder)
    return folder


@pytest.fixture(scope="session")
def path(probe_dir: Path) -> Path:
    return probe_dir / vp.PROBE_FILE


@pytest.fixture(scope="session")
def bare(probe_dir: Path) -> Path:
    return probe_dir / vp.BARE_FILE


@pytest.fixture(scope="module")
def ref(path: Path):
    from pynwb import NWBHDF5IO

    io = NWBHDF5IO(str(path), "r")
    yield io.read()
    io.close()


@pytest.fixture(scope="module", params=["pyfive", "h5py"])
def nwb(request, path: Path):
    f = nwbscope.open(path, engine=request.param)
    yield f
    f.close()
