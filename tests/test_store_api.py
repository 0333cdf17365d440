"""The store's HTTP API on both backends: upload, dedupe, hash checks, tokens, Range, caching,
CORS and names that try to escape the store. Local disk serves through Starlette's
FileResponse, S3 through ``RangeStreamResponse``: the same tests hold for both."""

from __future__ import annotations

import hashlib
import socket
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from server_worker.app import create_app
from server_worker.settings import Settings
from server_worker.store import LocalStore
from server_worker.store.s3 import S3Store
from tests.services import SeaweedFS, ServiceUnavailable, ThreadedServer, shared

TOKEN = "user-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SIZE = 3_000_123
DATA = np.random.default_rng(7).integers(0, 256, SIZE, dtype=np.uint8).tobytes()
HEX = hashlib.sha256(DATA).hexdigest()


def make_store(kind: str, tmp_path: Path):
    if kind == "local":
        return LocalStore(tmp_path / "cas")
    try:
        weed = shared("seaweedfs", SeaweedFS)
    except ServiceUnavailable as exc:
        pytest.skip(f"S3 backend not tested: {exc}")
    return S3Store("nwbscope-test", f"t-{uuid.uuid4().hex[:12]}", client=weed.client(),
                   tmp_dir=tmp_path / "scratch")


@pytest.fixture(params=["local", "s3"])
def client(request, tmp_path: Path):
    settings = Settings(
        data_dir=tmp_path / "data", site_dir=tmp_path / "no-site", user_token=TOKEN,
        worker_token="worker-secret", cors_origins=("https://lab.example",),
        upload_chunk=256 * 1024, embedded_worker=False,
    )
    app = create_app(settings, store=make_store(request.param, tmp_path), broker=False)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def stored(client: TestClient) -> TestClient:
    answer = client.put("/api/store?label=rec.nwb", content=DATA, headers=AUTH)
    assert answer.status_code == 201, answer.text
    return client


# ---- uploads --------------------------------------------------------------------------------

def test_put_answers_uri_hash_and_size(client: TestClient) -> None:
    answer = client.put("/api/store?label=my rec.nwb", content=DATA, headers=AUTH)
    assert answer.status_code == 201
    assert answer.json() == {
        "uri": f"sha256://{HEX}?label=my%20rec.nwb", "sha256": HEX, "size": SIZE, "created": True,
    }
    assert client.get(f"/api/store/{HEX}").content == DATA


def test_same_bytes_twice_stored_once(stored: TestClient) -> None:
    again = stored.put("/api/store?label=other-name.nwb", content=DATA, headers=AUTH)
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["uri"] == f"sha256://{HEX}?label=other-name.nwb"
    store = stored.app.state.store
    assert store.size(HEX) == SIZE


def test_expected_hash_matches(client: TestClient) -> None:
    answer = client.put(f"/api/store?sha256={HEX}", content=DATA, headers=AUTH)
    assert answer.status_code == 201
    assert answer.json()["uri"] == f"sha256://{HEX}"


