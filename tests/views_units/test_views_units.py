"""Units data step: spike times as pynwb reads them, sort/select, raster/density, unit stats.

Expected values come from pynwb's reading of the fixture file, from the fixture's own
recipes, or from direct numpy counts (brute-force pair differences for the ACG).
"""

from __future__ import annotations

import numpy as np
import pytest

import nwbscope
from nwbscope.errors import ParameterError
from nwbscope.views.data import unit_stats
from nwbscope.views.data.units import SPIKE_DENSITY_THRESHOLD, UnitsTable, find_units
from nwbscope.views.window import TimeWindow
from tests.fixtures import view_units_files as vu


@pytest.fixture(scope="module")
def units(nwb):
    return UnitsTable(nwb)


def test_find_units_in_root_and_processing(nwb):
    assert find_units(nwb) == [vu.PATHS["units"], vu.PATHS["sorted_units"]]


def test_every_spike_time_equals_pynwb(units, ref):
    assert units.n_units == len(ref.units)
    for i in range(len(ref.units)):
        np.testing.assert_array_equal(units.unit_spikes(i), ref.units["spike_times"][i])
    index = ref.units["spike_times"]  # hdmf gives the VectorIndex; its target is the data
    np.testing.assert_array_equal(units.spike_times, index.target.data[:])
    np.testing.assert_array_equal(units.spike_index, index.data[:])
    assert units.unit_spikes(vu.EMPTY_UNIT).size == 0


def test_second_units_table(nwb, ref):
    table = UnitsTable(nwb, vu.PATHS["sorted_units"])
    theirs = ref.processing["ecephys"]["sorted_units"]
    for i in range(len(theirs)):
        np.testing.assert_array_equal(table.unit_spikes(i), theirs["spike_times"][i])


def test_spikes_are_read_once(nwb):
    table = UnitsTable(nwb)
    table.raster(TimeWindow(0, 10))
    before = nwb.stats["reads"]
    table.raster(TimeWindow(10, 30, 200))
    table.autocorrelogram(0)
    assert nwb.stats["reads"] == before


def test_unsorted_spikes_are_sorted_within_each_unit(tmp_path):
    trains = vu.write_unsorted_units(tmp_path / "unsorted.nwb")
    with nwbscope.open(tmp_path / "unsorted.nwb", engine="pyfive") as f:
        table = UnitsTable(f)
        for i, train in enumerate(trains):
            np.testing.assert_array_equal(table.unit_spikes(i), np.sort(train))


def test_column_values(units, ref):
    assert list(units.values("quality")) == list(ref.units["quality"][:])
    np.testing.assert_array_equal(units.values("snr"), ref.units["snr"][:])
    np.testing.assert_array_equal(units.values("id"), ref.units.id[:])
    np.testing.assert_array_equal(units.values("n_spikes"),
                                  [len(t) for t in ref.units["spike_times"][:]])
    locations = ref.electrodes["location"][:]
    expected = [", ".join(dict.fromkeys(locations[r] for r in rows))
                for rows in vu.unit_electrodes()]
    assert list(units.values("electrodes.location")) == expected
    depth = ref.electrodes["y"][:]
    mean_depth = [np.mean([depth[r] for r in rows]) for rows in vu.unit_electrodes()]
    np.testing.assert_allclose(units.values("electrodes.y"), mean_depth)
    np.testing.assert_array_equal(units.sort_units("electrodes.y"),
                                  np.argsort(mean_depth, kind="stable"))
    kinds = {c.name: c.kind for c in units.columns}
    assert kinds["electrodes.y"] == "numeric" and kinds["electrodes.location"] == "text"
    names = set(kinds)
    assert {"quality", "location", "snr", "electrodes", "electrodes.location",
            "firing_rate_hz"} <= names
    assert "spike_times" not in names


def test_unknown_column_says_which_exist(units):
    with pytest.raises(ParameterError, match="quality"):
        units.values("nonsense")


def test_sort_units(units):
    snr = vu.unit_snr()
    np.testing.assert_array_equal(units.sort_units("snr", descending=True),
                                  np.argsort(-snr, kind="stable"))
    quality = vu.unit_quality()
    assert list(units.sort_units("quality")) == sorted(range(vu.N_UNITS),
                                                       key=lambda i: quality[i])
    counts = [len(t) for t in vu.unit_spike_times()]
    np.testing.assert_array_equal(units.sort_units("n_spikes"),
                                  np.argsort(counts, kind="stable"))


def test_select_units(units):
    quality = vu.unit_quality()
    good = [i for i in range(vu.N_UNITS) if quality[i] == "good"]
    np.testing.assert_array_equal(units.select_units("quality", ["good"]), good)
    snr = vu.unit_snr()
    in_range = np.nonzero((snr >= 5) & (snr <= 9))[0]
    np.testing.assert_array_equal(units.select_units("snr", value_range=(5, 9)), in_range)
    both = units.select_units("snr", value_range=(5, 9), rows=units.sort_units("quality"))
    assert sorted(both) == list(in_range)
    assert [quality[i] for i in both] == sorted(quality[i] for i in both)  # order is kept
    with pytest.raises(ParameterError):
        units.select_units("quality", value_range=(0, 1))


def test_raster_spikes_in_sort_order(units):
    window = TimeWindow(10.0, 20.0, 500)
    rows = units.sort_units("snr", descending=True)[:12]
    raster = units.raster(window, rows)
    assert raster.mode == "spikes"
    expected_total = 0
    for k, row in enumerate(rows):
        t = vu.unit_spike_times()[row]
        inside = t[(t >= window.start) & (t < window.end)]
        np.testing.assert_array_equal(raster.times[raster.y == k], inside)
        expected_total += len(inside)
    assert raster.n_spikes == expected_total == len(raster.times)
    np.testing.assert_array_equal(raster.unit_ids, 100 + rows)


