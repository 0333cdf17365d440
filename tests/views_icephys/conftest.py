"""The files every sweeps/pose test reads, pynwb's reading of them, and ours per engine.

``files`` writes them once a session (``tests.fixtures.view_icephys_files``); ``ref`` is
pynwb's reading of ``view_icephys.nwb`` (what grouping and values are checked against).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures import view_icephys_files as vi


@pytest.fixture(scope="session")
def files(nwb_dir: Path) -> dict[str, Path]:
    return vi.ensure_files(nwb_dir / "icephys")


@pytest.fixture(scope="module")
def ref(files):
    from pynwb import NWBHDF5IO

    io = NWBHDF5IO(str(files["view_icephys.nwb"]), "r")
    yield io.read()
    io.close()
