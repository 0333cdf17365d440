"""The units, event-aligned, intervals, events and timeline panels in Chromium against the real
``nwbscope serve``, on ``view_units.nwb`` (``tests/fixtures/view_units_files.py``).

Each test checks what a person would: which units the raster shows and where their spikes
are, that a histogram counts what it says, that a bar starts where the table says, that a
click on the timeline opens the object at the time clicked, and that a drag moves every
panel. Values come from the panels' Bokeh documents and are compared with pynwb's reading of
the served file (counts done here with numpy, never the data steps' own code). Controls are
changed through their widgets' models, as a user's change would (their CustomJS tells the
page); the timeline click and the pan are real mouse events on the canvas. Screenshots go
to ``playwright/artifacts/`` for a person to look at. One page serves the module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from views_helpers import (
    model_values,
    open_views,
    option_value,
    pan_to,
    panel,
    panel_ids,
    panel_seq,
    plot_point,
    read_source,
    screenshot,
    set_option,
    status_text,
    url_state,
    wait_frame,
    wait_panels_settled,
    x_range,
)

from tests.fixtures import view_units_files as uf

P = uf.PATHS
FILE = "view_units.nwb"
SESSION = (0.0, uf.DURATION)  # every spike, trial and event of the file is inside


pytestmark = pytest.mark.usefixtures("no_script_errors")  # (playwright/conftest.py)


@pytest.fixture(scope="module")
def nwb(data_dir: Path):
    """The served view_units.nwb as pynwb reads it (the reference values)."""
    return uf.pynwb_file(data_dir / "files" / FILE)


@pytest.fixture(scope="module")
def units_url(file_urls: dict[str, str]) -> str:
    return file_urls[FILE]


def unit_trains(nwb) -> tuple[list[int], list[np.ndarray]]:
    """pynwb's unit ids and spike times, in table order."""
    units = nwb.units
    ids = [int(i) for i in units.id[:]]
    return ids, [np.asarray(units["spike_times"][k], dtype=np.float64) for k in range(len(ids))]


def in_window(times: np.ndarray, start: float, end: float) -> np.ndarray:
    return times[(times >= start) & (times < end)]


def row_labels(page, panel_id: str) -> dict[int, str]:
    """The y axis' tick labels by row (the events view names its rows this way)."""
    entries = page.evaluate(
        """id => { const doc = window.nwbscopeViews.panels[id].doc;
        const axis = [...doc.all_models].find(m => m.major_label_overrides instanceof Map
                                               && m.major_label_overrides.size);
        return axis ? [...axis.major_label_overrides.entries()] : []; }""", panel_id)
    return {int(k): label for k, label in entries}


def seconds_per_pixel(page, panel_id: str, range_name: str) -> float:
    """How much time one pixel of the plot on ``range_name`` spans (a click's precision)."""
    return page.evaluate(
        """([id, name]) => { const doc = window.nwbscopeViews.panels[id].doc;
        const r = doc.get_model_by_name(name);
        const plot = [...doc.all_models].find(m => m.x_range === r && 'inner_width' in m);
        return (r.end - r.start) / plot.inner_width; }""", [panel_id, range_name])


def check_spikes(source: dict, units: dict, trains: dict[int, np.ndarray], start: float,
                 end: float) -> None:
    """Each unit's row holds exactly its spikes in ``[start, end)``."""
    x, y = np.asarray(source["x"]), np.asarray(source["y"])
    by_row = dict(zip(units["y"], units["unit_id"], strict=True))
    assert set(np.unique(y)) <= set(by_row)
    for row, unit_id in by_row.items():
        want = in_window(trains[int(unit_id)], start, end)
        np.testing.assert_array_equal(np.sort(x[y == row]), want)


