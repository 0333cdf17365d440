"""The job contract between the broker, the daemon and the runner, over real HTTP calls.

What a review found and these pin down: the job spec is one typed record on both sides;
parameters are completed once, at submission; reads never change state (expired leases are
reaped by the broker's own task); errors carry codes (a worker the broker forgot is told so by
``code``, not by words); an input is one input however it is spelled; the routes answer with
the response models the page codes against; uploads are listed as the project's files.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server_worker.auth import issue_worker_credential
from server_worker.jobs.spec import WORKER_UNKNOWN, JobSpec
from tests.test_jobs_broker import (
    U,
    as_worker,
    make_client,
    register,
    run_job_as_worker,
    stored,
    submit,
    tiny_nwb,
)


def sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'jobs.sqlite'}"


def test_claim_answers_a_complete_typed_spec(tmp_path: Path, capabilities: dict) -> None:
    with make_client(tmp_path, sqlite(tmp_path)) as client:
        wid = register(client, capabilities)
        job = submit(client, stored(client), parameters={"seed": 3},
                     recording={"time_range": [0, 0.5]}).json()
        raw = client.post(f"/api/workers/{wid}/claim", json={},
                          headers=as_worker(wid)).json()["job"]
        spec = JobSpec.model_validate(raw)
    assert spec.job_id == job["id"] and spec.parameters == job["parameters"]
    assert spec.parameters["seed"] == 3 and "detection" in spec.parameters  # defaults in
    assert spec.recording.time_range == (0.0, 0.5)
    assert spec.recording.preprocessing is True and spec.recording.freq_min == 300.0
    # the broker named the file's only series, so "which series" is settled before the run
    assert spec.recording.electrical_series_path == "acquisition/ElectricalSeries"


def expire_a_lease(client: TestClient, capabilities: dict) -> str:
    wid = register(client, capabilities)
    job = submit(client, stored(client)).json()
    client.post(f"/api/workers/{wid}/claim", json={}, headers=as_worker(wid))
    time.sleep(0.8)  # the lease (0.4 s) runs out: the worker went silent
    return job["id"]


def test_reads_do_not_reap(tmp_path: Path, capabilities: dict) -> None:
    with make_client(tmp_path, sqlite(tmp_path), lease_seconds=0.4, reap_seconds=0) as client:
        job_id = expire_a_lease(client, capabilities)
        seen = [client.get(f"/api/jobs/{job_id}", headers=U).json()["status"] for _ in range(3)]
        listed = client.get("/api/jobs", headers=U).json()["jobs"][0]["status"]
        log = client.get(f"/api/jobs/{job_id}/log", headers=U).json()["text"]
    assert seen == ["running"] * 3 and listed == "running"
    assert "lease expired" not in log


def test_the_broker_reaps_on_its_own(tmp_path: Path, capabilities: dict) -> None:
    with make_client(tmp_path, sqlite(tmp_path), lease_seconds=0.4, reap_seconds=0.1) as client:
        job_id = expire_a_lease(client, capabilities)
        deadline = time.monotonic() + 10
        while client.get(f"/api/jobs/{job_id}", headers=U).json()["status"] != "pending":
            assert time.monotonic() < deadline, "the expired lease was never reaped"
            time.sleep(0.1)
        assert "lease expired" in client.get(f"/api/jobs/{job_id}/log", headers=U).json()["text"]


def test_unknown_worker_is_told_by_code(tmp_path: Path) -> None:
    with make_client(tmp_path, sqlite(tmp_path)) as client:
        gone = "0" * 32  # a credential the server signed, for a worker it no longer has
        headers = {"Authorization": "Bearer "
                   + issue_worker_credential(client.app.state.settings, gone)}
        answer = client.post(f"/api/workers/{gone}/claim", json={}, headers=headers)
    assert answer.status_code == 404 and answer.json()["code"] == WORKER_UNKNOWN


def test_one_input_however_it_is_spelled(tmp_path: Path, capabilities: dict) -> None:
    with make_client(tmp_path, sqlite(tmp_path)) as client:
        wid = register(client, capabilities)
        uri = stored(client, label="a.nwb")
        hexdigest = uri.removeprefix("sha256://").split("?")[0]
        first = submit(client, uri).json()
        run_job_as_worker(client, wid)
        spellings = [
            f"sha256://{hexdigest.upper()}?label=renamed.nwb",
            f"sha256://{hexdigest}",
            f"{client.base_url}/api/store/{hexdigest}?label=b.nwb",
            f"http://elsewhere.example:8000/api/store/{hexdigest.upper()}",
        ]
        answers = [submit(client, spelled) for spelled in spellings]
        jobs = client.get("/api/jobs", headers=U).json()["jobs"]
    for spelled, answer in zip(spellings, answers, strict=True):
        assert answer.status_code == 200, (spelled, answer.text)
        assert answer.json()["id"] == first["id"] and answer.json()["reused"] is True
    assert len(jobs) == 1


def test_a_store_url_of_this_server_becomes_a_store_input(tmp_path: Path,
                                                          capabilities: dict) -> None:
    with make_client(tmp_path, sqlite(tmp_path)) as client:
        register(client, capabilities)
        uri = stored(client, label="c.nwb")
        hexdigest = uri.removeprefix("sha256://").split("?")[0]
        job = submit(client, f"{client.base_url}/api/store/{hexdigest}?label=c.nwb").json()
    assert job["inputs"]["input"] == f"sha256://{hexdigest}?label=c.nwb"
    assert job["inputs"]["input_sha256"] == hexdigest and job["inputs"]["label"] == "c.nwb"


def test_routes_have_response_models(tmp_path: Path) -> None:
    with make_client(tmp_path, sqlite(tmp_path)) as client:
        paths = client.get("/openapi.json").json()["paths"]

    def model(path: str, method: str, status: str = "200") -> Any:
        content = paths[path][method]["responses"][status]["content"]["application/json"]
        return content["schema"].get("$ref", content["schema"])

    assert model("/api/jobs", "get").endswith("/JobList")
    assert model("/api/jobs/{job_id}", "get").endswith("/JobOut")
    assert model("/api/jobs/{job_id}/log", "get").endswith("/LogOut")
    assert model("/api/processors", "get").endswith("/ProcessorList")
    assert model("/api/workers/{worker_id}/claim", "post").endswith("/Claimed")
    assert model("/api/files", "get").endswith("/FileList")


def test_timings_must_be_numbers(tmp_path: Path, capabilities: dict) -> None:
    with make_client(tmp_path, sqlite(tmp_path)) as client:
        wid = register(client, capabilities)
        job = submit(client, stored(client)).json()
        client.post(f"/api/workers/{wid}/claim", json={}, headers=as_worker(wid))
        answer = client.post(f"/api/workers/{wid}/jobs/{job['id']}/complete",
                             headers=as_worker(wid),
                             json={"outputs": {}, "timings": {"sort_s": "soon"}})
    assert answer.status_code == 422


def test_files_lists_uploads_url_inputs_and_outputs(tmp_path: Path, capabilities: dict,
                                                    ) -> None:
    with make_client(tmp_path, sqlite(tmp_path)) as client:
        wid = register(client, capabilities)
        uri = stored(client, tiny_nwb(2), label="session.nwb")
        job = submit(client, uri, parameters={"seed": 11}).json()
        run_job_as_worker(client, wid, output=b"the units")
        files = client.get("/api/files", headers=U).json()["files"]
    by_kind = {f["kind"]: f for f in files}
    assert by_kind["upload"]["label"] == "session.nwb"
    assert by_kind["upload"]["size"] == len(tiny_nwb(2))
    output = by_kind["output"]
    assert output["job_id"] == job["id"] and output["label"] == "units.nwb"
    assert output["provenance"]["processor"] == "spykingcircus2"
    assert output["provenance"]["parameters"]["seed"] == 11
    assert output["provenance"]["input"] == uri


def test_client_of_the_contract(tmp_path: Path) -> None:
    """The records survive the trip through JSON unchanged (what job.json holds)."""
    from server_worker.jobs.folder import JobFolder

    spec = JobSpec(job_id="a" * 32, processor="spykingcircus2", input_uri="sha256://" + "b" * 64,
                   parameters={"x": {"y": 1}})
    folder = JobFolder(tmp_path / "job").create(spec)
    assert folder.read_spec() == spec



def test_several_series_are_resolved_at_submission(tmp_path: Path, capabilities: dict) -> None:
    """A raw series beside an LFP: refused at once, naming both, unless one is chosen; nothing
    is queued for the ambiguous request."""
    from server_worker.jobs.synthetic import write_ground_truth_nwb

    path = write_ground_truth_nwb(tmp_path / "raw_lfp.nwb", num_channels=4, num_units=2,
                                  duration_s=1.0, with_lfp=True).path
    with make_client(tmp_path, sqlite(tmp_path)) as client:
        register(client, capabilities)
        uri = stored(client, path.read_bytes(), label="raw_lfp.nwb")
        ambiguous = submit(client, uri)
        wrong = submit(client, uri, recording={"electrical_series_path": "acquisition/Nope"})
        queued_before = client.get("/api/jobs", headers=U).json()["jobs"]
        chosen = submit(client, uri, recording={
            "electrical_series_path": "/acquisition/ElectricalSeries"})
    assert ambiguous.status_code == 422 and wrong.status_code == 422
    detail = ambiguous.json()["detail"]
    assert detail["field"] == "recording.electrical_series_path"
    assert "'acquisition/ElectricalSeries'" in detail["message"]
    assert "'processing/ecephys/LFP/" in detail["message"] and "raw_lfp.nwb" in detail["message"]
    assert "'acquisition/Nope' is not an ElectricalSeries" in wrong.json()["detail"]["message"]
    assert queued_before == []
    assert chosen.status_code == 201
    assert chosen.json()["recording"]["electrical_series_path"] == "acquisition/ElectricalSeries"


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e999", "-1e999"])
def test_non_finite_numbers_are_422(tmp_path: Path, capabilities: dict, number: str) -> None:
    with make_client(tmp_path, sqlite(tmp_path)) as client:
        register(client, capabilities)
        uri = stored(client)
        body = ('{"processor": "spykingcircus2", "input": "' + uri + '", "parameters": '
                '{"detection": {"method_kwargs": {"detect_threshold": ' + number + '}}}}')
        answer = client.post("/api/jobs", content=body, headers={
            **U, "Content-Type": "application/json"})
        listed = client.get("/api/jobs", headers=U).json()["jobs"]
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]["field"] == (
        "parameters.detection.method_kwargs.detect_threshold")
    assert listed == []


def test_a_worker_cannot_report_a_malformed_input_hash(tmp_path: Path, capabilities: dict
                                                       ) -> None:
    with make_client(tmp_path, sqlite(tmp_path)) as client:
        wid = register(client, capabilities)
        job = submit(client, stored(client)).json()
        client.post(f"/api/workers/{wid}/claim", json={}, headers=as_worker(wid))
        answer = client.post(f"/api/workers/{wid}/jobs/{job['id']}/complete",
                             headers=as_worker(wid),
                             json={"outputs": {}, "input_sha256": "a" * 300})
        record = client.get(f"/api/jobs/{job['id']}", headers=U).json()
    assert answer.status_code == 422 and record["status"] == "running"
