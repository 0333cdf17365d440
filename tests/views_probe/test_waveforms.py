"""Units' mean waveforms and SpikeEventSeries snippets: the data steps against pynwb's
reading of the file (both engines), the channel-to-electrode mapping, the peak channel, bad
shapes, and what the drawn lines hold (turned back into values)."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

import nwbscope
from nwbscope.errors import ViewError
from nwbscope.views.data.waveforms import UnitWaveforms, sample_blocks, spike_event_sample
from nwbscope.views.panels import PanelSet
from nwbscope.views.waveforms import (
    ACG_SOURCE,
    BANDS_SOURCE,
    LINES_SOURCE,
    LOCATION_SOURCE,
    MEANS_SOURCE,
    PEAK_COLOR,
    SNIPPETS_SOURCE,
)
from nwbscope.views.window import TimeWindow
from tests.bokeh_docs import models
from tests.fixtures import view_probe_files as vp

WINDOW = TimeWindow(0.0, 1.0, 400)
F32 = 4 * float(np.finfo(np.float32).eps)


def frame_of(panels: PanelSet, panel_id: str):
    frames = list(panels.frames(panel_id, WINDOW))
    assert len(frames) == 1
    return frames[0]


def ptp_peak(mean: np.ndarray) -> int:
    return int(np.argmax(mean.max(axis=0) - mean.min(axis=0)))


# -- units' mean waveforms -------------------------------------------------------------------
@pytest.mark.parametrize("row", range(vp.N_UNITS))
def test_unit_waveform_equals_pynwb(nwb, ref, row):
    want_mean = np.asarray(ref.units["waveform_mean"][row])
    want_sd = np.asarray(ref.units["waveform_sd"][row])
    wave = UnitWaveforms(nwb, "/units").unit(row)
    np.testing.assert_array_equal(wave.mean, want_mean)
    np.testing.assert_array_equal(wave.sd, want_sd)
    assert wave.rate == ref.units.waveform_rate and wave.unit == ref.units.waveform_unit
    np.testing.assert_allclose(wave.times, np.arange(want_mean.shape[0]) / wave.rate * 1000)
    assert wave.peak == ptp_peak(want_mean) == vp.UNIT_HOME[row]
    # every electrode of the table: channel c is electrode row c
    np.testing.assert_array_equal(wave.electrodes, np.arange(len(ref.electrodes)))
    table = ref.electrodes.to_dataframe()
    want_rows = table.index.get_indexer(ref.units["electrodes"][row].index)
    np.testing.assert_array_equal(wave.unit_electrodes, want_rows)


def test_channels_around_the_peak_are_the_nearest_on_the_probe(nwb, ref):
    table = ref.electrodes.to_dataframe()
    x, y = table["rel_x"].to_numpy(), table["rel_y"].to_numpy()
    wave = UnitWaveforms(nwb, "/units").unit(3)
    chosen = wave.around_peak(5, x, y)
    distance = np.hypot(x - x[wave.peak], y - y[wave.peak])
    assert chosen[0] == wave.peak
    assert sorted(distance[chosen]) == sorted(np.sort(distance)[:5])
    assert wave.around_peak(3) == [wave.peak, wave.peak - 1, wave.peak + 1]  # by number


def test_waveforms_view_draws_the_pynwb_means_at_their_electrodes(nwb, ref):
    row = 2
    panels = PanelSet(nwb)
    doc = panels.open("/units", "waveforms", {"unit": str(int(ref.units.id[row])),
                                              "channels": 6})
    named = models(doc.doc)
    assert {LINES_SOURCE, BANDS_SOURCE, ACG_SOURCE, LOCATION_SOURCE, "option:unit",
            "option:channels"} <= set(named)
    frame = frame_of(panels, doc.panel_id)
    lines = frame.sources[LINES_SOURCE]
    mean = np.asarray(ref.units["waveform_mean"][row])
    sd = np.asarray(ref.units["waveform_sd"][row])
    table = ref.electrodes.to_dataframe()
    assert len(lines["channel"]) == 6 and lines["channel"][0] == vp.UNIT_HOME[row]
    times = np.arange(mean.shape[0]) / ref.units.waveform_rate * 1000
    for k, channel in enumerate(lines["channel"]):
        back = (np.asarray(lines["ys"][k], np.float64) - lines["y0"][k]) / lines["gain"][k]
        tol = F32 * np.abs(np.asarray(lines["ys"][k])).max() / lines["gain"][k]
        np.testing.assert_allclose(back, mean[:, channel], rtol=0, atol=tol)
        t = (np.asarray(lines["xs"][k], np.float64) - lines["x0"][k]) / lines["t_scale"][k]
        np.testing.assert_allclose(t, times, rtol=1e-5, atol=1e-6)
        assert lines["electrode"][k] == channel
        assert lines["y0"][k] == table["rel_y"].iloc[channel]  # at its probe position
        band = np.asarray(frame.sources[BANDS_SOURCE]["ys"][k], np.float64)
        n = mean.shape[0]
        np.testing.assert_allclose((band[:n] - lines["y0"][k]) / lines["gain"][k],
                                   mean[:, channel] + sd[:, channel], rtol=0, atol=tol * 2)
    assert lines["color"][0] == PEAK_COLOR and PEAK_COLOR not in list(lines["color"][1:])
    where = frame.sources[LOCATION_SOURCE]
    assert where["fill"][vp.UNIT_HOME[row]] == PEAK_COLOR
    assert list(np.nonzero(where["fill"] == PEAK_COLOR)[0]) == [vp.UNIT_HOME[row]]
    np.testing.assert_array_equal(where["x"], table["rel_x"].to_numpy())
    acg = frame.sources[ACG_SOURCE]
    train = np.sort(np.asarray(ref.units["spike_times"][row]))
    lags = (train[None, :] - train[:, None])[~np.eye(len(train), dtype=bool)] * 1000
    edges = np.linspace(-50, 50, 101)
    np.testing.assert_array_equal(acg["count"], np.histogram(lags, edges)[0])
    assert f"peak on channel {vp.UNIT_HOME[row]}" in frame.status


def sparse_copy(path: Path, tmp_path: Path) -> Path:
    """The file with each unit's waveforms cut to its own 4 electrodes (a sparse export)."""
    copy = tmp_path / "sparse.nwb"
    shutil.copy(path, copy)
    means = vp.waveform_means()
    with h5py.File(copy, "a") as f:
        units = f["units"]
        for name, values in (("waveform_mean", means), ("waveform_sd", vp.waveform_sds())):
            attrs = dict(units[name].attrs)
            del units[name]
            cut = np.stack([values[u][:, vp.unit_electrodes()[u]] for u in range(vp.N_UNITS)])
            data = units.create_dataset(name, data=cut)
            for key, value in attrs.items():
                data.attrs[key] = value
    return copy


