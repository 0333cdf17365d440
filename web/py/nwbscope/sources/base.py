"""The byte-source interface: the bottom layer every reader stands on.

A source knows its size and reads byte ranges; nothing else. HTTP in a Web Worker, a dropped
browser ``File``, a local path, an HTTP URL from CPython and a content-addressed store object
are all sources. Caching, coalescing and counting are wrappers (``sources.cache``) applied once
around any source, so every source gets them for free.

Optional: a source whose size is only learnt from its first response (HTTP: ``Content-Range``)
sets ``size_known = False`` until then; the cache wrapper then makes its first read without
asking ``size``, so opening a remote file costs no extra request.
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


class BaseSource:
    """Shared plumbing for concrete sources: ``read_ranges`` by looping, closed-state checks.

    Subclasses set ``name`` and implement ``size`` and ``_read`` (called with a range already
    clipped to ``[0, size)`` when the size is known).
    """

    name: str = "source"
    size_known: bool = True
    _closed: bool = False

    @property
    def size(self) -> int:  # pragma: no cover - subclasses override
        raise NotImplementedError

    def _read(self, start: int, stop: int) -> bytes:  # pragma: no cover - subclasses override
        raise NotImplementedError

    def read_range(self, start: int, stop: int) -> bytes:
        from ..errors import SourceClosedError

        if self._closed:
            raise SourceClosedError(f"{self.name} was closed; open it again to read from it.")
        if start < 0 or stop < start:
            raise ValueError(f"bad byte range [{start}, {stop})")
        if self.size_known:
            stop = min(stop, self.size)
            if start >= stop:
                return b""
        return self._read(start, stop)

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        return [self.read_range(start, stop) for start, stop in ranges]

    def close(self) -> None:
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
