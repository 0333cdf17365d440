"""Shared fixtures: the NWB/HDF5 files of ``tests.fixtures.nwb_files``, written once a session.

The browser package lives in ``web/py`` (not installed for tests), so it goes on ``sys.path``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

WEB_PY = Path(__file__).resolve().parent.parent / "web" / "py"
if str(WEB_PY) not in sys.path:
    sys.path.insert(0, str(WEB_PY))

from tests.fixtures import nwb_files  # noqa: E402
from tests.s3_service import s3  # noqa: E402, F401 - the SeaweedFS fixture, for every module

ENGINES = ("h5py", "pyfive")


@pytest.fixture(scope="session")
def nwb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for every fixture file of the session."""
    return tmp_path_factory.mktemp("nwb")


@pytest.fixture(scope="session")
def rich_nwb(nwb_dir: Path) -> Path:
    return nwb_files.write_rich(nwb_dir / "rich.nwb")


@pytest.fixture(scope="session")
def minimal_nwb(nwb_dir: Path) -> Path:
    return nwb_files.write_minimal(nwb_dir / "minimal.nwb")


@pytest.fixture(scope="session")
def plain_hdf5(nwb_dir: Path) -> Path:
    return nwb_files.write_plain_hdf5(nwb_dir / "plain.h5")


@pytest.fixture(scope="session")
def not_hdf5(nwb_dir: Path) -> Path:
    return nwb_files.write_not_hdf5(nwb_dir / "not_hdf5.nwb")


@pytest.fixture(scope="session")
def truncated_nwb(nwb_dir: Path) -> Path:
    return nwb_files.write_truncated(nwb_dir / "truncated.nwb")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Every model/viewer test runs on both HDF5 engines: they must agree."""
    return request.param


@pytest.fixture(scope="session")
def capabilities() -> dict:
    """What this machine's worker would register (the real processors and schemas)."""
    from server_worker.worker.capabilities import capabilities as detect

    return detect(slots=1, executor="local")
