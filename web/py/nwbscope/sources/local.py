"""A source over a local file (CPython: the command line, tests, benchmarks)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ..errors import SourceError
from .base import BaseSource


class LocalFileSource(BaseSource):
    """A file on disk, read with ``os.pread`` where the OS has it (no shared file position)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.name = self.path.name
        try:
            self._fh = open(self.path, "rb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise SourceError(f"Could not open {self.path}: {exc.strerror or exc}.") from exc
        self._size = os.fstat(self._fh.fileno()).st_size
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return self._size

    def _read(self, start: int, stop: int) -> bytes:
        if hasattr(os, "pread"):
            return os.pread(self._fh.fileno(), stop - start, start)
        with self._lock:
            self._fh.seek(start)
            return self._fh.read(stop - start)

    def close(self) -> None:
        super().close()
        self._fh.close()

    def __del__(self) -> None:
        fh = getattr(self, "_fh", None)
        if fh is not None:
            fh.close()
