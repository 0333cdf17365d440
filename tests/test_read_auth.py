"""Job records, logs and the file list are read with a token, and never show a credential.

Issue #11 item 5: ``GET /api/jobs``, ``/api/jobs/{id}``, ``/log`` and ``/api/files`` answered
anyone, cross-origin, with input URLs holding ``user:password@``, parameters and server paths.
Now they need the user token or the read token (which writes nothing); the sorter schemas and
the health check stay public; a credential in an input URL is shown as ``***`` in every
answer, in the log and in ``nwbscope jobs``, while the worker's claim still carries it whole.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from server_worker import cli
from server_worker.app import create_app
from server_worker.broker.local_server import LocalServer
from server_worker.redact import redact_url
from server_worker.settings import Settings
from tests.range_server import serve
from tests.test_jobs_broker import USER, WORKER, U, W, stored, submit

READ = "read-token-0123456789"
R = {"Authorization": f"Bearer {READ}"}
SECRET = "s3cr3t-pa55"
#: A refused port: the broker cannot check this input at submission and leaves it to the worker.
CREDENTIAL_URL = f"http://alice:{SECRET}@127.0.0.1:9/lab/rec.nwb?label=rec.nwb"


def settings_for(root: Path, **fields: Any) -> Settings:
    return Settings(data_dir=root / "data", user_token=USER, worker_token=WORKER,
                    read_token=READ, allow_private_urls=True, embedded_worker=False,
                    database_url=f"sqlite:///{root / 'jobs.sqlite'}",
                    extra={"lease_seconds": 30}, **fields).with_tokens()


def register(http: httpx.Client, capabilities: dict) -> tuple[str, dict[str, str]]:
    """A worker's id and the headers of its own calls (its credential, where the broker
    answers one; else the shared worker token)."""
    answer = http.post("/api/workers/register", headers=W,
                       json={"name": "w1", "capabilities": capabilities})
    assert answer.status_code == 200, answer.text
    credential = answer.json().get("credential")
    return answer.json()["worker_id"], (
        {"Authorization": f"Bearer {credential}"} if credential else W)


def run_job_as_worker(http: httpx.Client, wid: str, headers: dict[str, str]) -> None:
    """Claim the next job and complete it, as the daemon would."""
    jid = http.post(f"/api/workers/{wid}/claim", json={}, headers=headers).json()["job"][
        "job_id"]
    put = http.put(f"/api/workers/{wid}/jobs/{jid}/outputs", params={"label": "units.nwb"},
                   content=b"units", headers=headers)
    done = http.post(f"/api/workers/{wid}/jobs/{jid}/complete", headers=headers,
                     json={"outputs": {"nwb": put.json()["uri"]}})
    assert done.status_code == 200, done.text


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(tmp_path))) as c:
        yield c


def read_routes(job_id: str) -> list[str]:
    return ["/api/jobs", f"/api/jobs/{job_id}", f"/api/jobs/{job_id}/log", "/api/files"]


def test_reads_need_the_user_or_the_read_token(client: TestClient, capabilities: dict) -> None:
    wid, as_worker = register(client, capabilities)
    job = submit(client, stored(client)).json()
    run_job_as_worker(client, wid, as_worker)
    for path in read_routes(job["id"]):
        refused = client.get(path)
        assert refused.status_code == 401, path
        assert refused.headers["www-authenticate"] == "Bearer"
        assert "token" in refused.json()["detail"]
        assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.get(path, headers=W).status_code == 401, path  # a worker reads no jobs
        assert client.get(path, headers=as_worker).status_code == 401, path
        assert client.get(path, headers=U).status_code == 200, path
        assert client.get(path, headers=R).status_code == 200, path
    listed = client.get("/api/files", headers=R).json()["files"]
    assert {f["kind"] for f in listed} == {"upload", "output"}
    # still public: the sorters and their schemas, and the health check
    assert client.get("/api/processors").status_code == 200
    assert client.get("/api/health").status_code == 200


def test_the_read_token_writes_nothing(client: TestClient, capabilities: dict) -> None:
    register(client, capabilities)
    uri = stored(client)
    body = {"processor": "spykingcircus2", "input": uri}
    assert client.post("/api/jobs", json=body, headers=R).status_code == 401
    job = submit(client, uri).json()
    assert client.post(f"/api/jobs/{job['id']}/cancel", headers=R).status_code == 401
    assert client.put("/api/store", params={"label": "x.nwb"}, content=b"x",
                      headers=R).status_code == 401
    assert client.post("/api/workers/register", headers=R,
                       json={"name": "x", "capabilities": {}}).status_code == 401
    assert client.get(f"/api/jobs/{job['id']}", headers=R).json()["status"] == "pending"


def test_a_page_elsewhere_may_still_read_with_its_token(client: TestClient) -> None:
    """The viewer hosted on another origin sends its token: the preflight of that GET is
    allowed for the read origins, and the answer is readable there."""
    preflight = client.options("/api/jobs", headers={
        "Origin": "https://viewer.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", "https://viewer.example")
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    answer = client.get("/api/jobs", headers={"Origin": "https://viewer.example", **U})
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"]


def test_no_credential_of_an_input_url_is_shown(
    tmp_path: Path, capabilities: dict, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NWBSCOPE_TOKEN", raising=False)
    monkeypatch.setenv("NWBSCOPE_RUNTIME_DIR", str(tmp_path / "runtime"))
    with LocalServer(create_app(settings_for(tmp_path))) as server, httpx.Client(
            base_url=server.url, headers=U, timeout=60) as http:
        wid, as_worker = register(http, capabilities)
        answer = http.post("/api/jobs", json={"processor": "spykingcircus2",
                                              "input": CREDENTIAL_URL})
        assert answer.status_code == 201, answer.text
        job_id = answer.json()["id"]
        assert SECRET not in answer.text
        assert answer.json()["inputs"]["input"] == (
            "http://***@127.0.0.1:9/lab/rec.nwb?label=rec.nwb")

        claim = http.post(f"/api/workers/{wid}/claim", json={}, headers=as_worker).json()["job"]
        assert claim["input_uri"] == CREDENTIAL_URL  # the worker needs it whole
        base = f"/api/workers/{wid}/jobs/{job_id}"
        # what the runner prints and what the daemon says when the fetch fails
        http.post(f"{base}/log", headers=as_worker,
                  json={"text": f"nwbscope: job {job_id}: spykingcircus2 on {CREDENTIAL_URL}\n"})
        error = f"Could not fetch the input {CREDENTIAL_URL}: 401 Unauthorized"
        http.post(f"{base}/log", headers=as_worker, json={"text": f"[nwbscope] {error}\n"})
        failed = http.post(f"{base}/fail", headers=as_worker, json={"error": error})
        assert failed.status_code == 200, failed.text

        answers = [http.get(path, headers=h) for path in read_routes(job_id) for h in (U, R)]
        for read in answers:
            assert read.status_code == 200 and SECRET not in read.text, read.url
        log = http.get(f"/api/jobs/{job_id}/log").json()
        assert "on http://***@127.0.0.1:9/lab/rec.nwb" in log["text"]
        assert log["next_offset"] == len(log["text"])  # offsets count the text as shown
        assert "http://***@" in http.get(f"/api/jobs/{job_id}").json()["error"]
        files = http.get("/api/files").json()["files"]
        assert [f["uri"] for f in files if f["kind"] == "url"] == [redact_url(CREDENTIAL_URL)]

        for argv in (["jobs"], ["jobs", "show", job_id], ["jobs", "log", job_id]):
            capsys.readouterr()
            cli.main([*argv, "--server", server.url, "--token", USER])
            out, err = capsys.readouterr()
            assert SECRET not in out + err, argv
            assert job_id[:8] in out or "***@" in out, (argv, out, err)


def test_input_check_errors_and_logs_hide_credentials(
    client: TestClient, capabilities: dict, not_hdf5: Path, caplog: pytest.LogCaptureFixture
) -> None:
    register(client, capabilities)
    refused = submit(client, f"ftp://alice:{SECRET}@lab.example/rec.nwb")
    assert refused.status_code == 422 and SECRET not in refused.text
    assert "ftp://***@lab.example/rec.nwb" in refused.text
    with serve(not_hdf5.parent) as files:  # reachable, not HDF5: refused at submission
        refused = submit(client, f"{files.url(not_hdf5.name)}?access_token={SECRET}")
    assert refused.status_code == 422, refused.text
    assert SECRET not in refused.text
    with caplog.at_level(logging.DEBUG, logger="nwbscope"):  # unreachable: left to the worker
        assert submit(client, CREDENTIAL_URL).status_code == 201
    assert "not checked at submission" in caplog.text and SECRET not in caplog.text


@pytest.mark.parametrize(("given", "shown"), [
    ("https://u:p@host.org/a.nwb?label=a.nwb", "https://***@host.org/a.nwb?label=a.nwb"),
    ("http://u:p@ss@h:8/x", "http://***@h:8/x"),  # a raw @ in the password
    ("s3://AKIA:xyz@bucket/k", "s3://***@bucket/k"),
    ("https://b.s3.amazonaws.com/k?X-Amz-Credential=AK%2F1&X-Amz-Signature=ab12&X-Amz-Date=1",
     "https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Date=1"),
    ("https://h/x?token=abc&label=y.nwb", "https://h/x?token=***&label=y.nwb"),
    ("https://h/x?access_token=abc", "https://h/x?access_token=***"),
    ("https://h/x?sv=1&sig=abc%3D", "https://h/x?sv=1&sig=***"),  # Azure SAS
    ("fetch of https://u:p@h/x failed: 401 for url 'https://u:p@h/x?api_key=k'",
     "fetch of https://***@h/x failed: 401 for url 'https://***@h/x?api_key=***'"),
    ("sha256://" + "a" * 64 + "?label=x.nwb", "sha256://" + "a" * 64 + "?label=x.nwb"),
    ("see https://h/x and mail bob@lab.org", "see https://h/x and mail bob@lab.org"),
    ("", ""),
])
def test_redact_url(given: str, shown: str) -> None:
    assert redact_url(given) == shown
    assert redact_url(shown) == shown  # twice is once
