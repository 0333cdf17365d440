"""The file every units/PSTH/intervals/events/alignment test reads, and it opened per engine.

One definition for the nine modules here: ``path`` is the fixture file (written once a
session by ``tests.fixtures.view_units_files``), ``ref`` is pynwb's reading of it (what the
values are checked against), and ``nwb`` is our reading of it, on each HDF5 engine.
"""

from __future__ import annotations

import pytest

import nwbscope
from tests.fixtures import view_units_files as vu


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    return vu.cached(tmp_path_factory)


@pytest.fixture(scope="module")
def ref(path):
    return vu.pynwb_file(path)


@pytest.fixture(scope="module", params=["pyfive", "h5py"])
def nwb(request, path):
    f = nwbscope.open(path, engine=request.param)
    yield f
    f.close()
