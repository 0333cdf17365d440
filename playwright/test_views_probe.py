"""The probe, waveforms and spike-snippet views in Chromium against the real ``nwbscope
serve``: a probe selection (set on the Bokeh model, and a real box drag) becomes the channels
of the open ElectricalSeries view; a unit's mean waveforms and a SpikeEventSeries' mean are
pynwb's values. Screenshots go to ``playwright/artifacts/`` for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from views_helpers import (
    open_views,
    option_value,
    panel,
    panel_seq,
    plot_point,
    read_source,
    screenshot,
    set_option,
    status_text,
    wait_frame,
)

from tests.fixtures import view_probe_files as vp

ELECTRODES = vp.PATHS["electrodes"]
SERIES = vp.PATHS["series"]
F32 = 4 * float(np.finfo(np.float32).eps)

pytestmark = pytest.mark.usefixtures("no_script_errors")  # (playwright/conftest.py)


@pytest.fixture(scope="module")
def ref(data_dir: Path):
    """The served view_probe.nwb as pynwb reads it (the reference values)."""
    from pynwb import NWBHDF5IO

    io = NWBHDF5IO(str(data_dir / "files" / vp.PROBE_FILE), "r")
    yield io.read()
    io.close()


def expected(ref, rows: list[int]) -> tuple[list[int], list[int]]:
    """The series' channels on those electrodes-table rows, and their electrode ids."""
    series_rows = list(ref.acquisition["es_subset"].electrodes.data[:])
    channels = [c for c, r in enumerate(series_rows) if r in rows]
    ids = ref.electrodes.to_dataframe().index
    return channels, [int(ids[series_rows[c]]) for c in channels]


def check_traces(vpage, traces: str, ref, rows: list[int]) -> None:
    channels, ids = expected(ref, rows)
    source = read_source(vpage, traces, "traces")
    assert [int(c) for c in source["channel"]] == channels
    assert [int(label.split(" ")[0]) for label in source["label"]] == ids
    shown = option_value(vpage, traces, "show")
    assert [int(k[1:].split(" ")[0]) for k in shown] == channels  # the control shows it


def test_probe_selection_chooses_the_traces_channels(vpage, site_url, file_urls, ref):
    traces, probe = open_views(vpage, site_url, file_urls[vp.PROBE_FILE],
                               [SERIES, "probe:" + ELECTRODES])
    layout = read_source(vpage, probe, "probe_electrodes")
    table = ref.electrodes.to_dataframe()
    np.testing.assert_array_equal(layout["x"], table["rel_x"].to_numpy())
    np.testing.assert_array_equal(layout["y"], table["rel_y"].to_numpy())
    np.testing.assert_array_equal(layout["id"], table.index.to_numpy())
    assert len(read_source(vpage, traces, "traces")["channel"]) == len(vp.SERIES_ROWS)

    rows = [0, 2, 3, 9]  # 0 is not a channel of the series
    seq = panel_seq(vpage, traces)
    vpage.evaluate("([id, rows]) => { window.nwbscopeViews.model(id, 'probe_electrodes')"
                   ".selected.indices = rows; }", [probe, rows])
    wait_frame(vpage, traces, after=seq)
    check_traces(vpage, traces, ref, rows)
    screenshot(vpage, "probe_selected_traces")

    # a real box drag over the second shank's first two rows (rel_y 0 and 20)
    panel(vpage, probe).scroll_into_view_if_needed()
    x0 = vp.SHANK_PITCH - 5
    start = plot_point(vpage, probe, x0, -6.0, "probe_x_range")
    end = plot_point(vpage, probe, x0 + vp.COLUMN_PITCH + 10, vp.ROW_PITCH + 6,
                     "probe_x_range")
    seq = panel_seq(vpage, traces)
    vpage.mouse.move(*start)
    vpage.mouse.down()
    vpage.mouse.move(*end, steps=8)
    vpage.mouse.up()
    wait_frame(vpage, traces, after=seq)
    boxed = [r for r in range(vp.N_ELECTRODES)
             if vp.rel_xy(r)[0] >= vp.SHANK_PITCH and vp.rel_xy(r)[1] <= vp.ROW_PITCH]
    assert boxed == [8, 9, 10, 11]
    check_traces(vpage, traces, ref, boxed)
    screenshot(vpage, "probe_box_selected")


def test_waveforms_and_spike_events_are_pynwbs(vpage, site_url, file_urls, ref):
    (units,) = open_views(vpage, site_url, file_urls[vp.PROBE_FILE], ["waveforms:/units"])
    row = 3
    set_option(vpage, units, "unit", str(int(ref.units.id[row])))
    lines = read_source(vpage, units, "waveform_lines")
    mean = np.asarray(ref.units["waveform_mean"][row])
    assert int(lines["channel"][0]) == vp.UNIT_HOME[row]  # the peak first
    assert len(lines["channel"]) == 8
    for k, channel in enumerate(lines["channel"]):
        ys = np.asarray(lines["ys"][k], dtype=np.float64)
        back = (ys - lines["y0"][k]) / lines["gain"][k]
        np.testing.assert_allclose(back, mean[:, int(channel)], rtol=0,
                                   atol=F32 * np.abs(ys).max() / lines["gain"][k])
    where = read_source(vpage, units, "waveform_probe")
    assert where["fill"][vp.UNIT_HOME[row]] == "#d62728"
    assert f"peak on channel {vp.UNIT_HOME[row]}" in status_text(vpage, units)
    screenshot(vpage, "waveforms_unit", units)

    (events,) = open_views(vpage, site_url, file_urls[vp.PROBE_FILE],
                           [vp.PATHS["spike_events"]])
    series = ref.acquisition["spike_events"]
    data = np.asarray(series.data[:], dtype=np.float64) * series.conversion + series.offset
    snippets = read_source(vpage, events, "spike_snippets")
    drawn = np.unique(np.asarray(snippets["event"]).astype(int))
    assert len(drawn) == 200 and "200 of 300 events" in status_text(vpage, events)
    means = read_source(vpage, events, "spike_means")
    for c in range(len(vp.EVENT_ROWS)):
        back = (np.asarray(means["ys"][c], np.float64) - means["y0"][c]) / means["gain"][c]
        np.testing.assert_allclose(back, data[drawn, c].mean(axis=0), rtol=0,
                                   atol=F32 * 4 / means["gain"][c])
    screenshot(vpage, "spike_events", events)
