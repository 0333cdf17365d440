"""The content-addressed store interface that every backend implements.

An object is named only by the SHA-256 of its bytes. A write goes to scratch space while being
hashed and becomes visible under its hash only after the hash is known (and, when the client
sent one, checked), so a reader never sees partial or wrong bytes and the same bytes are kept
once. Keys derive only from a validated hex digest, never from anything a client names.

Backends: ``local.LocalStore`` (a directory) and ``s3.S3Store`` (S3-compatible object
storage). Both pass the one suite in ``tests/test_store_backends.py``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nwbscope.errors import HashMismatchError, ParameterError

HEX_RE = re.compile(r"[0-9a-f]{64}")


def check_hex(hexdigest: str) -> str:
    """Return ``hexdigest`` if it is 64 lowercase hex characters, else raise ParameterError.

    Every backend calls this before building a path or key, so nothing else (``..``, ``/``,
    upper case, an empty string) can ever reach the file system or the bucket.
    """
    if not isinstance(hexdigest, str) or HEX_RE.fullmatch(hexdigest) is None:
        raise ParameterError("sha256", f"{hexdigest!r} is not a SHA-256 hex digest (64 of 0-9a-f)")
    return hexdigest


def object_key(hexdigest: str) -> str:
    """The relative key of an object: ``sha256/ab/cd/<hex>`` (fan-out keeps folders small)."""
    check_hex(hexdigest)
    return f"sha256/{hexdigest[:2]}/{hexdigest[2:4]}/{hexdigest}"


@dataclass(frozen=True)
class PutResult:
    sha256: str
    size: int
    created: bool  # False when the same bytes were already stored


SCRATCH_PREFIX = "upload-"


def remove_dead_scratch(tmp_dir: Path) -> int:
    """Remove the scratch files of uploads nobody writes any more (a server killed in the
    middle of one leaves its file); answer how many.

    Run at server start. A live upload holds a lock on its file (``StoreWriter``), so the
    uploads in flight of another server sharing this scratch directory are spared.
    """
    removed = 0
    for path in Path(tmp_dir).glob(f"{SCRATCH_PREFIX}*"):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # committed or aborted meanwhile
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # being written
        else:
            path.unlink(missing_ok=True)
            removed += 1
        finally:
            os.close(fd)
    return removed


class StoreWriter(ABC):
    """One upload in flight: bytes go to a scratch file while being hashed.

    Use as a context manager: leaving it without ``commit`` (or on an error) removes the
    scratch file.
    """

    def __init__(self, tmp_dir: Path) -> None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=SCRATCH_PREFIX, dir=tmp_dir)
        fcntl.flock(fd, fcntl.LOCK_EX)  # held while open: ``remove_dead_scratch`` spares it
        self._file = os.fdopen(fd, "wb")
        self.tmp_path = Path(name)
        self._hash = hashlib.sha256()
        self.size = 0

    def expect(self, sha256: str) -> None:
        """A hint before any ``write``: the client named the hash it sends. A backend that
        must know the final name up front (S3 multipart) uses it; ``commit`` still checks."""
        self.announced = sha256

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self._file.write(data)
        self.size += len(data)

    def commit(self, expected_sha256: str | None = None) -> PutResult:
        """Publish the bytes under their hash; HashMismatchError (nothing stored) if wrong."""
        self._file.close()
        actual = self._hash.hexdigest()
        try:
            if expected_sha256 is not None:
                expected_sha256 = check_hex(expected_sha256.lower())
            if expected_sha256 is not None and expected_sha256 != actual:
                raise HashMismatchError(expected_sha256, actual)
            created = self._publish(actual)
        finally:
            self.abort()
        return PutResult(actual, self.size, created)

    @abstractmethod
    def _publish(self, hexdigest: str) -> bool:
        """Move the scratch file in place under ``hexdigest``; False if already there."""

    def abort(self) -> None:
        """Drop the scratch file (a no-op once published, as publishing consumes it)."""
        if not self._file.closed:
            self._file.close()
        self.tmp_path.unlink(missing_ok=True)

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


class Store(ABC):
    """What the routes, the broker and the worker need from a store."""

    #: A ``str`` for logs and errors, e.g. ``file:///data/store`` or ``s3://bucket/prefix``.
    url: str
    #: True: ``GET /api/store/<hex>`` answers with a 307 to ``presigned_url`` (clients read
    #: from the storage itself); False: the broker streams the bytes.
    redirects: bool = False

    @abstractmethod
    def writer(self) -> StoreWriter:
        """Start an upload (see ``StoreWriter``)."""

    @abstractmethod
    def has(self, hexdigest: str) -> bool: ...

    @abstractmethod
    def size(self, hexdigest: str) -> int:
        """Size in bytes; NotFoundError when absent."""

    @abstractmethod
    def open_range(self, hexdigest: str, start: int, stop: int) -> Iterator[bytes]:
        """Chunks of bytes ``[start, stop)``; NotFoundError when absent."""

    @abstractmethod
    def delete(self, hexdigest: str) -> bool:
        """Remove an object; False when it was not there."""

    def scratch_dir(self) -> Path | None:
        """The local directory its uploads are written to while in flight (None if none)."""
        return None

    def clean_scratch(self) -> int:
        """Remove what uploads cut off by a crash left in ``scratch_dir``; how many."""
        scratch = self.scratch_dir()
        return remove_dead_scratch(scratch) if scratch is not None else 0

    def local_path(self, hexdigest: str) -> Path | None:
        """A path on this machine holding the bytes, when the backend has one (served with
        ``sendfile``-friendly FileResponse); None for remote backends."""
        return None

    def presigned_url(self, hexdigest: str, expires: int = 3600, *,
                      content_type: str | None = None,
                      content_disposition: str | None = None) -> str | None:
        """A URL anyone may GET for a while (answering with these headers), when the backend
        can make one; ``GET /api/store/<hex>`` redirects there."""
        return None

    def put_stream(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> PutResult:
        """Store an iterable of byte chunks (a convenience over ``writer``)."""
        with self.writer() as w:
            for chunk in chunks:
                w.write(chunk)
            return w.commit(expected_sha256)

    def put_bytes(self, data: bytes, expected_sha256: str | None = None) -> PutResult:
        return self.put_stream([data], expected_sha256)

    def read_bytes(self, hexdigest: str) -> bytes:
        return b"".join(self.open_range(hexdigest, 0, self.size(hexdigest)))