def test_raster_density_above_threshold(units):
    window = TimeWindow(0.0, vu.DURATION, 300)
    trains = vu.unit_spike_times()
    total = sum(int(((t >= 0) & (t < vu.DURATION)).sum()) for t in trains)
    assert total > SPIKE_DENSITY_THRESHOLD  # the fixture is big enough to switch
    raster = units.raster(window)
    assert raster.mode == "density" and raster.n_spikes == total
    edges = np.linspace(window.start, window.end, window.width_px + 1)
    assert raster.counts.shape == (vu.N_UNITS, window.width_px)
    for row, t in enumerate(trains):
        expected = np.histogram(t[(t >= window.start) & (t < window.end)], edges)[0]
        np.testing.assert_array_equal(raster.counts[row], expected)
    fewer = units.raster(window, max_bins=50)
    assert fewer.counts.shape == (vu.N_UNITS, 50)
    assert int(fewer.counts.sum()) == total


def test_density_switch_is_at_the_threshold(units):
    window = TimeWindow(5.0, 25.0, 100)
    n = units.raster(window).n_spikes
    assert units.raster(window, threshold=n).mode == "spikes"
    assert units.raster(window, threshold=n - 1).mode == "density"
    zoomed = units.raster(TimeWindow(5.0, 6.0, 100), threshold=n - 1)
    assert zoomed.mode == "spikes"  # zooming in brings the spikes back


def test_firing_rate_counts_and_smoothing(units):
    t = vu.unit_spike_times()[3]
    window = TimeWindow(0.0, vu.DURATION)
    rate = units.firing_rate(3, window, bin_s=0.5)
    edges = np.linspace(0, vu.DURATION, 121)
    np.testing.assert_allclose(rate.edges, edges)
    np.testing.assert_array_equal(rate.counts, np.histogram(t, edges)[0])
    np.testing.assert_allclose(rate.rate_hz, rate.counts / 0.5)
    smooth = units.firing_rate(3, window, bin_s=0.5, sigma_s=1.0)
    sigma_bins = 2.0
    x = np.arange(-8, 9)
    kernel = np.exp(-0.5 * (x / sigma_bins) ** 2)
    kernel /= kernel.sum()
    direct = [np.dot(rate.rate_hz[i - 8: i + 9], kernel) for i in range(8, 112)]
    np.testing.assert_allclose(smooth.rate_hz[8:112], direct)


def test_smoothing_keeps_a_constant_rate_at_the_edges():
    flat = unit_stats.gaussian_smooth(np.full(30, 4.0), 3.0)
    np.testing.assert_allclose(flat, 4.0)
    short = unit_stats.gaussian_smooth(np.full(3, 2.0), 5.0)  # shorter than the kernel
    np.testing.assert_allclose(short, 2.0)


def _brute_acg(t: np.ndarray, window_ms: float, bin_ms: float) -> np.ndarray:
    lags = t[None, :] - t[:, None]
    off = ~np.eye(len(t), dtype=bool)
    n = int(round(2 * window_ms / bin_ms))
    edges = np.linspace(-window_ms, window_ms, n + 1) / 1000.0
    return np.histogram(lags[off], edges)[0]


@pytest.mark.parametrize("row", [0, 4])
def test_autocorrelogram_equals_brute_force(units, row):
    t = vu.unit_spike_times()[row]
    acg = units.autocorrelogram(row, window_ms=30.0, bin_ms=0.5)
    np.testing.assert_array_equal(acg.counts, _brute_acg(t, 30.0, 0.5))
    np.testing.assert_array_equal(acg.counts, acg.counts[::-1])
    assert acg.n_spikes == len(t)


def test_autocorrelogram_with_equal_times_and_small_chunks(monkeypatch):
    t = np.array([0.0, 0.001, 0.001, 0.0015, 0.004, 0.0041, 0.02, 0.0201, 0.0202])
    expected = _brute_acg(t, 10.0, 1.0)
    assert expected.sum() > 0
    monkeypatch.setattr(unit_stats, "ACG_PAIR_CHUNK", 2)
    np.testing.assert_array_equal(unit_stats.autocorrelogram(t, 10.0, 1.0).counts, expected)
    assert unit_stats.autocorrelogram(np.zeros(0)).counts.sum() == 0


@pytest.mark.parametrize("log", [False, True])
def test_isi_histogram(units, log):
    t = vu.unit_spike_times()[5]
    isi = units.isi_histogram(5, n_bins=40, max_s=0.2, log=log, min_s=1e-3)
    if log:
        edges = np.logspace(-3, np.log10(0.2), 41)
    else:
        edges = np.linspace(0, 0.2, 41)
    np.testing.assert_allclose(isi.edges_s, edges)
    np.testing.assert_array_equal(isi.counts, np.histogram(np.diff(t), edges)[0])
    assert isi.n_intervals == len(t) - 1
    assert isi.n_refractory == int((np.diff(t) < 0.0015).sum())


def test_empty_unit(units):
    assert units.autocorrelogram(vu.EMPTY_UNIT).counts.sum() == 0
    assert units.isi_histogram(vu.EMPTY_UNIT).n_intervals == 0
    raster = units.raster(TimeWindow(0, 60), np.array([vu.EMPTY_UNIT]))
    assert raster.mode == "spikes" and raster.n_spikes == 0


def test_bad_parameters(units):
    with pytest.raises(ParameterError):
        units.unit_spikes(vu.N_UNITS)
    with pytest.raises(ParameterError):
        units.autocorrelogram(0, window_ms=50, bin_ms=0)
    with pytest.raises(ParameterError):
        units.raster(TimeWindow(0, 1), np.array([vu.N_UNITS]))
