"""Every table cell nwbscope shows equals what pynwb reads, or is a prefix of it marked as cut.

Why against pynwb: a preview once gave the first unit all of a budget shared by the rows and
showed the next units' spike trains short or empty, as if whole; a test against nwbscope's own
reader (or the recipe's constants alone) would not have said the rows were wrong. pynwb is the
reference reader of NWB, so for every DynamicTable of every NWB fixture, every column (ragged,
doubly ragged, regions, references), every row: ``Table.cell`` equals pynwb's value, and the
first rows from ``Table.head`` and the page's preview are each that value or a marked prefix.
Both HDF5 engines.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hdmf.common import DynamicTable, DynamicTableRegion, VectorIndex
from pynwb import NWBHDF5IO

from nwbscope.nwb.file import open_nwb
from nwbscope.nwb.tables import MAX_CELL_VALUES, ColumnHead, Table
from nwbscope.nwb.values import to_python
from nwbscope.viewer import ViewerSession
from tests.fixtures import nwb_files as rec

NOT_NWB = {"plain.h5", "not_hdf5.nwb", "truncated.nwb"}  # pynwb cannot read these at all
NWB_FIXTURES = sorted(set(rec.RECIPES) - NOT_NWB)
BUDGETS = (1, 2, 3, MAX_CELL_VALUES)  # values per ragged cell: cuts at every level
ELECTRODES = "/general/extracellular_ephys/electrodes"
TABLES = {  # what pynwb finds in each fixture (so that a walk over nothing cannot pass)
    "minimal.nwb": set(),
    "raw.nwb": {ELECTRODES, "/units"},
    "rich.nwb": {ELECTRODES, "/units", "/intervals/trials", "/intervals/epochs",
                 "/analysis/place_fields", "/processing/ecephys/spectral/bands"},
}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tables_vs_pynwb")
    return {name: rec.RECIPES[name](folder / name) for name in NWB_FIXTURES}


@contextlib.contextmanager
def pynwb_tables(path: Path) -> Iterator[dict[str, tuple[DynamicTable, Any]]]:
    """Every DynamicTable pynwb finds in the file, by its HDF5 path (with the read's manager,
    which maps a referenced container back to its path)."""
    with NWBHDF5IO(str(path), "r", load_namespaces=True) as io:
        nwbfile = io.read()
        found = {}
        for obj in nwbfile.objects.values():
            if isinstance(obj, DynamicTable):
                found[_path_of(io, obj)] = (obj, io)
        yield found


def _path_of(io: NWBHDF5IO, container: Any) -> str:
    return "/" + io.manager.get_builder(container).path.split("/", 1)[1]


def _plain(value: Any, io: NWBHDF5IO) -> Any:
    """pynwb's value as nwbscope's JSON-ready form: containers (references) as their paths."""
    if hasattr(value, "object_id") and hasattr(value, "parent"):
        return _path_of(io, value)
    if isinstance(value, list | tuple) or (isinstance(value, np.ndarray) and value.ndim):
        return [_plain(v, io) for v in value]
    return to_python(value)


def _region_inside(column: Any) -> bool:
    while isinstance(column, VectorIndex):
        column = column.target
    return isinstance(column, DynamicTableRegion)


def pynwb_cell(table: DynamicTable, name: str, row: int, io: NWBHDF5IO) -> Any:
    """Row ``row`` of column ``name`` as stored: ragged cells through their indexes, region
    cells as row numbers (pynwb would otherwise give the rows of the other table)."""
    column = table[name]
    if isinstance(column, VectorIndex):
        value = column.get(row, index=True) if _region_inside(column) else column.get(row)
    else:
        value = column.data[row]
    return _plain(value, io)


def leaves(value: Any, depth: int) -> int:
    return len(value) if depth <= 1 else sum(leaves(v, depth - 1) for v in value)


def is_prefix(shown: Any, full: Any, depth: int) -> bool:
    """``shown`` is ``full`` with a tail left out: the first items whole, the last one shown
    itself such a prefix (one level down), at every one of ``depth`` levels."""
    if depth == 0:
        return shown == full
    if not isinstance(shown, list) or len(shown) > len(full):
        return False
    if not shown:
        return True
    *whole, last = shown
    return whole == full[: len(whole)] and is_prefix(last, full[len(whole)], depth - 1)


def check_row(shown: Any, full: Any, ragged: int, complete: bool, length: int | None,
              more: int, where: str) -> None:
    """One shown cell against pynwb's: equal and said complete, or a prefix said cut, with
    its full length and the number of values left out right."""
    if not ragged:
        assert (shown, complete, more) == (full, True, 0), where
        return
    assert length == len(full), where
    assert more == leaves(full, ragged) - leaves(shown, ragged), where
    assert complete == (shown == full), where  # never a cut cell passed off as whole
    assert is_prefix(shown, full, ragged), where


def test_the_fixtures_hold_every_kind_of_column(written: dict[str, Path]) -> None:
    """The walk below covers what it must (else it would pass on nothing)."""
    kinds = set()
    for path in written.values():
        with open_nwb(path, engine="h5py") as nwb, pynwb_tables(path) as tables:
            for table_path in tables:
                for column in nwb.table(table_path).columns.values():
                    kinds.add((column.kind, column.ragged))
    assert {("ragged_data", 1), ("ragged_data", 2), ("ragged_region", 1), ("data", 0)} <= kinds
    assert set(written) == set(TABLES)


@pytest.mark.parametrize("fixture", NWB_FIXTURES)
def test_cells_and_heads_equal_pynwb(fixture: str, written: dict[str, Path],
                                     engine: str) -> None:
    with open_nwb(written[fixture], engine=engine) as nwb, \
            pynwb_tables(written[fixture]) as tables:
        assert set(tables) == TABLES[fixture]
        for table_path, (reference, io) in tables.items():
            table = nwb.table(table_path)
            assert table.n_rows == len(reference)
            assert to_python(table.ids()) == _plain(reference.id.data[:], io)
            assert set(table.columns) >= set(reference.colnames)
            for name, column in table.columns.items():
                full = [pynwb_cell(reference, name, row, io) for row in range(table.n_rows)]
                for row in range(table.n_rows):
                    got = to_python(table.cell(name, row))
                    assert got == full[row], f"{fixture} {table_path}/{name}[{row}]"
                for budget in BUDGETS:
                    head = table.head(name, 5, max_values=budget)
                    _check_head(head, full, column.ragged, f"{fixture} {table_path}/{name}")


def _check_head(head: ColumnHead, full: list[Any], ragged: int, where: str) -> None:
    assert len(head.values) == min(5, len(full)), where
    for row, shown in enumerate(head.values):
        check_row(to_python(shown), full[row], ragged, head.complete(row),
                  head.lengths[row], head.more[row], f"{where}[{row}]")
    assert head.cut == (not all(head.complete(r) for r in range(len(head.values))))


@pytest.mark.parametrize("fixture", NWB_FIXTURES)
def test_page_preview_equals_pynwb(fixture: str, written: dict[str, Path], engine: str) -> None:
    """What the page draws (the worker's JSON), row by row, against pynwb."""
    with contextlib.closing(ViewerSession(written[fixture], engine=engine)) as session, \
            pynwb_tables(written[fixture]) as tables:
        for table_path, (reference, io) in tables.items():
            preview = session.details(table_path)["preview"]
            assert preview["kind"] == "table" and preview["n_rows"] == len(reference)
            for entry in preview["columns"]:
                name, ragged = entry["name"], entry.get("ragged", 0)
                assert entry.get("error") is None, entry
                for row, shown in enumerate(entry["values"]):
                    full = pynwb_cell(reference, name, row, io)
                    more = entry["more"][row] if ragged else 0
                    length = entry["lengths"][row] if ragged else None
                    complete = not more and (length is None or len(shown) == length)
                    check_row(shown, full, ragged, complete, length, more,
                              f"{fixture} {table_path}/{name}[{row}]")
                whole = not ragged or (not any(entry["more"]) and entry["lengths"] == [
                    len(v) for v in entry["values"]])
                assert entry["truncated"] is not whole


def test_units_rows_are_each_cut_on_their_own(written: dict[str, Path], engine: str) -> None:
    """The bug itself: rows after a long one are neither short nor empty."""
    with open_nwb(written["raw.nwb"], engine=engine) as nwb:
        head = nwb.table("/units").head("spike_times", 5)
    expected = rec.raw_spike_times()
    assert [len(v) for v in head.values] == [MAX_CELL_VALUES, 0, 3, 20, MAX_CELL_VALUES]
    assert head.lengths == rec.RAW_SPIKE_COUNTS
    assert head.more == [150 - MAX_CELL_VALUES, 0, 0, 0, 1]
    assert [head.complete(r) for r in range(5)] == [False, True, True, True, False]
    for row in (2, 3):
        np.testing.assert_array_equal(head.values[row], expected[row])
    np.testing.assert_array_equal(head.values[4], expected[4][:MAX_CELL_VALUES])


def test_head_of_an_empty_table(tmp_path: Path, engine: str) -> None:
    import h5py

    path = tmp_path / "empty_table.h5"
    with h5py.File(path, "w") as f:
        group = f.create_group("t")
        group.attrs["colnames"] = ["x"]
        group.create_dataset("id", data=np.zeros(0, dtype="i8"))
        group.create_dataset("x", data=np.zeros(0, dtype="f8"))
        group.create_dataset("x_index", data=np.zeros(0, dtype="i8"))
    with open_nwb(path, engine=engine) as nwb:
        head = Table(nwb["/t"]).head("x")
    assert (head.values, head.lengths, head.more, head.cut) == ([], [], [], False)
