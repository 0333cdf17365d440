"""A content-addressed store in S3-compatible object storage (AWS S3, SeaweedFS, MinIO ...).

Uploads are spooled to a local scratch file while hashed, then sent with one (multipart when
large) PUT to ``<prefix>/sha256/ab/cd/<hex>``: S3 makes an object visible only when its PUT
completes, so readers never see partial bytes, and the key is known only once the hash is.
Reads are ranged GETs, which the server streams on (see ``routes``), so the browser talks to
one origin with one set of CORS and cache headers.

Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID`` ... or a profile), never from
the store URL.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from nwbscope.errors import NotFoundError

from .base import Store, StoreWriter, object_key

CHUNK = 1 << 20
SIZE_CACHE = 10_000  # sizes of objects seen; safe to keep, as an object's bytes never change
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


class _S3Writer(StoreWriter):
    def __init__(self, store: S3Store) -> None:
        super().__init__(store.scratch_dir())
        self._store = store

    def _publish(self, hexdigest: str) -> bool:
        if self._store.has(hexdigest):
            return False
        self._store.client.upload_file(
            str(self.tmp_path),
            self._store.bucket,
            self._store._key(hexdigest),
            ExtraArgs={"ContentType": "application/octet-stream"},
        )
        return True


class S3Store(Store):
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client=None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        tmp_dir: str | Path | None = None,
        create_bucket: bool = True,
    ) -> None:
        if client is None:
            import boto3  # the s3 extra; imported only when an S3 store is configured

            client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region_name)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.tmp_dir = Path(tmp_dir) if tmp_dir else Path(tempfile.gettempdir()) / "nwbscope-s3"
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._sizes: dict[str, int] = {}  # spares a HEAD before each ranged GET of the viewer
        if create_bucket:
            self._ensure_bucket()

    @classmethod
    def from_url(cls, url: str, *, tmp_dir: str | Path | None = None, client=None) -> S3Store:
        """``s3://bucket/prefix?endpoint_url=http://host:port&region_name=us-east-1``."""
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return cls(
            parts.netloc,
            parts.path,
            client=client,
            endpoint_url=query.get("endpoint_url"),
            region_name=query.get("region_name") or query.get("region"),
            tmp_dir=tmp_dir,
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
        key = object_key(hexdigest)
        return f"{self.prefix}/{key}" if self.prefix else key

    def writer(self) -> StoreWriter:
        return _S3Writer(self)

    def scratch_dir(self) -> Path:
        return self.tmp_dir

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

    def presigned_url(self, hexdigest: str, expires: int = 3600) -> str | None:
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._key(hexdigest)},
            ExpiresIn=expires,
        )


def _iter_body(body) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


def _code(exc) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
