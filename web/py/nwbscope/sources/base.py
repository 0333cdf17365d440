"""The byte-source interface: the bottom layer every reader stands on.

A source knows its size and reads byte ranges; nothing else. HTTP in a Web Worker, a dropped
browser ``File``, a local path, an HTTP URL from CPython and a content-addressed store object
are all sources. Caching, coalescing and counting are wrappers (``sources.cache``) applied once
around any source, so every source gets them for free.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class ByteSource(Protocol):
    """Random access to the bytes of one file.

    ``read_ranges`` exists so a source that can batch (HTTP multi-range, parallel fetches)
    may do so; the default loops over ``read_range``.
    """

    name: str

    @property
    def size(self) -> int: ...

    def read_range(self, start: int, stop: int) -> bytes:
        """Bytes ``[start, stop)``; short only at end of file."""
        ...

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]: ...

    def close(self) -> None: ...
