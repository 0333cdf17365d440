"""Event-aligned data step: alignment times, PSTH and raster counts, aligned TimeSeries.

Expected counts are direct numpy counts per trial and unit on the fixture's spike trains;
expected traces are ``np.interp`` over the fixture's whole series.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nwbscope.errors import ParameterError
from nwbscope.views.data.psth import (
    align_to_events,
    align_to_intervals,
    aligned_traces,
    psth,
)
from nwbscope.views.data.units import UnitsTable
from tests.fixtures import view_units_files as vu


@pytest.fixture(scope="module")
def units(nwb):
    return UnitsTable(nwb)


def _direct(trains, rows, events, groups, n_groups, pre, post, bin_s):
    """Per group, the histogram of every spike's time relative to each of its trials."""
    n_bins = int(round((post - pre) / bin_s))
    edges = np.linspace(pre, post, n_bins + 1)
    counts = np.zeros((n_groups, n_bins), dtype=np.int64)
    for event, group in zip(events, groups, strict=True):
        for row in rows:
            rel = trains[row] - event
            counts[group] += np.histogram(rel[(rel >= pre) & (rel < post)], edges)[0]
    return counts


def test_align_to_trial_starts_grouped_by_condition(nwb, ref):
    align = align_to_intervals(nwb, vu.PATHS["trials"], "start_time", group_by="condition")
    np.testing.assert_array_equal(align.times, ref.trials["start_time"][:])
    conditions = list(ref.trials["condition"][:])
    assert align.group_labels == tuple(sorted(set(conditions)))
    assert [align.group_labels[g] for g in align.groups] == conditions
    rows = align.display_rows  # grouped, then in time
    order = np.argsort(rows)
    assert list(align.groups[order]) == sorted(align.groups)


def test_psth_counts_equal_direct_count(nwb, units, ref):
    align = align_to_intervals(nwb, vu.PATHS["trials"], "start_time", group_by="condition")
    rows = [0, 3, 11]
    result = psth(units, align, rows, pre=-0.5, post=1.0, bin_s=0.05)
    trains = vu.unit_spike_times()
    expected = _direct(trains, rows, align.times, align.groups, 3, -0.5, 1.0, 0.05)
    assert expected.sum() > 100
    np.testing.assert_array_equal(result.counts, expected)
    n_trials = np.bincount(align.groups, minlength=3)
    np.testing.assert_array_equal(result.n_trials, n_trials)
    np.testing.assert_allclose(result.rate_hz, expected / (n_trials[:, None] * 3 * 0.05))
    np.testing.assert_allclose(result.edges, np.linspace(-0.5, 1.0, 31))


def test_psth_raster_entries(nwb, units):
    align = align_to_intervals(nwb, vu.PATHS["trials"], "stop_time")
    rows = [2, 9]
    result = psth(units, align, rows, pre=-0.25, post=0.5, bin_s=0.01)
    assert result.raster_complete and result.n_spikes == len(result.raster_time)
    trains = vu.unit_spike_times()
    for trial, event in enumerate(align.times):
        for k, row in enumerate(rows):
            rel = trains[row] - event
            expected = rel[(rel >= -0.25) & (rel < 0.5)]
            mine = result.raster_time[(result.raster_trial == trial) & (result.raster_unit == k)]
            np.testing.assert_array_equal(mine, expected)
    np.testing.assert_array_equal(result.raster_y, align.display_rows[result.raster_trial])


def test_raster_limit_keeps_the_histogram(nwb, units):
    align = align_to_intervals(nwb, vu.PATHS["trials"])
    full = psth(units, align, pre=-1.0, post=1.0, bin_s=0.1)
    cut = psth(units, align, pre=-1.0, post=1.0, bin_s=0.1, raster_limit=full.n_spikes - 1)
    assert full.raster_complete and not cut.raster_complete
    assert cut.raster_time.size == 0
    np.testing.assert_array_equal(cut.counts, full.counts)
    assert full.counts.sum() == full.n_spikes == len(full.raster_time)


