"""Alignment overview: one row per time-based object, start/end from the fixture's recipes."""

from __future__ import annotations

import numpy as np
import pytest

import nwbscope
from nwbscope.views.data import alignment as alignment_module
from nwbscope.views.data.alignment import alignment
from tests.fixtures import view_units_files as vu


def _expected() -> dict[str, tuple[float, float, int]]:
    """(start, end, count) of every time-based object, from the recipes that wrote them."""
    spikes = np.concatenate(vu.unit_spike_times())
    sorted_spikes = np.concatenate(vu.sorted_unit_spike_times())
    trials = vu.trial_starts()
    ttl = vu.ttl_events()[0].astype(np.float64)
    table = vu.events_table_rows()
    behavior = vu.behavioral_times()
    pupil = vu.pupil_timestamps()
    notes = [t for _, t in vu.ANNOTATIONS]
    return {
        vu.PATHS["units"]: (spikes.min(), spikes.max(), len(spikes)),
        vu.PATHS["sorted_units"]: (sorted_spikes.min(), sorted_spikes.max(),
                                   len(sorted_spikes)),
        vu.PATHS["trials"]: (trials.min(), (trials + 1.0).max(), vu.N_TRIALS),
        vu.PATHS["epochs"]: (vu.EPOCHS[0][0], vu.EPOCHS[-1][1], len(vu.EPOCHS)),
        vu.PATHS["annotations"]: (notes[0], notes[-1], len(notes)),
        vu.PATHS["laser"]: (vu.LASER_TIMES[0], vu.LASER_TIMES[-1], len(vu.LASER_TIMES)),
        vu.PATHS["ttl"]: (ttl[0], ttl[-1], vu.N_TTL),
        vu.PATHS["events_table"]: (table[0]["timestamp"],
                                   max(r["timestamp"] + r["duration"] for r in table),
                                   len(table)),
        vu.PATHS["licks"]: (behavior["licks"][0], behavior["licks"][-1],
                            len(behavior["licks"])),
        vu.PATHS["rewards"]: (behavior["rewards"][0], behavior["rewards"][-1],
                              len(behavior["rewards"])),
        vu.PATHS["speed"]: (vu.SPEED_START,
                            vu.SPEED_START + (vu.SPEED_SAMPLES - 1) / vu.SPEED_RATE,
                            vu.SPEED_SAMPLES),
        vu.PATHS["pupil"]: (pupil[0], pupil[-1], len(pupil)),
    }


def test_every_time_based_object_once_with_its_span(nwb):
    result = alignment(nwb)
    rows = {row.path: row for row in result.rows}
    assert len(rows) == len(result.rows)  # no object twice
    expected = _expected()
    assert set(rows) == set(expected)  # no electrodes, devices, containers
    for path, (start, end, count) in expected.items():
        row = rows[path]
        assert row.start == pytest.approx(start, abs=1e-12), path
        assert row.end == pytest.approx(end, abs=1e-12), path
        assert row.count == count, path
    assert result.start == min(s for s, _, _ in expected.values())
    assert result.end == max(e for _, e, _ in expected.values())
    assert rows[vu.PATHS["units"]].kind == "units"
    assert rows[vu.PATHS["units"]].note == f"{vu.N_UNITS} units"
    assert rows[vu.PATHS["ttl"]].kind == "events"
    assert rows[vu.PATHS["speed"]].kind == "series"
    assert rows[vu.PATHS["trials"]].neurodata_type == "TimeIntervals"


def test_big_units_table_uses_first_and_last_spikes(nwb, monkeypatch):
    monkeypatch.setattr(alignment_module, "SMALL_READ", 0)
    rows = {row.path: row for row in alignment(nwb).rows}
    spikes = np.concatenate(vu.unit_spike_times())
    assert rows[vu.PATHS["units"]].start == spikes.min()
    assert rows[vu.PATHS["units"]].end == spikes.max()
    assert rows[vu.PATHS["units"]].count == len(spikes)


def test_a_file_without_time_based_objects(tmp_path):
    from tests.fixtures.nwb_files import write_minimal

    with nwbscope.open(write_minimal(tmp_path / "minimal.nwb"), engine="pyfive") as f:
        result = alignment(f)
    assert result.rows == () and result.start is None and result.end is None
