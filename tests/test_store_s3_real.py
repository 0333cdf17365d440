"""The store on S3-compatible object storage, through a real broker (``nwbscope serve --store
s3://...`` as a process) on a real SeaweedFS (``tests/s3_service.py``).

What is checked is what a lab relies on: a few hundred MB stream through the broker into the
bucket (multipart) and arrive whole under their hash; a wrong announced hash is refused and
leaves no object and no open multipart upload; a GET is a 307 to a presigned URL that serves
ranges itself, while HEAD still answers size and hash from the broker. Plus the pure rule that
keys the viewer's kept metadata on the object's identity rather than on the changing URL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest

from nwbscope.sources.browser import metadata_key
from tests.s3_service import keys_under, open_uploads, s3_broker
from tests.services import NwbscopeServer, SeaweedFS, ServiceUnavailable

MB = 1 << 20
BIG = 300 * MB
TOKEN = "s3-test-token-0123456789"


@pytest.fixture(scope="module")
def broker(s3: SeaweedFS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[NwbscopeServer, str]]:
    try:
        server, prefix = s3_broker(s3, tmp_path_factory.mktemp("s3-broker"), token=TOKEN)
    except ServiceUnavailable as exc:
        pytest.skip(f"broker on S3 did not start: {exc}")
    yield server, prefix
    server.stop()


def blocks(total: int, seed: int, block: int = 4 * MB) -> Iterator[bytes]:
    """``total`` pseudo-random bytes in blocks (never all in memory at once)."""
    rng = np.random.default_rng(seed)
    left = total
    while left:
        n = min(block, left)
        yield rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        left -= n


def sha256_of(chunks: Iterator[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def client(server: NwbscopeServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=300,
                        headers={"Authorization": f"Bearer {TOKEN}"})


def test_big_upload_streams_into_the_bucket(broker, s3: SeaweedFS) -> None:
    server, prefix = broker
    expected = sha256_of(blocks(BIG, seed=1))
    with client(server) as http:
        answer = http.put("/api/store", params={"sha256": expected, "label": "big.bin"},
                          content=blocks(BIG, seed=1))
        assert answer.status_code == 201, answer.text
        assert answer.json()["size"] == BIG
        again = http.put("/api/store", params={"sha256": expected},
                         content=blocks(BIG, seed=1))
        assert (again.status_code, again.json()["created"]) == (200, False)
        head = http.head(f"/api/store/{expected}")
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == BIG
    assert head.headers["ETag"] == f'"{expected}"'
    key = f"sha256/{expected[:2]}/{expected[2:4]}/{expected}"
    assert keys_under(s3, prefix) == [key]
    assert open_uploads(s3, prefix) == []
    body = s3.client().get_object(Bucket="nwbscope-s3-real", Key=f"{prefix}/{key}")["Body"]
    assert sha256_of(body.iter_chunks(8 * MB)) == expected


def test_upload_without_hash_is_staged_then_published(broker, s3: SeaweedFS) -> None:
    server, prefix = broker
    size = 40 * MB  # several parts: the staging key and the server-side copy
    expected = sha256_of(blocks(size, seed=2))
    with client(server) as http:
        answer = http.put("/api/store", content=blocks(size, seed=2))
    assert answer.status_code == 201, answer.text
    assert answer.json()["sha256"] == expected
    assert all(not k.startswith("uploads/") for k in keys_under(s3, prefix))
    assert f"sha256/{expected[:2]}/{expected[2:4]}/{expected}" in keys_under(s3, prefix)
    assert open_uploads(s3, prefix) == []


def test_wrong_hash_is_refused_and_leaves_nothing(s3: SeaweedFS, tmp_path: Path) -> None:
    server, prefix = s3_broker(s3, tmp_path, token=TOKEN)
    try:
        wrong = hashlib.sha256(b"not these bytes").hexdigest()
        with client(server) as http:
            answer = http.put("/api/store", params={"sha256": wrong},
                              content=blocks(BIG, seed=3))
            assert answer.status_code == 400, answer.text
            assert http.head(f"/api/store/{wrong}").status_code == 404
    finally:
        server.stop()
    assert keys_under(s3, prefix) == []
    assert open_uploads(s3, prefix) == []


def test_get_redirects_to_a_presigned_url_that_serves_ranges(broker, s3: SeaweedFS) -> None:
    server, _ = broker
    data = b"".join(blocks(3 * MB, seed=4))
    with client(server) as http:
        digest = http.put("/api/store", content=data).json()["sha256"]
        moved = http.get(f"/api/store/{digest}", params={"label": "x.nwb"},
                         headers={"Range": "bytes=10-19", "Origin": "https://viewer.example"})
        assert moved.status_code == 307
        assert moved.headers["Access-Control-Allow-Origin"] == "*"  # a viewer elsewhere follows
        assert moved.headers["Cache-Control"] == "no-store"
        location = moved.headers["Location"]
        assert urlsplit(location).netloc == urlsplit(s3.endpoint_url).netloc
        read = http.get(f"/api/store/{digest}", params={"label": "x.nwb"},
                        headers={"Range": "bytes=1000000-1000099"}, follow_redirects=True)
        assert http.get(f"/api/store/{'0' * 64}").status_code == 404
    assert read.status_code == 206
    assert read.content == data[1000000:1000100]
    assert read.headers["Content-Range"] == f"bytes 1000000-1000099/{len(data)}"
    assert read.headers["Content-Type"] == "application/x-hdf5"
    assert str(read.url) != f"{server.url}/api/store/{digest}"  # served by the bucket
    direct = httpx.get(location, headers={"Range": "bytes=10-19"})  # no token needed
    assert (direct.status_code, direct.content) == (206, data[10:20])


def test_a_worker_fetches_a_stored_input_through_the_broker_under_the_url_policy(
        broker, tmp_path: Path) -> None:
    """The bucket is on a private address (loopback here, the lab's LAN in practice), which
    the worker's input policy refuses for any URL but its broker's files: stored inputs come
    through the broker (``?redirect=false``), so they need no --allow-private-urls."""
    from server_worker.url_policy import BlockedUrlError, UrlPolicy
    from server_worker.worker.client import BrokerClient
    from server_worker.worker.limits import WorkerLimits

    server, _ = broker
    data = b"\x89HDF\r\n\x1a\n" + b"".join(blocks(2 * MB, seed=7))
    with client(server) as http:
        digest = http.put("/api/store", content=data).json()["sha256"]
        moved = http.get(f"/api/store/{digest}")
        streamed = http.get(f"/api/store/{digest}", params={"redirect": "false"},
                            headers={"Range": "bytes=0-7"})
    assert moved.status_code == 307
    assert (streamed.status_code, streamed.content) == (206, data[:8])
    policy = UrlPolicy.for_worker(False, server.url)
    with pytest.raises(BlockedUrlError):  # the presigned URL itself is a private address
        policy.check(moved.headers["Location"])
    worker = BrokerClient(server.url, TOKEN)
    got = worker.fetch_input(f"sha256://{digest}", tmp_path / "in.nwb", tmp_path / "cache",
                             limits=WorkerLimits())
    assert got == digest
    assert (tmp_path / "in.nwb").read_bytes() == data


def test_metadata_key_is_the_objects_identity() -> None:
    stamp = {"size": 10, "etag": '"abc"', "last_modified": None}
    first = "http://s3:9000/b/p/sha256/ab/cd/x?X-Amz-Signature=1&X-Amz-Date=20260101T000000Z"
    second = "http://s3:9000/b/p/sha256/ab/cd/x?X-Amz-Signature=2&X-Amz-Date=20260101T001500Z"
    assert metadata_key(first, stamp) == metadata_key(second, stamp)
    assert metadata_key(first, stamp) == "http://s3:9000/b/p/sha256/ab/cd/x"
    assert metadata_key(first, stamp) != metadata_key(first.replace("/x?", "/y?"), stamp)
    plain = "https://dandi.example/f.nwb?version=2&a=%20b"
    assert metadata_key(plain, stamp) == plain  # nothing signs it: the URL itself, untouched
    legacy = "http://h/k?v=1&AWSAccessKeyId=A&Expires=1&Signature=s&response-content-type=x"
    assert metadata_key(legacy, stamp) == "http://h/k?v=1"


def test_an_expired_presigned_url_is_followed_again(monkeypatch) -> None:
    """A 403 from the final URL (the presigned one expired) asks the URL first given again
    once; any other failure, or a 403 of the URL first given, is raised as it is."""
    from nwbscope.errors import FetchError
    from nwbscope.sources.browser import XhrRangeSource

    source = XhrRangeSource("http://s3/k?Signature=old", 100, origin_url="http://broker/x")
    asked: list[str] = []

    def request(start: int, stop: int) -> bytes:
        asked.append(source.url)
        if source.url.endswith("old"):
            raise FetchError(source.url, 403)
        source.url = "http://s3/k?Signature=new"  # where the broker redirected this time
        return b"x" * (stop - start)

    monkeypatch.setattr(source, "_request", request)
    assert source._read(0, 10) == b"x" * 10
    assert asked == ["http://s3/k?Signature=old", "http://broker/x"]
    assert source.url == "http://s3/k?Signature=new"

    plain = XhrRangeSource("http://h/f.nwb", 100)
    monkeypatch.setattr(plain, "_request", lambda a, b: (_ for _ in ()).throw(
        FetchError(plain.url, 403)))
    with pytest.raises(FetchError):
        plain._read(0, 10)


def test_an_upload_cut_off_leaves_no_open_multipart_upload(broker, s3: SeaweedFS) -> None:
    """A client that goes away mid-body (40 of an announced 100 MB): the broker aborts the
    multipart upload it had started, so the bucket keeps no orphan parts."""
    import socket
    import time

    server, prefix = broker
    announced = 100 * MB
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall((f"PUT /api/store?sha256={'1' * 64} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Authorization: Bearer {TOKEN}\r\nContent-Length: {announced}\r\n"
                      "Content-Type: application/octet-stream\r\n\r\n").encode())
        for chunk in blocks(40 * MB, seed=5):
            sock.sendall(chunk)
        started = time.monotonic() + 20
        while not open_uploads(s3, prefix) and time.monotonic() < started:
            time.sleep(0.2)
        assert open_uploads(s3, prefix), "the broker never began the multipart upload"
    deadline = time.monotonic() + 20
    while open_uploads(s3, prefix) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert open_uploads(s3, prefix) == []
    assert all(not k.startswith("uploads/") for k in keys_under(s3, prefix))


def test_endpoint_from_the_usual_aws_variables(s3: SeaweedFS, monkeypatch,
                                               tmp_path: Path) -> None:
    """``--store s3://bucket/prefix`` with nothing else: endpoint, region and keys come from
    ``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION``, ``AWS_ACCESS_KEY_ID`` ... (boto3's chain)."""
    from server_worker.store import open_store

    for key, value in {**s3.env(), "AWS_ENDPOINT_URL": s3.endpoint_url}.items():
        monkeypatch.setenv(key, value)
    store = open_store("s3://nwbscope-s3-real/from-env", tmp_dir=tmp_path)
    assert store.redirects
    digest = store.put_bytes(b"from the environment").sha256
    assert store.read_bytes(digest) == b"from the environment"
    assert store.presigned_url(digest).startswith(s3.endpoint_url)
    assert not open_store("s3://nwbscope-s3-real/x?redirect=false", tmp_dir=tmp_path).redirects