def test_raster_units_spikes_density_and_sort(vpage, site_url, units_url, nwb) -> None:
    page = vpage
    ids, times = unit_trains(nwb)
    trains = dict(zip(ids, times, strict=True))
    total = sum(len(in_window(t, *SESSION)) for t in times)
    (pid,) = open_views(page, site_url, units_url, [P["units"]], t=SESSION)
    assert panel(page, pid).locator(".panel-title").inner_text() == "Raster: units"

    set_option(page, pid, "max_spikes", total + 1)  # every spike of the session is drawn
    units = read_source(page, pid, "raster_units")
    assert units["unit_id"][::-1] == ids  # every unit, the first id at the top
    assert units["spikes"][::-1] == [len(in_window(t, *SESSION)) for t in times]
    assert units["spikes"][::-1][uf.EMPTY_UNIT] == 0  # the empty unit keeps its row
    check_spikes(read_source(page, pid, "raster_spikes"), units, trains, *SESSION)
    assert status_text(page, pid).startswith(f"spikes: {total} spikes of {len(ids)} units")
    screenshot(page, "raster-spikes", pid)

    set_option(page, pid, "max_spikes", 5000)  # fewer than the window holds: a density image
    assert read_source(page, pid, "raster_spikes")["x"] == []
    density = read_source(page, pid, "raster_density")
    (image,) = density["image"]
    counts = np.asarray(image)
    assert counts.shape[0] == len(ids)
    assert counts.sum() == total
    units = read_source(page, pid, "raster_units")
    for row, unit_id in zip(units["y"], units["unit_id"], strict=True):  # image row r: y = r
        assert counts[row].sum() == len(in_window(trains[int(unit_id)], *SESSION))
    assert (density["x"], density["dw"]) == ([SESSION[0]], [SESSION[1] - SESSION[0]])
    screenshot(page, "raster-density", pid)

    seq = panel_seq(page, pid)
    pan_to(page, pid, 20.0, 22.0)  # zoomed in: few enough spikes to draw each one
    wait_frame(page, pid, after=seq)
    assert read_source(page, pid, "raster_density")["image"] == []
    check_spikes(read_source(page, pid, "raster_spikes"), units, trains, 20.0, 22.0)

    snr = np.asarray(nwb.units["snr"][:], dtype=np.float64)
    assert len(set(snr.tolist())) == len(snr)  # no ties: one right order
    set_option(page, pid, "sort", "snr")
    set_option(page, pid, "descending", True)
    assert option_value(page, pid, "descending") is True
    units = read_source(page, pid, "raster_units")
    top_down = [int(i) for i in units["unit_id"][::-1]]
    assert top_down == [ids[k] for k in np.argsort(-snr)]
    assert [label.split(" · ")[0] for label in units["label"][::-1]] == [str(i) for i in
                                                                        top_down]
    check_spikes(read_source(page, pid, "raster_spikes"), units, trains, 20.0, 22.0)
    screenshot(page, "raster-sorted", pid)


def test_unit_acg_and_isi_count_the_spike_train(vpage, site_url, units_url, nwb) -> None:
    page = vpage
    ids, times = unit_trains(nwb)
    (pid,) = open_views(page, site_url, units_url, ["unit:" + P["units"]], t=SESSION)
    assert option_value(page, pid, "unit") == str(ids[0])  # the first unit with spikes
    for unit_id in (ids[0], ids[12]):  # unit 0 bursts: its ACG peaks at +-4 ms
        if option_value(page, pid, "unit") != str(unit_id):
            set_option(page, pid, "unit", str(unit_id))
        t = times[ids.index(unit_id)]
        acg = read_source(page, pid, "unit_acg")
        edges = np.array([*acg["left"], acg["right"][-1]])
        np.testing.assert_allclose(edges, np.linspace(-50.0, 50.0, 101), atol=1e-9)  # +-50, 1
        lags = (t[None, :] - t[:, None])[~np.eye(len(t), dtype=bool)] * 1000.0  # every pair
        np.testing.assert_array_equal(acg["count"], np.histogram(lags, edges)[0])
        assert sum(acg["count"]) > 0
        isi = read_source(page, pid, "unit_isi")
        edges = np.array([*isi["left"], isi["right"][-1]])
        np.testing.assert_allclose(edges, np.linspace(0.0, 100.0, 101), atol=1e-9)
        np.testing.assert_array_equal(isi["count"],
                                      np.histogram(np.diff(np.sort(t)) * 1000.0, edges)[0])
        rate = read_source(page, pid, "unit_rate")
        assert sum(rate["count"]) == len(in_window(t, *SESSION))
        assert status_text(page, pid).startswith(f"unit {unit_id}: {len(t)} spikes")
    screenshot(page, "unit", pid)


