"""h5py and pyfive must show the same file: every object, link, attribute and value.

Runs over every odd HDF5 fixture (``tests.fixtures.odd_h5``) and every NWB fixture
(``tests.fixtures.nwb_files``); where pyfive cannot decode something, the one place is
listed in ``odd_h5.PYFIVE_UNSUPPORTED`` and it must fail with that error class.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from nwbscope.h5 import open_h5
from tests.fixtures import odd_h5
from tests.h5_walk import snapshot

try:
    from tests.fixtures import nwb_files
except ImportError:  # pragma: no cover - written by the NWB-model engineer
    nwb_files = None

NWB_RECIPES = sorted(
    name for name, fn in inspect.getmembers(nwb_files, inspect.isfunction)
    if name.startswith("write_") and name not in ("write_not_hdf5", "write_truncated", "write_all")
) if nwb_files is not None else []


@pytest.fixture(scope="module")
def odd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("odd_h5")


def _compare(path: Path, fixture: str) -> None:
    with open_h5(path, engine="h5py") as f:
        expected = snapshot(f)
    with open_h5(path, engine="pyfive") as f:
        actual = snapshot(f)
    assert sorted(actual) == sorted(expected)
    for key, entry in expected.items():
        unsupported = odd_h5.PYFIVE_UNSUPPORTED.get((fixture, key))
        if unsupported is not None:
            error, may_differ = unsupported
            assert actual[key]["values"] == ("error", error), key
            for field in ("values", *may_differ):
                actual[key] = {**actual[key], field: entry[field]}
        assert actual[key] == entry, key


@pytest.mark.parametrize("fixture", sorted(odd_h5.RECIPES))
def test_engines_agree_on_odd_files(fixture: str, odd_dir: Path) -> None:
    path = odd_h5.RECIPES[fixture](odd_dir / f"{fixture}.h5")
    _compare(path, fixture)


@pytest.mark.skipif(nwb_files is None, reason="tests/fixtures/nwb_files.py is not written yet")
@pytest.mark.parametrize("recipe", NWB_RECIPES)
def test_engines_agree_on_nwb_files(recipe: str, tmp_path: Path) -> None:
    path = getattr(nwb_files, recipe)(tmp_path / f"{recipe}.nwb")
    _compare(Path(path), recipe)
