"""TimeIntervals data step: start/stop as pynwb reads them, windows, colour keys, tag text."""

from __future__ import annotations

import numpy as np
import pytest

from nwbscope.errors import ParameterError, ViewError
from nwbscope.views.data.intervals import IntervalsTable, find_intervals
from nwbscope.views.window import TimeWindow
from tests.fixtures import view_units_files as vu


def test_find_intervals(nwb):
    assert sorted(find_intervals(nwb)) == sorted([vu.PATHS["trials"], vu.PATHS["epochs"]])


def test_start_stop_equal_pynwb(nwb, ref):
    trials = IntervalsTable(nwb, vu.PATHS["trials"]).intervals()
    np.testing.assert_array_equal(trials.start, ref.trials["start_time"][:])
    np.testing.assert_array_equal(trials.stop, ref.trials["stop_time"][:])
    np.testing.assert_array_equal(trials.rows, np.arange(vu.N_TRIALS))
    assert trials.n_rows == len(ref.trials)


def test_window_overlap_for_a_big_table_all_for_a_small_one(nwb, ref):
    table = IntervalsTable(nwb, vu.PATHS["trials"])
    window = TimeWindow(10.0, 20.0)
    start, stop = ref.trials["start_time"][:], ref.trials["stop_time"][:]
    overlap = np.nonzero((start < window.end) & (stop >= window.start))[0]
    assert 0 < len(overlap) < vu.N_TRIALS
    some = table.intervals(window, send_all_below=10)
    np.testing.assert_array_equal(some.rows, overlap)
    np.testing.assert_array_equal(some.start, start[overlap])
    assert len(table.intervals(window).rows) == vu.N_TRIALS  # 30 rows: small, sent whole


def test_categorical_and_numeric_colour_keys(nwb, ref):
    table = IntervalsTable(nwb, vu.PATHS["trials"])
    shown = table.intervals(TimeWindow(10.0, 30.0), color_by="condition", send_all_below=0)
    conditions = np.asarray(ref.trials["condition"][:], dtype=object)
    key = shown.color
    assert key.kind == "categorical"
    assert key.labels == tuple(sorted(set(conditions)))
    assert [key.labels[c] for c in key.codes] == list(conditions[shown.rows])
    numeric = table.intervals(color_by="response_time").color
    assert numeric.kind == "numeric"
    np.testing.assert_array_equal(numeric.values, ref.trials["response_time"][:])


def test_ragged_tags_joined_as_text(nwb, ref):
    epochs = IntervalsTable(nwb, vu.PATHS["epochs"])
    shown = epochs.intervals(color_by="tags", text_columns=("tags", "start_time"))
    expected = [", ".join(tags) for tags in ref.epochs["tags"][:]]
    assert shown.text["tags"] == expected
    assert shown.text["start_time"] == [f"{v:.6g}" for v in ref.epochs["start_time"][:]]
    assert [shown.color.labels[c] for c in shown.color.codes] == expected
    kinds = {c.name: c.kind for c in shown.columns}
    assert kinds["tags"] == "ragged" and kinds["start_time"] == "numeric"
    np.testing.assert_array_equal(shown.start, [e[0] for e in vu.EPOCHS])
    assert epochs.span == (vu.EPOCHS[0][0], vu.EPOCHS[-1][1])


def test_columns_for_the_chooser(nwb):
    table = IntervalsTable(nwb, vu.PATHS["trials"])
    kinds = {c.name: c.kind for c in table.columns}
    assert kinds == {"id": "numeric", "start_time": "numeric", "stop_time": "numeric",
                     "condition": "text", "response_time": "numeric"}


def test_not_an_intervals_table(nwb):
    with pytest.raises(ViewError, match="start_time"):
        IntervalsTable(nwb, vu.PATHS["units"])
    with pytest.raises(ParameterError, match="condition"):
        IntervalsTable(nwb, vu.PATHS["trials"]).values("nope")
