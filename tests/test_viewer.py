"""ViewerSession: what the page receives, on both engines, with values from the recipes."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from nwbscope.errors import NotFoundError
from nwbscope.viewer import ViewerSession
from tests.fixtures import nwb_files as rec

ES = "/acquisition/ElectricalSeries"
ELECTRODES = "/general/extracellular_ephys/electrodes"
SMALL_BLOCKS = {"block_size": 4096, "readahead_max": 4096}


@pytest.fixture(scope="module", params=["h5py", "pyfive"])
def session(request: pytest.FixtureRequest, rich_nwb: Path) -> ViewerSession:
    viewer = ViewerSession(rich_nwb, engine=request.param)
    yield viewer
    viewer.close()


def by_name(entries: list[dict]) -> dict[str, dict]:
    return {entry["name"]: entry for entry in entries}


def test_summary(session: ViewerSession, rich_nwb: Path) -> None:
    summary = session.summary()
    json.dumps(summary)  # JSON-ready
    assert summary["name"] == "rich.nwb"
    assert summary["size"] == rich_nwb.stat().st_size
    assert summary["engine"] == session.file.engine
    assert summary["is_nwb"] is True and summary["warnings"] == []
    meta = summary["metadata"]
    assert meta["identifier"] == rec.RICH["identifier"]
    assert meta["experimenter"] == rec.RICH["experimenter"]
    assert meta["subject"]["age"] == "P90D" and meta["subject"]["sex"] == "M"
    assert meta["session_start_time"] == "2024-03-05T14:30:00+01:00"


def test_root_children_order(session: ViewerSession) -> None:
    names = [entry["name"] for entry in session.children("/")]
    assert names[:8] == ["acquisition", "processing", "units", "intervals", "stimulus",
                         "general", "analysis", "specifications"]
    assert sorted(names[8:]) == ["file_create_date", "identifier", "session_description",
                                 "session_start_time", "timestamps_reference_time"]


def test_acquisition_children(session: ViewerSession) -> None:
    entries = by_name(session.children("/acquisition"))
    assert set(entries) == {"ElectricalSeries", "events", "events_smoothed", "reference_images",
                            "temperature", "tetrode0", "video"}
    es = entries["ElectricalSeries"]
    assert (es["kind"], es["neurodata_type"], es["namespace"]) == ("group", "ElectricalSeries",
                                                                   "core")
    assert (es["description"], es["n_children"], es["link"]) == ("raw voltage", 3, None)
    assert entries["tetrode0"]["namespace"] == rec.EXT_NAMESPACE
    data = by_name(session.children(ES))["data"]
    assert (data["kind"], data["dtype"], data["shape"]) == ("dataset", "int16",
                                                            list(rec.ES_SHAPE))
    assert data["shape_text"] == "int16 [20000, 32]"
    json.dumps(entries)


def test_link_children(session: ViewerSession) -> None:
    stamps = by_name(session.children("/acquisition/events_smoothed"))["timestamps"]
    assert stamps["kind"] == "link" and stamps["target_kind"] == "dataset"
    assert stamps["link"] == {"kind": "soft", "target": "/acquisition/events/timestamps"}
    assert (stamps["dtype"], stamps["shape"]) == ("float64", [50])
    source = by_name(session.children("/processing/ecephys/spectral"))["source_timeseries"]
    assert source["link"]["target"] == ES and source["neurodata_type"] == "ElectricalSeries"


def test_processing_lists_interfaces(session: ViewerSession) -> None:
    assert [e["name"] for e in session.children("/processing")] == ["behavior", "ecephys"]
    behavior = session.children("/processing/behavior")
    assert [(e["name"], e["neurodata_type"]) for e in behavior] == [("Position", "Position")]
    position = by_name(session.children("/processing/behavior/Position"))["position"]
    assert position["neurodata_type"] == "SpatialSeries"


def test_details_timeseries(session: ViewerSession) -> None:
    details = session.details(ES)
    json.dumps(details)
    assert details["neurodata_type"] == "ElectricalSeries"
    assert details["type_ancestors"][:2] == ["TimeSeries", "NWBDataInterface"]
    assert details["type_doc"].startswith("A time series of acquired voltage data")
    preview = details["preview"]
    assert preview["kind"] == "timeseries"
    assert preview["timebase"]["rate"] == rec.ES_RATE
    assert preview["timebase"]["duration"] == pytest.approx(2.0)
    assert preview["conversion"] == pytest.approx(rec.ES_CONVERSION)
    assert preview["data"]["values"] == rec.es_data()[:5, :8].tolist()
    assert 'nwbfile.acquisition["ElectricalSeries"]' in details["snippet"]["pynwb"]
    assert "nwbscope.open(" in details["snippet"]["nwbscope"]


def test_details_dataset_storage_and_preview(session: ViewerSession) -> None:
    details = session.details(f"{ES}/data")
    assert details["storage"]["layout"] == "chunked"
    assert details["storage"]["chunks"] == list(rec.ES_CHUNKS)
    assert any(f.startswith("gzip") for f in details["storage"]["filters"])
    preview = details["preview"]
    assert (preview["selection"], preview["truncated"]) == ("[0:5, 0:8]", True)
    assert preview["values"] == rec.es_data()[:5, :8].tolist()
    units = {a["name"]: a for a in details["attrs"]}
    assert units["unit"]["value"] == "volts"
    gray = session.details("/acquisition/reference_images/gray")["preview"]
    assert gray["values"] == np.arange(64).reshape(8, 8)[:5, :8].tolist()


def test_preview_reads_little(rich_nwb: Path, engine: str) -> None:
    with contextlib.closing(ViewerSession(rich_nwb, engine=engine, **SMALL_BLOCKS)) as viewer:
        viewer.details(f"{ES}/electrodes")  # metadata around it and the type hierarchy
        before = viewer.stats()
        viewer.details(f"{ES}/data")
        after = viewer.stats()
    fetched = after["bytes"] - before["bytes"]
    # one gzip chunk (256 x 32 int16, ~12 KB) and its B-tree node, not the 1.3 MB series
    assert 0 < fetched <= 32 * 1024
    assert after["requests"] - before["requests"] <= 4


def test_details_references_and_links(session: ViewerSession) -> None:
    region = session.details(f"{ES}/electrodes")
    assert {"name": "table", "kind": "object_ref", "target": ELECTRODES} in region["links"]
    assert region["type_ancestors"] == ["VectorData", "Data"]
    spectral = session.details("/processing/ecephys/spectral")
    assert {"name": "source_timeseries", "kind": "soft", "target": ES} in spectral["links"]
    linked = session.details("/acquisition/events_smoothed/timestamps")
    assert linked["kind"] == "link" and linked["target_kind"] == "dataset"
    assert linked["links"] == [{"name": "timestamps", "kind": "soft",
                                "target": "/acquisition/events/timestamps"}]
    assert linked["preview"]["values"] == rec.event_timestamps()[:10].tolist()
    groups = session.details(f"{ELECTRODES}/group")["preview"]["values"]
    assert groups[:3] == ["/general/extracellular_ephys/shank0"] * 3


def test_details_table(session: ViewerSession) -> None:
    preview = session.details("/units")["preview"]
    assert (preview["kind"], preview["n_rows"]) == ("table", rec.N_UNITS)
    assert preview["colnames"] == ["quality", "spike_times", "electrodes"]
    columns = {c["name"]: c for c in preview["columns"]}
    assert columns["spike_times"]["values"][0] == rec.spike_times()[0].tolist()
    assert columns["spike_times"]["truncated"] is True  # 10 + 7 i spikes, 20 a row shown
    assert columns["spike_times"]["more"] == [0, 0, 4, 11, 18]
    assert columns["electrodes"]["values"][:2] == [[0, 1], [1, 2]]
    assert columns["electrodes"]["target_table"] == ELECTRODES
    trials = {c["name"]: c for c in session.details("/intervals/trials")["preview"]["columns"]}
    assert trials["stimulus"]["values"] == [r["stimulus"] for r in rec.trial_rows()[:5]]
    tags = {c["name"]: c for c in session.details("/intervals/epochs")["preview"]["columns"]}
    assert tags["tags"]["values"] == [["baseline"], ["running", "reward"]]


def test_details_external_video(session: ViewerSession) -> None:
    preview = session.details("/acquisition/video")["preview"]
    assert preview["external_file"]["values"] == ["video_0001.mp4"]
    assert preview["timebase"]["n_samples"] == rec.VIDEO_FRAMES
    assert preview["timebase_text"] == "60 samples at 30 Hz from 0 s (2 s)"


def test_details_extension(session: ViewerSession) -> None:
    details = session.details("/acquisition/tetrode0")
    assert (details["neurodata_type"], details["namespace"]) == (rec.EXT_TYPE,
                                                                 rec.EXT_NAMESPACE)
    assert details["type_ancestors"] == ["ElectricalSeries", "TimeSeries", "NWBDataInterface",
                                         "NWBContainer", "Container"]
    attrs = {a["name"]: a["value"] for a in details["attrs"]}
    assert attrs["trode_id"] == "3"
    assert details["preview"]["data"]["values"] == rec.es_data()[:5, :4].tolist()


def test_not_found(session: ViewerSession) -> None:
    with pytest.raises(NotFoundError, match="/acquisition/nope"):
        session.details("/acquisition/nope")
    with pytest.raises(NotFoundError):
        session.children("/nope/deeper")
    with pytest.raises(NotFoundError):
        session.children(f"{ES}/data")  # a dataset has no children


def test_stats_shape(session: ViewerSession) -> None:
    """The page's status bar reads these names (``data-requests data-bytes data-hits``)."""
    stats = session.stats()
    assert set(stats) == {"requests", "bytes", "hits", "misses", "reads"}
    assert stats["requests"] >= 1 and stats["bytes"] > 0


