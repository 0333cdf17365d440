"""``Table.to_dataframe()`` and ``repr(Table)`` against pynwb, on both engines.

Equal to pynwb's ``to_dataframe(index=True)`` value by value: the index (``id``), the columns
in order, numbers, bools and text, ragged cells as arrays (doubly ragged: lists of arrays),
regions as row numbers. The one difference, by design: a reference is the target's path where
pynwb gives the object it built.
"""

from __future__ import annotations

import numpy as np
import pytest

import nwbscope
from nwbscope.errors import CorruptFileError
from tests.fixtures import view_table_files as vt

PATHS = {"trials": vt.PATHS["trials"], "widgets": vt.PATHS["widgets"], "big": vt.PATHS["big"],
         "empty": vt.PATHS["empty"]}


def same_cell(ours, theirs) -> bool:
    if hasattr(theirs, "neurodata_type"):
        return ours == f"/acquisition/{theirs.name}"
    if isinstance(theirs, list):  # doubly ragged
        return len(ours) == len(theirs) and all(
            np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))
    if isinstance(theirs, np.ndarray):
        return np.array_equal(np.asarray(ours), theirs, equal_nan=theirs.dtype.kind == "f")
    if isinstance(theirs, float) and np.isnan(theirs):
        return isinstance(ours, float) and np.isnan(ours)
    return ours == theirs and type(ours) is not type(None)


@pytest.mark.parametrize("key", list(PATHS))
def test_to_dataframe_equals_pynwb(nwb, ref_frames, key):
    ours, theirs = nwb.table(PATHS[key]).to_dataframe(), ref_frames[key]
    assert ours.index.name == theirs.index.name == "id"
    np.testing.assert_array_equal(ours.index.to_numpy(), theirs.index.to_numpy())
    assert list(ours.columns) == list(theirs.columns)
    for name in theirs.columns:
        a, b = ours[name], theirs[name]
        if b.dtype.kind in "fiub":
            assert a.dtype == b.dtype, name
            np.testing.assert_array_equal(a.to_numpy(), b.to_numpy(), err_msg=name)
            continue
        for i, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
            assert same_cell(x, y), (name, i, x, y)


def test_to_dataframe_refuses_a_broken_table(files, engine):
    f = nwbscope.open(files / vt.BAD_NAME, engine=engine)
    with pytest.raises(CorruptFileError, match="column 'b' has 3 values for 5 rows"):
        f.table(vt.BAD["lengths"]).to_dataframe()
    f.close()


def test_repr_says_type_path_rows_and_columns(nwb):
    text = repr(nwb.table(PATHS["widgets"]))
    assert text.startswith(f"<DynamicTable {vt.PATHS['widgets']}: {vt.N_WIDGETS} rows, 8 columns")
    for part in ("label (data str)", "samples (ragged data int64)",
                 "trials (ragged region int64 -> /intervals/trials)",
                 "first_trial (region int64 -> /intervals/trials)", "signal (data reference)"):
        assert part in text
    assert repr(nwb.table(PATHS["trials"])).startswith("<TimeIntervals /intervals/trials: 60 rows")


def test_the_nwb_layer_does_not_import_pandas():
    import subprocess
    import sys

    code = ("import sys, nwbscope.nwb.tables, nwbscope.nwb.file; "
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=str(nwbscope.__path__[0] + "/.."))
    assert out.stdout.strip() == "False"
