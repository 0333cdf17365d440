"""A source over bytes already in memory (tests, small uploads, a body read whole)."""

from __future__ import annotations

from .base import BaseSource


class MemorySource(BaseSource):
    """The bytes of a file held in memory; reads are slices (zero requests, zero latency)."""

    def __init__(self, data: bytes | bytearray | memoryview, name: str = "memory") -> None:
        self._data = bytes(data)
        self.name = name

    @property
    def size(self) -> int:
        return len(self._data)

    def _read(self, start: int, stop: int) -> bytes:
        return self._data[start:stop]

    def close(self) -> None:
        super().close()
        self._data = b""
