"""The ophys fixture file, pynwb's reading of it (the reference), and ours per engine."""

from __future__ import annotations

import pytest

import nwbscope
from tests.fixtures import view_ophys_files as vo


@pytest.fixture(scope="session")
def path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ophys")
    vo.ensure_files(folder)
    return folder / vo.FILE


@pytest.fixture(scope="session")
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



@pytest.fixture(scope="module")
def odd(path, nwb):
    """The odd copy (h5py-made objects), on the same engine as ``nwb``."""
    f = nwbscope.open(path.parent / vo.ODD_FILE, engine=nwb.engine)
    yield f
    f.close()
