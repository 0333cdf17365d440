"""``nwbscope.store``, the stdlib-only client, against a real server (uvicorn in a thread)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from nwbscope.errors import FetchError, HashMismatchError, ParameterError
from nwbscope.store import (
    format_uri,
    load_bytes,
    load_file,
    load_json,
    load_npy,
    object_url,
    parse_uri,
    store_file,
    store_json,
    store_npy,
)
from server_worker.app import create_app
from server_worker.settings import Settings
from server_worker.store import object_key
from tests.services import ThreadedServer

TOKEN = "client-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("client")
    settings = Settings(data_dir=tmp, site_dir=tmp / "no-site", user_token=TOKEN,
                        worker_token="w", embedded_worker=False)
    with ThreadedServer(create_app(settings, broker=False)) as running:
        running.store = running.server.config.app.state.store
        yield running


@pytest.fixture
def env(server, monkeypatch, tmp_path):
    monkeypatch.setenv("NWBSCOPE_URL", server.url)
    monkeypatch.setenv("NWBSCOPE_TOKEN", TOKEN)
    monkeypatch.setenv("NWBSCOPE_CACHE", str(tmp_path / "cache"))
    return server


def test_uri_round_trip() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    uri = format_uri(digest, "my file #1.nwb")
    assert uri == f"sha256://{digest}?label=my%20file%20%231.nwb"
    assert parse_uri(uri) == (digest, "my file #1.nwb")
    assert parse_uri(f"sha256://{digest}") == (digest, None)


@pytest.mark.parametrize(
    "bad", ["https://x/y", "sha256://1234", "sha256://" + "0" * 64 + "/etc", "sha256:/" + "0" * 64]
)
def test_parse_uri_refuses(bad: str) -> None:
    with pytest.raises(ParameterError):
        parse_uri(bad)


def test_json_round_trip_is_canonical(env) -> None:
    first = store_json({"b": [1, 2.5, None], "a": "µV"})
    second = store_json({"a": "µV", "b": [1, 2.5, None]})
    assert first == second  # same object, same bytes, same hash
    assert load_json(first) == {"a": "µV", "b": [1, 2.5, None]}


@pytest.mark.parametrize("array", [np.arange(12, dtype=np.int16).reshape(3, 4) - 6,
                                   np.linspace(0, 1, 7, dtype=np.float32)])
def test_npy_round_trip(env, array: np.ndarray) -> None:
    loaded = load_npy(store_npy(array))
    assert loaded.dtype == array.dtype
    np.testing.assert_array_equal(loaded, array)


def test_store_file_then_load_file(env, tmp_path: Path) -> None:
    source = tmp_path / "rec.bin"
    source.write_bytes(os.urandom(2_500_000))
    uri = store_file(source)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert uri == f"sha256://{digest}?label=rec.bin"
    copy = load_file(uri, tmp_path / "out" / "copy.bin")
    assert copy.read_bytes() == source.read_bytes()
    cached = load_file(uri)  # default: the cache, named by hash and label
    assert cached == tmp_path / "cache" / "store" / digest / "rec.bin"
    assert cached.read_bytes() == source.read_bytes()


def test_known_bytes_are_not_uploaded_again(env, tmp_path: Path) -> None:
    source = tmp_path / "again.bin"
    source.write_bytes(b"already there" * 1000)
    uri = store_file(source)
    # With a wrong token an upload would be refused: success proves nothing was sent.
    assert store_file(source, token="wrong", label="again.bin") == uri


def test_wrong_or_missing_token(env, tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "new.bin"
    source.write_bytes(b"never seen before")
    with pytest.raises(ParameterError, match="refused the token"):
        store_file(source, token="wrong")
    monkeypatch.delenv("NWBSCOPE_TOKEN")
    with pytest.raises(ParameterError, match="NWBSCOPE_TOKEN"):
        store_file(source)


def test_missing_object_is_fetch_error(env) -> None:
    uri = format_uri(hashlib.sha256(b"nowhere").hexdigest(), "x")
    with pytest.raises(FetchError) as info:
        load_bytes(uri)
    assert info.value.status == 404


def test_corrupted_copy_is_detected(env, tmp_path: Path) -> None:
    uri = store_json({"intact": True}, label="c.json")
    digest, _ = parse_uri(uri)
    path = env.store.root / object_key(digest)
    path.chmod(0o644)
    path.write_bytes(b'{"intact":false}')  # bit rot on the server's disk
    with pytest.raises(HashMismatchError):
        load_json(uri)
    with pytest.raises(HashMismatchError):
        load_file(uri, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".part")] == []


def test_object_url(env) -> None:
    uri = store_json([1, 2], label="list.json")
    digest, _ = parse_uri(uri)
    assert object_url(uri) == f"{env.url}/api/store/{digest}?label=list.json"
    assert object_url(uri, "http://elsewhere:1/") == f"http://elsewhere:1/api/store/{digest}?label=list.json"


def test_nwbscope_open_reads_a_stored_file_by_its_uri(env, tmp_path: Path) -> None:
    """``nwbscope.open("sha256://...")`` reads the object by range requests from the store,
    with the same values as the file on disk."""
    import h5py

    import nwbscope
    from tests.fixtures.nwb_files import write_minimal

    source = write_minimal(tmp_path / "session.nwb")
    uri = store_file(source)
    with h5py.File(source, "r") as f:
        expected = f["session_description"][()].decode()
    with nwbscope.open(uri) as nwb:
        assert nwb.metadata.session_description == expected
        assert nwb.stats["requests"] >= 1


@pytest.mark.parametrize("label", ["{target}", "../escaped.json", "a/b.json", ".."])
def test_a_shared_uri_cannot_write_outside_the_cache(env, tmp_path: Path, label: str) -> None:
    """The label of a URI someone shared names a file, never a path."""
    from urllib.parse import quote

    uri = store_json({"x": 1}, label="x.json")
    digest, _ = parse_uri(uri)
    target = tmp_path / "elsewhere.json"
    hostile = f"sha256://{digest}?label=" + quote(label.format(target=target), safe="")
    with pytest.raises(ParameterError, match="not a file name"):
        load_file(hostile)
    assert not target.exists() and not (tmp_path / "cache" / "escaped.json").exists()


def test_a_planted_cached_copy_is_not_trusted(env, tmp_path: Path) -> None:
    """A file already at the cache path is used only if it hashes right (or the cache wrote
    its sidecar); otherwise the object is downloaded again."""
    uri = store_json({"real": True}, label="r.json")
    digest, _ = parse_uri(uri)
    planted = tmp_path / "cache" / "store" / digest / "r.json"
    planted.parent.mkdir(parents=True)
    planted.write_text('{"real": false}')
    path = load_file(uri)
    assert path == planted and hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert load_file(uri) == path  # the second time the sidecar vouches for it