def test_stats_are_the_source_record_end_to_end(rich_nwb: Path, engine: str) -> None:
    """One record from the block cache to the page: what the cache counts (the probe
    included, as the worker hands it in) is what the session answers, under the same names."""
    from nwbscope.sources.cache import CachedSource, IOStats
    from nwbscope.sources.local import LocalFileSource

    record, posted = IOStats(), []
    record.on_request = lambda: posted.append(record.requests)
    cached = CachedSource(LocalFileSource(rich_nwb), stats=record)
    cached.add_probe(rich_nwb.read_bytes()[: 64 * 1024])
    with contextlib.closing(ViewerSession(cached, engine=engine)) as viewer:
        viewer.details("/units")
        assert viewer.stats() == record.snapshot() == viewer.file.stats
        assert viewer.stats()["requests"] == len(posted) == posted[-1] >= 2
        assert viewer.stats()["hits"] >= 1  # the superblock, from the probe's bytes


def test_plain_hdf5(plain_hdf5: Path, engine: str) -> None:
    with contextlib.closing(ViewerSession(plain_hdf5, engine=engine)) as viewer:
        summary = viewer.summary()
        assert summary["is_nwb"] is False and len(summary["warnings"]) == 1
        entries = by_name(viewer.children("/"))
        assert set(entries) == {"measurements", "empty", "shortcut"}
        assert entries["shortcut"]["link"] == {"kind": "soft", "target": "/measurements/signal"}
        root = viewer.details("/")
        attrs = {a["name"]: a["value"] for a in root["attrs"]}
        assert attrs["title"] == rec.PLAIN_HDF5["attr_text"]
        assert attrs["answer"] == str(rec.PLAIN_HDF5["attr_number"])
        assert {"name": "main", "kind": "object_ref", "target": "/measurements/signal"} in (
            root["links"])
        signal = viewer.details("/shortcut")["preview"]["values"]
        assert signal == np.arange(15, dtype=float).reshape(5, 3).tolist()
        labels = viewer.details("/measurements/labels")["preview"]["values"]
        assert labels == ["a", "bb", "ccc"]
        assert viewer.details("/")["snippet"]["pynwb"] == ""


