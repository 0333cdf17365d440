"""The job broker over HTTP, in-process, on SQLite and on a real PostgreSQL server.

A worker is played by the test through the worker API (the real daemon is exercised in
``test_worker_e2e.py``); its capabilities are the real ones this machine would register.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server_worker.app import create_app
from server_worker.settings import Settings
from tests import pg_service

USER = "user-token-0123456789"
WORKER = "worker-token-0123456789"
U = {"Authorization": f"Bearer {USER}"}
W = {"Authorization": f"Bearer {WORKER}"}


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg_service.PostgresServer | None]:
    if pg_service.unavailable_reason() is not None:
        yield None
        return
    with pg_service.PostgresServer() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, postgres: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    if postgres is None:
        pytest.skip(f"PostgreSQL tests skipped: {pg_service.unavailable_reason()}")
    return postgres.new_database()


def make_client(tmp_path: Path, database_url: str, **extra: Any) -> TestClient:
    settings = Settings(data_dir=tmp_path / "data", user_token=USER, worker_token=WORKER,
                        database_url=database_url, embedded_worker=False,
                        extra={"lease_seconds": 30, **extra}).with_tokens()
    return TestClient(create_app(settings))


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    with make_client(tmp_path, database_url) as c:
        yield c


#: The credential each worker registered by these tests got (worker ids are unique).
_CREDENTIALS: dict[str, str] = {}


def register(client: TestClient, capabilities: dict[str, Any], name: str = "w1") -> str:
    answer = client.post("/api/workers/register", headers=W,
                         json={"name": name, "capabilities": capabilities})
    assert answer.status_code == 200, answer.text
    _CREDENTIALS[answer.json()["worker_id"]] = answer.json()["credential"]
    return answer.json()["worker_id"]


def as_worker(wid: str) -> dict[str, str]:
    """The headers of worker ``wid``'s own calls: the credential its registration answered
    (the shared worker token only registers)."""
    return {"Authorization": f"Bearer {_CREDENTIALS[wid]}"}


@functools.cache
def tiny_nwb(variant: int = 0) -> bytes:
    """A real NWB file with one small ElectricalSeries (the broker reads it at submission)."""
    from server_worker.jobs.synthetic import write_ground_truth_nwb

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tiny.nwb"
        write_ground_truth_nwb(path, num_channels=4, num_units=2, duration_s=1.0,
                               seed=100 + variant)
        return path.read_bytes()


def stored(client: TestClient, data: bytes | None = None, label: str = "x.nwb") -> str:
    data = tiny_nwb() if data is None else data
    answer = client.put("/api/store", params={"label": label}, content=data, headers=U)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["uri"]


def submit(client: TestClient, uri: str, **body: Any) -> Any:
    return client.post("/api/jobs", headers=U,
                       json={"processor": "spykingcircus2", "input": uri, **body})


def test_processors_come_from_registered_workers(client: TestClient, capabilities: dict) -> None:
    assert client.get("/api/processors").json() == {"processors": []}
    register(client, capabilities)
    listed = {p["name"]: p for p in client.get("/api/processors").json()["processors"]}
    assert {"spykingcircus2", "tridesclous2", "mountainsort5"} <= set(listed)
    sc2 = listed["spykingcircus2"]
    mine = next(p for p in capabilities["processors"] if p["name"] == "spykingcircus2")
    assert sc2["version"] == mine["version"]
    assert sc2["parameters_schema"]["properties"]["detection"]["default"]["method"] == (
        "matched_filtering")
    assert set(sc2["recording_schema"]["properties"]) >= {
        "electrical_series_path", "time_range", "preprocessing"}
    assert sc2["online"] is True and len(sc2["workers"]) == 1


def test_tokens_are_checked_and_distinct(client: TestClient, capabilities: dict) -> None:
    wid = register(client, capabilities)
    uri = stored(client)
    body = {"processor": "spykingcircus2", "input": uri}
    assert client.post("/api/jobs", json=body).status_code == 401
    assert client.post("/api/jobs", json=body, headers=W).status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert client.post("/api/jobs", json=body, headers=bad).status_code == 401
    assert client.post("/api/workers/register", headers=U,
                       json={"name": "x", "capabilities": {}}).status_code == 401
    assert client.post(f"/api/workers/{wid}/claim", json={}, headers=U).status_code == 401
    job = submit(client, uri).json()
    assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 401
    assert client.post(f"/api/jobs/{job['id']}/cancel", headers=W).status_code == 401


def test_bad_parameters_are_422_naming_the_field(client: TestClient, capabilities: dict) -> None:
    register(client, capabilities)
    uri = stored(client)
    answer = submit(client, uri, parameters={"detection": {"method_kwargs": {
        "detect_threshold": "high"}}})
    assert answer.status_code == 422
    assert answer.json()["detail"]["field"] == "parameters.detection.method_kwargs.detect_threshold"
    answer = submit(client, uri, parameters={"detect_treshold": 5})
    assert answer.json()["detail"]["field"] == "parameters.detect_treshold"
    answer = submit(client, uri, recording={"time_range": [5]})
    assert answer.status_code == 422
    assert answer.json()["detail"]["field"] == "recording.time_range"
    assert client.get("/api/jobs", headers=U).json()["jobs"] == []  # nothing was queued


def test_unknown_processor_and_missing_inputs(client: TestClient, capabilities: dict) -> None:
    register(client, capabilities)
    answer = client.post("/api/jobs", headers=U, json={"processor": "kilosort9",
                                                       "input": stored(client)})
    assert answer.status_code == 422
    assert answer.json()["detail"]["field"] == "processor"
    assert "spykingcircus2" in answer.json()["detail"]["message"]
    absent = "sha256://" + "ab" * 32 + "?label=gone.nwb"
    answer = submit(client, absent)
    assert answer.status_code == 422
    assert answer.json()["detail"]["field"] == "input"
    assert "not in this server's store" in answer.json()["detail"]["message"]
    answer = submit(client, "file:///etc/passwd")
    assert answer.status_code == 422 and answer.json()["detail"]["field"] == "input"
    answer = client.post("/api/jobs", headers=U, json={"processor": "spykingcircus2",
                                                       "inputs": [stored(client), absent]})
    assert answer.json()["detail"]["field"] == "inputs.1"
    assert client.get("/api/jobs", headers=U).json()["jobs"] == []
    assert client.get("/api/jobs/nope", headers=U).status_code == 404


def run_job_as_worker(client: TestClient, wid: str, output: bytes = b"units") -> dict:
    """Claim the next job and complete it, as the daemon would."""
    spec = client.post(f"/api/workers/{wid}/claim", json={}, headers=as_worker(wid)).json()["job"]
    assert spec is not None
    jid = spec["job_id"]
    put = client.put(f"/api/workers/{wid}/jobs/{jid}/outputs", params={"label": "units.nwb"},
                     content=output, headers=as_worker(wid))
    assert put.status_code == 201, put.text
    done = client.post(f"/api/workers/{wid}/jobs/{jid}/complete", headers=as_worker(wid), json={
        "outputs": {"nwb": put.json()["uri"]}, "timings": {"sort_s": 1.5}})
    assert done.status_code == 200, done.text
    return done.json()


def test_job_lifecycle_log_and_deduplication(client: TestClient, capabilities: dict) -> None:
    wid = register(client, capabilities)
    uri = stored(client)
    first = submit(client, uri, parameters={"seed": 7})
    assert first.status_code == 201
    job = first.json()
    assert job["status"] == "pending" and job["attempts"] == 0
    assert job["parameters"]["seed"] == 7
    assert job["parameters"]["detection"]["method"] == "matched_filtering"  # defaults filled in

    spec = client.post(f"/api/workers/{wid}/claim", json={},
                       headers=as_worker(wid)).json()["job"]
    assert spec["job_id"] == job["id"] and spec["attempt"] == 1
    assert spec["input_sha256"] == uri[len("sha256://"):][:64]
    assert client.post(f"/api/workers/{wid}/claim", json={},
                       headers=as_worker(wid)).json() == {"job": None}
    for text in ("sorting...\n", "found 3 units\n"):
        client.post(f"/api/workers/{wid}/jobs/{job['id']}/log", json={"text": text},
                    headers=as_worker(wid))
    whole = client.get(f"/api/jobs/{job['id']}/log", headers=U).json()
    assert whole["text"].endswith("sorting...\nfound 3 units\n")
    tail = client.get(f"/api/jobs/{job['id']}/log", headers=U,
                      params={"offset": whole["next_offset"] - 6}).json()
    assert tail["text"] == "units\n" and tail["next_offset"] == whole["next_offset"]
    running = client.get(f"/api/jobs/{job['id']}", headers=U).json()
    assert running["status"] == "running" and running["worker"] == wid

    # complete it (through the same calls as run_job_as_worker, by hand for the first claim)
    put = client.put(f"/api/workers/{wid}/jobs/{job['id']}/outputs",
                     params={"label": "units.nwb"}, content=b"units", headers=as_worker(wid))
    missing = {"nwb": "sha256://" + "cd" * 32}
    bad = client.post(f"/api/workers/{wid}/jobs/{job['id']}/complete", headers=as_worker(wid),
                      json={"outputs": missing})
    assert bad.status_code == 422
    client.post(f"/api/workers/{wid}/jobs/{job['id']}/complete", headers=as_worker(wid), json={
        "outputs": {"nwb": put.json()["uri"]}, "timings": {"sort_s": 2.0}})
    done = client.get(f"/api/jobs/{job['id']}", headers=U).json()
    assert done["status"] == "completed"
    assert done["outputs"]["nwb"].startswith("sha256://")
    assert done["timings"]["sort_s"] == 2.0 and done["timings"]["run_s"] >= 0
    assert [a["outcome"] for a in done["attempt_history"]] == ["completed"]

    again = submit(client, uri, parameters={"seed": 7})
    assert again.status_code == 200 and again.json()["id"] == job["id"]
    assert again.json()["reused"] is True
    forced = submit(client, uri, parameters={"seed": 7}, force=True)
    assert forced.status_code == 201 and forced.json()["id"] != job["id"]
    other = submit(client, uri, parameters={"seed": 8})
    assert other.json()["id"] not in (job["id"], forced.json()["id"])

    batch = client.post("/api/jobs", headers=U, json={
        "processor": "tridesclous2", "inputs": [uri, stored(client, tiny_nwb(1))]})
    assert batch.status_code == 201
    assert [j["processor"] for j in batch.json()["jobs"]] == ["tridesclous2"] * 2
    pending = client.get("/api/jobs", headers=U, params={"status": "pending"}).json()["jobs"]
    assert len(pending) == 4


def test_expired_lease_goes_back_to_pending_and_counts_attempts(
    tmp_path: Path, database_url: str, capabilities: dict
) -> None:
    with make_client(tmp_path, database_url, lease_seconds=0.4, max_attempts=3) as client:
        first = register(client, capabilities, "first")
        second = register(client, capabilities, "second")
        job = submit(client, stored(client)).json()
        assert client.post(f"/api/workers/{first}/claim", json={},
                           headers=as_worker(first)).json()["job"]
        time.sleep(0.6)  # the first worker goes silent
        spec = client.post(f"/api/workers/{second}/claim", json={},
                           headers=as_worker(second)).json()["job"]
        assert spec["job_id"] == job["id"] and spec["attempt"] == 2
        late = client.post(f"/api/workers/{first}/jobs/{job['id']}/complete",
                           headers=as_worker(first), json={"outputs": {}})
        assert late.status_code == 409  # the first worker lost its lease
        beat = client.post(f"/api/workers/{first}/heartbeat", headers=as_worker(first),
                           json={"jobs": [job["id"]]}).json()
        assert beat["lost"] == [job["id"]]
        record = client.get(f"/api/jobs/{job['id']}", headers=U).json()
        assert record["attempts"] == 2 and record["worker"] == second
        assert [(a["worker"], a["outcome"]) for a in record["attempt_history"]] == [
            (first, "lease expired"), (second, None)]
        assert "lease expired" in client.get(f"/api/jobs/{job['id']}/log", headers=U).json()["text"]

        time.sleep(0.6)  # the second one dies too, then a third claim
        assert client.post(f"/api/workers/{first}/claim", json={},
                           headers=as_worker(first)).json()["job"]
        time.sleep(0.6)
        gave_up = client.get(f"/api/jobs/{job['id']}", headers=U).json()
        assert gave_up["status"] == "failed" and gave_up["attempts"] == 3
        assert "Gave up after 3 attempts" in gave_up["error"]


def test_cancel_pending_and_running(client: TestClient, capabilities: dict) -> None:
    wid = register(client, capabilities)
    uri = stored(client)
    running = submit(client, uri).json()
    waiting = submit(client, uri, parameters={"seed": 1}).json()
    assert client.post(f"/api/workers/{wid}/claim", json={}, headers=as_worker(wid)).json()["job"][
        "job_id"] == running["id"]

    cancelled = client.post(f"/api/jobs/{waiting['id']}/cancel", headers=U).json()
    assert cancelled["status"] == "cancelled"
    flagged = client.post(f"/api/jobs/{running['id']}/cancel", headers=U).json()
    assert flagged["status"] == "running" and flagged["cancel_requested"] is True
    beat = client.post(f"/api/workers/{wid}/heartbeat", headers=as_worker(wid),
                       json={"jobs": [running["id"]]}).json()
    assert beat["cancel"] == [running["id"]]
    client.post(f"/api/workers/{wid}/jobs/{running['id']}/fail", headers=as_worker(wid),
                json={"error": "Cancelled on request.", "cancelled": True})
    assert client.get(f"/api/jobs/{running['id']}", headers=U).json()["status"] == "cancelled"
    assert client.post(f"/api/jobs/{running['id']}/cancel", headers=U).status_code == 409
    assert client.post(f"/api/workers/{wid}/claim", json={},
                       headers=as_worker(wid)).json() == {"job": None}


def test_failed_job_keeps_its_error(client: TestClient, capabilities: dict) -> None:
    wid = register(client, capabilities)
    job = submit(client, stored(client)).json()
    client.post(f"/api/workers/{wid}/claim", json={}, headers=as_worker(wid))
    client.post(f"/api/workers/{wid}/jobs/{job['id']}/fail", headers=as_worker(wid),
                json={"error": "NotHDF5Error: x.nwb is not an HDF5 file"})
    record = client.get(f"/api/jobs/{job['id']}", headers=U).json()
    assert record["status"] == "failed" and record["error"].startswith("NotHDF5Error")
    again = submit(client, stored(client))  # a failed job is not reused
    assert again.status_code == 201 and again.json()["id"] != job["id"]


def test_broker_process_never_imports_spikeinterface(tmp_path: Path) -> None:
    script = f"""
import sys
from fastapi.testclient import TestClient
from server_worker.app import create_app
from server_worker.settings import Settings
s = Settings(data_dir={str(tmp_path)!r}, user_token="u", worker_token="w",
             embedded_worker=False).with_tokens()
with TestClient(create_app(s)) as c:
    assert c.get("/api/processors").status_code == 200
    assert c.post("/api/jobs", json={{"processor": "x", "input": "http://h/f.nwb"}},
                  headers={{"Authorization": "Bearer u"}}).status_code == 422
print(sorted(m for m in sys.modules if m.split(".")[0] in ("spikeinterface", "torch", "numba")))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]"
