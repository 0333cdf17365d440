"""The table view's data step (``views.data.table_page``) against pynwb's reading of the file.

Every page, sort and filter is compared with pynwb's ``to_dataframe(index=True)`` of the same
table, on both engines: cells as the page shows them (numbers, text, counts of ragged cells,
region rows, reference paths), the order of a sort (missing values last, ties in table order),
the rows a filter keeps. The I/O test reads the counters of a file opened with small blocks.
"""

from __future__ import annotations

import numpy as np
import pytest
from hdmf.common import DynamicTableRegion, VectorIndex

import nwbscope
from nwbscope.errors import ParameterError, ViewError
from nwbscope.views.data.table_page import Query, TablePages, parse_rows
from tests.fixtures import view_table_files as vt

TABLES = {"trials": vt.PATHS["trials"], "widgets": vt.PATHS["widgets"], "big": vt.PATHS["big"]}


def ref_table(ref, key: str):
    return ref.trials if key == "trials" else ref.processing["tables"][key]


def ref_kind(table, name: str) -> tuple[int, bool]:
    """pynwb's view of a column: index levels, and whether it is a region."""
    column, levels = table[name], 0
    while isinstance(column, VectorIndex):
        levels, column = levels + 1, column.target
    return levels, isinstance(column, DynamicTableRegion)


def rows_text(rows) -> str:
    rows = [int(r) for r in np.atleast_1d(rows)]
    return "no rows" if not rows else ("row " if len(rows) == 1 else "rows ") + ", ".join(
        map(str, rows))


def expected_cells(ref, key: str, df, name: str, rows) -> list:
    """What the page shows for ``rows`` of a column, from pynwb's values."""
    if name == "id":
        return [float(df.index[r]) for r in rows]
    levels, region = ref_kind(ref_table(ref, key), name)
    out = []
    for r in rows:
        value = df[name].iloc[r]
        if levels and region:
            out.append(rows_text(value))
        elif levels:
            unit = "lists" if levels > 1 else "values"
            out.append(f"{len(value)} {unit if len(value) != 1 else unit[:-1]}")
        elif hasattr(value, "neurodata_type"):  # a reference: pynwb gives the object
            out.append(f"/acquisition/{value.name}")
        elif isinstance(value, bool | np.bool_ | str):
            out.append(str(value))
        else:
            out.append(float(value))
    return out


def assert_cells(page, expected: list, name: str) -> None:
    got = list(page.cells[name])
    if expected and isinstance(expected[0], float):
        np.testing.assert_array_equal(np.asarray(got, dtype=float), np.asarray(expected),
                                      err_msg=name)
    else:
        assert got == expected, name


def all_rows(pages: TablePages, query: Query) -> list[int]:
    """The rows of every page of ``query``, in order."""
    first = pages.page(query)
    rows = list(first.rows)
    for number in range(2, first.n_pages + 1):
        rows += list(pages.page(Query(**{**query.__dict__, "page": number})).rows)
    return [int(r) for r in rows]