def test_psth_by_condition_counts_spikes_around_trials(vpage, site_url, units_url,
                                                       nwb) -> None:
    page = vpage
    (pid,) = open_views(page, site_url, units_url, ["psth:" + P["units"]], t=SESSION)
    assert option_value(page, pid, "align") == P["trials"] + ":start_time"
    assert option_value(page, pid, "group") == "condition"
    pre, post = option_value(page, pid, "pre"), option_value(page, pid, "post")
    bin_s = option_value(page, pid, "bin_s")
    trials = nwb.trials.to_dataframe()
    _, times = unit_trains(nwb)
    want: dict[str, int] = {}
    for start, condition in zip(trials["start_time"], trials["condition"], strict=True):
        rel = np.concatenate([t - start for t in times])
        want[condition] = want.get(condition, 0) + int(np.sum((rel >= pre) & (rel < post)))

    raster = read_source(page, pid, "psth_raster")
    bands = read_source(page, pid, "psth_bands")
    y, group = np.asarray(raster["y"]), np.asarray(raster["group"])
    assert len(y) == sum(want.values())
    seen = {}
    for k, label in enumerate(bands["label"]):  # the spikes drawn inside each group's band
        condition = label.split(" (n=")[0]
        inside = (y > bands["bottom"][k]) & (y < bands["top"][k])
        assert inside.sum() == want[condition], condition
        assert len(set(group[inside].tolist())) == 1  # one colour per band
        n_trials = int(np.sum(trials["condition"] == condition))
        assert bands["n_trials"][k] == n_trials
        assert bands["top"][k] - bands["bottom"][k] == n_trials  # a row per trial
        seen[condition] = inside.sum()
    assert set(seen) == set(uf.CONDITIONS)
    x = np.asarray(raster["x"])
    assert np.all((x >= pre) & (x < post))

    curves = read_source(page, pid, "psth")
    assert curves["label"] == bands["label"]
    n_units = len(nwb.units.id[:])
    for k, label in enumerate(curves["label"]):  # the curve is the rate of those spikes
        rate = np.asarray(curves["ys"][k][::2])  # a step: each bin's value twice
        spikes = rate.sum() * curves["n_trials"][k] * n_units * bin_s
        assert spikes == pytest.approx(want[label.split(" (n=")[0]], rel=1e-9)
    screenshot(page, "psth", pid)


def test_intervals_of_trials_and_colour_by(vpage, site_url, units_url, nwb) -> None:
    page = vpage
    window = (10.0, 30.0)
    (pid,) = open_views(page, site_url, units_url, [P["trials"]], t=window)
    trials = nwb.trials.to_dataframe()
    start, stop = trials["start_time"].to_numpy(), trials["stop_time"].to_numpy()
    shown = np.flatnonzero((start < window[1]) & (stop >= window[0]))
    source = read_source(page, pid, "intervals")
    rows = np.asarray(source["row"])
    assert set(shown) <= set(rows.tolist())  # every trial in the window has its bar
    np.testing.assert_array_equal(source["left"], start[rows])
    np.testing.assert_array_equal(source["right"], stop[rows])
    np.testing.assert_array_equal(source["col_id"], trials.index.to_numpy()[rows])
    assert source["col_condition"] == trials["condition"].to_numpy()[rows].tolist()
    assert status_text(page, pid).startswith(f"{len(shown)} of {len(trials)} intervals")

    assert option_value(page, pid, "color_by") == "condition"
    assert source["color_label"] == source["col_condition"]
    colour = dict(zip(source["color_label"], source["color"], strict=True))
    assert len(set(colour.values())) == len(uf.CONDITIONS)  # a colour per condition
    assert all(colour[label] == c for label, c in zip(source["color_label"], source["color"],
                                                      strict=True))
    box = panel(page, pid)
    headers = box.locator(".slick-header-column")  # the DataTable, laid out
    assert headers.all_inner_texts() == ["id", *nwb.trials.colnames]
    assert all(headers.nth(i).bounding_box()["width"] > 40 for i in range(headers.count()))
    assert box.locator(".slick-row").count() > 3
    screenshot(page, "intervals-condition", pid)

    set_option(page, pid, "color_by", "response_time")  # numbers: a colour scale
    source = read_source(page, pid, "intervals")
    rows = np.asarray(source["row"])
    np.testing.assert_array_equal(source["color_value"],
                                  trials["response_time"].to_numpy()[rows])
    assert set(source["color_label"]) == {""}
    np.testing.assert_array_equal(source["left"], start[rows])
    assert box.locator(".slick-header-column").count() == 1 + len(nwb.trials.colnames)
    screenshot(page, "intervals-response-time", pid)