def test_align_to_a_number_column_and_to_events(nwb, units, ref):
    align = align_to_intervals(nwb, vu.PATHS["trials"], "response_time")
    np.testing.assert_array_equal(align.times, ref.trials["response_time"][:])
    ttl = ref.acquisition["ttl"]
    labels = list(ttl.data__labels)
    rewards = align_to_events(nwb, vu.PATHS["ttl"], labels=["reward"])
    expected = np.asarray(ttl.timestamps[:], dtype=np.float64)[
        np.asarray(ttl.data[:]) == labels.index("reward")]
    np.testing.assert_array_equal(rewards.times, expected)
    assert rewards.group_labels == ("reward",)
    stimuli = align_to_events(nwb, vu.PATHS["events_table"])
    table = ref.events["stimulus_onsets"]
    np.testing.assert_array_equal(stimuli.times, table["timestamp"][:])
    assert [stimuli.group_labels[g] for g in stimuli.groups] == list(table["stimulus"][:])
    result = psth(units, stimuli, [5], pre=-0.2, post=0.8, bin_s=0.1)
    expected_counts = _direct(vu.unit_spike_times(), [5], stimuli.times, stimuli.groups,
                              len(stimuli.group_labels), -0.2, 0.8, 0.1)
    np.testing.assert_array_equal(result.counts, expected_counts)


def test_bad_alignment_parameters(nwb, units):
    with pytest.raises(ParameterError, match="start_time"):
        align_to_intervals(nwb, vu.PATHS["trials"], "condition")
    align = align_to_intervals(nwb, vu.PATHS["trials"])
    with pytest.raises(ParameterError):
        psth(units, align, pre=1.0, post=0.5)
    with pytest.raises(ParameterError):
        psth(units, align, bin_s=-1)


def _expected_traces(times, values, events, grid):
    out = np.full((len(events), len(grid)), np.nan)
    for k, event in enumerate(events):
        at = grid + event
        inside = (at >= times[0]) & (at <= times[-1])
        out[k, inside] = np.interp(at[inside], times, values)
    return out


def _check_mean_sem(traces, groups, n_groups, result):
    for g in range(n_groups):
        block = traces[groups == g]
        n = (~np.isnan(block)).sum(axis=0)
        with warnings.catch_warnings():  # all-NaN columns: numpy warns, the answer is NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(block, axis=0)
            sem = np.nanstd(block, axis=0, ddof=1) / np.sqrt(n)
        np.testing.assert_allclose(result.mean[g], mean, equal_nan=True, rtol=1e-9)
        np.testing.assert_allclose(result.sem[g], np.where(n > 1, sem, np.nan),
                                   equal_nan=True, rtol=1e-7)
        np.testing.assert_array_equal(result.n_valid[g], n)


def test_aligned_rate_series(nwb):
    align = align_to_intervals(nwb, vu.PATHS["trials"], group_by="condition")
    result = aligned_traces(nwb, vu.PATHS["speed"], align, pre=-0.5, post=1.0, channel=1)
    step = 1.0 / vu.SPEED_RATE
    np.testing.assert_allclose(result.rel_time, -0.5 + np.arange(151) * step)
    times = vu.SPEED_START + np.arange(vu.SPEED_SAMPLES) / vu.SPEED_RATE
    expected = _expected_traces(times, vu.speed_data()[:, 1], align.times, result.rel_time)
    np.testing.assert_allclose(result.traces, expected, rtol=1e-9, equal_nan=True)
    _check_mean_sem(result.traces, align.groups, 3, result)
    assert result.unit == "m/s"


def test_aligned_timestamps_series_with_gaps_past_its_end(nwb):
    align = align_to_intervals(nwb, vu.PATHS["trials"], group_by="condition")
    result = aligned_traces(nwb, vu.PATHS["pupil"], align, pre=-0.5, post=1.0,
                            max_points=60)
    assert len(result.rel_time) <= 60
    stamps = vu.pupil_timestamps()
    expected = _expected_traces(stamps, vu.pupil_data(), align.times, result.rel_time)
    assert np.isnan(expected[-1]).all()  # the last trial is after the pupil recording
    np.testing.assert_allclose(result.traces, expected, rtol=1e-9, atol=1e-12,
                               equal_nan=True)
    _check_mean_sem(result.traces, align.groups, 3, result)
