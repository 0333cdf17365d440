"""``views.data.series``: how samples map to seconds and values, on both engines.

Expected values come from the fixture recipes (``EPHYS``/``ODD`` and the generators) or from
numpy over the whole arrays read with h5py, never from the code under test.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from nwbscope import open as open_file
from nwbscope.errors import ParameterError, ViewError
from nwbscope.views.data.series import channel_list, read_series_time, window_indices
from nwbscope.views.window import TimeWindow
from tests.fixtures import view_series_files as vf


@pytest.fixture(scope="module")
def files(nwb_dir: Path) -> tuple[Path, Path]:
    return vf.ensure_files(nwb_dir)


def _series(path: Path, where: str, engine: str, **options):
    f = open_file(path, engine=engine, **options)
    return f, read_series_time(f[where])


@pytest.mark.parametrize("name", ["small_chunks", "wide_chunks", "contiguous", "lfp"])
def test_rate_series_record(files, engine: str, name: str) -> None:
    spec = vf.EPHYS[name]
    f, st = _series(files[0], spec["path"], engine)
    with f:
        assert (st.kind, st.n_samples, st.shape) == ("rate", spec["shape"][0], spec["shape"])
        assert (st.start, st.rate, st.chunks) == (spec["start"], spec["rate"], spec["chunks"])
        assert st.stop == pytest.approx(spec["start"] + (spec["shape"][0] - 1) / spec["rate"])
        assert st.conversion == pytest.approx(spec.get("conversion", 1.0))
        assert st.offset == pytest.approx(spec.get("offset", 0.0))
        assert st.n_channels == spec["shape"][1] and st.unit == "volts"
        factors = np.asarray(spec.get("channel_conversion", np.ones(spec["shape"][1])))
        np.testing.assert_allclose(st.scale, spec.get("conversion", 1.0) * factors)
        assert st.warnings == ()


def test_conversion_offset_channel_conversion(files, engine: str) -> None:
    spec = vf.ODD["converted"]
    f, st = _series(files[1], spec["path"], engine)
    with f:
        raw = vf.odd_converted()[:50]
        want = raw * (spec["conversion"] * np.asarray(spec["channel_conversion"])) + spec[
            "offset"]
        np.testing.assert_allclose(st.values(st.data[:50]), want, rtol=1e-12)
        np.testing.assert_allclose(st.values(st.data[:50, 2:5:2], np.array([2, 4])),
                                   want[:, [2, 4]], rtol=1e-12)
        assert st.unit == "mV"


def test_timestamps_series(files, engine: str) -> None:
    spec = vf.EPHYS["irregular_2d"]
    stamps = vf.irregular_times("irregular_2d")
    f, st = _series(files[0], spec["path"], engine)
    with f:
        assert (st.kind, st.rate, st.n_samples) == ("timestamps", None, spec["shape"][0])
        assert (st.start, st.stop) == (stamps[0], stamps[-1])
        np.testing.assert_array_equal(st.times(100, 140), stamps[100:140])
        assert st.mean_rate == pytest.approx((stamps.size - 1) / (stamps[-1] - stamps[0]))


def _brute_indices(times: np.ndarray, window: TimeWindow) -> tuple[int, int]:
    inside = np.flatnonzero((times >= window.start) & (times < window.end))
    if inside.size == 0:
        i = int(np.count_nonzero(times < window.start))
        return i, i
    return int(inside[0]), int(inside[-1]) + 1


def _windows(times: np.ndarray, rng: np.random.Generator) -> list[TimeWindow]:
    """Random windows, windows with an edge exactly on a sample, and windows off the ends."""
    n = times.size
    out = [TimeWindow(times[0] - 5, times[0] - 1), TimeWindow(times[-1] + 1, times[-1] + 2),
           TimeWindow(times[0] - 1, times[-1] + 1), TimeWindow(times[0], times[-1]),
           TimeWindow(times[n // 3], times[n // 3 + 7])]
    for _ in range(20):
        a, b = np.sort(rng.uniform(times[0] - 0.1, times[-1] + 0.1, 2))
        out.append(TimeWindow(float(a), float(b) + 1e-9))
    for i in rng.integers(1, n - 2, 10):
        out.append(TimeWindow(float(times[i]), float(times[min(n - 1, i + 3)])))
    return out


@pytest.mark.parametrize("name", ["small_chunks", "irregular", "linear"])
def test_window_indices_match_brute_force(files, engine: str, name: str) -> None:
    spec = vf.EPHYS[name]
    with h5py.File(files[0], "r") as raw:
        group = raw[spec["path"]]
        if "timestamps" in group:
            times = group["timestamps"][:]
        else:
            n = group["data"].shape[0]
            times = spec["start"] + np.arange(n, dtype=np.float64) / spec["rate"]
    f, st = _series(files[0], spec["path"], engine)
    with f:
        for window in _windows(times, np.random.default_rng(3)):
            assert window_indices(st, window) == _brute_indices(times, window), window


def test_timestamps_search_reads_few_values(files, engine: str) -> None:
    """200 000 timestamps (1.6 MB): a window's rows cost a few small reads."""
    stamps = vf.long_timestamps()
    f, st = _series(files[1], vf.ODD["long_timestamps"]["path"], engine,
                    block_size=4096, readahead_max=4096)
    with f:
        for a, b in ((50.0, 50.5), (123.4567, 180.0), (10.0, 11.0), (209.5, 300.0)):
            window = TimeWindow(a, b)
            before = f.stats["bytes"]
            got = window_indices(st, window)
            fetched = f.stats["bytes"] - before
            assert got == _brute_indices(stamps, window)
            assert fetched <= 48 * 1024, fetched


