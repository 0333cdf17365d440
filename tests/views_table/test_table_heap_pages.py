"""Sorted pages of a text column: scattered rows, each a global heap object, equal pynwb's.

A sorted page's rows lie anywhere in the table; ``TablePages`` reads text cells in runs of
neighbouring rows only (``HEAP_GAP``), not chunk-wide slices, so it decodes the strings it
shows and not the thousands between them. Checked against pynwb on the benchmark's own file
layout (pynwb, chunked, 4096-row chunks), with both engines. (The bytes such reads cost
are checked in ``tests/test_h5_vlen_heap.py``.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nwbscope
from bench import views_table
from nwbscope.views.data.table_page import HEAP_GAP, Query, TablePages

ROWS = 20_000


@pytest.fixture(scope="module")
def table_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("heap_pages") / "table.nwb"
    views_table.write_table(path, ROWS)
    return path


@pytest.fixture(scope="module")
def reference(table_file: Path) -> dict[str, np.ndarray]:
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(table_file), "r") as io:
        table = io.read().processing["bench"]["big_table"]
        return {"x": np.asarray(table["x"][:]), "label": np.array(table["label"][:],
                                                                   dtype=object)}


def test_sorted_text_pages_match_pynwb(table_file: Path, reference: dict, engine: str) -> None:
    order = np.argsort(reference["x"], kind="stable")
    with nwbscope.open(table_file, engine=engine) as f:
        pages = TablePages(f.table(views_table.TABLE))
        for number in (1, 2, 77, ROWS // 25):
            page = pages.page(Query(page=number, page_size=25, sort_by="x"))
            rows = order[(number - 1) * 25: number * 25]
            np.testing.assert_array_equal(page.rows, rows)
            assert list(page.cells["label"]) == list(reference["label"][rows])
        descending = pages.page(Query(page=3, page_size=50, sort_by="x", descending=True))
        rows = order[::-1][100:150]
        assert list(descending.cells["label"]) == list(reference["label"][rows])
        # neighbours closer than HEAP_GAP share one read; the cells stay in page order
        near = np.array([5, 5 + HEAP_GAP, 3, 4000, 4001, 19_999, 0])
        got = pages.display("label", near)
        assert list(got) == list(reference["label"][near])