def test_hash_mismatch_is_400_and_stores_nothing(client: TestClient) -> None:
    wrong = hashlib.sha256(b"other").hexdigest()
    answer = client.put(f"/api/store?sha256={wrong}", content=DATA, headers=AUTH)
    assert answer.status_code == 400
    assert HEX in answer.json()["detail"] and wrong in answer.json()["detail"]
    assert client.head(f"/api/store/{HEX}").status_code == 404
    assert client.head(f"/api/store/{wrong}").status_code == 404


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer worker-secret"},
     {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}],
)
def test_writes_need_the_user_token(client: TestClient, headers: dict) -> None:
    answer = client.put("/api/store", content=b"sneaky", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    sneaky = hashlib.sha256(b"sneaky").hexdigest()
    assert client.head(f"/api/store/{sneaky}").status_code == 404


@pytest.mark.parametrize("bad", ["../../etc/passwd", "0" * 63, "A" * 64, "x" * 64])
def test_bad_expected_hash_is_400(client: TestClient, bad: str) -> None:
    answer = client.put("/api/store", params={"sha256": bad}, content=b"x", headers=AUTH)
    assert answer.status_code == 400


@pytest.mark.parametrize(
    "path",
    ["/api/store/..%2F..%2F..%2Fetc%2Fpasswd", "/api/store/" + "G" * 64,
     "/api/store/" + "0" * 63 + "%2F", "/api/store/%2e%2e", "/api/store/" + "0" * 65,
     "/api/store/sha256%2Fab%2Fcd%2F" + "0" * 64],
)
def test_names_that_are_not_hashes_never_reach_the_store(stored: TestClient, path: str) -> None:
    answer = stored.get(path)
    assert answer.status_code in (400, 404)
    assert DATA[:100] not in answer.content


# ---- reads ----------------------------------------------------------------------------------

def test_get_whole_with_cache_headers(stored: TestClient) -> None:
    answer = stored.get(f"/api/store/{HEX}")
    assert answer.status_code == 200
    assert answer.content == DATA
    assert answer.headers["etag"] == f'"{HEX}"'
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["accept-ranges"] == "bytes"
    assert answer.headers["content-type"] == "application/octet-stream"


def test_head_gives_size_without_body(stored: TestClient) -> None:
    answer = stored.head(f"/api/store/{HEX}")
    assert answer.status_code == 200
    assert answer.headers["content-length"] == str(SIZE)
    assert answer.content == b""
    ranged = stored.head(f"/api/store/{HEX}", headers={"Range": "bytes=10-19"})
    assert (ranged.status_code, ranged.headers["content-length"]) == (206, "10")
    assert ranged.headers["content-range"] == f"bytes 10-19/{SIZE}"


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [("bytes=10-19", 10, 20), ("bytes=-5", SIZE - 5, SIZE), ("bytes=2999990-", 2999990, SIZE),
     ("bytes=1048570-1048585", 1048570, 1048586), ("bytes=100-99999999", 100, SIZE)],
)
def test_single_range(stored: TestClient, header: str, start: int, stop: int) -> None:
    answer = stored.get(f"/api/store/{HEX}", headers={"Range": header})
    assert answer.status_code == 206
    assert answer.headers["content-range"] == f"bytes {start}-{stop - 1}/{SIZE}"
    assert answer.headers["content-length"] == str(stop - start)
    assert answer.content == DATA[start:stop]


