"""Ordinary files sort (issue #10): probe geometry from what the file holds, one resolver of
the series to sort, the sorter's own filter off so nothing filters twice, and the output
keeping the input's electrodes.

The sorts run as a worker runs them (``python -m server_worker.jobs.runner`` in a child
process) through a small wrapper that also reports any filter applied to an already filtered
recording. SpikeInterface's numba kernels are cached between test runs as in
``test_cli_jobs`` (a cold compile is most of a short sort: ~90 s against ~7 s for
Tridesclous2 on 3 s of the demo).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from nwbscope.errors import NotFoundError, ParameterError
from server_worker.demo import write_demo_nwb
from server_worker.inputs import SeriesInfo, list_electrical_series, resolve_series
from server_worker.jobs.folder import JobFolder
from server_worker.jobs.numba_cache import CACHE_ENV
from server_worker.jobs.recording import load_recording
from server_worker.jobs.spec import JobSpec, RecordingOptions
from server_worker.jobs.synthetic import write_ground_truth_nwb
from server_worker.processors.registry import all_processors, available_processors
from server_worker.processors.schema import RECORDING_SCHEMA
from server_worker.processors.validate import validate
from tests.range_server import serve

RAW = "acquisition/ElectricalSeries"
LFP = "processing/ecephys/LFP/LFP"
NUMBA_CACHE = Path(os.environ.get("NWBSCOPE_TEST_NUMBA_CACHE")
                   or Path.home() / ".cache" / "nwbscope" / "test-numba")

#: Runs the job runner with every FilterRecording / CommonReferenceRecording checked: one
#: made on a recording that is already filtered (or referenced) is reported on stderr.
WRAPPER = """
import sys
from server_worker.jobs.numba_cache import enable
enable()
from spikeinterface.preprocessing.common_reference import CommonReferenceRecording
from spikeinterface.preprocessing.filter import FilterRecording

def referenced(rec):
    while rec is not None:
        if isinstance(rec, CommonReferenceRecording):
            return True
        rec = rec.get_parent()
    return False

def checked(cls, test, what):
    original = cls.__init__
    def init(self, recording, *args, **kwargs):
        if test(recording):
            print(f"DOUBLE-{what}: {type(self).__name__} on {recording}", file=sys.stderr,
                  flush=True)
        original(self, recording, *args, **kwargs)
    cls.__init__ = init

