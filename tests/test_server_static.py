"""The site at ``/``, local files at ``/files/...`` and the Range parser they share.

A tiny fake site stands in for a real build: what is tested is how files are served (MIME
types, Range, revalidation, isolation headers), not the viewer itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server_worker.app import create_app
from server_worker.ranges import Unsatisfiable, parse_ranges
from server_worker.settings import Settings

TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WASM = b"\0asm" + bytes(range(256)) * 40


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "pyodide").mkdir(parents=True)
    (root / "wheels").mkdir()
    (root / "index.html").write_text("<!doctype html><title>nwbscope test site</title>")
    (root / "worker.mjs").write_text("export const x = 1;\n")
    (root / "pyodide" / "pyodide.asm.wasm").write_bytes(WASM)
    (root / "wheels" / "nwbscope-0.1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04wheel")
    (root / "python_stdlib.zip").write_bytes(b"PK\x03\x04zip")
    (root / "wheels" / "0123456789ab").mkdir()
    (root / "wheels" / "0123456789ab" / "nwbscope-0.1.0-py3-none-any.whl").write_bytes(b"PK")
    return root


def make_client(tmp_path: Path, site: Path, **options) -> TestClient:
    settings = Settings(data_dir=tmp_path / "data", site_dir=site, user_token=TOKEN,
                        worker_token="w", embedded_worker=False, **options)
    return TestClient(create_app(settings, broker=False), client=("127.0.0.1", 50000))


@pytest.fixture
def client(tmp_path: Path, site: Path):
    with make_client(tmp_path, site) as c:
        yield c


# ---- the site -------------------------------------------------------------------------------

def test_index_with_viewer_query(client: TestClient) -> None:
    answer = client.get("/?url=http://127.0.0.1:1/files/demo.nwb&path=/units")
    assert answer.status_code == 200
    assert "nwbscope test site" in answer.text
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.headers["cache-control"] == "no-cache"
    assert "cross-origin-opener-policy" not in answer.headers  # isolation is off by default


def test_hashed_folders_are_cached_for_good(client: TestClient) -> None:
    """A wheel in a folder named by its hash never changes; everything else revalidates."""
    hashed = client.get("/wheels/0123456789ab/nwbscope-0.1.0-py3-none-any.whl")
    assert hashed.headers["cache-control"] == "public, max-age=31536000, immutable"
    plain = client.get("/wheels/nwbscope-0.1.0-py3-none-any.whl")
    assert plain.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/pyodide/pyodide.asm.wasm", "application/wasm"), ("/worker.mjs", "text/javascript"),
     ("/wheels/nwbscope-0.1.0-py3-none-any.whl", "application/zip"),
     ("/python_stdlib.zip", "application/zip")],
)
def test_mime_types(client: TestClient, path: str, kind: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"].split(";")[0] == kind


def test_site_range_head_and_revalidation(client: TestClient) -> None:
    path = "/pyodide/pyodide.asm.wasm"
    part = client.get(path, headers={"Range": "bytes=4-11"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 4-11/{len(WASM)}"
    assert part.content == WASM[4:12]
    assert client.get(path, headers={"Range": "bytes=99999-"}).headers["content-range"] == (
        f"bytes */{len(WASM)}"
    )
    head = client.head(path)
    assert (head.status_code, head.headers["content-length"], head.content) == (
        200, str(len(WASM)), b""
    )
    again = client.get(path, headers={"If-None-Match": head.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/nothere.js"])
def test_site_stays_in_its_folder(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert b"root:" not in answer.content


@pytest.mark.parametrize("policy", ["credentialless", "require-corp"])
def test_isolation_headers_when_asked(tmp_path: Path, site: Path, policy: str) -> None:
    with make_client(tmp_path, site, isolation=policy) as c:
        answer = c.get("/")
    assert answer.headers["cross-origin-opener-policy"] == "same-origin"
    assert answer.headers["cross-origin-embedder-policy"] == policy


def test_missing_site_says_how_to_build(tmp_path: Path) -> None:
    with make_client(tmp_path, tmp_path / "absent") as c:
        answer = c.get("/")
    assert answer.status_code == 503
    assert "nwbscope build" in answer.text


def test_health(client: TestClient) -> None:
    assert client.get("/api/health").json()["app"] == "nwbscope"


# ---- /files ---------------------------------------------------------------------------------

def test_demo_file_with_range(client: TestClient, tmp_path: Path) -> None:
    assert client.get("/files/demo.nwb").status_code == 404  # not written by the app itself
    demo = tmp_path / "data" / "demo.nwb"
    demo.parent.mkdir(parents=True, exist_ok=True)
    demo.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(1000))
    answer = client.get("/files/demo.nwb", headers={"Range": "bytes=0-7", "Origin": "https://x.org"})
    assert answer.status_code == 206
    assert answer.content == b"\x89HDF\r\n\x1a\n"
    assert answer.headers["content-range"] == "bytes 0-7/1008"
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "Content-Range" in answer.headers["access-control-expose-headers"]


def test_register_and_serve_a_file(client: TestClient, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "my session.nwb"
    target.parent.mkdir()
    target.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(200)) * 50)  # only HDF5 is served
    answer = client.post("/api/files", json={"path": str(target)}, headers=AUTH)
    assert answer.status_code == 201
    url = answer.json()["url"]
    assert url.endswith("/my%20session.nwb") and url.startswith("/files/")
    assert answer.json()["viewer"] == "/?url=http://testserver" + url
    part = client.get(url, headers={"Range": "bytes=-3"})
    assert (part.status_code, part.content) == (206, bytes([197, 198, 199]))
    assert client.head(url).headers["content-length"] == "10008"
    again = client.post("/api/files", json={"path": str(target)}, headers=AUTH)
    assert again.json()["url"] == url  # stable: same file, same URL
    file_id = url.split("/")[2]
    assert client.get(f"/files/{file_id}/other.nwb").status_code == 404
    assert client.get(f"/files/{'0' * 16}/my%20session.nwb").status_code == 404


def test_registry_survives_restart(tmp_path: Path, site: Path) -> None:
    target = tmp_path / "keep.nwb"
    target.write_bytes(b"\x89HDF\r\n\x1a\nkept")
    with make_client(tmp_path, site) as first:
        url = first.post("/api/files", json={"path": str(target)}, headers=AUTH).json()["url"]
    with make_client(tmp_path, site) as second:
        assert second.get(url).content == b"\x89HDF\r\n\x1a\nkept"


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [({"path": "/etc/passwd"}, {}, 401),
     ({"path": "/etc/passwd"}, {"Authorization": "Bearer w"}, 401),
     ({"path": "relative.nwb"}, AUTH, 422), ({"path": "/no/such/file.nwb"}, AUTH, 404),
     ({"path": "/tmp"}, AUTH, 404)],
)
def test_register_refusals(client: TestClient, body: dict, headers: dict, status: int) -> None:
    assert client.post("/api/files", json=body, headers=headers).status_code == status


# ---- the Range parser -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [("bytes=0-9", 100, [(0, 10)]), ("bytes=90-", 100, [(90, 100)]),
     ("bytes=-10", 100, [(90, 100)]),
     ("bytes=-500", 100, [(0, 100)]), ("bytes=50-5000", 100, [(50, 100)]),
     ("bytes=0-4, 2-9, 20-29", 100, [(0, 10), (20, 30)]), ("BYTES = 1-1", 100, [(1, 2)]),
     ("bytes=0-9, 500-600", 100, [(0, 10)]), (None, 100, None), ("bytes=5-1", 100, None),
     ("bytes=a-b", 100, None), ("bytes=1-2-3", 100, None), ("lines=0-9", 100, None),
     ("bytes=" + ",".join(["0-1"] * 101), 100, None)],
)
def test_parse_ranges(header, size: int, expected) -> None:
    assert parse_ranges(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=0-", 0)]
)
def test_parse_ranges_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(Unsatisfiable):
        parse_ranges(header, size)


def test_register_refused_from_another_machine(tmp_path: Path, site: Path) -> None:
    """A token is not enough to publish files: the caller must be on the server's machine."""
    target = tmp_path / "private.nwb"
    target.write_bytes(b"secret")
    settings = Settings(data_dir=tmp_path / "data", site_dir=site, user_token=TOKEN,
                        worker_token="w", embedded_worker=False)
    with TestClient(create_app(settings, broker=False), client=("10.1.2.3", 50000)) as remote:
        answer = remote.post("/api/files", json={"path": str(target)}, headers=AUTH)
    assert answer.status_code == 403
    assert "server's machine" in answer.json()["detail"]
