"""The drawing step of the series views (traces, trajectory, spectrogram), through ``PanelSet``.

What the page gets is checked against what the file holds: the traces' lines are turned back
into values through their source's ``offset``/``gain``/``baseline`` columns and compared with
a min/max per pixel column computed here, with numpy, from the arrays h5py reads; channel
labels and the electrodes chosen by a column come from pynwb's electrodes table; the
trajectory and the spectrogram image are the data steps' output (tested against their own
references in ``test_views_spatial``/``test_views_spectrogram``) and the fixture's values.
Both HDF5 engines.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from nwbscope import open as open_file
from nwbscope.errors import ParameterError, ViewError
from nwbscope.views.base import Frame
from nwbscope.views.data.series import read_series_time
from nwbscope.views.data.spatial import spatial_track
from nwbscope.views.data.spectrogram import spectrogram
from nwbscope.views.panels import PanelSet
from nwbscope.views.window import TimeWindow
from tests.bokeh_docs import models
from tests.fixtures import view_series_files as vf

EPHYS, ODD = vf.EPHYS, vf.ODD
MIXED_LOCATIONS = ("CA1", "CA3", "CA1", "DG", "CA3", "CA1")  # the mixed file's electrodes
MIXED_REGION = (4, 0, 5, 2, 3)  # its series' channels: table rows, not in order


@pytest.fixture(scope="module")
def files(nwb_dir: Path) -> tuple[Path, Path]:
    return vf.ensure_files(nwb_dir)


@pytest.fixture(scope="module")
def mixed(nwb_dir: Path) -> Path:
    """An ElectricalSeries on electrodes of three locations, its region out of table order
    (the fixture file's electrodes are all in CA1, where any choice selects them all)."""
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries

    from tests.fixtures.nwb_files import SESSION_START

    path = nwb_dir / "mixed_locations.nwb"
    if path.exists():
        return path
    nwbfile = NWBFile(session_description="mixed", identifier="mixed-locations",
                      session_start_time=SESSION_START)
    device = nwbfile.create_device(name="probe")
    group = nwbfile.create_electrode_group(name="shank0", description="shank",
                                           location="HPC", device=device)
    for location in MIXED_LOCATIONS:
        nwbfile.add_electrode(group=group, location=location, x=0.0, y=0.0, z=0.0)
    region = nwbfile.create_electrode_table_region(list(MIXED_REGION), "out of order")
    data = np.random.default_rng(3).normal(0, 1, (2000, len(MIXED_REGION)))
    nwbfile.add_acquisition(ElectricalSeries(name="mixed", data=data, electrodes=region,
                                             rate=1000.0, starting_time=0.0))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path


# -- references ---------------------------------------------------------------------------
def h5_series(path: Path, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(times, values rows x channels) of a TimeSeries group, read with h5py and converted by
    the NWB rules (a NaN start is 0; the shorter of data and timestamps counts)."""
    with h5py.File(path, "r") as f:
        group = f[where]
        data = np.asarray(group["data"][()], dtype=np.float64)
        data = data.reshape(data.shape[0], -1)
        attrs = group["data"].attrs
        if "timestamps" in group:
            times = np.asarray(group["timestamps"][()], dtype=np.float64)
        else:
            start = float(np.ravel(group["starting_time"][()])[0])
            rate = float(group["starting_time"].attrs["rate"])
            times = (0.0 if np.isnan(start) else start) + np.arange(data.shape[0]) / rate
        scale = np.full(data.shape[1], float(attrs.get("conversion", 1.0)))
        if "channel_conversion" in group and group["channel_conversion"].size == data.shape[1]:
            scale = scale * group["channel_conversion"][()]
        n = min(times.size, data.shape[0])
        return times[:n], data[:n] * scale + float(attrs.get("offset", 0.0))


def minmax_reference(times: np.ndarray, values: np.ndarray,
                     window: TimeWindow) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel column ``[start + k dt, start + (k+1) dt)``: min and max per channel (NaN
    where no sample falls), by slicing the sorted times."""
    width = window.width_px
    edges = window.start + np.arange(width + 1) * (window.duration / width)
    edges[-1] = window.end
    cut = np.searchsorted(times, edges, side="left")
    lo = np.full((values.shape[1], width), np.nan)
    hi = np.full((values.shape[1], width), np.nan)
    for k in range(width):
        part = values[cut[k]:cut[k + 1]]
        if part.size:
            lo[:, k], hi[:, k] = part.min(axis=0), part.max(axis=0)
    return lo, hi


def named_models(doc_text: str) -> dict[str, dict[str, Any]]:
    """Model name → its serialized attributes, from a panel's ``json_item`` text."""
    return {name: model["attributes"] for name, model in models(doc_text).items()}


def last_frame(panels: PanelSet, panel_id: str, window: TimeWindow) -> Frame:
    frames = list(panels.frames(panel_id, window))
    assert frames[-1].complete and not any(f.complete for f in frames[:-1])
    return frames[-1]


def trace_values(frame: Frame) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each line's x and its y turned back into the series' unit."""
    src = frame.sources["traces"]
    xs, values = [], []
    for row, (x, y) in enumerate(zip(src["xs"], src["ys"], strict=True)):
        xs.append(np.asarray(x))
        values.append((np.asarray(y, dtype=np.float64) - src["offset"][row])
                      / src["gain"][row] + src["baseline"][row])
    return xs, values


def assert_traces_match(frame: Frame, times: np.ndarray, values: np.ndarray,
                        window: TimeWindow) -> None:
    """The lines equal the samples (few in the window) or the min/max reference."""
    src = frame.sources["traces"]
    xs, got = trace_values(frame)
    channels = np.asarray(src["channel"])
    assert len(xs) == channels.size
    inside = np.flatnonzero((times >= window.start) & (times < window.end))
    for row, chan in enumerate(channels):
        assert got[row].size <= 2 * window.width_px + 2
        # the lines are float32 of (value - baseline) * gain + offset: a float32's precision
        tol = 4 * np.finfo(np.float32).eps * (np.nanmax(np.abs(got[row] - src["baseline"][row]))
                                              + abs(src["offset"][row]) / src["gain"][row])
        if inside.size <= 2 * window.width_px:  # the samples, one neighbour each side
            rows = np.arange(max(0, inside[0] - 1), min(times.size, inside[-1] + 2))
            np.testing.assert_allclose(xs[row], times[rows], rtol=0, atol=1e-12)
            np.testing.assert_allclose(got[row], values[rows, chan], rtol=0, atol=tol)
            continue
        lo, hi = minmax_reference(times, values[:, [chan]], window)
        pairs = got[row].reshape(-1, 2)
        np.testing.assert_allclose(pairs[:, 0], lo[0], rtol=0, atol=tol)
        np.testing.assert_allclose(pairs[:, 1], hi[0], rtol=0, atol=tol)


# -- traces -------------------------------------------------------------------------------
ELECTRICAL_CASES = [
    ("small_chunks", TimeWindow(1.6, 3.0, 400)),  # gzip chunks, min/max
    ("small_chunks", TimeWindow(2.0, 2.01, 400)),  # 300 samples: the samples themselves
    ("contiguous", TimeWindow(0.3, 2.1, 300)),  # conversion, offset, channel_conversion
    ("lfp", TimeWindow(1.0, 15.0, 500)),  # inside processing/ecephys/LFP
]


@pytest.mark.parametrize(("name", "window"), ELECTRICAL_CASES)
def test_electrical_traces(files, engine: str, name: str, window: TimeWindow) -> None:
    from pynwb import NWBHDF5IO

    path = EPHYS[name]["path"]
    with NWBHDF5IO(str(files[0]), "r") as io:
        nwbfile = io.read()
        series = (nwbfile.processing["ecephys"]["LFP"]["lfp"] if name == "lfp"
                  else nwbfile.acquisition[path.rsplit("/", 1)[1]])
        table = series.electrodes.to_dataframe()
        want_labels = [f"{i} {loc}" for i, loc in zip(table.index, table["location"],
                                                      strict=True)]
    with open_file(files[0], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open(path, window=window)
        assert doc.view == "electrical" and doc.time_based
        models = named_models(doc.doc)
        assert {"traces", "x_range", "cursor", "status", "y_range"} <= set(models)
        assert (models["x_range"]["start"], models["x_range"]["end"]) == (window.start,
                                                                         window.end)
        frame = last_frame(panels, doc.panel_id, window)
    src = frame.sources["traces"]
    assert list(src["label"]) == want_labels
    assert list(src["channel"]) == list(range(EPHYS[name]["shape"][1]))
    times, values = h5_series(files[0], path)
    assert_traces_match(frame, times, values, window)


def test_one_dimensional_timeseries(files, engine: str) -> None:
    path = EPHYS["irregular"]["path"]
    times, values = h5_series(files[0], path)
    with open_file(files[0], engine=engine) as f:
        panels = PanelSet(f)
        for window in (TimeWindow(0.6, 9.0, 300), TimeWindow(1.0, 1.2, 300)):
            doc = panels.open(path, window=window)
            assert doc.view == "traces" and "y_range" not in named_models(doc.doc)
            frame = last_frame(panels, doc.panel_id, window)
            src = frame.sources["traces"]
            assert (list(src["offset"]), list(src["gain"]), list(src["baseline"])) == (
                [0.0], [1.0], [0.0])
            assert_traces_match(frame, times, values, window)


@pytest.mark.parametrize(("name", "note"), [
    ("converted", None), ("start_array", "array"), ("start_nan", "not a number"),
    ("short_timestamps", "only the first"), ("short_data", "only the first"),
    ("both", "both"), ("dyadic", None)])
def test_odd_series_draw(files, engine: str, name: str, note: str | None) -> None:
    path = ODD[name]["path"]
    times, values = h5_series(files[1], path)
    window = TimeWindow(float(times[0]) + 0.01, float(times[-1]), 200)
    with open_file(files[1], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open(path, window=window)
        frame = last_frame(panels, doc.panel_id, window)
    assert_traces_match(frame, times, values, window)
    if note is None:
        assert frame.notes == ()
    else:
        assert any(note in n for n in frame.notes), frame.notes


def test_three_dimensional_data_and_no_time_base(files, engine: str) -> None:
    shape = str(ODD["data_3d"]["shape"])
    with open_file(files[1], engine=engine) as f:
        panels = PanelSet(f)
        for view in ("traces", "spectrogram"):
            with pytest.raises(ViewError, match=re.escape(f"shape {shape}")):
                panels.open(ODD["data_3d"]["path"], view)
        with pytest.raises(ViewError, match="no time base"):
            panels.open(ODD["no_timebase"]["path"])
        assert panels.panels == {}  # a failed open leaves no panel behind
        # no trace view draws 3-D data: it opens in the generic view, which says its shape
        doc = panels.open(ODD["data_3d"]["path"])
        assert doc.view == "generic" and doc.alternatives == ()


def test_channel_choice_by_location(mixed: Path, engine: str) -> None:
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(mixed), "r") as io:
        table = io.read().acquisition["mixed"].electrodes.to_dataframe()
        locations = list(table["location"])
    want = {loc: [c for c, v in enumerate(locations) if v == loc] for loc in set(locations)}
    assert want["CA1"] and len(want["CA1"]) < len(locations)  # a choice that can fail
    window = TimeWindow(0.0, 2.0, 300)
    with open_file(mixed, engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open("/acquisition/mixed", options={"show": ["location = CA1"]},
                          window=window)
        src = last_frame(panels, doc.panel_id, window).sources["traces"]
        assert list(src["channel"]) == want["CA1"]
        assert list(src["label"]) == [f"{table.index[c]} CA1" for c in want["CA1"]]
        panels.set_option(doc.panel_id, "show", ["location = DG", "location = CA3"])
        src = last_frame(panels, doc.panel_id, window).sources["traces"]
        assert list(src["channel"]) == sorted(want["DG"] + want["CA3"])
        with pytest.raises(ParameterError):
            panels.set_option(doc.panel_id, "show", ["location = CA2"])
        with pytest.raises(ParameterError):
            panels.set_option(doc.panel_id, "scale", 0.0)


# -- trajectory ---------------------------------------------------------------------------
def test_trajectory_and_marker_wiring(files, engine: str) -> None:
    pos = EPHYS["position"]
    times, xy = h5_series(files[0], pos["path"])
    window = TimeWindow(10.0, 40.0, 500)  # 900 samples: all of them
    with open_file(files[0], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open(pos["path"], window=window)
        assert doc.view == "spatial"
        models = named_models(doc.doc)
        assert {"trajectory", "position_marker", "x_range", "cursor", "time_colors"} <= set(
            models)
        view = panels.get(doc.panel_id)
        layout = view.figure(window)
        cursor = layout.select_one({"name": "cursor"})
        marker = layout.select_one({"name": "position_marker"})
        (callback,) = cursor.js_property_callbacks["change:location"]
        assert callback.args["marker"] is marker and callback.args["span"] is cursor
        src = last_frame(panels, doc.panel_id, window).sources["trajectory"]
        inside = (times >= window.start) & (times < window.end)
        np.testing.assert_allclose(src["t"], times[inside], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(src["x"], xy[inside, 0])
        np.testing.assert_array_equal(src["y"], xy[inside, 1])
        long = TimeWindow(2.0, 102.0, 300)
        for method in ("stride", "mean"):
            panels.set_option(doc.panel_id, "method", method)
            src = last_frame(panels, doc.panel_id, long).sources["trajectory"]
            track = spatial_track(read_series_time(f[pos["path"]]), long, method=method)
            assert src["t"].size <= 2 * long.width_px
            np.testing.assert_array_equal(src["x"], track.values[:, 0])
            np.testing.assert_array_equal(src["t"], track.times)
        with pytest.raises(ParameterError):
            panels.set_option(doc.panel_id, "method", "median")


def test_linear_position_only_against_time(files, engine: str) -> None:
    path = EPHYS["linear"]["path"]
    window = TimeWindow(4.0, 20.0, 500)  # ~800 samples: all of them
    times, values = h5_series(files[0], path)
    with open_file(files[0], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open(path, window=window)
        models = named_models(doc.doc)
        assert "trajectory" in models and "position_marker" not in models
        src = last_frame(panels, doc.panel_id, window).sources["trajectory"]
    assert set(src) == {"t", "x"}
    inside = (times >= window.start) & (times < window.end)
    np.testing.assert_array_equal(src["x"], values[inside, 0])


@pytest.mark.skipif(shutil.which("node") is None, reason="no node to run the marker's JS")
def test_marker_js_finds_the_nearest_point() -> None:
    """The CustomJS body, run by node on plain objects: nearest time, hidden outside the
    path and where tracking was lost."""
    from nwbscope.views.spatial import MARKER_JS

    script = ("const results = []; const move = (track, marker, span) => {" + MARKER_JS
              + "}; for (const at of [null, 0.85, 0.95, 1.04, 1.06, 1.3, 2.0]) {"
              " const marker = {data: null}; move({data: {t: [1.0, 1.1, 1.2, 1.3],"
              " x: [0, 1, 2, NaN], y: [5, 6, 7, 8]}}, marker, {location: at});"
              " results.push(marker.data.x); } console.log(JSON.stringify(results));")
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True,
                            check=True, timeout=30)
    assert json.loads(result.stdout) == [[], [], [0], [0], [1], [], []]


# -- spectrogram --------------------------------------------------------------------------
def test_spectrogram_image(files, engine: str) -> None:
    lfp = EPHYS["lfp"]
    window = TimeWindow(0.0, 20.0, 60)  # more segments than columns: capped at 60
    options = {"channel": "2", "segment_s": 0.5, "overlap": 0.75, "fmin": 2.0, "fmax": 120.0}
    with open_file(files[0], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open(lfp["path"], "spectrogram", options=options, window=window)
        assert doc.view == "spectrogram"
        assert {"spectrogram", "x_range", "cursor", "y_range", "db_colors"} <= set(
            named_models(doc.doc))
        view = panels.get(doc.panel_id)
        channel_choice = dict(next(o for o in view.options_cached() if o.name == "channel")
                              .choices)
        frame = last_frame(panels, doc.panel_id, window)
        want = spectrogram(read_series_time(f[lfp["path"]]), window, 2, segment_s=0.5,
                           overlap=0.75, fmin=2.0, fmax=120.0, max_times=60)
    assert channel_choice["2"] == "#2 2 CA1"  # the electrodes table's id and location
    src = frame.sources["spectrogram"]
    image = np.array(src["image"][0])
    assert image.shape == want.power_db.shape and image.shape[1] <= window.width_px
    np.testing.assert_array_equal(image, want.power_db)
    assert frame.ranges["y_range"] == (2.0, 120.0)
    df = want.fs / want.nperseg
    assert src["y"][0] == pytest.approx(want.freqs[0] - df / 2)
    assert src["y"][0] + src["dh"][0] == pytest.approx(want.freqs[-1] + df / 2)
    assert src["x"][0] < want.times[0] < want.times[-1] < src["x"][0] + src["dw"][0]
    assert src["low"][0] < src["high"][0] == image.max()
    rows = image.mean(axis=1)  # the strongest rhythm is the 7 Hz sine of every channel
    assert abs(want.freqs[np.argmax(rows)] - 7.0) <= df


def test_spectrogram_of_timestamps_and_options(files, engine: str) -> None:
    path = EPHYS["irregular"]["path"]
    window = TimeWindow(1.0, 8.0, 200)
    with open_file(files[0], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open(path, "spectrogram", window=window)
        view = panels.get(doc.panel_id)
        assert "channel" not in view.values  # one channel: no choice to make
        src = last_frame(panels, doc.panel_id, window).sources["spectrogram"]
        np.testing.assert_array_equal(np.array(src["image"][0]), view.compute(window).power_db)
        for name, value in (("overlap", 1.5), ("overlap", "much"), ("fmax", -1.0),
                            ("fmin", view.values["fmax"]), ("segment_s", 0.0)):
            with pytest.raises(ParameterError):
                panels.set_option(doc.panel_id, name, value)
        assert view.values["overlap"] == 0.5  # refused values are not kept
        empty = TimeWindow(5.0, 5.01, 200)  # fewer samples than one segment
        frame = last_frame(panels, doc.panel_id, empty)
        assert frame.sources["spectrogram"]["image"] == []
        assert any("fewer than one segment" in n for n in frame.notes)
    with open_file(files[0], engine=engine) as f:
        with pytest.raises(ParameterError):
            PanelSet(f).open(EPHYS["lfp"]["path"], "spectrogram", options={"channel": "99"})
