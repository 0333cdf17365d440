"""The table benchmark's machinery (not its timings): the file it writes is a table the view
reads as written, and its CPython step and report run."""

from __future__ import annotations

import numpy as np

import nwbscope
from bench import views_table
from nwbscope.views.data.table_page import Query, TablePages


def test_benchmark_file_and_steps(tmp_path):
    path = tmp_path / "table.nwb"
    info = views_table.write_table(path, 3_000)
    assert info["rows"] == 3_000
    f = nwbscope.open(path, engine="pyfive")
    pages = TablePages(f.table(views_table.TABLE))
    assert pages.names == ["id", "x", "y", "count", "label", "hits"]
    page = pages.page(Query(page=2, page_size=25, sort_by="x"))
    x = f[views_table.TABLE + "/x"][:]
    np.testing.assert_array_equal(page.rows, np.argsort(x, kind="stable")[25:50])
    f.close()
    figures = views_table.cpython_case(str(path), 1)
    assert set(figures) == {"first_page_s", "page_s", "sorted_first_s", "sorted_page_s"}
    result = {"machine": {"date_utc": "d", "cpu": "c", "nproc": 2, "load_1min": 1.0},
              "file": info, "cpython": figures, "chromium": {"skipped": "no browser"}}
    assert "| first page (open + read) | no browser |" in views_table.report(result)
