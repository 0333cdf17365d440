"""Request limits, in-process (TestClient): the token before the body, JSON and upload sizes,
each job parameter's size, the ``Host`` check, lower-case ``bearer``.

The same limits against a real ``nwbscope serve`` (1 GB bodies, 100 MB headers, slow
clients, ``Host`` over real sockets) are in ``test_serving_limits.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server_worker.app import create_app
from server_worker.settings import Settings

USER = "user-token-limits-0123456789"
WORKER = "worker-token-limits-0123456789"
U = {"Authorization": f"Bearer {USER}"}
W = {"Authorization": f"Bearer {WORKER}"}
JSON = {"Content-Type": "application/json"}
ABSENT = "sha256://" + "ab" * 32 + "?label=x.nwb"


def make_client(tmp_path: Path, **limits: Any) -> TestClient:
    settings = Settings(data_dir=tmp_path / "data", user_token=USER, worker_token=WORKER,
                        server_secret="limits-secret", embedded_worker=False, **limits)
    return TestClient(create_app(settings))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path, max_json_bytes=1000, max_upload_bytes=50_000) as c:
        yield c


def chunks(total: int, piece: int = 10_000) -> Iterator[bytes]:
    """A body sent chunked (no Content-Length), as a streaming client sends it."""
    sent = 0
    while sent < total:
        yield b" " * min(piece, total - sent)
        sent += piece


# ---- the token comes before the body ---------------------------------------------------------

def test_write_without_a_known_token_is_401_whatever_its_body(client: TestClient) -> None:
    junk = b"{" * 5000  # not JSON, and over the JSON limit: the token is checked first
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        answer = client.post("/api/jobs", content=junk, headers={**JSON, **headers})
        assert answer.status_code == 401, answer.text
        assert "Authorization: Bearer" in answer.json()["detail"]
        assert answer.headers["www-authenticate"] == "Bearer"
    assert client.put("/api/store", content=b"x" * 100_000).status_code == 401
    # reads need no token here (the site, health)
    assert client.get("/api/health").status_code == 200


def test_known_tokens_reach_the_route_which_checks_the_exact_one(client: TestClient) -> None:
    # the worker token is known, so it passes the early check; the route wants the user's
    answer = client.post("/api/jobs", headers=W, json={"processor": "x", "input": ABSENT})
    assert answer.status_code == 401


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_the_bearer_scheme_is_case_insensitive(client: TestClient, scheme: str) -> None:
    answer = client.post("/api/jobs", headers={"Authorization": f"{scheme} {USER}"},
                         json={"processor": "kilosort9", "input": ABSENT})
    assert answer.status_code == 422, answer.text  # past both token checks
    assert answer.json()["detail"]["field"] == "processor"


# ---- JSON bodies -----------------------------------------------------------------------------

def test_json_body_over_the_limit_by_its_length_is_413(client: TestClient) -> None:
    answer = client.post("/api/jobs", content=b" " * 2000 + b"{}", headers={**U, **JSON})
    assert answer.status_code == 413, answer.text
    message = answer.json()["detail"]
    assert "1000 bytes" in message and "max_json_bytes" in message


def test_chunked_json_body_running_over_the_limit_is_cut_off(client: TestClient) -> None:
    answer = client.post("/api/jobs", content=chunks(5000, 300), headers={**U, **JSON})
    assert answer.status_code == 413, answer.text
    assert "max_json_bytes" in answer.json()["detail"]


def test_json_body_under_the_limit_reaches_the_route(client: TestClient) -> None:
    answer = client.post("/api/jobs", headers=U, json={"processor": "kilosort9", "input": ABSENT})
    assert answer.status_code == 422 and answer.json()["detail"]["field"] == "processor"


# ---- store uploads: streamed, limited by max_upload_bytes only -------------------------------

def test_store_upload_is_not_limited_as_json(tmp_path: Path) -> None:
    data = b"y" * 200_000
    with make_client(tmp_path, max_json_bytes=1000) as client:  # max_upload_bytes=0: none
        answer = client.put("/api/store", content=data, headers=U)
        assert answer.status_code == 201, answer.text
        chunked = client.put("/api/store", content=chunks(300_000), headers=U)
        assert chunked.status_code == 201, chunked.text
        assert chunked.json()["size"] == 300_000


def test_store_upload_over_max_upload_bytes_is_413_and_stores_nothing(
        client: TestClient) -> None:
    data = b"z" * 100_000
    answer = client.put("/api/store", content=data, headers=U)
    assert answer.status_code == 413, answer.text
    assert "max_upload_bytes" in answer.json()["detail"]
    answer = client.put("/api/store", content=chunks(len(data)), headers=U)  # no length
    assert answer.status_code == 413, answer.text
    assert "max_upload_bytes" in answer.json()["detail"]
    digest = hashlib.sha256(b" " * len(data)).hexdigest()
    assert client.get(f"/api/store/{digest}").status_code == 404
    assert client.put("/api/store", content=b"z" * 40_000, headers=U).status_code == 201


def test_worker_output_upload_is_limited_as_an_upload_not_as_json(client: TestClient) -> None:
    path = "/api/workers/w-nobody/jobs/j-none/outputs?label=units.nwb"
    # 10 kB: over the JSON limit, under the upload one; the route answers (no such worker)
    answer = client.put(path, content=b"u" * 10_000, headers=W)
    assert answer.status_code != 413, answer.text
    answer = client.put(path, content=b"u" * 100_000, headers=W)
    assert answer.status_code == 413 and "max_upload_bytes" in answer.json()["detail"]


# ---- each job parameter ----------------------------------------------------------------------

def test_a_huge_parameter_is_422_naming_it(tmp_path: Path, capabilities: dict) -> None:
    with make_client(tmp_path) as client:
        answer = client.post("/api/workers/register", headers=W,
                             json={"name": "w1", "capabilities": capabilities})
        assert answer.status_code == 200, answer.text
        answer = client.post("/api/jobs", headers=U, json={
            "processor": "spykingcircus2", "input": ABSENT,
            "parameters": {"detection": "x" * 100_000}})
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"]
        assert detail["field"] == "parameters.detection"
        assert "max_parameter_bytes" in detail["message"]
        assert client.get("/api/jobs", headers=U).json()["jobs"] == []


def test_validate_limits_each_top_level_item() -> None:
    from nwbscope.errors import ParameterError
    from server_worker.processors.validate import validate

    schema = {"type": "object"}
    validate({"a": "x" * 90, "b": [1] * 10}, schema, prefix="parameters", max_item_bytes=100)
    with pytest.raises(ParameterError) as error:
        validate({"a": "x", "b": ["y" * 200]}, schema, prefix="recording", max_item_bytes=100)
    assert error.value.field == "recording.b"


# ---- Host (DNS rebinding) --------------------------------------------------------------------

def hosted(tmp_path: Path, **settings: Any) -> TestClient:
    """The app behind the Host check, as ``serving`` runs every real server."""
    from server_worker.limits import HostCheck

    s = Settings(data_dir=tmp_path / "data", user_token=USER, embedded_worker=False, **settings)
    return TestClient(HostCheck(create_app(s, broker=False), s))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_a_loopback_server_refuses_other_host_names(tmp_path: Path, host: str) -> None:
    client = hosted(tmp_path, host=host)
    for name in ("localhost:8000", "127.0.0.1", "[::1]:8000", "LOCALHOST"):
        assert client.get("/api/health", headers={"Host": name}).status_code == 200, name
    for name in ("evil.example", "evil.example:8000", "testserver", "127.0.0.1.evil.example"):
        answer = client.get("/api/health", headers={"Host": name})
        assert answer.status_code == 421, name
        assert "--allowed-host" in answer.text and "allowed_hosts" in answer.text


def test_allowed_hosts_are_accepted(tmp_path: Path) -> None:
    client = hosted(tmp_path, allowed_hosts=("nwb.lab.example",))
    assert client.get("/api/health", headers={"Host": "nwb.lab.example:8000"}).status_code == 200
    assert client.get("/api/health", headers={"Host": "other.example"}).status_code == 421


def test_a_server_on_a_network_interface_takes_any_host_unless_told(tmp_path: Path) -> None:
    assert hosted(tmp_path, host="0.0.0.0").get("/api/health").status_code == 200
    client = hosted(tmp_path, host="0.0.0.0", allowed_hosts=("nwb.lab.example",))
    assert client.get("/api/health").status_code == 421  # Host: testserver
    assert client.get("/api/health", headers={"Host": "nwb.lab.example"}).status_code == 200
    assert client.get("/api/health", headers={"Host": "127.0.0.1:80"}).status_code == 200
