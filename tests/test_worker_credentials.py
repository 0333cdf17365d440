"""Each worker acts only for itself (#11 item 6).

The shared worker token only registers; registration answers a credential for that worker
alone, and every per-worker call needs it. These play a second worker that tries to act on
the first one's running job with every means it has (its own credential, the shared token, a
credential with a changed signature) and check each is refused and the job left as it was.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server_worker.app import create_app
from server_worker.broker.local_server import LocalServer, free_port
from server_worker.settings import Settings
from server_worker.worker.client import BrokerClient, WorkerGone
from tests.test_jobs_broker import WORKER, U, W, as_worker, make_client, register, stored, submit

FORGED_OUTPUT = b"forged units"


def sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'jobs.sqlite'}"


def per_worker_calls(wid: str, job_id: str) -> list[tuple[str, str, dict]]:
    """Every route a worker calls for itself, with a body it would send."""
    base = f"/api/workers/{wid}"
    return [
        ("POST", f"{base}/claim", {"json": {}}),
        ("POST", f"{base}/heartbeat", {"json": {"jobs": [job_id]}}),
        ("POST", f"{base}/jobs/{job_id}/log", {"json": {"text": "forged log line\n"}}),
        ("PUT", f"{base}/jobs/{job_id}/outputs",
         {"params": {"label": "units.nwb"}, "content": FORGED_OUTPUT}),
        ("POST", f"{base}/jobs/{job_id}/complete", {"json": {"outputs": {}}}),
        ("POST", f"{base}/jobs/{job_id}/fail", {"json": {"error": "forged failure"}}),
    ]


def tampered(credential: str) -> str:
    """The same credential with the last hex digit of its signature changed."""
    return credential[:-1] + ("0" if credential[-1] != "0" else "1")


def test_registration_answers_a_credential_that_is_not_the_shared_token(
    tmp_path: Path, capabilities: dict
) -> None:
    with make_client(tmp_path, sqlite(tmp_path)) as client:
        answer = client.post("/api/workers/register", headers=W,
                             json={"name": "w", "capabilities": capabilities}).json()
        assert answer["credential"] and answer["credential"] != WORKER
        assert answer["worker_id"] in answer["credential"]
        own = {"Authorization": f"Bearer {answer['credential']}"}
        claim = client.post(f"/api/workers/{answer['worker_id']}/claim", json={}, headers=own)
    assert claim.status_code == 200 and claim.json() == {"job": None}


def test_forged_calls_on_another_workers_job_are_refused(tmp_path: Path, capabilities: dict
                                                         ) -> None:
    with make_client(tmp_path, sqlite(tmp_path)) as client:
        owner = register(client, capabilities, "owner")
        intruder = register(client, capabilities, "intruder")
        job = submit(client, stored(client)).json()
        assert client.post(f"/api/workers/{owner}/claim", json={},
                           headers=as_worker(owner)).json()["job"]["job_id"] == job["id"]
        before = client.get(f"/api/jobs/{job['id']}", headers=U).json()
        log_before = client.get(f"/api/jobs/{job['id']}/log", headers=U).json()["text"]
        owner_credential = as_worker(owner)["Authorization"].removeprefix("Bearer ")
        forgeries = {
            "the intruder's own credential": (as_worker(intruder), 403),
            "the shared worker token": (W, 403),
            "the owner's credential, signature changed": (
                {"Authorization": f"Bearer {tampered(owner_credential)}"}, 401),
            "the user token": (U, 401),
            "no token": ({}, 401),
        }
        for what, (headers, status) in forgeries.items():
            for method, path, body in per_worker_calls(owner, job["id"]):
                answer = client.request(method, path, headers=headers, **body)
                assert answer.status_code == status, (what, path, answer.text)
                # a 403 says what to send instead; a 401 may come from the check made
                # before any body is read, which names the header
                said = "credential" if status == 403 else "Authorization: Bearer"
                assert said in answer.text, (what, path, answer.text)
        # on its own routes, the intruder's credential is right but the job is not its own
        own_path = f"/api/workers/{intruder}/jobs/{job['id']}"
        assert client.post(f"{own_path}/fail", headers=as_worker(intruder),
                           json={"error": "forged failure"}).status_code == 409
        assert client.post(f"/api/workers/{intruder}/heartbeat", headers=as_worker(intruder),
                           json={"jobs": [job["id"]]}).json()["lost"] == [job["id"]]
        after = client.get(f"/api/jobs/{job['id']}", headers=U).json()
        log_after = client.get(f"/api/jobs/{job['id']}/log", headers=U).json()["text"]
        forged = client.get(f"/api/store/{hashlib.sha256(FORGED_OUTPUT).hexdigest()}")
        beat = client.post(f"/api/workers/{owner}/heartbeat", headers=as_worker(owner),
                           json={"jobs": [job["id"]]}).json()
    assert (after["status"], after["worker"], after["attempts"]) == ("running", owner, 1)
    assert after["error"] == before["error"] and after["outputs"] == before["outputs"]
    assert log_after == log_before and "forged" not in log_after
    assert forged.status_code == 404  # the refused upload stored nothing
    assert beat["lost"] == [] and beat["cancel"] == []  # the owner still holds it


def test_a_broker_without_a_server_secret_refuses_to_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", user_token="u", worker_token="w",
                        embedded_worker=False)
    with pytest.raises(RuntimeError, match="server_secret"):
        create_app(settings)
    settings.with_tokens()
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/processors").status_code == 200


def test_the_worker_client_uses_its_credential_and_registers_again_when_refused(
    tmp_path: Path, capabilities: dict
) -> None:
    """The daemon's client: per-worker calls carry its credential; a broker restarted with
    another secret (tokens.json lost) refuses it, which the client reports as ``WorkerGone``
    (the daemon then registers again, and the new credential works)."""
    port = free_port()

    def server(secret: str) -> LocalServer:
        settings = Settings(data_dir=tmp_path / "data", user_token="u", worker_token=WORKER,
                            server_secret=secret, port=port, embedded_worker=False)
        return LocalServer(create_app(settings), port)

    client = BrokerClient(f"http://127.0.0.1:{port}", WORKER)
    try:
        with server("first-secret"):
            wid = client.register("w", capabilities)["worker_id"]
            assert client.claim(wid) is None
        with server("second-secret"):
            with pytest.raises(WorkerGone):
                client.claim(wid)
            again = client.register("w", capabilities)["worker_id"]
            assert client.claim(again) is None
            assert client.heartbeat(again, [])["lost"] == []
    finally:
        client.close()