@pytest.mark.parametrize("key", ["trials", "widgets"])
def test_every_page_equals_pynwb(nwb, ref, ref_frames, key):
    pages = TablePages(nwb.table(TABLES[key]))
    df = ref_frames[key]
    assert pages.names == ["id", *df.columns]
    first = pages.page(Query(page_size=10))
    assert first.n_pages == -(-len(df) // 10) and first.n_matching == len(df)
    for number in range(1, first.n_pages + 1):
        page = pages.page(Query(page=number, page_size=10))
        expected_rows = list(range((number - 1) * 10, min(number * 10, len(df))))
        assert list(page.rows) == expected_rows and page.first == (number - 1) * 10
        for name in pages.names:
            assert_cells(page, expected_cells(ref, key, df, name, expected_rows), name)


def test_big_table_pages(nwb, ref, ref_frames):
    pages, df = TablePages(nwb.table(TABLES["big"])), ref_frames["big"]
    for number in (1, 37, 50, 51):  # 51: past the end, the last page is shown
        page = pages.page(Query(page=number, page_size=100))
        start = (min(number, 50) - 1) * 100
        assert page.page == min(number, 50) and list(page.rows) == list(range(start,
                                                                               start + 100))
        for name in pages.names:
            assert_cells(page, expected_cells(ref, "big", df, name, page.rows), name)


def expected_order(df, name: str, descending: bool, ragged: bool) -> list[int]:
    """Python's stable sort of pynwb's values: missing (NaN, "") last either way."""
    values = df.index.to_numpy() if name == "id" else df[name].to_numpy()
    keys = [len(v) if ragged else (v.name if hasattr(v, "neurodata_type") else v)
            for v in values]
    missing = [isinstance(k, float) and np.isnan(k) or k == "" for k in keys]
    present = [i for i in range(len(keys)) if not missing[i]]
    ordered = sorted(present, key=lambda i: keys[i], reverse=descending)
    return ordered + [i for i in range(len(keys)) if missing[i]]


SORTS = [("trials", "contrast"), ("trials", "condition"), ("trials", "licks"),
         ("trials", "correct"), ("trials", "id"), ("widgets", "value"), ("widgets", "label"),
         ("widgets", "samples"), ("widgets", "nested"), ("widgets", "trials"),
         ("widgets", "signal"), ("widgets", "first_trial"), ("big", "x"), ("big", "label"),
         ("big", "hits")]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize(("key", "name"), SORTS)
def test_sort_equals_pynwb(nwb, ref, ref_frames, key, name, descending):
    pages, df = TablePages(nwb.table(TABLES[key])), ref_frames[key]
    ragged = name != "id" and ref_kind(ref_table(ref, key), name)[0] > 0
    query = Query(page_size=200 if key == "big" else 7, sort_by=name, descending=descending)
    rows = all_rows(pages, query)
    assert rows == expected_order(df, name, descending, ragged)
    page = pages.page(query)
    assert_cells(page, expected_cells(ref, key, df, name, page.rows), name)


FILTERS = [("trials", "condition", "EF", lambda v: "ef" in v.lower()),
           ("trials", "contrast", "0.839", lambda v: v == 0.839),
           ("trials", "contrast", "nan", lambda v: np.isnan(v)),
           ("trials", "correct", "false", lambda v: not v),
           ("trials", "licks", "2", lambda v: len(v) == 2),
           ("widgets", "label", "spare", lambda v: "spare" in v),
           ("widgets", "signal", "signal_b", lambda v: v.name == "signal_b"),
           ("widgets", "first_trial", "25", lambda v: v == 25),
           ("widgets", "flag", "yes", lambda v: bool(v)),
           ("big", "hits", "0", lambda v: len(v) == 0),
           ("big", "label", "item-00", lambda v: "item-00" in v)]


@pytest.mark.parametrize(("key", "name", "value", "keep"), FILTERS)
def test_filter_equals_pynwb(nwb, ref_frames, key, name, value, keep):
    pages, df = TablePages(nwb.table(TABLES[key])), ref_frames[key]
    expected = [i for i, v in enumerate(df[name].to_numpy()) if keep(v)]
    assert expected, "the filter must keep something for the test to mean anything"
    query = Query(page_size=200, filter_column=name, filter_value=value)
    assert all_rows(pages, query) == expected
    assert pages.page(query).n_matching == len(expected)


def test_filter_sorted_and_restricted(nwb, ref_frames):
    pages, df = TablePages(nwb.table(TABLES["trials"])), ref_frames["trials"]
    chosen = (40, 3, 17, 5, 22, 9)
    query = Query(rows=chosen, filter_column="condition", filter_value="left",
                  sort_by="start_time", descending=True)
    expected = sorted((r for r in chosen if df["condition"].iloc[r] == "left"),
                      key=lambda r: -df["start_time"].iloc[r])
    assert all_rows(pages, query) == expected
    assert list(pages.page(Query(rows=chosen)).rows) == list(chosen)  # in the order given


def test_filter_value_that_cannot_match(nwb):
    pages = TablePages(nwb.table(TABLES["trials"]))
    page = pages.page(Query(filter_column="contrast", filter_value="high"))
    assert page.n_matching == 0 and "not a number" in page.notes[0]


def test_parse_rows():
    assert parse_rows("2-4, 7,2", 10) == (2, 3, 4, 7)
    assert parse_rows(" ", 10) is None
    with pytest.raises(ParameterError, match="'x'"):
        parse_rows("1,x", 10)
    with pytest.raises(ParameterError, match="outside"):
        parse_rows("12", 10)


def test_detail_is_the_row_in_full(nwb, ref, ref_frames):
    pages, df = TablePages(nwb.table(TABLES["widgets"])), ref_frames["widgets"]
    for row in (0, 3, 11):
        lines = {line.column: line for line in pages.detail(row)}
        assert lines["row"].value == f"{row} (id {df.index[row]})"
        assert lines["label"].value == df["label"].iloc[row]
        samples = df["samples"].iloc[row]
        assert lines["samples"].value == (", ".join(str(v) for v in samples)
                                          if len(samples) else "(empty)")
        trials = [int(v) for v in df["trials"].iloc[row]]
        link = lines["trials"]
        assert (link.link_path, link.link_view) == (vt.PATHS["trials"], "table")
        assert link.link_rows == ",".join(map(str, trials))
        first = lines["first_trial"]
        assert first.link_rows == str(df["first_trial"].iloc[row])
        assert lines["signal"].link_path == f"/acquisition/{df['signal'].iloc[row].name}"
        nested = df["nested"].iloc[row]
        assert lines["nested"].value == ("; ".join(
            "[" + ", ".join(str(v) for v in cell) + "]" for cell in nested) or "(empty)")
    with pytest.raises(ParameterError):
        pages.detail(12)


def test_a_page_reads_only_its_rows(files, engine):
    """A deep page of the big table reads a few chunks of each column, and its ragged column
    only from the index (the counters of a file opened with 1 KiB blocks, no read-ahead)."""
    f = nwbscope.open(files / vt.NAME, engine=engine, block_size=1024, readahead_max=0)
    pages = TablePages(f.table(TABLES["big"]))
    rows = np.arange(3725, 3750)
    chunk_bytes = vt.BIG_CHUNK * 8
    for name in ("id", "x", "count", "hits"):
        before = f.stats["bytes"]
        pages.display(name, rows)
        read = f.stats["bytes"] - before
        column_bytes = vt.N_BIG * 8
        assert 0 < read <= 2 * chunk_bytes + 2048, (name, read)
        assert read < column_bytes / 5, (name, read)  # (a B-tree node may come too)
    before = f.stats["bytes"]
    pages.display("label", rows)  # text: its references' chunk and their heap collection
    text_read = f.stats["bytes"] - before
    whole = nwbscope.open(files / vt.NAME, engine=engine, block_size=1024, readahead_max=0)
    before = whole.stats["bytes"]
    TablePages(whole.table(TABLES["big"])).key("label")
    assert 0 < text_read < (whole.stats["bytes"] - before) / 2
    whole.close()
    before = f.stats["bytes"]
    pages.page(Query(page=150, page_size=25))  # the same rows again: all from the cache
    assert f.stats["bytes"] == before
    # a sort reads its key once; a later page of the sort reads only that page's rows
    pages.page(Query(sort_by="x", page_size=25))
    before = f.stats["bytes"]
    pages.page(Query(sort_by="x", page=2, page_size=25))
    assert f.stats["bytes"] - before < vt.N_BIG * 8
    f.close()


def test_empty_table(nwb):
    pages = TablePages(nwb.table(vt.PATHS["empty"]))
    page = pages.page(Query())
    assert page.n_rows == 0 and len(page.rows) == 0 and page.n_pages == 1
    assert pages.names == ["id", "score"]
    assert all(len(v) == 0 for v in page.cells.values())


@pytest.mark.parametrize(("key", "words"), [("lengths", "column 'b' has 3 values for 5 rows"),
                                           ("index", "ends at 9, past the 6 values")])
def test_broken_tables_say_what_is_wrong(files, engine, key, words):
    f = nwbscope.open(files / vt.BAD_NAME, engine=engine)
    with pytest.raises(ViewError, match=words):
        TablePages(f.table(vt.BAD[key]))
    f.close()


def test_compound_column_shows_fields_and_links_its_reference(files, engine):
    f = nwbscope.open(files / vt.BAD_NAME, engine=engine)
    pages = TablePages(f.table(vt.BAD["compound"]))
    page = pages.page(Query())
    assert list(page.cells["response"]) == [
        f"idx_start={a}, count={n}, timeseries={vt.PATHS['signal_a']}"
        for a, n in ((0, 5), (5, 3), (8, 2))]
    line = next(x for x in pages.detail(1) if x.column == "response")
    assert line.link_path == vt.PATHS["signal_a"] and line.link_view == ""
    f.close()
