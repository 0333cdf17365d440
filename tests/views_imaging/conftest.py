"""The imaging fixture files, pynwb's reading of them (the reference) and ours per engine."""

from __future__ import annotations

import pytest

import nwbscope
from tests.fixtures import view_imaging_files as vi


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    return vi.ensure_files(tmp_path_factory.mktemp("imaging"))


@pytest.fixture(scope="module")
def odd_path(path):
    return path.parent / vi.ODD_FILE


@pytest.fixture(scope="module")
def ref(path):
    from pynwb import NWBHDF5IO

    io = NWBHDF5IO(str(path), "r")
    yield io.read()
    io.close()


@pytest.fixture(scope="module", params=["pyfive", "h5py"])
def nwb(request, path):
    f = nwbscope.open(path, engine=request.param)
    yield f
    f.close()
