"""The files every test here reads (written once a session by
``tests.fixtures.view_misc_files``), pynwb's reading of them (what values are checked
against), and our reading of them on each HDF5 engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nwbscope
from tests.fixtures import view_misc_files as vm


@pytest.fixture(scope="session")
def misc_files(nwb_dir: Path) -> tuple[Path, Path, Path]:
    """view_misc.nwb, view_coverage.nwb, view_generic.nwb."""
    return vm.ensure_files(nwb_dir)


@pytest.fixture(scope="session")
def ref(misc_files) -> Iterator[Any]:
    """pynwb's NWBFile of view_misc.nwb."""
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(misc_files[0]), "r") as io:
        yield io.read()


@pytest.fixture(params=["pyfive", "h5py"])
def misc(request, misc_files) -> Iterator[Any]:
    f = nwbscope.open(misc_files[0], engine=request.param)
    yield f
    f.close()


@pytest.fixture(params=["pyfive", "h5py"])
def generic(request, misc_files) -> Iterator[Any]:
    f = nwbscope.open(misc_files[2], engine=request.param)
    yield f
    f.close()
