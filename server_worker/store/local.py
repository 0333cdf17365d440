"""A content-addressed store in a directory on local disk.

Layout: ``<root>/sha256/ab/cd/<hex>`` for objects and ``<root>/tmp/`` for uploads in flight.
Scratch and final paths share one file system, so publishing is one atomic ``os.replace``;
objects are made read-only, since their bytes are their name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from nwbscope.errors import NotFoundError

from .base import Store, StoreWriter, object_key

CHUNK = 1 << 20


class _LocalWriter(StoreWriter):
    def __init__(self, store: LocalStore) -> None:
        super().__init__(store.scratch_dir())
        self._store = store

    def _publish(self, hexdigest: str) -> bool:
        final = self._store._path(hexdigest)
        if final.exists():
            return False
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.tmp_path, 0o444)
        # Atomic: a reader sees either nothing or every byte. Two uploads of the same bytes
        # racing here both replace with identical content, which is harmless.
        os.replace(self.tmp_path, final)
        return True


class LocalStore(Store):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.url = self.root.as_uri()

    def _path(self, hexdigest: str) -> Path:
        return self.root / object_key(hexdigest)

    def writer(self) -> StoreWriter:
        return _LocalWriter(self)

    def scratch_dir(self) -> Path:
        return self.root / "tmp"

    def has(self, hexdigest: str) -> bool:
        return self._path(hexdigest).is_file()

    def size(self, hexdigest: str) -> int:
        try:
            return self._path(hexdigest).stat().st_size
        except FileNotFoundError:
            raise NotFoundError(hexdigest, "the store") from None

    def open_range(self, hexdigest: str, start: int, stop: int) -> Iterator[bytes]:
        try:
            f = open(self._path(hexdigest), "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            raise NotFoundError(hexdigest, "the store") from None
        return _read_chunks(f, start, stop)

    def delete(self, hexdigest: str) -> bool:
        try:
            self._path(hexdigest).unlink()
        except FileNotFoundError:
            return False
        return True

    def local_path(self, hexdigest: str) -> Path | None:
        path = self._path(hexdigest)
        return path if path.is_file() else None


def _read_chunks(f, start: int, stop: int) -> Iterator[bytes]:
    with f:
        f.seek(start)
        left = stop - start
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
