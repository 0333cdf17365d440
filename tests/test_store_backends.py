"""One suite for every content-addressed store backend (zarr's ``StoreTests`` pattern).

``StoreTests`` holds the tests; each backend class only says how to make a store, which keys
it holds and where its scratch files go. S3 runs against a real SeaweedFS started by the suite
(``tests/services.py``), skipped with the reason only when ``weed`` cannot start here.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest

from nwbscope.errors import HashMismatchError, NotFoundError, ParameterError
from server_worker.store import LocalStore, Store, object_key, open_store
from server_worker.store.s3 import S3Store
from tests.services import SeaweedFS, ServiceUnavailable, shared

BAD_NAMES = ["../../etc/passwd", "A" * 64, "g" * 64, "", "ab/" + "0" * 61, "0" * 63, "0" * 65]


def payload(n: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


class StoreTests:
    """Inherited by one class per backend; those implement the three hooks below."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Store:
        raise NotImplementedError

    def keys(self, store: Store) -> list[str]:
        """Every object key the backend holds (to check 'stored once' / 'nothing stored')."""
        raise NotImplementedError

    def scratch(self, store: Store) -> list[Path]:
        """Leftover scratch files of uploads."""
        tmp = store.root / "tmp" if isinstance(store, LocalStore) else store.tmp_dir
        return sorted(tmp.iterdir()) if tmp.exists() else []

    # -- writing ----------------------------------------------------------------------------
    def test_put_returns_hash_and_size(self, store: Store) -> None:
        data = payload(5000)
        result = store.put_bytes(data)
        assert result.sha256 == hashlib.sha256(data).hexdigest()
        assert (result.size, result.created) == (5000, True)
        assert store.has(result.sha256)
        assert store.size(result.sha256) == 5000
        assert store.read_bytes(result.sha256) == data
        assert self.keys(store) == [object_key(result.sha256)]
        assert self.scratch(store) == []

    def test_same_bytes_stored_once(self, store: Store) -> None:
        data = payload(3000, seed=1)
        first = store.put_bytes(data)
        second = store.put_stream([data[:1000], data[1000:]])
        assert (first.created, second.created) == (True, False)
        assert first.sha256 == second.sha256
        assert self.keys(store) == [object_key(first.sha256)]
        assert self.scratch(store) == []

    def test_streamed_chunks_hash_like_the_whole(self, store: Store) -> None:
        data = payload(70_001, seed=2)
        chunks = [data[i : i + 999] for i in range(0, len(data), 999)]
        result = store.put_stream(chunks)
        assert result.sha256 == hashlib.sha256(data).hexdigest()
        assert result.size == len(data)
        assert store.read_bytes(result.sha256) == data

    def test_expected_hash_accepted(self, store: Store) -> None:
        data = payload(100, seed=3)
        digest = hashlib.sha256(data).hexdigest()
        assert store.put_bytes(data, expected_sha256=digest.upper()).sha256 == digest

    def test_hash_mismatch_stores_nothing(self, store: Store) -> None:
        data = payload(2048, seed=4)
        wrong = hashlib.sha256(b"something else").hexdigest()
        with pytest.raises(HashMismatchError) as info:
            store.put_bytes(data, expected_sha256=wrong)
        assert info.value.actual == hashlib.sha256(data).hexdigest()
        assert info.value.expected == wrong
        assert not store.has(info.value.actual)
        assert not store.has(wrong)
        assert self.keys(store) == []
        assert self.scratch(store) == []

    def test_failed_upload_leaves_nothing(self, store: Store) -> None:
        with pytest.raises(RuntimeError, match="client went away"):
            with store.writer() as writer:
                writer.write(b"partial bytes")
                raise RuntimeError("client went away")
        assert self.keys(store) == []
        assert self.scratch(store) == []

    def test_empty_object(self, store: Store) -> None:
        result = store.put_bytes(b"")
        assert result.sha256 == hashlib.sha256(b"").hexdigest()
        assert store.size(result.sha256) == 0
        assert store.read_bytes(result.sha256) == b""

    # -- reading ----------------------------------------------------------------------------
    @pytest.mark.parametrize(
        ("start", "stop"),
        [(0, 10), (3_000_000 - 5, 3_000_000), ((1 << 20) - 3, (1 << 20) + 7), (5, 5),
         (0, 3_000_000)],
    )
    def test_open_range(self, store: Store, start: int, stop: int) -> None:
        data = payload(3_000_000, seed=5)  # spans several 1 MiB read chunks
        digest = store.put_bytes(data).sha256
        assert b"".join(store.open_range(digest, start, stop)) == data[start:stop]

    def test_missing_object(self, store: Store) -> None:
        digest = hashlib.sha256(b"never stored").hexdigest()
        assert not store.has(digest)
        assert store.delete(digest) is False
        with pytest.raises(NotFoundError):
            store.size(digest)
        with pytest.raises(NotFoundError):
            b"".join(store.open_range(digest, 0, 10))

    def test_delete(self, store: Store) -> None:
        digest = store.put_bytes(b"short-lived").sha256
        assert store.delete(digest) is True
        assert not store.has(digest)
        assert self.keys(store) == []

    @pytest.mark.parametrize("name", BAD_NAMES)
    def test_names_that_are_not_hashes_are_refused(self, store: Store, name: str) -> None:
        for call in (store.has, store.size, store.delete, lambda n: store.open_range(n, 0, 1)):
            with pytest.raises(ParameterError):
                call(name)

    @pytest.mark.parametrize("expected", ["nothex", "0" * 63, "../" + "0" * 61])
    def test_malformed_expected_hash_is_refused(self, store: Store, expected: str) -> None:
        with pytest.raises(ParameterError):
            store.put_bytes(b"x", expected_sha256=expected)
        assert self.keys(store) == []
        assert self.scratch(store) == []


