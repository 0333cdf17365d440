"""The table view in Chromium against the real ``nwbscope serve``: pages, sort, filter, a row
in full, and a region followed into the table it points to.

What the page shows is read from the panel's Bokeh sources (``table_page``, ``table_detail``)
and compared with pynwb's ``to_dataframe(index=True)`` of the served file. Clicks are real
clicks where Bokeh draws something to click (the page buttons, a grid row, a detail line);
controls are set as a user sets them (``views_helpers.set_option``). Screenshots go to
``playwright/artifacts/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from views_helpers import (
    open_views,
    panel,
    panel_ids,
    panel_seq,
    read_source,
    screenshot,
    set_option,
    status_text,
    wait_frame,
    wait_panels_settled,
)

from tests.fixtures import view_table_files as vt

pytestmark = pytest.mark.usefixtures("no_script_errors")  # (playwright/conftest.py)
TRIALS_KEY = "table:" + vt.PATHS["trials"]


@pytest.fixture(scope="module")
def frames(data_dir: Path) -> dict:
    """pynwb's data frames of the served file's tables (the reference values)."""
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(data_dir / "files" / vt.NAME), "r") as io:
        nwbfile = io.read()
        return {"trials": nwbfile.trials.to_dataframe(index=True),
                "widgets": nwbfile.processing["tables"]["widgets"].to_dataframe(index=True)}


def click_cell(page, panel_id: str, grid: str, text: str) -> None:
    """A real click on the grid cell showing ``text`` (SlickGrid draws cells as divs)."""
    cell = panel(page, panel_id).locator(f".{grid} .slick-cell",
                                         has_text=re.compile("^" + re.escape(text) + "$")).first
    seq = panel_seq(page, panel_id)
    cell.click()
    wait_frame(page, panel_id, after=seq)


def check_rows(source: dict, df, rows: list[int]) -> None:
    """The page's rows and cells are pynwb's rows ``rows``."""
    assert source["row"] == rows
    np.testing.assert_array_equal(source["col_id"], df.index.to_numpy()[rows])
    np.testing.assert_array_equal(source["col_start_time"], df["start_time"].to_numpy()[rows])
    np.testing.assert_array_equal(np.asarray(source["col_contrast"], dtype=float),
                                  df["contrast"].to_numpy()[rows])
    assert source["col_condition"] == list(df["condition"].iloc[rows])
    assert source["col_correct"] == [str(v) for v in df["correct"].iloc[rows]]
    counts = [len(df["licks"].iloc[r]) for r in rows]
    assert source["col_licks"] == [f"{n} value" + ("" if n == 1 else "s") for n in counts]


def test_trials_pages_sort_filter_and_a_row_in_full(vpage, site_url, file_urls, frames):
    page, df = vpage, frames["trials"]
    (pid,) = open_views(page, site_url, file_urls[vt.NAME], [TRIALS_KEY])
    check_rows(read_source(page, pid, "table_page"), df, list(range(25)))
    set_option(page, pid, "page_size", "10")
    assert status_text(page, pid).startswith("rows 1-10 of 60 (page 1 of 6)")

    seq = panel_seq(page, pid)  # the "next" button: page 2
    panel(page, pid).get_by_role("button", name="next ▶").click()
    wait_frame(page, pid, after=seq)
    check_rows(read_source(page, pid, "table_page"), df, list(range(10, 20)))
    assert status_text(page, pid).startswith("rows 11-20 of 60 (page 2 of 6)")
    screenshot(page, "table-trials-page2", pid)

    set_option(page, pid, "sort_by", "contrast")  # NaN last, ties in table order
    set_option(page, pid, "descending", True)
    values = df["contrast"].to_numpy()
    present = [i for i in range(len(values)) if not np.isnan(values[i])]
    order = sorted(present, key=lambda i: values[i], reverse=True)
    check_rows(read_source(page, pid, "table_page"), df, order[:10])
    assert "sorted by contrast ↓" in status_text(page, pid)

    set_option(page, pid, "filter_column", "condition")
    set_option(page, pid, "filter_value", "left")
    left = [i for i in order if df["condition"].iloc[i] == "left"]
    check_rows(read_source(page, pid, "table_page"), df, left[:10])
    n_left = int((df["condition"] == "left").sum())
    assert f"{n_left} of 60 rows match condition = 'left'" in status_text(page, pid)
    screenshot(page, "table-trials-sorted-filtered", pid)

    rows = read_source(page, pid, "table_page")["row"]  # a real click on the 3rd row
    target = rows[2]
    click_cell(page, pid, "table_grid", f"{df['start_time'].iloc[target]:g}")
    detail = read_source(page, pid, "table_detail")
    lines = dict(zip(detail["column"], detail["value"], strict=True))
    assert lines["row"] == f"{target} (id {df.index[target]})"
    licks = df["licks"].iloc[target]
    assert lines["licks"] == ", ".join(f"{v:.6g}" for v in licks)
    screenshot(page, "table-trials-row-in-full", pid)


def test_a_region_opens_its_rows_of_the_target_table(vpage, site_url, file_urls, frames):
    page, widgets, trials = vpage, frames["widgets"], frames["trials"]
    (pid,) = open_views(page, site_url, file_urls[vt.NAME], [vt.PATHS["widgets"]])
    source = read_source(page, pid, "table_page")
    assert source["col_signal"] == [f"/acquisition/{s.name}" for s in widgets["signal"]]
    assert source["col_nested"][:3] == [f"{len(c)} list" + ("" if len(c) == 1 else "s")
                                        for c in widgets["nested"].iloc[:3]]
    set_option(page, pid, "expand", 3)
    wanted = [int(r) for r in widgets["trials"].iloc[3]]
    assert len(wanted) > 1
    screenshot(page, "table-widgets-row3", pid)
    panel(page, pid).locator(".table_detail_grid .slick-cell",
                             has_text="open rows").first.click()
    wait_panels_settled(page, 2)
    new = [p for p in panel_ids(page) if p != pid]
    assert len(new) == 1
    opened = read_source(page, new[0], "table_page")
    assert opened["row"] == wanted
    np.testing.assert_array_equal(opened["col_start_time"],
                                  trials["start_time"].to_numpy()[wanted])
    assert f"only {len(wanted)} chosen rows" in status_text(page, new[0])
    screenshot(page, "table-region-followed")
