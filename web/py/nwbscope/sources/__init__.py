"""Byte sources (local path, HTTP, memory, browser File) and the cache/counter wrapper.

``open_source(target)`` turns what a caller holds (a path, an http(s) URL, bytes, or a source
already) into a ``ByteSource``; ``CachedSource`` wraps any of them once.
"""

from __future__ import annotations

import os
from typing import Any

from .base import BaseSource, ByteSource
from .cache import CachedFile, CachedSource, IOStats, coalesce_ranges, plan_block_runs
from .memory import MemorySource

__all__ = [
    "BaseSource", "ByteSource", "CachedFile", "CachedSource", "IOStats", "MemorySource",
    "coalesce_ranges", "open_source", "plan_block_runs",
]


def is_url(target: object) -> bool:
    return isinstance(target, str) and target.lower().startswith(("http://", "https://"))


def open_source(target: Any, **http_options: Any) -> ByteSource:
    """A source for a path (str/Path), an http(s) URL, bytes, or a ByteSource (returned as is).

    ``http_options`` go to ``HttpSource`` (``whole_file_limit``, ``timeout``, ``headers``).
    """
    if isinstance(target, ByteSource):
        return target
    if isinstance(target, bytes | bytearray | memoryview):
        return MemorySource(target)
    if is_url(target):
        from .http import HttpSource

        return HttpSource(target, **http_options)
    if isinstance(target, str | os.PathLike):
        from .local import LocalFileSource

        return LocalFileSource(target)
    raise TypeError(
        f"Cannot read from a {type(target).__name__}: give a path, an http(s) URL, bytes "
        "or a byte source."
    )
