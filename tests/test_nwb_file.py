"""The NWB model on the fixture files, on both HDF5 engines: metadata, types, time bases, tables.

Expected values come from the recipe's constants (tests/fixtures/nwb_files.py), not from the
file being read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nwbscope.nwb.file import NWBFile, open_nwb
from tests.fixtures import nwb_files as rec

ES = "/acquisition/ElectricalSeries"
ELECTRODES = "/general/extracellular_ephys/electrodes"


@pytest.fixture(scope="module", params=["h5py", "pyfive"])
def rich(request: pytest.FixtureRequest, rich_nwb: Path) -> NWBFile:
    nwb = open_nwb(rich_nwb, engine=request.param)
    yield nwb
    nwb.close()


def test_metadata(rich: NWBFile) -> None:
    meta = rich.metadata
    assert rich.is_nwb
    for key in ("session_description", "identifier", "lab", "institution",
                "experiment_description"):
        assert getattr(meta, key) == rec.RICH[key]
    for key in ("experimenter", "related_publications", "keywords"):
        assert getattr(meta, key) == rec.RICH[key]
    assert meta.session_start_time == rec.SESSION_START.isoformat()
    assert meta.file_create_date == [rec.FILE_CREATE.isoformat()]
    assert meta.nwb_version.startswith("2.")
    assert meta.subject == rec.RICH["subject"]
    assert meta.as_dict()["subject"]["species"] == "Mus musculus"


def test_minimal_metadata(minimal_nwb: Path, engine: str) -> None:
    with open_nwb(minimal_nwb, engine=engine) as nwb:
        meta = nwb.metadata
        assert (meta.session_description, meta.identifier) == ("minimal", "nwbscope-minimal")
        assert meta.experimenter == [] and meta.keywords == [] and meta.subject is None
        assert meta.lab is None


def test_types_and_extension_ancestors(rich: NWBFile) -> None:
    assert rich.neurodata_type(ES) == ("ElectricalSeries", "core")
    assert rich.neurodata_type("/acquisition/tetrode0") == (rec.EXT_TYPE, rec.EXT_NAMESPACE)
    assert rich.ancestors("/acquisition/tetrode0") == [
        "ElectricalSeries", "TimeSeries", "NWBDataInterface", "NWBContainer", "Container"]
    assert rich.is_a("/acquisition/tetrode0", "TimeSeries")
    assert rich.is_a("/processing/behavior/Position/position", "TimeSeries")
    assert not rich.is_a("/units", "TimeSeries")
    assert rich.is_a("/units", "DynamicTable")
    assert rich.is_a(f"{ES}/electrodes", "VectorData")
    assert rich.types.namespaces[rec.EXT_NAMESPACE] == "0.1.0"
    assert set(rich.types.namespaces) >= {"core", "hdmf-common", rec.EXT_NAMESPACE}
    assert rich.types.doc(rec.EXT_TYPE) == "An ElectricalSeries recorded from one tetrode."
    assert rich.types.warnings == []


def test_timebase_rate(rich: NWBFile) -> None:
    es = rich.timebase(ES)
    assert (es.kind, es.n_samples, es.rate, es.start) == ("rate", rec.ES_SHAPE[0],
                                                          rec.ES_RATE, 0.0)
    assert es.duration == pytest.approx(rec.ES_SHAPE[0] / rec.ES_RATE)
    temp = rich.timebase("/acquisition/temperature")
    assert temp.start == rec.TEMP_START and temp.n_samples == 100
    assert temp.stop == pytest.approx(rec.TEMP_START + 99 / rec.TEMP_RATE)
    video = rich.timebase("/acquisition/video")
    assert (video.n_samples, video.rate) == (rec.VIDEO_FRAMES, 30.0)
    assert rich.timebase("/units") is None


def test_timebase_timestamps_and_link(rich: NWBFile) -> None:
    stamps = rec.event_timestamps()
    for path in ("/acquisition/events", "/acquisition/events_smoothed"):
        base = rich.timebase(path)
        assert (base.kind, base.n_samples) == ("timestamps", 50)
        assert (base.start, base.stop) == (stamps[0], stamps[-1])
        assert base.duration == pytest.approx(stamps[-1] - stamps[0])
    from nwbscope.nwb.timebase import sample_times

    np.testing.assert_array_equal(
        sample_times(rich["/acquisition/events_smoothed"], 3, 6), stamps[3:6])
    np.testing.assert_allclose(sample_times(rich[ES], 10, 12), [10 / rec.ES_RATE,
                                                               11 / rec.ES_RATE])


def test_units_table(rich: NWBFile) -> None:
    units = rich.table("/units")
    assert units.n_rows == rec.N_UNITS
    assert units.colnames == ["quality", "spike_times", "electrodes"]
    spikes = units.column("spike_times")
    assert (spikes.kind, spikes.ragged, spikes.dtype) == ("ragged_data", 1, "float64")
    assert spikes.index_paths == ("/units/spike_times_index",)
    expected = rec.spike_times()
    for row in (0, 3, rec.N_UNITS - 1):
        np.testing.assert_array_equal(units.cell("spike_times", row), expected[row])
    region = units.column("electrodes")
    assert (region.kind, region.target_table) == ("ragged_region", ELECTRODES)
    assert list(units.cell("electrodes", 2)) == [2, 3]
    assert units.cell("quality", 1) == "mua"
    head = units.head("spike_times", 3, max_values=15)  # 10, 17, 24 spikes: each row cut alone
    assert head.cut and len(head.values) == 3
    np.testing.assert_array_equal(head.values[0], expected[0])
    np.testing.assert_array_equal(head.values[1], expected[1][:15])
    np.testing.assert_array_equal(head.values[2], expected[2][:15])
    assert (head.lengths, head.more) == ([10, 17, 24], [0, 2, 9])
    assert list(units.ids()) == list(range(rec.N_UNITS))


def test_trials_epochs_and_regions(rich: NWBFile) -> None:
    trials = rich.table("/intervals/trials")
    assert trials.n_rows == rec.N_TRIALS
    assert trials.colnames == ["start_time", "stop_time", "correct", "stimulus", "reward_ml"]
    want = rec.trial_rows()[5]
    assert trials.cell("stimulus", 5) == want["stimulus"]
    assert bool(trials.cell("correct", 5)) is want["correct"]
    assert trials.cell("reward_ml", 5) == pytest.approx(want["reward_ml"])
    epochs = rich.table("/intervals/epochs")
    assert list(epochs.cell("tags", 1)) == ["running", "reward"]
    electrodes = rich.table(ELECTRODES)
    assert electrodes.n_rows == rec.ES_SHAPE[1]
    assert electrodes.cell("group", 0).path == "/general/extracellular_ephys/shank0"
    assert electrodes.cell("y", 4) == 80.0
    assert not rich.is_table(ES)


def test_stats_count_reads(rich_nwb: Path, engine: str) -> None:
    with open_nwb(rich_nwb, engine=engine) as nwb:
        before = nwb.stats
        assert before["requests"] >= 1
        nwb.metadata  # noqa: B018 - reading it is the point
        after = nwb.stats
        assert after["requests"] >= before["requests"]
        assert 0 < after["bytes"] <= rich_nwb.stat().st_size
        assert nwb.size == rich_nwb.stat().st_size


def test_plain_hdf5_is_not_nwb(plain_hdf5: Path, engine: str) -> None:
    with open_nwb(plain_hdf5, engine=engine) as nwb:
        assert not nwb.is_nwb
        assert nwb.metadata.identifier is None
        names = [entry.name for entry in nwb.children("/")]
        assert names == ["measurements", "empty", "shortcut"]
        assert nwb["/shortcut"].shape == rec.PLAIN_HDF5["signal_shape"]


def test_timestamps_span_reads_first_and_last_only(tmp_path: Path, engine: str) -> None:
    """A long timestamps array (1.6 MB here) costs two small reads, not a download."""
    import h5py

    path = tmp_path / "long_timestamps.h5"
    stamps = 0.25 + np.arange(200_000) / 1000.0
    with h5py.File(path, "w") as f:
        series = f.create_group("series")
        series.attrs["neurodata_type"] = "TimeSeries"
        series.create_dataset("data", shape=(200_000,), dtype="f4", chunks=(10_000,))
        series.create_dataset("timestamps", data=stamps)
    with open_nwb(path, engine=engine, block_size=4096, readahead_max=4096) as nwb:
        series = nwb["/series"]
        assert "timestamps" in series and "data" in series  # metadata read first
        before = nwb.stats["bytes"]
        base = nwb.timebase("/series")
        fetched = nwb.stats["bytes"] - before
    assert (base.n_samples, base.start, base.stop) == (200_000, stamps[0], stamps[-1])
    assert fetched <= 16 * 1024


def test_doubly_ragged_column(rich: NWBFile) -> None:
    fields = rich.table("/analysis/place_fields")
    laps = fields.column("lap_spikes")
    assert (laps.ragged, laps.kind) == (2, "ragged_data")
    assert laps.index_paths == ("/analysis/place_fields/lap_spikes_index_index",
                                "/analysis/place_fields/lap_spikes_index")
    for row, expected in enumerate(rec.PLACE_LAPS):
        cell = fields.cell("lap_spikes", row)
        assert [list(lap) for lap in cell] == expected
    head = fields.head("lap_spikes", 5)
    assert not head.cut and [[list(lap) for lap in r] for r in head.values] == rec.PLACE_LAPS
    assert fields.cell("center_m", 2) == rec.PLACE_CENTERS[2]


def test_damaged_specification_is_a_warning(tmp_path: Path, engine: str) -> None:
    import json

    import h5py

    path = tmp_path / "bad_spec.nwb"
    ext = {"groups": [{"neurodata_type_def": "LickSeries", "neurodata_type_inc": "TimeSeries",
                       "doc": "licks"}]}
    with h5py.File(path, "w") as f:
        f.attrs.update(nwb_version="2.7.0", neurodata_type="NWBFile", namespace="core")
        f["specifications/ndx-licks/0.2.0/ndx-licks.extensions"] = json.dumps(ext)
        f["specifications/ndx-licks/0.2.0/broken"] = "{not json"
        f["specifications/ndx-licks/0.1.0/ndx-licks.extensions"] = "[]"  # older: ignored
        group = f.create_group("acquisition/licks")
        group.attrs.update(neurodata_type="LickSeries", namespace="ndx-licks")
    with open_nwb(path, engine=engine) as nwb:
        assert nwb.ancestors("/acquisition/licks")[:2] == ["TimeSeries", "NWBDataInterface"]
        assert nwb.types.namespaces == {"ndx-licks": "0.2.0"}
        assert len(nwb.types.warnings) == 1
        assert "ndx-licks/0.2.0/broken: not valid JSON" in nwb.types.warnings[0]