def test_sparse_waveforms_map_to_the_units_electrodes(path, tmp_path, engine):
    copy = sparse_copy(path, tmp_path)
    with nwbscope.open(copy, engine=engine) as f:
        waves = UnitWaveforms(f, "/units")
        for row in range(vp.N_UNITS):
            wave = waves.unit(row)
            assert wave.n_channels == 4 and not wave.notes
            np.testing.assert_array_equal(wave.electrodes, vp.unit_electrodes()[row])
            assert wave.electrodes[wave.peak] == vp.UNIT_HOME[row]


def test_unexpected_waveform_shapes(path, tmp_path, engine):
    copy = tmp_path / "odd.nwb"
    shutil.copy(path, copy)
    with h5py.File(copy, "a") as f:
        del f["units/waveform_sd"]
        means = f["units/waveform_mean"][()]
        del f["units/waveform_mean"]
        f["units"].create_dataset("waveform_mean", data=means[:, :, :3])  # 3 channels
    with nwbscope.open(copy, engine=engine) as f:
        wave = UnitWaveforms(f, "/units").unit(0)
        assert (wave.electrodes == -1).all() and "electrodes are unknown" in wave.notes[0]
        assert "no waveform_sd" in wave.notes[-1]
        panels = PanelSet(f)
        doc = panels.open("/units", "waveforms")
        frame = frame_of(panels, doc.panel_id)
        lines = frame.sources[LINES_SOURCE]
        np.testing.assert_array_equal(lines["y0"], np.arange(3))  # stacked, not placed
        assert "stacked" in frame.status and frame.sources[BANDS_SOURCE]["xs"] == []
    with h5py.File(copy, "a") as f:
        del f["units/waveform_mean"]
        f["units"].create_dataset("waveform_mean", data=np.zeros((2, 40, 3)))
    with nwbscope.open(copy, engine=engine) as f, pytest.raises(ViewError, match="shape"):
        UnitWaveforms(f, "/units")


def test_units_without_waveform_mean_say_so(bare, engine):
    with nwbscope.open(bare, engine=engine) as f:
        with pytest.raises(ViewError, match="no waveform_mean"):
            PanelSet(f).open("/units", "waveforms")


# -- SpikeEventSeries ------------------------------------------------------------------------
@pytest.mark.parametrize("max_events", [1, 37, 200, 300, 1000])
def test_spike_event_sample_equals_pynwb(nwb, ref, max_events):
    series = ref.acquisition["spike_events"]
    data = np.asarray(series.data[:], dtype=np.float64) * series.conversion + series.offset
    sample = spike_event_sample(nwb.group(vp.PATHS["spike_events"]), max_events)
    n = min(max_events, vp.N_EVENTS)
    assert len(sample.indices) <= n and len(sample.indices) >= n - 10
    assert sample.n_events == vp.N_EVENTS
    assert np.all(np.diff(sample.indices) > 0)
    np.testing.assert_array_equal(sample.data, data[sample.indices])
    np.testing.assert_array_equal(sample.times, np.asarray(series.timestamps[:])[
        sample.indices])
    np.testing.assert_allclose(sample.mean, data[sample.indices].mean(axis=0))
    if max_events < vp.N_EVENTS and max_events >= 10:  # spread over the whole series
        assert sample.indices[0] == 0 and sample.indices[-1] == vp.N_EVENTS - 1