def test_events_marks_and_labels(vpage, site_url, units_url, nwb) -> None:
    page = vpage
    window = (0.0, 20.0)
    notes_id, ttl_id = open_views(page, site_url, units_url, [P["annotations"], P["ttl"]],
                                  t=window)
    notes = nwb.acquisition["annotations"]
    stamps = np.asarray(notes.timestamps[:], dtype=np.float64)
    texts = np.asarray(notes.data[:], dtype=object)
    inside = (stamps >= window[0]) & (stamps < window[1])
    marks = read_source(page, notes_id, "event_marks")
    np.testing.assert_array_equal(marks["x"], stamps[inside])
    assert marks["label"] == texts[inside].tolist()
    labels = row_labels(page, notes_id)
    assert sorted(labels.values()) == sorted(set(texts.tolist()))  # a row per label
    assert [labels[y] for y in marks["y"]] == marks["label"]  # each tick on its label's row

    ttl = nwb.acquisition["ttl"]
    stamps = np.asarray(ttl.timestamps[:]).astype(np.float64)  # float32 in the file
    names = np.asarray(ttl.fields["data__labels"], dtype=object)
    texts = names[np.asarray(ttl.data[:], dtype=np.int64)]
    inside = (stamps >= window[0]) & (stamps < window[1])
    marks = read_source(page, ttl_id, "event_marks")
    order = np.argsort(marks["x"], kind="stable")
    np.testing.assert_array_equal(np.asarray(marks["x"])[order], stamps[inside])
    assert np.asarray(marks["label"], dtype=object)[order].tolist() == texts[inside].tolist()
    labels = row_labels(page, ttl_id)
    assert [labels[y] for y in marks["y"]] == marks["label"]
    assert status_text(page, ttl_id).startswith(f"{inside.sum()} events in the window "
                                                f"({len(stamps)} in all)")
    screenshot(page, "events-annotations", notes_id)
    screenshot(page, "events-ttl", ttl_id)

    set_option(page, ttl_id, "max_marks", 100)  # fewer than the window's: counts per bin
    assert read_source(page, ttl_id, "event_marks")["x"] == []
    (image,) = read_source(page, ttl_id, "event_density")["image"]
    counts = np.asarray(image)
    for y, label in labels.items():  # image row y is the row labelled ``label``
        assert counts[y].sum() == int(np.sum(texts[inside] == label)), label
    screenshot(page, "events-ttl-density", ttl_id)


def expected_spans(nwb) -> dict[str, tuple[float, float, int]]:
    """(first, last, count) of every time-based object of the file, from pynwb: samples of a
    series (rate-based: the last sample's time), spikes, intervals, events."""
    def series(ts) -> tuple[float, float, int]:
        if ts.timestamps is not None:
            stamps = np.asarray(ts.timestamps[:]).astype(np.float64)
            return float(stamps[0]), float(stamps[-1]), len(stamps)
        n = len(ts.data)
        return ts.starting_time, ts.starting_time + (n - 1) / ts.rate, n

    def spikes(units) -> tuple[float, float, int]:
        every = np.concatenate([np.asarray(units["spike_times"][k])
                                for k in range(len(units.id))])
        return float(every.min()), float(every.max()), len(every)

    def intervals(table) -> tuple[float, float, int]:
        start, stop = table["start_time"][:], table["stop_time"][:]
        return float(np.min(start)), float(np.max(stop)), len(start)

    events = nwb.events["stimulus_onsets"]
    onsets = np.asarray(events["timestamp"][:], dtype=np.float64)
    ends = onsets + np.asarray(events["duration"][:], dtype=np.float64)
    behavior = nwb.processing["behavior"]["BehavioralEvents"]
    return {
        P["units"]: spikes(nwb.units),
        P["sorted_units"]: spikes(nwb.processing["ecephys"]["sorted_units"]),
        P["trials"]: intervals(nwb.trials), P["epochs"]: intervals(nwb.epochs),
        P["annotations"]: series(nwb.acquisition["annotations"]),
        P["laser"]: series(nwb.acquisition["laser"]),
        P["ttl"]: series(nwb.acquisition["ttl"]),
        P["speed"]: series(nwb.acquisition["speed"]),
        P["pupil"]: series(nwb.acquisition["pupil"]),
        P["licks"]: series(behavior.time_series["licks"]),
        P["rewards"]: series(behavior.time_series["rewards"]),
        P["events_table"]: (float(onsets.min()), float(ends.max()), len(onsets)),
    }


