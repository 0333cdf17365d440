"""``POST /api/files`` publishes only HDF5/NWB files outside the server's own places (#11 item 4).

A registered file is served without a token to any origin, so what may be registered and what
is served must be decided by the file itself: its content (the HDF5 signature), what it really
is (a regular file, wherever its symlinks lead) and where it really lies (never in the data
directory, the runtime directory or ~/.ssh). The checks run again at every serve, on the very
file that is then sent, so swapping a registered file for a symlink publishes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server_worker import files as files_module
from server_worker.settings import save_tokens
from tests.test_server_static import TOKEN, make_client

AUTH = {"Authorization": f"Bearer {TOKEN}"}
SIGNATURE = b"\x89HDF\r\n\x1a\n"
SECRET = b"root:$6$very-secret-hash:19000:0:99999:7:::\n"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>nwbscope test site</title>")
    return root


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home and a runtime dir of the test's own, so the refusals are checked for real."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NWBSCOPE_RUNTIME_DIR", str(tmp_path / "runtime"))
    return tmp_path


@pytest.fixture
def client(places: Path, site: Path):
    with make_client(places, site) as c:
        yield c


def hdf5(path: Path, body: bytes = bytes(range(256)) * 8, *, user_block: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(user_block) + SIGNATURE + body)
    return path


def register(client: TestClient, path: Path | str):
    return client.post("/api/files", json={"path": str(path)}, headers=AUTH)


def swap_for_symlink(path: Path, target: Path) -> None:
    link = path.with_name(path.name + ".new")
    link.symlink_to(target)
    os.replace(link, path)  # atomic, as an attacker would do it


# ---- 1. only HDF5/NWB files, judged by content ----------------------------------------------

def test_a_file_that_is_not_hdf5_is_refused_whatever_its_name(client, tmp_path: Path) -> None:
    fake = tmp_path / "session.nwb"
    fake.write_bytes(b"<!DOCTYPE html><html>Sign in to download</html>")
    answer = register(client, fake)
    assert answer.status_code == 422
    assert answer.json()["detail"] == f"path: {fake} is not an HDF5/NWB file"


def test_hdf5_is_recognised_by_content_also_after_a_user_block(client, tmp_path: Path) -> None:
    plain = hdf5(tmp_path / "recording.bin")
    blocked = hdf5(tmp_path / "blocked.nwb", user_block=1024)
    for path in (plain, blocked):
        answer = register(client, path)
        assert answer.status_code == 201, answer.text
        assert client.get(answer.json()["url"]).content == path.read_bytes()


def test_not_a_regular_file_is_not_registered(client, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.nwb"
    os.mkfifo(fifo)  # opening it for reading would block the server: never opened
    assert register(client, fifo).status_code == 404
    assert register(client, tmp_path).status_code == 404
    registered = hdf5(tmp_path / "session.nwb")
    url = register(client, registered).json()["url"]
    os.replace(fifo, registered)
    assert client.get(url).status_code == 404


# ---- 2. the server's own places are refused ---------------------------------------------------

def test_the_data_directory_is_refused(client, places: Path) -> None:
    data = places / "data"
    save_tokens(data, {"user_token": TOKEN, "worker_token": "w"})
    answer = register(client, data / "tokens.json")
    assert answer.status_code == 403
    assert "data directory" in answer.json()["detail"]
    # an HDF5 file in the store is published by the store's own (authenticated) routes only
    stored = hdf5(data / "store" / "ab" / "abcdef")
    assert register(client, stored).status_code == 403
    # a symlink from elsewhere into the data directory is judged by where it leads
    link = places / "innocent.nwb"
    link.symlink_to(stored)
    assert register(client, link).status_code == 403


def test_runtime_dir_ssh_and_a_store_elsewhere_are_refused(places: Path, site: Path) -> None:
    runtime = hdf5(places / "runtime" / "server-8000.nwb")
    ssh = hdf5(places / "home" / ".ssh" / "id_ed25519.nwb")
    store = hdf5(places / "store-elsewhere" / "ab" / "abcdef")
    with make_client(places, site, store_url=str(places / "store-elsewhere")) as client:
        for path in (runtime, ssh, store):
            answer = register(client, path)
            assert answer.status_code == 403, (path, answer.text)
            assert "served" in answer.json()["detail"]


def test_the_demo_file_keeps_its_own_url(client, places: Path) -> None:
    demo = hdf5(places / "data" / "demo.nwb")
    answer = register(client, demo)
    assert answer.status_code == 201, answer.text
    assert answer.json()["url"] == "/files/demo.nwb"
    assert client.get("/files/demo.nwb", headers={"Range": "bytes=0-7"}).content == SIGNATURE


# ---- 3. unguessable, stable ids ---------------------------------------------------------------

def test_ids_are_random_stable_and_persisted(places: Path, site: Path) -> None:
    target = hdf5(places / "keep.nwb")
    with make_client(places, site) as first:
        answer = register(first, target).json()
        again = register(first, target).json()
    assert answer["id"] == again["id"]
    assert answer["id"] != hashlib.sha256(str(target).encode()).hexdigest()[:16]
    assert len(answer["id"]) >= 22  # >= 128 bits, from secrets
    other = hdf5(places / "other.nwb")
    with make_client(places, site) as second:
        assert register(second, target).json()["id"] == answer["id"]  # bookmarks keep working
        assert second.get(answer["url"]).content == target.read_bytes()
        assert register(second, other).json()["id"] != answer["id"]
    saved = json.loads((places / "data" / "files.json").read_text())
    assert saved["files"][answer["id"]] == str(target)


def test_an_old_registry_is_rekeyed_and_its_ids_stop_working(places: Path, site: Path) -> None:
    target = hdf5(places / "old.nwb")
    old_id = hashlib.sha256(str(target).encode()).hexdigest()[:16]
    registry = places / "data" / "files.json"
    registry.parent.mkdir(parents=True)
    registry.write_text(json.dumps({old_id: str(target)}))
    with make_client(places, site) as client:
        assert old_id not in registry.read_text()  # re-keyed as soon as it is loaded
        assert client.get(f"/files/{old_id}/old.nwb").status_code == 404
        answer = register(client, target).json()
        assert answer["id"] != old_id
        assert client.get(answer["url"]).content == target.read_bytes()
    assert json.loads(registry.read_text())["files"] == {answer["id"]: str(target)}


# ---- 4. symlinks: the link's name, the target checked at every serve ------------------------

def test_a_symlink_is_served_under_its_own_name(client, tmp_path: Path) -> None:
    target = hdf5(tmp_path / "2024-05-01_session.nwb")
    link = tmp_path / "latest.nwb"
    link.symlink_to(target)
    answer = register(client, link)
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"] == "latest.nwb"
    assert answer.json()["url"].endswith("/latest.nwb")
    part = client.get(answer.json()["url"], headers={"Range": "bytes=0-7"})
    assert (part.status_code, part.content) == (206, SIGNATURE)


def test_a_registered_file_swapped_for_a_symlink_to_a_secret_is_not_served(
    client, tmp_path: Path
) -> None:
    shadow = tmp_path / "shadow"  # stands for /etc/shadow: readable here, not HDF5
    shadow.write_bytes(SECRET)
    registered = hdf5(tmp_path / "session.nwb")
    url = register(client, registered).json()["url"]
    swap_for_symlink(registered, shadow)
    for answer in (client.get(url), client.get(url, headers={"Range": "bytes=0-10"}),
                   client.head(url)):
        assert answer.status_code == 404
        assert SECRET[:10] not in answer.content
        assert "content-range" not in answer.headers
    assert "is not an HDF5/NWB file now" in client.get(url).json()["detail"]


def test_a_registered_file_swapped_for_a_symlink_into_the_data_dir_is_refused(
    client, places: Path
) -> None:
    inside = hdf5(places / "data" / "store" / "cd" / "cdef", b"stored object")
    registered = hdf5(places / "session.nwb")
    url = register(client, registered).json()["url"]
    swap_for_symlink(registered, inside)
    answer = client.get(url)
    assert answer.status_code == 403
    assert b"stored object" not in answer.content
    assert "data directory" in answer.json()["detail"]
    swap_for_symlink(registered, hdf5(places / "fine.nwb", b"fine again"))
    assert client.get(url).content.endswith(b"fine again")  # re-checked every time


def test_the_checked_file_is_the_file_sent(client, tmp_path: Path, monkeypatch) -> None:
    """No check-then-open race: swapping the path right after the check changes nothing."""
    shadow = tmp_path / "shadow"
    shadow.write_bytes(SECRET * 100)
    registered = hdf5(tmp_path / "session.nwb", b"the checked bytes")
    url = register(client, registered).json()["url"]
    check = files_module.find_signature

    def check_then_swap(source):
        found = check(source)
        swap_for_symlink(registered, shadow)
        return found

    monkeypatch.setattr(files_module, "find_signature", check_then_swap)
    whole = client.get(url)
    assert (whole.status_code, whole.content) == (200, SIGNATURE + b"the checked bytes")
    part = client.get(url, headers={"Range": "bytes=8-"})  # path is the secret by now
    assert part.status_code == 404  # judged again, on the file that would be sent


# ---- 6. Range semantics unchanged, and nothing left open --------------------------------------

def test_range_if_range_and_multipart_as_before(client, tmp_path: Path) -> None:
    target = hdf5(tmp_path / "ranges.nwb")
    data = target.read_bytes()
    url = register(client, target).json()["url"]
    head = client.head(url)
    assert head.headers["content-length"] == str(len(data))
    assert head.headers["accept-ranges"] == "bytes"
    etag = head.headers["etag"]
    kept = client.get(url, headers={"Range": "bytes=10-19", "If-Range": etag})
    assert (kept.status_code, kept.content) == (206, data[10:20])
    assert kept.headers["content-range"] == f"bytes 10-19/{len(data)}"
    stale = client.get(url, headers={"Range": "bytes=10-19", "If-Range": '"other"'})
    assert (stale.status_code, stale.content) == (200, data)
    multi = client.get(url, headers={"Range": "bytes=0-3, 100-103"})
    assert multi.status_code == 206
    assert multi.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert data[0:4] in multi.content and data[100:104] in multi.content
    past = client.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert (past.status_code, past.headers["content-range"]) == (416, f"bytes */{len(data)}")
    ignored = client.get(url, headers={"Range": "bytes=9-3"})
    assert (ignored.status_code, ignored.content) == (200, data)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts /proc/self/fd")
def test_serving_leaves_no_file_open(client, tmp_path: Path) -> None:
    url = register(client, hdf5(tmp_path / "open.nwb")).json()["url"]
    client.get(url)
    before = len(os.listdir("/proc/self/fd"))
    for headers in ({}, {"Range": "bytes=0-3"}, {"Range": "bytes=0-1, 5-6"},
                    {"Range": "bytes=999999-"}):
        client.get(url, headers=headers)
        client.head(url, headers=headers)
    assert len(os.listdir("/proc/self/fd")) == before