def test_object_key_layout() -> None:
    digest = hashlib.sha256(b"abc").hexdigest()
    assert object_key(digest) == f"sha256/ba/78/{digest}"


class TestLocalStore(StoreTests):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Store:
        return open_store((tmp_path / "cas").as_uri())

    def keys(self, store: Store) -> list[str]:
        root = store.root / "sha256"
        return sorted(str(p.relative_to(store.root)) for p in root.rglob("*") if p.is_file())

    def test_objects_are_read_only_and_local(self, store: Store) -> None:
        digest = store.put_bytes(b"immutable").sha256
        path = store.local_path(digest)
        assert path == store.root / object_key(digest)
        assert path.stat().st_mode & 0o222 == 0
        assert store.local_path(hashlib.sha256(b"other").hexdigest()) is None

    def test_plain_path_url(self, tmp_path: Path) -> None:
        assert open_store(str(tmp_path / "x")).root == (tmp_path / "x").resolve()


@pytest.fixture(scope="module")
def seaweedfs() -> SeaweedFS:
    try:
        return shared("seaweedfs", SeaweedFS)
    except ServiceUnavailable as exc:
        pytest.skip(f"S3 backend not tested: {exc}")


class TestS3Store(StoreTests):
    @pytest.fixture
    def store(self, tmp_path: Path, seaweedfs: SeaweedFS) -> Store:
        # A fresh prefix per test keeps tests apart in one bucket.
        return S3Store("nwbscope-test", f"t-{uuid.uuid4().hex[:12]}", client=seaweedfs.client(),
                       tmp_dir=tmp_path / "scratch")

    def keys(self, store: Store) -> list[str]:
        listing = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix + "/")
        found = listing.get("Contents", [])
        return sorted(o["Key"].removeprefix(store.prefix + "/") for o in found)

    def test_presigned_url_honours_range(self, store: S3Store) -> None:
        data = payload(10_000, seed=6)
        digest = store.put_bytes(data).sha256
        answer = httpx.get(store.presigned_url(digest), headers={"Range": "bytes=100-199"})
        assert answer.status_code == 206
        assert answer.content == data[100:200]

    def test_store_from_url(self, seaweedfs: SeaweedFS, monkeypatch, tmp_path: Path) -> None:
        for key, value in seaweedfs.env().items():
            monkeypatch.setenv(key, value)
        url = f"s3://nwbscope-url-test/some/prefix?endpoint_url={seaweedfs.endpoint_url}"
        store = open_store(url, tmp_dir=tmp_path)
        assert (store.bucket, store.prefix) == ("nwbscope-url-test", "some/prefix")
        digest = store.put_bytes(b"via url").sha256
        assert store.read_bytes(digest) == b"via url"
        assert self.keys(store) == [object_key(digest)]