SNIPPET_PATHS = [
    "/", "/session_description", ES, f"{ES}/data", "/acquisition/tetrode0",
    "/acquisition/reference_images/gray", "/processing/behavior/Position/position",
    "/processing/ecephys/spectral/bands", "/units", "/units/spike_times_index",
    "/intervals/trials", "/intervals/epochs", "/general/subject/age", ELECTRODES,
    "/general/devices/probe", "/stimulus/presentation/stim_current",
    "/analysis/place_fields", "/specifications/core",
]


@pytest.mark.parametrize("path", SNIPPET_PATHS)
def test_snippets_run(rich_nwb: Path, path: str) -> None:
    """The code offered for each object runs as it is and prints something."""
    with contextlib.closing(ViewerSession(rich_nwb, engine="h5py")) as viewer:
        snippet = viewer.details(path)["snippet"]
    for kind in ("nwbscope", "pynwb"):
        namespace: dict = {}
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(snippet[kind], kind, "exec"), namespace)  # noqa: S102
        finally:
            for name in ("io", "file", "f"):
                closer = getattr(namespace.get(name), "close", None)
                if closer is not None:
                    closer()
        assert out.getvalue().strip(), f"{kind} snippet printed nothing"


def test_external_and_dangling_links(tmp_path: Path, engine: str) -> None:
    """Links the file cannot follow are listed with their target, never opened."""
    import h5py

    path = tmp_path / "links.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("values", data=np.arange(4))
        f["elsewhere"] = h5py.ExternalLink("other.nwb", "/acquisition/data")
        f["dangling"] = h5py.SoftLink("/no/such/object")
    with contextlib.closing(ViewerSession(path, engine=engine)) as viewer:
        entries = by_name(viewer.children("/"))
        assert entries["elsewhere"]["kind"] == "link"
        assert entries["elsewhere"]["link"]["kind"] == "external"
        assert "/acquisition/data" in entries["elsewhere"]["link"]["target"]
        assert entries["dangling"]["link"] == {"kind": "soft", "target": "/no/such/object"}
        assert entries["dangling"]["target_kind"] is None
        details = viewer.details("/elsewhere")
        assert details["preview"]["kind"] == "external_link"
        assert details["links"][0]["kind"] == "external"
        with pytest.raises(NotFoundError):
            viewer.details("/dangling")


