"""A content-addressed store in S3-compatible object storage (AWS S3, SeaweedFS, MinIO ...).

Why uploads are shaped this way: the key of an object is its hash, known only at the end, and
a reader must never see partial or wrong bytes. Bytes are hashed as they arrive and sent on at
once as the parts of a multipart upload (several parts in flight, so the broker neither spools
to disk nor waits on one PUT at a time). A multipart object is invisible until
``CompleteMultipartUpload``, so:

- when the client names the hash (``PUT /api/store?sha256=``), parts go straight to the final
  key and the upload is completed only once the hash is verified; a mismatch aborts it and
  nothing is left;
- otherwise parts go to a staging key (``<prefix>/uploads/<id>``) that is copied server-side to
  the final key once the hash is known, then deleted;
- a small upload (under one part) is one ``PutObject`` at the end, atomic by itself.

Reads: ``GET /api/store/<hex>`` redirects to ``presigned_url`` (see ``routes``), so the broker
is not in the data path; ``open_range`` serves the broker's own readers (inputs of jobs).

Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID`` ... or a profile), never from
the store URL.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from nwbscope.errors import HashMismatchError, NotFoundError

from .base import PutResult, Store, StoreWriter, check_hex, object_key

CHUNK = 1 << 20
PART_SIZE = 16 << 20  # S3 wants >= 5 MiB but the last; 10,000 parts at most (grown below)
PARTS_IN_FLIGHT = 4  # memory per upload: about (PARTS_IN_FLIGHT + 1) * PART_SIZE
COPY_LIMIT = 5 << 30  # CopyObject's limit; larger staged objects are copied part by part
STAGING = "uploads"
STALE_UPLOAD_S = 24 * 3600  # a multipart upload this old was cut off by a crash
SIZE_CACHE = 10_000  # sizes of objects seen; safe to keep, as an object's bytes never change
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


class _S3Writer(StoreWriter):
    """One upload streaming to S3 as multipart parts while hashed (see the module doc)."""

    def __init__(self, store: S3Store) -> None:  # no scratch file: nothing touches local disk
        self._store = store
        self._hash = hashlib.sha256()
        self.size = 0
        self._buffer = bytearray()
        self._target: str | None = None  # final key when the hash was announced
        self._skip = False  # announced bytes already stored: hash only, send nothing
        self._key: str | None = None  # key of the multipart upload, once started
        self._upload_id: str | None = None
        self._parts: deque[tuple[int, Future]] = deque()
        self._done: list[dict[str, Any]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._staged: str | None = None  # a completed staging object still to delete
        self._finished = False

    def expect(self, sha256: str) -> None:
        """The client named the hash: stream to its final key (completed only if it matches)."""
        if self.size or self._key is not None:
            return
        hexdigest = check_hex(sha256.lower())
        self._target = self._store._key(hexdigest)
        self._skip = self._store.has(hexdigest)

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self.size += len(data)
        if self._skip:
            return
        self._buffer += data
        while len(self._buffer) >= self._part_size():
            part = bytes(self._buffer[: self._part_size()])
            del self._buffer[: len(part)]
            self._send_part(part)

    def _part_size(self) -> int:
        """Parts grow every 1,000 so that S3's 10,000 parts reach past 1 TB."""
        return PART_SIZE * (1 + (len(self._done) + len(self._parts)) // 1000)

    def _send_part(self, part: bytes) -> None:
        client, bucket = self._store.client, self._store.bucket
        if self._upload_id is None:
            self._key = self._target or self._store._staging_key()
            started = client.create_multipart_upload(
                Bucket=bucket, Key=self._key, ContentType="application/octet-stream")
            self._upload_id = started["UploadId"]
            self._pool = ThreadPoolExecutor(PARTS_IN_FLIGHT, thread_name_prefix="s3-part")
        number = len(self._done) + len(self._parts) + 1
        while len(self._parts) >= PARTS_IN_FLIGHT:
            self._collect_one()
        future = self._pool.submit(
            client.upload_part, Bucket=bucket, Key=self._key, UploadId=self._upload_id,
            PartNumber=number, Body=part)
        self._parts.append((number, future))

    def _collect_one(self) -> None:
        number, future = self._parts.popleft()
        self._done.append({"PartNumber": number, "ETag": future.result()["ETag"]})

    def commit(self, expected_sha256: str | None = None) -> PutResult:
        """Publish under the hash once verified; HashMismatchError (nothing stored) if wrong."""
        actual = self._hash.hexdigest()
        try:
            if expected_sha256 is not None:
                expected_sha256 = check_hex(expected_sha256.lower())
            if expected_sha256 is not None and expected_sha256 != actual:
                raise HashMismatchError(expected_sha256, actual)
            if self._target is not None and self._target != self._store._key(actual):
                raise HashMismatchError(self._target.rsplit("/", 1)[-1], actual)
            created = self._publish(actual)
        finally:
            self.abort()
        return PutResult(actual, self.size, created)

    def _publish(self, hexdigest: str) -> bool:
        store, final = self._store, self._store._key(hexdigest)
        if self._skip:
            return False
        if self._upload_id is None:  # under one part: one atomic PUT
            if store.has(hexdigest):
                return False
            store.client.put_object(Bucket=store.bucket, Key=final, Body=bytes(self._buffer),
                                    ContentType="application/octet-stream")
            return True
        if self._buffer:
            self._send_part(bytes(self._buffer))
            self._buffer.clear()
        while self._parts:
            self._collect_one()
        existed = store.has(hexdigest)
        if existed and self._key != final:
            return False  # abort() drops the staged parts
        store.client.complete_multipart_upload(
            Bucket=store.bucket, Key=self._key, UploadId=self._upload_id,
            MultipartUpload={"Parts": self._done})
        self._upload_id = None
        if self._key != final:
            self._staged = self._key
            store._copy(self._key, final, self.size)
        return not existed

    def abort(self) -> None:
        """Leave nothing behind: abort an unfinished multipart upload, drop a staged object."""
        if self._finished:
            return
        self._finished = True
        client, bucket = self._store.client, self._store.bucket
        for _, future in self._parts:
            future.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._upload_id is not None:
            client.abort_multipart_upload(Bucket=bucket, Key=self._key, UploadId=self._upload_id)
            self._upload_id = None
        if self._staged is not None:
            client.delete_object(Bucket=bucket, Key=self._staged)
            self._staged = None
        self._buffer = bytearray()


class S3Store(Store):
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        tmp_dir: str | Path | None = None,
        create_bucket: bool = True,
        redirect: bool = False,
    ) -> None:
        """``redirect``: GETs are 307s to presigned URLs (``from_url``, i.e. ``--store``, turns
        it on unless ``?redirect=false``: for a bucket browsers cannot reach); off, the broker
        streams ranges from the bucket itself."""
        if client is None:
            import boto3  # the s3 extra; imported only when an S3 store is configured

            client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region_name)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.tmp_dir = Path(tmp_dir) if tmp_dir else Path(tempfile.gettempdir()) / "nwbscope-s3"
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._sizes: dict[str, int] = {}  # spares a HEAD before each ranged read
        self.redirects = redirect
        if create_bucket:
            self._ensure_bucket()

    @classmethod
    def from_url(cls, url: str, *, tmp_dir: str | Path | None = None,
                 client: Any = None) -> S3Store:
        """``s3://bucket/prefix?endpoint_url=http://host:port&region_name=us-east-1``; without
        them boto3's own settings apply (``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION`` ...).
        ``&redirect=false`` keeps the broker in the data path (see ``__init__``)."""
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return cls(
            parts.netloc,
            parts.path,
            client=client,
            endpoint_url=query.get("endpoint_url"),
            region_name=query.get("region_name") or query.get("region"),
            tmp_dir=tmp_dir,
            redirect=query.get("redirect", "true").lower() not in ("0", "false", "no", "off"),
        )

    def _ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) not in _MISSING:
                raise
            self.client.create_bucket(Bucket=self.bucket)

    def _key(self, hexdigest: str) -> str:
        return self._in_prefix(object_key(hexdigest))

    def _in_prefix(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _staging_key(self) -> str:
        return self._in_prefix(f"{STAGING}/{uuid.uuid4().hex}")

    def _copy(self, source: str, dest: str, size: int) -> None:
        """Server-side copy (no bytes through the broker); part by part past 5 GiB."""
        where = {"Bucket": self.bucket, "Key": source}
        if size <= COPY_LIMIT:
            self.client.copy_object(Bucket=self.bucket, Key=dest, CopySource=where,
                                    ContentType="application/octet-stream",
                                    MetadataDirective="REPLACE")
            return
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=dest)["UploadId"]
        try:
            parts, step = [], 1 << 30
            for number, start in enumerate(range(0, size, step), 1):
                last = min(start + step, size) - 1
                answer = self.client.upload_part_copy(
                    Bucket=self.bucket, Key=dest, UploadId=upload, PartNumber=number,
                    CopySource=where, CopySourceRange=f"bytes={start}-{last}")
                parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=dest, UploadId=upload,
                                                  MultipartUpload={"Parts": parts})
        except BaseException:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=dest, UploadId=upload)
            raise

    def writer(self) -> StoreWriter:
        return _S3Writer(self)

    def put_stream(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> PutResult:
        with self.writer() as w:
            if expected_sha256:
                w.expect(expected_sha256)
            for chunk in chunks:
                w.write(chunk)
            return w.commit(expected_sha256)

    def scratch_dir(self) -> Path:
        return self.tmp_dir

    def clean_scratch(self) -> int:
        """Abort multipart uploads a crash left (older than a day, so live ones are spared)."""
        removed = 0
        answer = self.client.list_multipart_uploads(Bucket=self.bucket,
                                                    Prefix=self._in_prefix(""))
        for upload in answer.get("Uploads", []):
            started = upload.get("Initiated")
            if started is not None and time.time() - started.timestamp() > STALE_UPLOAD_S:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                   UploadId=upload["UploadId"])
                removed += 1
        return removed

    def _head(self, hexdigest: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(hexdigest))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise

    def has(self, hexdigest: str) -> bool:
        return self._head(hexdigest) is not None

    def size(self, hexdigest: str) -> int:
        if hexdigest in self._sizes:
            return self._sizes[hexdigest]
        head = self._head(hexdigest)
        if head is None:
            raise NotFoundError(hexdigest, "the store")
        if len(self._sizes) >= SIZE_CACHE:
            self._sizes.clear()
        self._sizes[hexdigest] = int(head["ContentLength"])
        return self._sizes[hexdigest]

    def open_range(self, hexdigest: str, start: int, stop: int) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        key = self._key(hexdigest)
        if stop <= start:
            if not self.has(hexdigest):
                raise NotFoundError(hexdigest, "the store")
            return iter(())
        try:
            answer = self.client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={start}-{stop - 1}"
            )
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise NotFoundError(hexdigest, "the store") from None
            raise
        return _iter_body(answer["Body"])

    def delete(self, hexdigest: str) -> bool:
        self._sizes.pop(hexdigest, None)
        if not self.has(hexdigest):
            return False
        self.client.delete_object(Bucket=self.bucket, Key=self._key(hexdigest))
        return True

    def presigned_url(self, hexdigest: str, expires: int = 3600, *,
                      content_type: str | None = None,
                      content_disposition: str | None = None) -> str | None:
        """A GET URL valid ``expires`` seconds; the response headers the broker would have
        sent (type, disposition) are signed into it, so S3 sends them."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(hexdigest)}
        if content_type:
            params["ResponseContentType"] = content_type
        if content_disposition:
            params["ResponseContentDisposition"] = content_disposition
        return self.client.generate_presigned_url("get_object", Params=params,
                                                  ExpiresIn=expires)


def _iter_body(body) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


def _code(exc) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
