"""Decoded chunks kept between reads (LRU, a byte budget), so a view read again costs nothing.

Why a cache of *decoded* chunks and not only the byte-block cache under it: a pan or a
redraw reads the same window again, and for a compressed series reading is mostly zlib and
the shuffle filter; keeping the decoded chunk skips both as well as the request. One cache
serves every data set of a file (chunks are keyed by their file address, unique in a file),
so the budget is what the viewer may hold in memory for values, whatever is on screen.

Arrays in the cache are read-only: a reader copies from them into the array it returns, so
a caller that writes into its result can never change what the next read sees.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass

import numpy as np

MiB = 1024 * 1024
DEFAULT_CHUNK_CACHE_BYTES = 256 * MiB  # a laptop's browser tab holds this easily


@dataclass
class ChunkCacheStats:
    """``hits``/``misses`` count chunk look-ups; ``decoded`` counts chunks read and decoded
    (with ``decoded_bytes`` their size once decoded); ``evicted`` chunks dropped for room."""

    hits: int = 0
    misses: int = 0
    decoded: int = 0
    decoded_bytes: int = 0
    evicted: int = 0

    def snapshot(self) -> dict[str, int]:
        return asdict(self)


class ChunkCache:
    """Decoded chunks by file address, least recently used dropped first past ``budget``.

    A chunk larger than the whole budget is not kept (it would evict everything for one
    read); a budget of 0 turns the cache off.
    """

    def __init__(self, budget: int = DEFAULT_CHUNK_CACHE_BYTES) -> None:
        if budget < 0:
            raise ValueError("the chunk cache budget must be 0 or more bytes")
        self._budget = int(budget)
        self._chunks: OrderedDict[int, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # one file may be read from several threads in CPython
        self.stats = ChunkCacheStats()

    @property
    def budget(self) -> int:
        return self._budget

    @budget.setter
    def budget(self, value: int) -> None:
        """A new budget applies at once: a smaller one drops the oldest chunks now."""
        if value < 0:
            raise ValueError("the chunk cache budget must be 0 or more bytes")
        with self._lock:
            self._budget = int(value)
            self._shrink()

    @property
    def cached_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._chunks)

    def __contains__(self, address: object) -> bool:
        return address in self._chunks

    def get(self, address: int) -> np.ndarray | None:
        with self._lock:
            chunk = self._chunks.get(address)
            if chunk is None:
                self.stats.misses += 1
                return None
            self._chunks.move_to_end(address)
            self.stats.hits += 1
            return chunk

    def put(self, address: int, chunk: np.ndarray) -> None:
        """Keep ``chunk`` (made read-only) unless it alone exceeds the budget."""
        chunk.flags.writeable = False
        with self._lock:
            old = self._chunks.pop(address, None)
            if old is not None:
                self._bytes -= old.nbytes
            if chunk.nbytes > self._budget:
                return
            self._chunks[address] = chunk
            self._bytes += chunk.nbytes
            self._shrink()

    def clear(self) -> None:
        with self._lock:
            self._chunks.clear()
            self._bytes = 0

    def _shrink(self) -> None:
        while self._bytes > self._budget and self._chunks:
            _, dropped = self._chunks.popitem(last=False)
            self._bytes -= dropped.nbytes
            self.stats.evicted += 1
