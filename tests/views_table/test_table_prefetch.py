"""``TableView.prefetch`` (the worker calls it while the page embeds a new document): the
frame that follows shows the same page it would have read itself, and a page read ahead for
other options is never shown. Also: a frame sends the detail grid only when it changed."""

from __future__ import annotations

import numpy as np

from nwbscope.views.panels import PanelSet
from tests.fixtures import view_table_files as vt


def frame(panels: PanelSet, panel_id: str):
    return list(panels.frames(panel_id, None))[-1]


def test_prefetched_page_is_the_page(nwb, ref_frames):
    df = ref_frames["trials"]
    panels = PanelSet(nwb)
    doc = panels.open(vt.PATHS["trials"], "table", {"page_size": "10", "page": 3})
    view = panels.get(doc.panel_id)
    view.prefetch()
    got = frame(panels, doc.panel_id)
    assert list(got.sources["table_page"]["row"]) == list(range(20, 30))
    np.testing.assert_array_equal(got.sources["table_page"]["col_start_time"],
                                  df["start_time"].to_numpy()[20:30])
    assert got.status.startswith("rows 21-30 of 60 (page 3 of 6)")
    # read ahead, then the options change before the frame: the new page is shown
    view.prefetch()
    panels.set_option(doc.panel_id, "sort_by", "contrast")
    got = frame(panels, doc.panel_id)
    first = np.argsort(df["contrast"].to_numpy(), kind="stable")[:10]
    assert list(got.sources["table_page"]["row"]) == list(first)


def test_detail_sent_only_when_it_changes(nwb):
    panels = PanelSet(nwb)
    doc = panels.open(vt.PATHS["widgets"])
    assert "table_detail" not in frame(panels, doc.panel_id).sources  # (empty, as drawn)
    panels.set_option(doc.panel_id, "expand", 2)
    assert len(frame(panels, doc.panel_id).sources["table_detail"]["column"]) > 0
    panels.set_option(doc.panel_id, "page", 2)
    assert "table_detail" not in frame(panels, doc.panel_id).sources  # unchanged
    panels.set_option(doc.panel_id, "expand", -1)
    assert len(frame(panels, doc.panel_id).sources["table_detail"]["column"]) == 0
    panels.rebuild(doc.panel_id, None)  # a new document: its detail grid starts empty
    panels.set_option(doc.panel_id, "expand", 3)
    panels.rebuild(doc.panel_id, None)
    assert len(frame(panels, doc.panel_id).sources["table_detail"]["column"]) > 0
