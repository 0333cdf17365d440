"""Many workers on one queue (#13 item 3): atomic claims, leases, restarts, requirements.

Real PostgreSQL (``tests/pg_service.py``; skipped with the reason where it cannot start) and
SQLite. The drain tests run a real broker (uvicorn) and worker processes that speak the
worker protocol over HTTP with the daemon's own ``BrokerClient`` (``bench/queue_bench.py``'s
``drain``): their jobs sleep and upload a few bytes, so the queue is what is tested, not a
sorter (the daemon's sorting path is ``test_worker_e2e.py``'s).
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bench.queue_bench import (
    QueueBroker,
    processor_description,
    records,
    start_workers,
    stop_workers,
    wait_done,
)
from server_worker.app import create_app
from server_worker.broker.leases import claim, register
from server_worker.db import Database, JobRow, WorkerRow
from server_worker.processors.schema import RECORDING_SCHEMA
from server_worker.settings import Settings
from tests import pg_service
from tests.test_jobs_broker import (  # noqa: F401 (fixtures: one PostgreSQL per run)
    database_url,
    postgres,
)

USER = "user-token-many-0123456789"
WORKER = "worker-token-many-0123456789"
U = {"Authorization": f"Bearer {USER}"}
W = {"Authorization": f"Bearer {WORKER}"}


def _pg_url(postgres: pg_service.PostgresServer | None) -> str:  # noqa: F811 (fixture)
    if postgres is None:
        pytest.skip(f"PostgreSQL tests skipped: {pg_service.unavailable_reason()}")
    return postgres.new_database()


# ---- claims are atomic -------------------------------------------------------------------

def test_concurrent_claims_never_hand_out_a_job_twice(database_url: str) -> None:  # noqa: F811 (the fixture)
    """16 threads, each its own session and worker, claim 300 jobs as fast as they can."""
    db = Database(database_url)
    caps = {"processors": [processor_description()]}
    with db.session() as session:
        workers = [register(session, f"t{i}", caps).id for i in range(16)]
        for i in range(300):
            session.add(JobRow(id=uuid.uuid4().hex, processor="queue-sleep",
                               processor_version="1", parameters={}, recording={},
                               params_hash=str(i), input_uri="sha256://" + "0" * 64,
                               status="pending", max_attempts=3))
    claimed: list[str] = []
    errors: list[BaseException] = []

    def claimer(worker_id: str) -> None:
        try:
            while True:
                with db.session() as session:
                    job = claim(session, session.get(WorkerRow, worker_id), ["queue-sleep"], 60)
                    if job is None:
                        return
                    claimed.append(job.id)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=claimer, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    db.dispose()
    assert not errors, errors[0]
    counts = Counter(claimed)
    assert len(counts) == 300 and max(counts.values()) == 1


# ---- requirements ---------------------------------------------------------------------------

def _described(name: str, gpu: str, memory_gb: float = 1.0) -> dict[str, Any]:
    return {
        "name": name, "family": "test", "version": "1", "description": name,
        "parameters_schema": {"type": "object", "properties": {
            "torch_device": {"type": "string", "default": "auto"}}},
        "recording_schema": RECORDING_SCHEMA,
        "resources": {"cpus": 1, "memory_gb": memory_gb, "gpu": gpu},
    }


def _register(client: TestClient, name: str, gpus: list[str], memory_gb: float = 16
              ) -> dict[str, str]:
    caps = {"processors": [_described("needs-gpu", "required"),
                           _described("maybe-gpu", "optional"),
                           _described("big", "none", memory_gb=64)],
            "cpus": 8, "memory_bytes": int(memory_gb * 2**30), "gpus": gpus,
            "executor": "host", "hostname": name}
    answer = client.post("/api/workers/register", headers=W,
                         json={"name": name, "capabilities": caps})
    assert answer.status_code == 200, answer.text
    return {"id": answer.json()["worker_id"],
            "auth": f"Bearer {answer.json()['credential']}"}


def _claim(client: TestClient, worker: dict[str, str]) -> dict[str, Any] | None:
    answer = client.post(f"/api/workers/{worker['id']}/claim", json={},
                         headers={"Authorization": worker["auth"]})
    assert answer.status_code == 200, answer.text
    return answer.json()["job"]


def test_a_job_goes_only_to_a_worker_that_meets_its_requirements(
        tmp_path: Path, database_url: str) -> None:  # noqa: F811 (the fixture)
    from tests.test_jobs_broker import tiny_nwb

    settings = Settings(data_dir=tmp_path / "data", user_token=USER, worker_token=WORKER,
                        database_url=database_url, embedded_worker=False).with_tokens()
    with TestClient(create_app(settings)) as client:
        uri = client.put("/api/store", params={"label": "t.nwb"}, content=tiny_nwb(),
                         headers=U).json()["uri"]

        def submit(processor: str, **parameters: Any) -> Any:
            return client.post("/api/jobs", headers=U, json={
                "processor": processor, "input": uri, "parameters": parameters,
                "force": True})

        cpu = _register(client, "laptop", gpus=[])
        refused = submit("needs-gpu")
        assert refused.status_code == 422, refused.text
        text = refused.text
        assert "no registered worker can run" in text and "laptop" in text and "GPU" in text
        cuda = submit("maybe-gpu", torch_device="cuda")
        assert cuda.status_code == 422 and "GPU" in cuda.text
        big = submit("big")
        assert big.status_code == 422 and "64 GB of memory" in big.text
        auto = submit("maybe-gpu")  # "auto": runs on a CPU
        assert auto.status_code == 201, auto.text

        gpu = _register(client, "gpu-box", gpus=["GPU 0: NVIDIA H200"], memory_gb=128)
        needs = submit("needs-gpu")
        assert needs.status_code == 201, needs.text
        on_cuda = submit("maybe-gpu", torch_device="cuda")
        assert on_cuda.status_code == 201, on_cuda.text
        # oldest first, but the CPU worker passes over what it cannot run
        taken = _claim(client, cpu)
        assert taken is not None and taken["job_id"] == auto.json()["id"]
        assert _claim(client, cpu) is None
        by_gpu = {_claim(client, gpu)["job_id"], _claim(client, gpu)["job_id"]}  # type: ignore[index]
        assert by_gpu == {needs.json()["id"], on_cuda.json()["id"]}


def test_capabilities_probe_this_machine() -> None:
    from server_worker.worker.capabilities import capabilities

    caps = capabilities(2, "host", resources={"gpus": ["GPU 0: partition gres"]})
    assert caps["cpus"] >= 1 and caps["memory_bytes"] > 2**28
    assert caps["gpus"] == ["GPU 0: partition gres"]  # a Slurm worker's, not the login node's
    assert caps["executor"] == "host" and caps["slots"] == 2
    assert caps["sorters"] == [p["name"] for p in caps["processors"]]


# ---- real worker processes ------------------------------------------------------------------

def test_eight_workers_drain_500_jobs_exactly_once_across_a_broker_restart(
        tmp_path: Path, postgres: Any) -> None:  # noqa: F811 (the fixture)
    broker = QueueBroker(tmp_path, _pg_url(postgres), lease_seconds=60).start()
    processes = start_workers(broker.url, broker.WORKER, tmp_path / "workers", 8)
    try:
        uri = broker.store_tiny_nwb()
        broker.wait_workers(8)
        ids = broker.submit(uri, 500, sleep_s=0.01)
        wait_done(tmp_path / "workers", 150, timeout=60)
        broker.restart(down_seconds=1.0)  # the workers' calls fail meanwhile; they retry
        wait_done(tmp_path / "workers", 500, timeout=120)
        time.sleep(0.5)  # a duplicate, were there one, would show up now
        runs = records(tmp_path / "workers")
        jobs = broker.http.get("/api/jobs", params={"limit": 1000}).json()["jobs"]
    finally:
        stop_workers(processes)
        broker.close()
    counts = Counter(r[0] for r in runs)
    assert set(counts) == set(ids) and max(counts.values()) == 1  # each ran once, none lost
    assert len({r[4] for r in runs}) == 8  # every worker took part
    assert len(jobs) == 500
    assert Counter(j["status"] for j in jobs) == {"completed": 500}
    assert {j["attempts"] for j in jobs} == {1}


def test_a_killed_workers_job_returns_to_the_queue_when_its_lease_expires(
        tmp_path: Path, postgres: Any) -> None:  # noqa: F811 (the fixture)
    broker = QueueBroker(tmp_path, _pg_url(postgres), lease_seconds=2).start()
    processes = start_workers(broker.url, broker.WORKER, tmp_path / "workers", 2)
    try:
        uri = broker.store_tiny_nwb()
        broker.wait_workers(2)
        [job_id] = broker.submit(uri, 1, first_attempt_sleep_s=600)
        deadline = time.monotonic() + 30
        while (job := broker.http.get(f"/api/jobs/{job_id}").json())["status"] != "running":
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        holder = int(job["worker_name"].removeprefix("w"))
        processes[holder].send_signal(signal.SIGKILL)
        processes[holder].wait(10)
        wait_done(tmp_path / "workers", 1, timeout=30)
        job = broker.http.get(f"/api/jobs/{job_id}").json()
    finally:
        stop_workers(processes)
        broker.close()
    assert job["status"] == "completed" and job["attempts"] == 2
    assert [a["outcome"] for a in job["attempt_history"]] == ["lease expired", "completed"]
    assert job["worker_name"] == f"w{1 - holder}"


def test_a_live_workers_heartbeats_keep_its_job(tmp_path: Path) -> None:
    """The control for the test above: the same long job with its worker alive stays with
    that worker (its heartbeats renew the 2 s lease)."""
    broker = QueueBroker(tmp_path, f"sqlite:///{tmp_path / 'q.sqlite'}", lease_seconds=2).start()
    processes = start_workers(broker.url, broker.WORKER, tmp_path / "workers", 2)
    try:
        uri = broker.store_tiny_nwb()
        broker.wait_workers(2)
        [job_id] = broker.submit(uri, 1, first_attempt_sleep_s=5)
        wait_done(tmp_path / "workers", 1, timeout=30)
        job = broker.http.get(f"/api/jobs/{job_id}").json()
    finally:
        stop_workers(processes)
        broker.close()
    assert job["status"] == "completed" and job["attempts"] == 1