def test_search_in_irregular_timestamps_with_a_pause(files, engine: str) -> None:
    stamps = vf.irregular_times("irregular")
    f, st = _series(files[0], vf.EPHYS["irregular"]["path"], engine)
    with f:
        pause = stamps.size // 3
        for t in (stamps[pause] + 0.05, stamps[pause + 2], stamps[pause] - 1e-12):
            assert st.index_at(float(t)) == int(np.searchsorted(stamps, t, side="left"))


def test_starting_time_array_and_nan(files, engine: str) -> None:
    with open_file(files[1], engine=engine) as f:
        arr = read_series_time(f[vf.ODD["start_array"]["path"]])
        assert arr.start == vf.ODD["start_array"]["start"]
        assert arr.rate == vf.ODD["start_array"]["rate"]
        assert any("array of shape (1,)" in w for w in arr.warnings)
        nan = read_series_time(f[vf.ODD["start_nan"]["path"]])
        assert nan.start == 0.0 and any("0 s" in w for w in nan.warnings)
        assert window_indices(nan, TimeWindow(0.0, 1.0)) == (0, 100)


@pytest.mark.parametrize("name", ["short_timestamps", "short_data"])
def test_length_mismatch_uses_common_part(files, engine: str, name: str) -> None:
    spec = vf.ODD[name]
    with open_file(files[1], engine=engine) as f:
        st = read_series_time(f[spec["path"]])
    common = min(spec["n_data"], spec["n_stamps"])
    assert st.n_samples == common
    assert st.stop == pytest.approx((common - 1) / 100.0)
    text = " ".join(st.warnings)
    assert str(spec["n_data"]) in text and str(spec["n_stamps"]) in text
    assert window_indices(st, TimeWindow(0.0, 1e6)) == (0, common)


@pytest.mark.parametrize(("name", "words"), [
    ("data_3d", "(100, 4, 4)"), ("no_timebase", "no time base"), ("no_rate", "rate")])
def test_cannot_draw(files, engine: str, name: str, words: str) -> None:
    with open_file(files[1], engine=engine) as f, pytest.raises(ViewError, match=words):
        read_series_time(f[vf.ODD[name]["path"]])


def test_both_time_bases_prefers_timestamps(files, engine: str) -> None:
    with open_file(files[1], engine=engine) as f:
        st = read_series_time(f[vf.ODD["both"]["path"]])
    assert st.kind == "timestamps" and any("both" in w for w in st.warnings)


def test_channel_list(files, engine: str) -> None:
    f, st = _series(files[0], vf.EPHYS["small_chunks"]["path"], engine)
    with f:
        assert channel_list(st).tolist() == list(range(8))
        assert channel_list(st, [5, 1, 5]).tolist() == [5, 1, 5]
        for bad in ([8], [-1], [], [0.5]):
            with pytest.raises(ParameterError):
                channel_list(st, bad)