def test_timeline_lines_up_objects_and_a_click_opens_one(vpage, site_url, units_url,
                                                         nwb) -> None:
    page = vpage
    open_views(page, site_url, units_url, [], t=(0.0, 10.0))
    page.click("#header button[data-view=alignment]")  # "Timeline of all objects"
    wait_panels_settled(page, 1)
    (pid,) = panel_ids(page)
    assert url_state(page)[0] == ["alignment:/"]
    rows = read_source(page, pid, "alignment")
    want = expected_spans(nwb)
    assert sorted(rows["path"]) == sorted(want)  # every time-based object, nothing else
    for k, path in enumerate(rows["path"]):
        first, last, count = want[path]
        assert rows["left"][k] == pytest.approx(first, abs=1e-9), path
        assert rows["right"][k] == pytest.approx(last, abs=1e-9), path
        assert rows["count"][k] == count, path
    labels = row_labels(page, pid)
    assert [labels[int(y)] for y in rows["y"]] == rows["path"]  # each bar on its path's row
    screenshot(page, "timeline", pid)

    k = rows["path"].index(P["speed"])
    t = 20.0
    panel(page, pid).scroll_into_view_if_needed()
    x, y = plot_point(page, pid, t, rows["y"][k], "alignment_x_range")
    tolerance = 1.5 * seconds_per_pixel(page, pid, "alignment_x_range")
    page.mouse.click(x, y)  # a tap on the speed bar at 20 s
    wait_panels_settled(page, 2)
    opened = panel_ids(page)[1]
    assert panel(page, opened).locator(".panel-title").inner_text() == "Traces: speed"
    start, end = x_range(page, opened)
    assert start == pytest.approx(t, abs=tolerance)
    assert end - start == pytest.approx(10.0)  # the window's width is kept
    keys, window = url_state(page)
    assert keys == ["alignment:/", P["speed"]]
    assert window == pytest.approx((start, end), abs=1e-5)
    speed = nwb.acquisition["speed"]
    traces = read_source(page, opened, "traces")
    assert traces["xs"][0][0] == pytest.approx(start, abs=1.0 / speed.rate)  # drawn from t
    page.mouse.move(0, 0)  # the bar's hover box would cover the timeline
    screenshot(page, "timeline-opened")


def test_a_drag_moves_raster_and_intervals_together(vpage, site_url, units_url,
                                                    nwb) -> None:
    page = vpage
    raster_id, trials_id = open_views(page, site_url, units_url, [P["units"], P["trials"]],
                                      t=(10.0, 30.0))
    seqs = panel_seq(page, raster_id), panel_seq(page, trials_id)
    panel(page, raster_id).scroll_into_view_if_needed()
    grab = plot_point(page, raster_id, 20.0, 5.0)
    drop = plot_point(page, raster_id, 15.0, 5.0)
    page.mouse.move(*grab)
    page.mouse.down()  # the raster's pan tool: drag 5 s to the left
    for step in range(1, 6):
        page.mouse.move(grab[0] + (drop[0] - grab[0]) * step / 5, grab[1])
    page.mouse.up()
    wait_frame(page, raster_id, after=seqs[0])
    wait_frame(page, trials_id, after=seqs[1])
    start, end = x_range(page, raster_id)
    assert x_range(page, trials_id) == (start, end)  # the same window, exactly
    assert (start, end) == pytest.approx((15.0, 35.0), abs=0.2)  # one pixel either way
    assert url_state(page)[1] == pytest.approx((start, end), abs=1e-5)

    ids, times = unit_trains(nwb)
    units = read_source(page, raster_id, "raster_units")
    check_spikes(read_source(page, raster_id, "raster_spikes"), units,
                 dict(zip(ids, times, strict=True)), start, end)
    trials = nwb.trials.to_dataframe()
    shown = int(np.sum((trials["start_time"] < end) & (trials["stop_time"] >= start)))
    assert status_text(page, trials_id).startswith(f"{shown} of {len(trials)} intervals")

    seqs = panel_seq(page, raster_id), panel_seq(page, trials_id)
    pan_to(page, trials_id, 40.0, 50.0)  # and the other way: the trials lead
    wait_frame(page, raster_id, after=seqs[0])
    wait_frame(page, trials_id, after=seqs[1])
    assert x_range(page, raster_id) == x_range(page, trials_id) == (40.0, 50.0)
    check_spikes(read_source(page, raster_id, "raster_spikes"), units,
                 dict(zip(ids, times, strict=True)), 40.0, 50.0)
    assert model_values(page, raster_id, "y_range", ["start", "end"]) == {
        "start": -0.5, "end": len(ids) - 0.5}
    screenshot(page, "pan-raster-intervals")
