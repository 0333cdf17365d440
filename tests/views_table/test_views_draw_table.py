"""The table view's drawing step through ``PanelSet``, as the worker calls it.

The document: named sources (empty until a frame), the grid with Bokeh's own sorting off (it
would sort only the page on screen), the controls, the page buttons and the detail grid whose
selection opens links. Frames: the page's cells equal pynwb's, an option change resets the
page, rows chosen elsewhere restrict the table. The view is also an "Other view" of Units and
the electrodes table (checked on the units views' file).
"""

from __future__ import annotations

import numpy as np
import pytest

import nwbscope
from nwbscope.errors import ParameterError, ViewError
from nwbscope.views.panels import PanelSet
from tests.bokeh_docs import all_models, models
from tests.fixtures import view_table_files as vt
from tests.fixtures import view_units_files as vu


def frame(panels: PanelSet, panel_id: str):
    return list(panels.frames(panel_id, None))[-1]


def test_document(nwb):
    doc = PanelSet(nwb).open(vt.PATHS["widgets"])  # a plain DynamicTable: the table view
    assert doc.view == "table" and not doc.time_based
    named = models(doc.doc)
    for name in ("table_page", "table_detail", "table_info"):
        entries = named[name]["attributes"]["data"]["entries"]
        assert all(len(v) == 0 for _, v in entries), name
    fields = [k for k, _ in named["table_page"]["attributes"]["data"]["entries"]]
    assert fields == ["row", "col_id", *(f"col_{n}" for n in (
        "label", "flag", "value", "samples", "nested", "trials", "first_trial", "signal"))]
    assert named["table_grid"]["attributes"]["sortable"] is False
    options = ("page", "page_size", "sort_by", "descending", "filter_column", "filter_value",
               "rows", "expand")
    assert {f"option:{n}" for n in options} <= set(named)
    assert {"page_step:-1", "page_step:1", "table_detail_grid", "status"} <= set(named)
    codes = [m["attributes"]["code"] for m in all_models(doc.doc) if m["name"] == "CustomJS"]
    assert any("openView" in c for c in codes) and any("expand.value" in c for c in codes)


def test_frames_carry_the_page(nwb, ref_frames):
    panels = PanelSet(nwb)
    doc = panels.open(vt.PATHS["trials"], "table", {"page_size": "10", "page": 2})
    df = ref_frames["trials"]
    got = frame(panels, doc.panel_id)
    page = got.sources["table_page"]
    assert list(page["row"]) == list(range(10, 20))
    np.testing.assert_array_equal(page["col_start_time"], df["start_time"].to_numpy()[10:20])
    assert list(page["col_condition"]) == list(df["condition"].iloc[10:20])
    assert list(got.sources["table_info"]["n_pages"]) == [6]
    assert got.status.startswith("rows 11-20 of 60 (page 2 of 6)")
    # a sort starts at page 1 again, and the figure is rebuilt so the control shows it
    assert panels.set_option(doc.panel_id, "sort_by", "contrast") is True
    got = frame(panels, doc.panel_id)
    assert got.status.startswith("rows 1-10 of 60") and "sorted by contrast" in got.status
    first = np.argsort(df["contrast"].to_numpy(), kind="stable")[:10]
    assert list(got.sources["table_page"]["row"]) == list(first)


def test_expand_sends_only_the_detail(nwb, ref_frames):
    panels = PanelSet(nwb)
    doc = panels.open(vt.PATHS["widgets"])
    frame(panels, doc.panel_id)
    panels.set_option(doc.panel_id, "expand", 4)
    got = frame(panels, doc.panel_id)
    assert set(got.sources) == {"table_detail"}  # the page on screen is unchanged
    detail = got.sources["table_detail"]
    at = list(detail["column"]).index("trials")
    expected = ",".join(str(int(r)) for r in ref_frames["widgets"]["trials"].iloc[4])
    assert detail["link_rows"][at] == expected and detail["link_view"][at] == "table"


def test_rows_chosen_elsewhere_restrict_the_table(nwb):
    panels = PanelSet(nwb)
    doc = panels.open(vt.PATHS["trials"], "table")
    other = panels.open(vt.PATHS["widgets"])
    changed = panels.select(vt.PATHS["trials"], [7, 3], source=other.panel_id)
    assert set(changed) == {doc.panel_id}
    assert list(frame(panels, doc.panel_id).sources["table_page"]["row"]) == [3, 7]


def test_bad_options_and_tables(nwb, files):
    panels = PanelSet(nwb)
    doc = panels.open(vt.PATHS["widgets"])
    with pytest.raises(ParameterError, match="outside"):
        panels.set_option(doc.panel_id, "rows", "1,99")
    empty = panels.open(vt.PATHS["empty"])
    assert frame(panels, empty.panel_id).status == "this table has no rows (its columns: score)"
    bad = PanelSet(nwbscope.open(files / vt.BAD_NAME))
    with pytest.raises(ViewError, match="not a consistent table"):
        bad.open(vt.BAD["index"])


@pytest.fixture(scope="module")
def units_file(tmp_path_factory):
    return vu.cached(tmp_path_factory)


def test_other_view_of_units_and_electrodes(units_file, engine):
    from pynwb import NWBHDF5IO

    f = nwbscope.open(units_file, engine=engine)
    panels = PanelSet(f)
    units = panels.open("/units")
    assert ("table", "Table") in units.alternatives
    doc = panels.open("/units", "table", {"sort_by": "spike_times", "descending": True})
    page = frame(panels, doc.panel_id).sources["table_page"]
    with NWBHDF5IO(str(units_file), "r") as io:
        ref = io.read()
        counts = [len(ref.units["spike_times"][i]) for i in range(len(ref.units))]
        groups = [g.name for g in ref.electrodes["group"][:]]
    order = sorted(range(len(counts)), key=lambda i: counts[i], reverse=True)
    assert list(page["row"]) == order
    assert list(page["col_spike_times"]) == [f"{counts[i]} values" if counts[i] != 1
                                             else "1 value" for i in order]
    electrodes = panels.open(vu.PATHS["electrodes"], "table")
    page = frame(panels, electrodes.panel_id).sources["table_page"]
    assert [p.rsplit("/", 1)[-1] for p in page["col_group"]] == groups
    f.close()
