"""The files every table-view test reads: written once a session, read by pynwb and by us.

``files`` is the folder ``tests.fixtures.view_table_files`` writes into; ``ref`` is pynwb's
reading of the good file (what every value is checked against); ``nwb`` is ours, on the
engine the shared ``engine`` fixture names (both run).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import nwbscope
from tests.fixtures import view_table_files as vt


@pytest.fixture(scope="session")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("view_table")
    vt.ensure_files(folder)
    return folder


@pytest.fixture(scope="session")
def ref(files: Path):
    """pynwb's NWBFile, open for the whole session."""
    from pynwb import NWBHDF5IO

    io = NWBHDF5IO(str(files / vt.NAME), "r")
    yield io.read()
    io.close()


@pytest.fixture(scope="session")
def ref_frames(ref) -> dict:
    """pynwb's ``to_dataframe(index=True)`` of each table (regions as row numbers)."""
    tables = ref.processing["tables"]
    return {"trials": ref.trials.to_dataframe(index=True),
            **{k: tables[k].to_dataframe(index=True) for k in ("widgets", "big", "empty")}}


@pytest.fixture
def nwb(files: Path, engine: str):
    f = nwbscope.open(files / vt.NAME, engine=engine)
    yield f
    f.close()