@pytest.mark.parametrize("fixture", ["rich_nwb", "minimal_nwb", "plain_hdf5"])
def test_every_object_has_json_details(fixture: str, engine: str,
                                       request: pytest.FixtureRequest) -> None:
    """Walk the whole tree through the page's calls; every answer is JSON and consistent."""
    path = request.getfixturevalue(fixture)
    with contextlib.closing(ViewerSession(path, engine=engine)) as viewer:
        pending, seen = ["/"], 0
        while pending:
            group = pending.pop()
            for entry in viewer.children(group):
                details = viewer.details(entry["path"])
                json.dumps(details, allow_nan=False)
                assert (details["path"], details["kind"]) == (entry["path"], entry["kind"])
                assert details["neurodata_type"] == entry["neurodata_type"]
                seen += 1
                is_group = entry["kind"] == "group" or entry["target_kind"] == "group"
                if is_group and entry["link"] is None:
                    pending.append(entry["path"])
        json.dumps(viewer.summary(), allow_nan=False)
    assert seen >= {"rich_nwb": 100, "minimal_nwb": 10, "plain_hdf5": 4}[fixture]


def test_nwb_without_cached_specs(tmp_path: Path, engine: str) -> None:
    """Core types still know their ancestors (built-in table); the summary says what lacks."""
    import h5py

    path = tmp_path / "no_specs.nwb"
    with h5py.File(path, "w") as f:
        f.attrs.update(nwb_version="2.7.0", neurodata_type="NWBFile", namespace="core")
        f["identifier"] = "no-specs"
        series = f.create_group("acquisition/position")
        series.attrs.update(neurodata_type="SpatialSeries", namespace="core")
        series["data"] = np.arange(6.0).reshape(3, 2)
        series["starting_time"] = 1.5
        series["starting_time"].attrs["rate"] = 2.0
    with contextlib.closing(ViewerSession(path, engine=engine)) as viewer:
        summary = viewer.summary()
        assert summary["metadata"]["identifier"] == "no-specs"
        assert any("no cached specifications" in w for w in summary["warnings"])
        details = viewer.details("/acquisition/position")
        assert details["type_ancestors"][0] == "TimeSeries"
        assert details["preview"]["timebase"]["stop"] == 2.5


def test_preview_skips_big_chunks(tmp_path: Path, engine: str) -> None:
    """A corner inside one 4 MB chunk is not decoded by default, and is on request."""
    import h5py

    path = tmp_path / "big_chunks.h5"
    values = np.arange(2_000_000, dtype="<i2").reshape(-1, 40)
    with h5py.File(path, "w") as f:
        f.create_dataset("chunky", data=values, chunks=(50_000, 40), compression="gzip")
    with contextlib.closing(ViewerSession(path, engine=engine)) as viewer:
        before = viewer.stats()["bytes"]
        preview = viewer.details("/chunky")["preview"]
        assert preview["values"] is None and "4.0 MB" in preview["skipped"]
        assert viewer.stats()["bytes"] - before < 64 * 1024
        full = viewer.details("/chunky", max_chunk_bytes=8_000_000)["preview"]
        assert full["values"] == values[:5, :8].tolist()


def test_column_dtypes_name_text_and_references(session: ViewerSession) -> None:
    """Text and reference columns are labelled by what they hold, not as numpy 'object'."""
    kinds = {c["name"]: c["dtype"] for c in
             session.children("/general/extracellular_ephys/electrodes")}
    assert kinds["location"] == "str"
    assert kinds["group_name"] == "str"
    assert kinds["group"] == "reference"
    assert kinds["x"] == "float64"