def test_sample_blocks_are_bounded_and_disjoint():
    for n, m in ((0, 5), (5, 5), (1000, 200), (1000, 7), (25, 24), (10**7, 500)):
        runs = sample_blocks(n, m)
        total = sum(b - a for a, b in runs)
        assert total <= m and total >= min(n, m) - 10
        assert all(0 <= a < b <= n for a, b in runs)
        assert all(runs[i][1] <= runs[i + 1][0] for i in range(len(runs) - 1))


def test_spike_events_view_draws_snippets_and_mean(nwb, ref):
    series = ref.acquisition["spike_events"]
    data = np.asarray(series.data[:], dtype=np.float64) * series.conversion + series.offset
    panels = PanelSet(nwb)
    doc = panels.open(vp.PATHS["spike_events"], options={"max_events": 50})
    assert doc.view == "spike_events"
    assert {SNIPPETS_SOURCE, MEANS_SOURCE, "option:max_events"} <= set(models(doc.doc))
    frame = frame_of(panels, doc.panel_id)
    snippets, means = frame.sources[SNIPPETS_SOURCE], frame.sources[MEANS_SOURCE]
    events = np.asarray(snippets["event"]).astype(int)
    assert len(set(events)) == 50 and "50 of 300 events" in frame.status
    for k in range(0, len(events), 17):
        back = (np.asarray(snippets["ys"][k], np.float64) - snippets["y0"][k]) / snippets[
            "gain"][k]
        want = data[events[k], snippets["channel"][k]]
        np.testing.assert_allclose(back, want, rtol=0, atol=F32 * 4 / snippets["gain"][k])
    chosen = np.unique(events)
    table = ref.electrodes.to_dataframe()
    for c in range(len(vp.EVENT_ROWS)):
        back = (np.asarray(means["ys"][c], np.float64) - means["y0"][c]) / means["gain"][c]
        np.testing.assert_allclose(back, data[chosen, c].mean(axis=0), rtol=0,
                                   atol=F32 * 4 / means["gain"][c])
        assert means["label"][c].split(" ")[0] == str(table.index[vp.EVENT_ROWS[c]])


def test_stacked_option_and_unit_choices(nwb, ref):
    panels = PanelSet(nwb)
    doc = panels.open("/units", "waveforms", {"stacked": True, "channels": 3})
    choices = models(doc.doc)["option:unit"]["attributes"]["options"]
    counts = [len(ref.units["spike_times"][r]) for r in range(vp.N_UNITS)]
    assert [c[1] for c in choices] == [f"unit {int(i)} · {n} spikes"
                                       for i, n in zip(ref.units.id[:], counts, strict=True)]
    lines = frame_of(panels, doc.panel_id).sources[LINES_SOURCE]
    np.testing.assert_array_equal(lines["y0"], [0, 1, 2])
    np.testing.assert_array_equal(lines["x0"], [0, 0, 0])
    mean = np.asarray(ref.units["waveform_mean"][0])
    for k, channel in enumerate(lines["channel"]):
        back = (np.asarray(lines["ys"][k], np.float64) - lines["y0"][k]) / lines["gain"][k]
        np.testing.assert_allclose(back, mean[:, channel], rtol=0,
                                   atol=F32 * 2 / lines["gain"][k])


def test_many_channels_bound_the_snippets(path, tmp_path, engine, monkeypatch):
    from nwbscope.views import waveforms

    monkeypatch.setattr(waveforms, "MAX_LINES", 40)  # 4 channels: at most 10 events
    with nwbscope.open(path, engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open(vp.PATHS["spike_events"])
        frame = frame_of(panels, doc.panel_id)
    assert len(frame.sources[SNIPPETS_SOURCE]["xs"]) == 40
    assert "at most 10 events" in frame.notes[0] and "10 of 300 events" in frame.status


def test_spike_event_shapes(path, tmp_path, engine):
    """(events, samples) is one channel; any other rank is refused with its shape."""
    copy = tmp_path / "events.nwb"
    shutil.copy(path, copy)
    _, data = vp.spike_event_data()
    with h5py.File(copy, "a") as f:
        del f["acquisition/spike_events/data"]
        f["acquisition/spike_events"].create_dataset("data", data=data[:, 0, :])
    with nwbscope.open(copy, engine=engine) as f:
        sample = spike_event_sample(f.group(vp.PATHS["spike_events"]), 1000)
        np.testing.assert_array_equal(sample.data[:, 0], data[:, 0, :].astype(np.float64))
        assert sample.data.shape == (vp.N_EVENTS, 1, vp.EVENT_SAMPLES)
    with h5py.File(copy, "a") as f:
        del f["acquisition/spike_events/data"]
        f["acquisition/spike_events"].create_dataset("data", data=data.ravel())
    with nwbscope.open(copy, engine=engine) as f:
        with pytest.raises(ViewError, match=r"shape \[38400\]"):
            spike_event_sample(f.group(vp.PATHS["spike_events"]), 10)
        with pytest.raises(ViewError, match="expected"):
            PanelSet(f).open(vp.PATHS["spike_events"], "spike_events")