checked(FilterRecording, lambda r: r.is_filtered(), "FILTER")
checked(CommonReferenceRecording, referenced, "REFERENCE")
from server_worker.jobs.runner import main
sys.exit(main(sys.argv[1:]))
"""


# ---- files -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("inputs")


@pytest.fixture(scope="module")
def raw_and_lfp(files: Path) -> Path:
    return write_ground_truth_nwb(files / "raw_lfp.nwb", num_channels=8, num_units=3,
                                  duration_s=10.0, with_lfp=True).path


@pytest.fixture(scope="module")
def demo(files: Path) -> Path:
    return write_demo_nwb(files / "demo.nwb")


def electrodes_of(path: Path) -> dict[str, list]:
    """The electrodes table as pynwb reads it: ids, group names, locations, x/y/z..."""
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        frame = nwb.electrodes.to_dataframe()
        table = {"id": [int(i) for i in frame.index]}
        for column in frame.columns:
            if column == "group":
                table["group_description"] = [g.description for g in frame[column]]
                table["group_location"] = [g.location for g in frame[column]]
                table["group_device"] = [g.device.name for g in frame[column]]
            else:
                table[column] = list(frame[column])
        return table


# ---- geometry ----------------------------------------------------------------------------

@pytest.mark.parametrize(("positions", "shanks", "kind"), [
    ("rel_xy", 1, "rel_xy"), ("rel_xy", 2, "rel_xy"), ("xyz", 2, "xyz"), ("none", 1, "linear"),
    ("none", 2, "linear"),
])
def test_geometry_comes_from_what_the_file_holds(tmp_path: Path, positions: str, shanks: int,
                                                 kind: str) -> None:
    truth = write_ground_truth_nwb(tmp_path / "g.nwb", num_channels=8, num_units=2,
                                   duration_s=1.0, positions=positions, num_shanks=shanks)
    said: list[str] = []
    loaded = load_recording(truth.path, RecordingOptions(), "g.nwb", log=said.append)
    assert loaded.geometry.kind == kind and said == [loaded.geometry.message]
    raw = loaded.raw
    assert raw.has_probe() and len(raw.get_probegroup().probes) == 1  # SC2/TDC2 want one
    groups = list(raw.get_channel_groups())
    assert groups == [f"shank{s}" for s in truth.shank_of_channel]
    locations = raw.get_channel_locations()
    if kind == "linear":
        assert "linear layout 20 µm apart" in said[0] and "ignores real geometry" in said[0]
        for shank in range(shanks):
            rows = np.flatnonzero(np.asarray(truth.shank_of_channel) == shank)
            np.testing.assert_allclose(locations[rows, 1], np.arange(len(rows)) * 20.0)
            np.testing.assert_allclose(locations[rows, 0], shank * 1000.0)  # shanks apart
    else:
        np.testing.assert_allclose(locations, truth.locations)  # what the file holds
        assert ("rel_x/rel_y" if kind == "rel_xy" else "x/y columns") in said[0]
    assert loaded.recording.get_channel_groups().tolist() == groups  # kept after slicing


def test_xyz_uses_the_coordinates_that_vary(tmp_path: Path) -> None:
    truth = write_ground_truth_nwb(tmp_path / "yz.nwb", num_channels=8, num_units=2,
                                   duration_s=1.0, positions="xyz")
    with h5py.File(truth.path, "r+") as f:  # x the same for all, depth in y, spread in z
        table = f["general/extracellular_ephys/electrodes"]
        table["z"][:] = truth.locations[:, 0] + 3.0
        table["x"][:] = 7.0
    loaded = load_recording(truth.path, RecordingOptions(), "yz.nwb", log=lambda _: None)
    assert loaded.geometry.kind == "xyz" and "y/z columns" in loaded.geometry.message
    np.testing.assert_allclose(loaded.raw.get_channel_locations(),
                               np.column_stack([truth.locations[:, 1],
                                                truth.locations[:, 0] + 3.0]))


def add_probeinterface_probe(path: Path, positions_um: np.ndarray, channel_of_contact: list[int],
                             unit: str = "millimeter") -> None:
    """Turn the file's device into an ndx-probeinterface ``Probe`` (the layout pynwb writes
    for ``ndx_probeinterface.Probe``: attributes on the device, a ``ContactTable`` in it)."""
    scale = {"micrometer": 1.0, "millimeter": 1e-3}[unit]
    with h5py.File(path, "r+") as f:
        device = f["general/devices/probe"]
        device.attrs.update({"neurodata_type": "Probe", "namespace": "ndx-probeinterface",
                             "ndim": 2, "unit": unit, "model_name": "test probe"})
        table = device.create_group("ContactTable")
        table.attrs.update({
            "neurodata_type": "ContactTable", "namespace": "ndx-probeinterface",
            "description": "Contact Table for ProbeInterface",
            "colnames": np.array(["contact_position", "contact_shape",
                                  "device_channel_index_pi"], dtype=h5py.string_dtype())})
        table["id"] = np.arange(len(positions_um))
        table["contact_position"] = positions_um * scale
        table["contact_shape"] = np.array(["circle"] * len(positions_um),
                                          dtype=h5py.string_dtype())
        table["device_channel_index_pi"] = np.asarray(channel_of_contact)
        device.create_dataset("planar_contour", data=np.array([[-20.0, -20], [60, -20], [60, 200]]))


def test_geometry_from_an_ndx_probeinterface_probe(tmp_path: Path) -> None:
    truth = write_ground_truth_nwb(tmp_path / "pi.nwb", num_channels=8, num_units=2,
                                   duration_s=1.0, positions="none")
    contacts = np.column_stack([np.tile([0.0, 32.0], 4), np.arange(8) * 25.0])  # staggered
    channel_of_contact = [3, 0, 7, 1, 5, 2, 6, 4]  # wired in another order
    add_probeinterface_probe(truth.path, contacts, channel_of_contact)
    loaded = load_recording(truth.path, RecordingOptions(), "pi.nwb", log=lambda _: None)
    assert loaded.geometry.kind == "probeinterface"
    assert "ndx-probeinterface device probe" in loaded.geometry.message
    expected = np.empty_like(contacts)
    expected[channel_of_contact] = contacts  # contact k sits at the channel it is wired to
    np.testing.assert_allclose(loaded.raw.get_channel_locations(), expected)  # mm -> µm


# ---- which series ------------------------------------------------------------------------

def test_series_listed_and_resolved_locally_and_over_http(raw_and_lfp: Path) -> None:
    local = list_electrical_series(raw_and_lfp)
    assert [(s.path, s.shape, s.rate) for s in local] == [
        (RAW, (300000, 8), 30000.0), (LFP, (10000, 8), 1000.0)]
    with serve(raw_and_lfp.parent) as server:
        remote = list_electrical_series(server.url(raw_and_lfp.name))
    assert remote == local
    statuses = {entry[3] for entry in server.log}
    read = sum(entry[4] for entry in server.log)
    assert statuses == {206} and read < raw_and_lfp.stat().st_size / 4, (read, server.log)

    assert resolve_series(local, "/" + LFP, "f.nwb") == LFP
    for wanted in (None, "", "acquisition/LFP"):
        with pytest.raises(ParameterError) as caught:
            resolve_series(local, wanted, "f.nwb")
        message = str(caught.value)
        assert caught.value.field == "recording.electrical_series_path"
        assert f"'{RAW}' (300000 samples x 8 channels, int16, 30000 Hz)" in message
        assert f"'{LFP}' (10000 samples x 8 channels, int16, 1000 Hz)" in message
    with pytest.raises(NotFoundError, match="holds no ElectricalSeries"):
        resolve_series([], None, "f.nwb")
    one = [SeriesInfo(RAW, "ElectricalSeries", (10, 2))]
    assert resolve_series(one, None, "f.nwb") == RAW


def test_extension_subtypes_count_and_spike_events_do_not(tmp_path: Path,
                                                          raw_and_lfp: Path) -> None:
    path = tmp_path / "typed.nwb"
    path.write_bytes(raw_and_lfp.read_bytes())
    spec = {"groups": [{"neurodata_type_def": "TetrodeSeries",
                        "neurodata_type_inc": "ElectricalSeries", "doc": "a tetrode"}]}
    with h5py.File(path, "r+") as f:
        version = f.create_group("specifications/ndx-tetrode/0.1.0")
        version["namespace"] = json.dumps({"namespaces": [{"name": "ndx-tetrode"}]})
        version["ndx-tetrode.extensions"] = json.dumps(spec)
        table = f["general/extracellular_ephys/electrodes"]
        for copy, kind in (("Tetrode1", "TetrodeSeries"), ("Events", "SpikeEventSeries")):
            f.copy(RAW, f"acquisition/{copy}")
            f[f"acquisition/{copy}"].attrs.update(neurodata_type=kind, namespace=(
                "ndx-tetrode" if kind == "TetrodeSeries" else "core"))
            f[f"acquisition/{copy}/electrodes"].attrs["table"] = table.ref  # copy drops it
    listed = {s.path: s.neurodata_type for s in list_electrical_series(path)}
    assert listed == {RAW: "ElectricalSeries", "acquisition/Tetrode1": "TetrodeSeries",
                      LFP: "ElectricalSeries"}
    # the run-time check is the same resolver: the subtype is sortable there too
    wanted = RecordingOptions(electrical_series_path="acquisition/Tetrode1")
    loaded = load_recording(path, wanted, "t", log=lambda _: None)
    assert loaded.series_path == "acquisition/Tetrode1"


# ---- filtering once ----------------------------------------------------------------------

def test_defaults_switch_the_sorters_own_filter_off() -> None:
    here = available_processors()
    assert {"spykingcircus2", "tridesclous2", "mountainsort5"} <= set(here)
    expected = {"spykingcircus2": ("apply_preprocessing", False),
                "tridesclous2": ("preprocessing_dict", []),
                "mountainsort5": ("filter", False)}
    for name, (parameter, value) in expected.items():
        processor = here[name]
        defaults = processor.default_parameters()
        assert defaults[parameter] == value
        assert processor.spikeinterface_defaults()[parameter] != value
        schema = processor.parameters_schema()
        assert schema["properties"][parameter]["default"] == value  # what users see
        assert "nothing filters twice" in schema["properties"][parameter]["description"]
        validate(defaults, schema, prefix="parameters")
        assert processor.recording_schema() is RECORDING_SCHEMA
        assert processor.recording_defaults()["preprocessing"] is True
        json.dumps(processor.describe(), allow_nan=False)
    assert here["mountainsort5"].default_parameters()["whiten"] is True  # it needs it
    assert here["spykingcircus2"].default_parameters()["apply_whitening"] is True
    kilosort = next(p for p in all_processors() if p.name == "kilosort4")
    schema = kilosort.recording_schema()  # Kilosort keeps its own: the runner's is off
    assert schema["properties"]["preprocessing"]["default"] is False
    assert RECORDING_SCHEMA["properties"]["preprocessing"]["default"] is True
    assert "filters twice" in RECORDING_SCHEMA["properties"]["preprocessing"]["description"]


# ---- the output keeps the electrodes -----------------------------------------------------

def test_units_point_at_their_rows_of_the_copied_table(tmp_path: Path) -> None:
    """A series over a reordered subset of the table: unit electrodes follow the region."""
    from datetime import UTC, datetime

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries
    from spikeinterface.core import NumpySorting

    nwb = NWBFile(session_description="s", identifier="i",
                  session_start_time=datetime(2026, 1, 1, tzinfo=UTC))
    probe = nwb.create_device(name="probe", description="a probe", manufacturer="acme")
    groups = [nwb.create_electrode_group(name=f"tetrode{k}", description=f"tetrode {k}",
                                         location=["CA1", "CA3"][k], device=probe)
              for k in range(2)]
    nwb.add_electrode_column(name="quality", description="a label per electrode")
    for row in range(6):
        nwb.add_electrode(id=10 + row, group=groups[row // 3], location=["CA1", "CA3"][row // 3],
                          x=float(row), y=25.0 * row, z=-1.5, imp=1e6 + row,
                          quality="good" if row % 2 else "noisy")
    region = nwb.create_electrode_table_region([4, 2, 0], "three of six, reordered")
    rng = np.random.default_rng(0)
    nwb.add_acquisition(ElectricalSeries(name="ElectricalSeries", electrodes=region, rate=1e4,
                                         data=rng.normal(0, 1, (2000, 3)).astype("float32")))
    source = tmp_path / "subset.nwb"
    with NWBHDF5IO(str(source), "w") as io:
        io.write(nwb)

    from server_worker.jobs.nwb_output import write_units_nwb

    loaded = load_recording(source, RecordingOptions(preprocessing=False), "subset",
                            log=lambda _: None)
    sorting = NumpySorting.from_unit_dict(
        {"a": np.array([10, 500]), "b": np.array([20]), "c": np.array([30, 40])}, 1e4)
    metrics = {"main_channel_index": np.array([0, 1, 2]), "templates_uv": None, "snr": None,
               "num_spikes": np.array([2, 1, 2]), "firing_rate": np.array([10.0, 5.0, 10.0])}
    provenance = {"job_id": "j", "attempt": 1, "processor": "p", "processor_version": "1",
                  "spikeinterface_version": "x", "input_uri": "subset"}
    out = tmp_path / "units.nwb"
    write_units_nwb(out, sorting=sorting, loaded=loaded, metrics=metrics, provenance=provenance)
    assert electrodes_of(out) == electrodes_of(source)  # every row and column, in order
    with NWBHDF5IO(str(out), "r") as io:
        written = io.read()
        units = written.units
        assert [list(units["electrodes"][i].index) for i in range(3)] == [[14], [12], [10]]
        assert [units["electrodes"][i]["group_name"].item() for i in range(3)] == [
            "tetrode1", "tetrode0", "tetrode0"]
        assert written.devices["probe"].manufacturer == "acme"


def job_folder(path: Path, source: Path, processor: str, recording: dict) -> JobFolder:
    """A job as the broker queues it: every parameter filled in from the schema defaults."""
    chosen = available_processors()[processor]
    folder = JobFolder(path).create(JobSpec(
        job_id="j1", processor=processor, parameters=chosen.default_parameters(),
        recording={**chosen.recording_defaults(), **recording},
        input_uri=f"sha256://{'a' * 64}?label={source.name}"))
    folder.input_file.write_bytes(source.read_bytes())
    return folder


def run_checked(folder: JobFolder) -> tuple[int, str]:
    """Run the job in a child process as a worker does; its exit status and whole log."""
    wrapper = folder.path / "checked_runner.py"
    wrapper.write_text(WRAPPER)
    env = {**os.environ, CACHE_ENV: str(NUMBA_CACHE), "PYTHONWARNINGS": "default"}
    done = subprocess.run([sys.executable, str(wrapper), str(folder.path)], env=env,
                          capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parent.parent)
    return done.returncode, done.stdout + done.stderr


def test_output_keeps_the_electrodes_of_the_input(tmp_path: Path) -> None:
    """8 channels x 10 s, two shanks with x/y/z, an LFP beside: sorted for real."""
    from pynwb import NWBHDF5IO

    truth = write_ground_truth_nwb(tmp_path / "gt.nwb", num_channels=8, num_units=4,
                                   duration_s=10.0, positions="xyz", num_shanks=2,
                                   with_lfp=True, location="CA3", seed=11)
    folder = job_folder(tmp_path / "job", truth.path, "mountainsort5",
                        {"electrical_series_path": RAW})
    status, log = run_checked(folder)
    assert status == 0, log[-4000:]
    assert "x/y columns (µm) in 2 groups" in log
    output = folder.outputs_dir / "units.nwb"
    kept, given = electrodes_of(output), electrodes_of(truth.path)
    assert kept == given
    assert set(kept["group_name"]) == {"shank0", "shank1"} and set(kept["location"]) == {"CA3"}
    with NWBHDF5IO(str(output), "r") as io:
        units = io.read().units
        assert len(units) >= 2
        rows = [list(units["electrodes"][i].index) for i in range(len(units))]
    assert all(len(r) == 1 and r[0] in given["id"] for r in rows), rows


# ---- the demo file sorts -----------------------------------------------------------------

@pytest.mark.parametrize("processor", sorted(
    set(available_processors()) & {"spykingcircus2", "tridesclous2", "mountainsort5"}))
def test_the_demo_file_sorts(processor: str, tmp_path: Path, demo: Path) -> None:
    """The file ``nwbscope serve`` offers: x/y/z only, two shanks, raw + LFP."""
    folder = job_folder(tmp_path / "job", demo, processor,
                        {"electrical_series_path": RAW, "time_range": [0.0, 3.0]})
    status, log = run_checked(folder)
    assert status == 0, log[-4000:]
    assert "probe geometry from its x/y columns (µm) in 2 groups" in log
    for wrong in ("needs a probe", "already filtered", "filter is enabled", "DOUBLE-FILTER",
                  "DOUBLE-REFERENCE", "Not whitening"):
        assert wrong not in log, log[-4000:]
    assert folder.read_result().num_units >= 1
    kept = electrodes_of(folder.outputs_dir / "units.nwb")
    assert kept == electrodes_of(demo)
    assert kept["location"] == ["CA1"] * 16 and kept["x"] == [0.0] * 8 + [200.0] * 8
