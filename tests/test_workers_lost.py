"""Workers that stop heartbeating are shown as lost, then pruned (#11 item 9).

Before, a dead worker stayed in ``GET /api/workers`` forever. Now the list says ``state``:
``online`` (heard from within ``worker_timeout_seconds``) or ``lost``, and the broker's
background reaper deletes workers not heard from for ``prune_worker_seconds`` unless they still
hold a running job (its lease decides that worker's fate first).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.test_jobs_broker import (  # noqa: F401 (database_url, postgres: fixtures)
    U,
    as_worker,
    database_url,
    make_client,
    postgres,
    register,
    stored,
    submit,
)


def listed(client: TestClient) -> dict[str, dict[str, Any]]:
    answer = client.get("/api/workers", headers=U)
    assert answer.status_code == 200, answer.text
    return {w["id"]: w for w in answer.json()["workers"]}


def test_listing_workers_needs_a_read_token(tmp_path: Path, capabilities: dict) -> None:
    with make_client(tmp_path, f"sqlite:///{tmp_path / 'jobs.sqlite'}") as client:
        wid = register(client, capabilities)
        assert client.get("/api/workers").status_code == 401
        worker = listed(client)[wid]
    assert worker["state"] == "online" and worker["online"] is True


def test_a_silent_worker_is_shown_lost_then_pruned(
    tmp_path: Path, database_url: str, capabilities: dict  # noqa: F811 (the fixture)
) -> None:
    """On SQLite and PostgreSQL (the prune is one DELETE with a subquery)."""
    with make_client(tmp_path, database_url,
                     worker_timeout_seconds=2.0, prune_worker_seconds=4.0,
                     reap_seconds=0.1) as client:
        alive = register(client, capabilities, "alive")
        silent = register(client, capabilities, "silent")
        busy = register(client, capabilities, "busy")
        assert {w["state"] for w in listed(client).values()} == {"online"}
        job = submit(client, stored(client)).json()
        assert client.post(f"/api/workers/{busy}/claim", json={},
                           headers=as_worker(busy)).json()["job"]["job_id"] == job["id"]

        def until_gone(wid: str) -> tuple[list[str], dict[str, dict[str, Any]]]:
            """The states ``wid`` was listed in until it was pruned (``alive`` heartbeats)."""
            states: list[str] = []
            deadline = time.monotonic() + 30
            while True:
                beat = client.post(f"/api/workers/{alive}/heartbeat", json={"jobs": []},
                                   headers=as_worker(alive))
                assert beat.status_code == 200, beat.text
                workers = listed(client)
                if wid not in workers:
                    return states, workers
                worker = workers[wid]
                assert worker["online"] is (worker["state"] == "online")
                if not states or states[-1] != worker["state"]:
                    states.append(worker["state"])
                assert time.monotonic() < deadline, f"{wid} never pruned: {workers}"
                time.sleep(0.05)

        states, workers = until_gone(silent)
        assert states[-1] == "lost"  # shown as lost before it was pruned
        assert workers[alive]["state"] == "online"
        assert workers[busy]["state"] == "lost"  # as silent as the pruned one, but holds a job
        record = client.get(f"/api/jobs/{job['id']}", headers=U).json()
        assert (record["status"], record["worker"]) == ("running", busy)
        gone = client.post(f"/api/workers/{silent}/claim", json={}, headers=as_worker(silent))
        assert gone.status_code == 404 and gone.json()["code"] == "worker_unknown"

        # once its job is over, the busy worker is pruned too
        ended = client.post(f"/api/workers/{busy}/jobs/{job['id']}/fail",
                            headers=as_worker(busy), json={"error": "MemoryError"})
        assert ended.status_code == 200, ended.text
        states, workers = until_gone(busy)
        assert states == ["lost"] and alive in workers