def test_multiple_ranges_are_multipart(stored: TestClient) -> None:
    answer = stored.get(f"/api/store/{HEX}", headers={"Range": "bytes=0-3, 1000-1009"})
    assert answer.status_code == 206
    kind, _, boundary = answer.headers["content-type"].partition("; boundary=")
    assert kind == "multipart/byteranges"
    body = answer.content
    assert len(body) == int(answer.headers["content-length"])
    assert f"Content-Range: bytes 0-3/{SIZE}".encode() in body
    assert f"Content-Range: bytes 1000-1009/{SIZE}".encode() in body
    assert b"\r\n\r\n" + DATA[:4] + b"\r\n" in body
    assert b"\r\n\r\n" + DATA[1000:1010] + b"\r\n" in body
    assert body.endswith(f"--{boundary}--".encode())


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"])
def test_unsatisfiable_range_is_416(stored: TestClient, header: str) -> None:
    answer = stored.get(f"/api/store/{HEX}", headers={"Range": header})
    assert answer.status_code == 416
    assert answer.headers["content-range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize("header", ["bytes=abc", "items=0-5", "bytes=20-10", "bytes"])
def test_unusable_range_header_is_ignored(stored: TestClient, header: str) -> None:
    answer = stored.get(f"/api/store/{HEX}", headers={"Range": header})
    assert answer.status_code == 200
    assert len(answer.content) == SIZE


def test_if_range(stored: TestClient) -> None:
    same = stored.get(f"/api/store/{HEX}", headers={"Range": "bytes=0-9", "If-Range": f'"{HEX}"'})
    assert (same.status_code, same.content) == (206, DATA[:10])
    other = stored.get(f"/api/store/{HEX}", headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert (other.status_code, len(other.content)) == (200, SIZE)


def test_if_none_match_is_304(stored: TestClient) -> None:
    answer = stored.get(f"/api/store/{HEX}", headers={"If-None-Match": f'W/"x", "{HEX}"'})
    assert answer.status_code == 304
    assert answer.content == b""
    assert answer.headers["etag"] == f'"{HEX}"'


def test_label_sets_type_and_name(client: TestClient) -> None:
    body = b'{"units": 3}'
    put = client.put("/api/store?label=summary.json", content=body, headers=AUTH)
    digest = put.json()["sha256"]
    answer = client.get(f"/api/store/{digest}", params={"label": "summary.json"})
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["content-disposition"] == "inline; filename*=utf-8''summary.json"
    assert answer.json() == {"units": 3}


@pytest.mark.parametrize("label", ["x.html", "page.HTM", "image.svg", "code.js", "noext"])
def test_no_label_makes_a_stored_object_run_in_the_api_origin(client: TestClient,
                                                              label: str) -> None:
    """A shared ``?label=x.html`` must not serve stored bytes as a page of the API's origin."""
    body = b"<script>fetch('/api/jobs')</script>"
    digest = client.put("/api/store", content=body, headers=AUTH).json()["sha256"]
    answer = client.get(f"/api/store/{digest}", params={"label": label})
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.content == body


def test_missing_object_is_404(client: TestClient) -> None:
    digest = hashlib.sha256(b"absent").hexdigest()
    assert client.get(f"/api/store/{digest}").status_code == 404
    assert client.get(f"/api/store/{digest}", headers={"Range": "bytes=0-1"}).status_code == 404


# ---- CORS -----------------------------------------------------------------------------------

def test_reads_allowed_from_any_origin(stored: TestClient) -> None:
    answer = stored.get(
        f"/api/store/{HEX}", headers={"Origin": "https://viewer.example", "Range": "bytes=0-1"}
    )
    assert answer.headers["access-control-allow-origin"] == "*"
    exposed = {h.strip() for h in answer.headers["access-control-expose-headers"].split(",")}
    assert {"Content-Range", "Content-Length", "Accept-Ranges", "ETag"} <= exposed
    preflight = stored.options(f"/api/store/{HEX}", headers={
        "Origin": "https://viewer.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "range",
    })
    assert preflight.status_code == 200
    assert "Range" in preflight.headers["access-control-allow-headers"]


def test_writes_only_from_configured_origins(client: TestClient) -> None:
    def preflight(origin: str):
        return client.options("/api/store", headers={
            "Origin": origin, "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization",
        })

    refused = preflight("https://evil.example")
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    allowed = preflight("https://lab.example")
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://lab.example"
    assert "PUT" in allowed.headers["access-control-allow-methods"]


def test_upload_cut_short_leaves_nothing(tmp_path: Path) -> None:
    """A client that goes away mid-upload: no object, no scratch file left behind."""
    settings = Settings(data_dir=tmp_path, site_dir=tmp_path / "no-site", user_token=TOKEN,
                        worker_token="w", embedded_worker=False)
    store = LocalStore(tmp_path / "cas")
    with ThreadedServer(create_app(settings, store=store, broker=False)) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as conn:
            conn.sendall(
                b"PUT /api/store?label=cut.bin HTTP/1.1\r\nHost: x\r\n"
                + f"Authorization: Bearer {TOKEN}\r\nContent-Length: 5000000\r\n\r\n".encode()
                + DATA[:2_500_000]
            )
            time.sleep(0.5)  # the server has started writing a scratch file
        deadline = time.monotonic() + 10
        while any((store.root / "tmp").iterdir()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list((store.root / "tmp").iterdir()) == []
        assert not (store.root / "sha256").exists()
