"""``views.data.spectrogram`` against ``scipy.signal.spectrogram`` on the same samples."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy import signal

from nwbscope import open as open_file
from nwbscope.errors import ParameterError
from nwbscope.views.data.series import read_series_time
from nwbscope.views.data.spectrogram import DB_RANGE, spectrogram
from nwbscope.views.window import TimeWindow
from tests.fixtures import view_series_files as vf

LFP = vf.EPHYS["lfp"]


@pytest.fixture(scope="module")
def files(nwb_dir: Path) -> tuple[Path, Path]:
    return vf.ensure_files(nwb_dir)


def _scipy(x: np.ndarray, fs: float, nperseg: int, noverlap: int):
    return signal.spectrogram(x, fs=fs, window="hann", nperseg=nperseg, noverlap=noverlap,
                              scaling="density", mode="psd")


def _rows(times: np.ndarray, window: TimeWindow) -> tuple[int, int]:
    inside = np.flatnonzero((times >= window.start) & (times < window.end))
    return int(inside[0]), int(inside[-1]) + 1


@pytest.mark.parametrize(("nperseg", "overlap", "fmin", "fmax"), [
    (256, 0.5, 0.0, None), (255, 0.25, 5.0, 120.0), (128, 0.0, 30.0, 80.0)])
def test_matches_scipy(files, engine: str, nperseg: int, overlap: float, fmin: float,
                       fmax: float | None) -> None:
    channel = 3
    x_all = vf.lfp_data()[:, channel].astype(np.float64)
    times = LFP["start"] + np.arange(x_all.size) / LFP["rate"]
    window = TimeWindow(2.3456, 9.87, 400)
    i0, i1 = _rows(times, window)
    with open_file(files[0], engine=engine) as f:
        spec = spectrogram(read_series_time(f[LFP["path"]]), window, channel,
                           nperseg=nperseg, overlap=overlap, fmin=fmin, fmax=fmax)
    assert spec.noverlap == int(np.floor(overlap * nperseg)) and spec.fs == LFP["rate"]
    freqs, t, power = _scipy(x_all[i0:i1], LFP["rate"], nperseg, spec.noverlap)
    keep = (freqs >= fmin) & (freqs <= (fmax if fmax is not None else np.inf))
    assert spec.n_segments_total == t.size <= window.width_px
    np.testing.assert_allclose(spec.freqs, freqs[keep], rtol=1e-12)
    np.testing.assert_allclose(spec.times, times[i0] + t, rtol=0, atol=1e-9)
    np.testing.assert_allclose(spec.power, power[keep], rtol=1e-6, atol=0)
    assert spec.power.shape == (keep.sum(), t.size) and spec.warnings == ()
    db = 10 * np.log10(power[keep])
    shown = db > db.max() - DB_RANGE
    np.testing.assert_allclose(spec.power_db[shown], db[shown], rtol=1e-5, atol=1e-4)
    peak = spec.freqs[np.argmax(spec.power.mean(axis=1))]  # the 7 Hz or the channel's sine
    assert min(abs(peak - 7.0), abs(peak - (40.0 + 5 * channel))) <= 2 * LFP["rate"] / nperseg


def test_segments_are_capped_and_each_is_exact(files, engine: str) -> None:
    x_all = vf.lfp_data()[:, 0].astype(np.float64)
    times = LFP["start"] + np.arange(x_all.size) / LFP["rate"]
    window = TimeWindow(0.0, 20.0, 800)
    i0, i1 = _rows(times, window)
    with open_file(files[0], engine=engine) as f:
        spec = spectrogram(read_series_time(f[LFP["path"]]), window, 0, nperseg=64,
                           overlap=0.5, max_times=50)
    freqs, t, power = _scipy(x_all[i0:i1], LFP["rate"], 64, spec.noverlap)
    assert spec.times.size == 50 < t.size == spec.n_segments_total
    assert any("evenly spaced" in w for w in spec.warnings)
    picked = (spec.segment_starts - i0) // (64 - spec.noverlap)
    assert picked[0] == 0 and picked[-1] == t.size - 1
    np.testing.assert_allclose(spec.power, power[:, picked], rtol=1e-6)
    np.testing.assert_allclose(spec.times, times[i0] + t[picked], atol=1e-9)


def test_segment_in_seconds_and_width_cap(files, engine: str) -> None:
    window = TimeWindow(1.0, 19.0, 30)
    with open_file(files[0], engine=engine) as f:
        spec = spectrogram(read_series_time(f[LFP["path"]]), window, 7, segment_s=0.25)
    assert spec.nperseg == round(0.25 * LFP["rate"]) and spec.times.size <= 30


def test_conversion_applied(files, engine: str) -> None:
    """A negative channel factor and an offset: the density of the converted values."""
    odd = vf.ODD["converted"]
    with h5py.File(files[1], "r") as raw:
        stored = raw[odd["path"]]["data"][:, 2].astype(np.float64)
    values = stored * odd["conversion"] * odd["channel_conversion"][2] + odd["offset"]
    times = odd["start"] + np.arange(values.size) / odd["rate"]
    window = TimeWindow(0.3, 1.9, 300)
    i0, i1 = _rows(times, window)
    with open_file(files[1], engine=engine) as f:
        spec = spectrogram(read_series_time(f[odd["path"]]), window, 2, nperseg=200)
    _, _, power = _scipy(values[i0:i1], odd["rate"], 200, spec.noverlap)
    np.testing.assert_allclose(spec.power, power, rtol=1e-6)
    assert spec.unit == "mV^2/Hz"


def test_timestamps_use_the_mean_rate(files, engine: str) -> None:
    name = "irregular_2d"
    stamps = vf.irregular_times(name)
    window = TimeWindow(1.0, 5.0, 100)
    i0, i1 = _rows(stamps, window)
    with open_file(files[0], engine=engine) as f:
        spec = spectrogram(read_series_time(f[vf.EPHYS[name]["path"]]), window, 1,
                           nperseg=64)
    assert spec.fs == pytest.approx((i1 - i0 - 1) / (stamps[i1 - 1] - stamps[i0]))
    assert any("mean rate" in w for w in spec.warnings)
    _, _, power = _scipy(vf.irregular_data(name)[i0:i1, 1], spec.fs, 64, spec.noverlap)
    np.testing.assert_allclose(spec.power, power, rtol=1e-6)
    centres = spec.segment_starts + 32
    np.testing.assert_allclose(spec.times, stamps[centres], atol=1e-12)


def test_short_window_and_bad_parameters(files, engine: str) -> None:
    with open_file(files[0], engine=engine) as f:
        st = read_series_time(f[LFP["path"]])
        empty = spectrogram(st, TimeWindow(5.0, 5.1, 100), nperseg=256)
        assert empty.power.shape[1] == 0 and any("fewer" in w for w in empty.warnings)
        for kwargs in ({"nperseg": 1}, {"overlap": 1.0}, {"segment_s": -1.0}):
            with pytest.raises(ParameterError):
                spectrogram(st, TimeWindow(0.0, 10.0), **kwargs)
