"""One wrapper around any byte source: block cache, coalesced fetches, read-ahead, counters.

Why one wrapper: every source (HTTP in the worker, a dropped File, a local path) gets the same
caching and the same status-bar figures, and both HDF5 engines read through the same file
object (``CachedSource.open()``), so their request counts can be compared.

- Blocks of ``block_size`` bytes are cached (LRU, at most ``cache_bytes``); a byte is never
  fetched twice while it is cached.
- Missing blocks next to each other are fetched in one request; the plan is made by the pure
  functions ``coalesce_ranges`` and ``plan_block_runs`` (no I/O, tested alone).
- Small reads (HDF5 metadata) get adaptive read-ahead: a miss close to the previous fetch
  doubles the read-ahead (up to ``readahead_max``), in the direction the reads move; a far
  miss resets it. NWB files keep their metadata in a few clusters, so a walk of the tree turns
  into a few large reads instead of a hundred small ones.
- The counters are counted here and nowhere else (``IOStats``): every range asked of the source
  is one request. In the browser that is one ``Range`` XMLHttpRequest (or one ``File`` slice);
  the opening probe, made before this wrapper exists, is handed in with ``add_probe`` and
  counted as the request it was. The same record, with the same field names, goes to
  ``nwbscope.open(...).stats``, the worker's answers and the page's status bar.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Container, Iterable, Sequence

from .base import ByteSource

KiB = 1024
MiB = 1024 * 1024
DEFAULT_BLOCK_SIZE = 64 * KiB
DEFAULT_CACHE_BYTES = 64 * MiB
DEFAULT_READAHEAD_MAX = 4 * MiB


class IOStats:
    """The one I/O record: ``requests`` and ``bytes`` asked of the source (the opening probe
    included), block-cache ``hits`` and ``misses`` (blocks), and ``reads`` (ranges asked of
    the cache). ``on_request`` is called after each request (the worker posts live counters
    from it)."""

    FIELDS = ("requests", "bytes", "hits", "misses", "reads")

    def __init__(self, on_request: Callable[[], None] | None = None) -> None:
        self.requests = 0
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.reads = 0
        self.on_request = on_request

    def request(self, nbytes: int) -> None:
        """One request made, ``nbytes`` received."""
        self.requests += 1
        self.bytes += nbytes
        if self.on_request is not None:
            self.on_request()

    def snapshot(self) -> dict[str, int]:
        """The record as JSON-ready fields (what every caller up to the page gets)."""
        return {name: getattr(self, name) for name in self.FIELDS}

    def __repr__(self) -> str:
        return f"IOStats({self.snapshot()})"


def coalesce_ranges(
    ranges: Iterable[tuple[int, int]], max_gap: int = 0
) -> list[tuple[int, int]]:
    """Sort ``[start, stop)`` ranges and merge those that overlap or lie ``max_gap`` apart."""
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start - merged[-1][1] <= max_gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def plan_block_runs(
    needed: Iterable[int],
    cached: Container[int],
    *,
    ahead: int = 0,
    behind: int = 0,
    n_blocks: int | None = None,
) -> list[tuple[int, int]]:
    """Runs ``[first, stop)`` of block numbers to fetch for ``needed`` blocks.

    Cached blocks are skipped, adjacent missing blocks share a run, the last run is extended
    by up to ``ahead`` uncached blocks (not past ``n_blocks``) and the first run backwards by
    up to ``behind`` uncached blocks (not below 0). Extensions stop at the first cached block.
    """
    missing = sorted({b for b in needed if b not in cached})
    runs = coalesce_ranges(((b, b + 1) for b in missing), max_gap=0)
    if not runs:
        return runs
    first, stop = runs[-1]
    limit = stop + ahead if n_blocks is None else min(stop + ahead, n_blocks)
    while stop < limit and stop not in cached:
        stop += 1
    runs[-1] = (first, stop)
    first, stop = runs[0]
    while behind > 0 and first > 0 and (first - 1) not in cached:
        first -= 1
        behind -= 1
    runs[0] = (first, stop)
    return runs


class AdaptiveReadAhead:
    """Decides how much to read around a small miss, from where the previous fetch fell.

    A miss within ``near`` bytes of the previous fetch doubles the read-ahead (up to
    ``maximum``) and reads it in the direction the reads move, with half as much the other
    way; a miss anywhere else starts over at ``initial``. Reading both ways matters because
    HDF5 metadata is not read in address order: a B-tree node points back to a heap written
    before it. Tuned on a 321 MB pynwb file whose metadata is scattered over its last 12 MB
    (``docs``/bench: about 15 requests for every object, 9 for the first two tree levels).
    """

    def __init__(
        self, block_size: int, maximum: int, near: int = 4 * MiB, initial: int = 256 * KiB
    ) -> None:
        self.block_size = block_size
        self.maximum = maximum
        self.near = near
        self.initial = min(initial, maximum)
        self.size = 0
        self._last: tuple[int, int] | None = None

    def on_miss(self, start: int, stop: int) -> tuple[int, int]:
        """Bytes to read (behind, ahead) for a miss at ``[start, stop)``."""
        if self._last is None or self.maximum <= 0:
            return 0, 0  # the very first read (the superblock): nothing to go on yet
        last_start, last_stop = self._last
        near = max(self.near, 2 * self.size)
        grow = min(self.maximum, max(self.block_size, 2 * self.size))
        if last_stop <= start <= last_stop + near:
            self.size = grow
            return self.size // 2, self.size
        if last_start - near <= stop <= last_start:
            self.size = grow
            return self.size, self.size // 2
        if last_start <= start < last_stop:
            return self.size // 2, self.size  # a hole inside the previous fetch
        self.size = self.initial
        return self.size // 2, self.size

    def fetched(self, start: int, stop: int) -> None:
        self._last = (start, stop)


class CachedSource:
    """A byte source with a block cache, coalescing, adaptive read-ahead and ``stats``."""

    def __init__(
        self,
        source: ByteSource,
        *,
        block_size: int = DEFAULT_BLOCK_SIZE,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        readahead_max: int = DEFAULT_READAHEAD_MAX,
        readahead_near: int = 4 * MiB,
        readahead_initial: int = 256 * KiB,
        stats: IOStats | None = None,
    ) -> None:
        if block_size <= 0:
            raise ValueError("block_size must be positive")
        self.source = source
        self.name = source.name
        self.block_size = block_size
        self.cache_bytes = max(cache_bytes, block_size)
        self.stats = stats if stats is not None else IOStats()
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._cached_bytes = 0
        self._readahead = AdaptiveReadAhead(
            block_size, readahead_max, readahead_near, readahead_initial
        )
        self._lock = threading.RLock()
        self.past_eof: int | None = None  # furthest byte a read wanted beyond the end

    # -- the ByteSource interface ---------------------------------------------------------
    @property
    def size_known(self) -> bool:
        return getattr(self.source, "size_known", True)

    @property
    def size(self) -> int:
        return self.source.size

    @property
    def cached_bytes(self) -> int:
        return self._cached_bytes

    def read_range(self, start: int, stop: int) -> bytes:
        return self.read_ranges([(start, stop)], readahead=True)[0]

    def read_ranges(
        self, ranges: Sequence[tuple[int, int]], *, readahead: bool = False
    ) -> list[bytes]:
        """Read several ranges with one plan: every missing block fetched once, runs merged."""
        with self._lock:
            self.stats.reads += len(ranges)
            size = self.source.size if self.size_known else None
            if size is not None:
                for _, stop in ranges:
                    if stop > size:
                        self.past_eof = max(self.past_eof or 0, stop)
                ranges = [(min(a, size), min(b, size)) for a, b in ranges]
            bs = self.block_size
            needed: list[int] = []
            for start, stop in ranges:
                if stop > start:
                    needed.extend(range(start // bs, (stop + bs - 1) // bs))
            fresh = self._fetch(needed, ranges, size, readahead)
            return [self._assemble(start, stop, fresh) for start, stop in ranges]

    def close(self) -> None:
        with self._lock:
            self._blocks.clear()
            self._cached_bytes = 0
        self.source.close()

    def open(self) -> CachedFile:
        """A read-only, seekable file object over this source, for pyfive and h5py."""
        return CachedFile(self)

    def export_blocks(self) -> tuple[int, dict[int, bytes]]:
        """``(block_size, blocks)`` held now, to keep (e.g. in IndexedDB, keyed by URL and
        ETag/size) and ``preload`` when the same unchanged file is opened again."""
        with self._lock:
            return self.block_size, dict(self._blocks)

    def add_probe(self, data: bytes) -> None:
        """The file's first bytes, read by the opening probe before this cache existed: one
        request, counted, and the first blocks, kept (the superblock read then costs nothing,
        and read-ahead goes on from there). A short last block is kept only at the file's end."""
        with self._lock:
            self.stats.request(len(data))
            bs = self.block_size
            at_end = self.size_known and len(data) >= self.source.size
            kept = len(data) if at_end else len(data) // bs * bs
            for offset in range(0, kept, bs):
                self._store(offset // bs, data[offset : min(offset + bs, kept)])
            if kept:
                self._readahead.fetched(0, kept)

    def preload(self, block_size: int, blocks: dict[int, bytes]) -> None:
        """Fill the cache with blocks exported earlier from the same file (not counted as
        fetched). Only the caller can know the file is unchanged; it must check."""
        if block_size != self.block_size:
            raise ValueError(f"blocks of {block_size} bytes cannot fill a cache of "
                             f"{self.block_size}-byte blocks")
        with self._lock:
            for block, data in sorted(blocks.items()):
                self._store(block, data)

    # -- internals ------------------------------------------------------------------------
    def _fetch(
        self, needed: list[int], ranges: Sequence[tuple[int, int]], size: int | None,
        readahead: bool,
    ) -> dict[int, bytes]:
        bs = self.block_size
        unique = set(needed)
        hits = [b for b in unique if b in self._blocks]
        for b in hits:
            self._blocks.move_to_end(b)
        self.stats.hits += len(hits)
        self.stats.misses += len(unique) - len(hits)
        if len(hits) == len(unique):
            return {}
        ahead = behind = 0
        small = sum(stop - start for start, stop in ranges) <= bs
        if readahead and small:
            start, stop = ranges[0]
            behind_bytes, ahead_bytes = self._readahead.on_miss(start, stop)
            ahead, behind = ahead_bytes // bs, behind_bytes // bs
        n_blocks = None if size is None else (size + bs - 1) // bs
        runs = plan_block_runs(
            unique, self._blocks, ahead=ahead, behind=behind, n_blocks=n_blocks
        )
        byte_ranges = [(first * bs, stop * bs) for first, stop in runs]
        if size is not None:
            byte_ranges = [(a, min(b, size)) for a, b in byte_ranges]
        datas = self.source.read_ranges(byte_ranges)
        fresh: dict[int, bytes] = {}
        for (first, _), data in zip(runs, datas, strict=True):
            self.stats.request(len(data))
            for i in range(0, len(data), bs):
                fresh[first + i // bs] = data[i : i + bs]
        if byte_ranges and readahead and small:
            self._readahead.fetched(byte_ranges[0][0], byte_ranges[-1][1])
        for block, data in fresh.items():
            self._store(block, data)
        return fresh

    def _store(self, block: int, data: bytes) -> None:
        old = self._blocks.pop(block, None)
        if old is not None:
            self._cached_bytes -= len(old)
        self._blocks[block] = data
        self._cached_bytes += len(data)
        while self._cached_bytes > self.cache_bytes and len(self._blocks) > 1:
            _, dropped = self._blocks.popitem(last=False)
            self._cached_bytes -= len(dropped)

    def _assemble(self, start: int, stop: int, fresh: dict[int, bytes]) -> bytes:
        if stop <= start:
            return b""
        bs = self.block_size
        parts = []
        for block in range(start // bs, (stop + bs - 1) // bs):
            data = fresh.get(block)
            if data is None:
                data = self._blocks.get(block)
            if data is None:  # past the end of a source of unknown size
                break
            lo = max(start - block * bs, 0)
            hi = min(stop - block * bs, bs)
            parts.append(data[lo:hi])
            if len(data) < bs:  # a short block is the end of the file
                break
        out = b"".join(parts)
        if len(out) < stop - start:
            self.past_eof = max(self.past_eof or 0, stop)
        return out


class CachedFile(io.RawIOBase):
    """A read-only, seekable binary file over a ``CachedSource``.

    It has no ``fileno`` (so pyfive neither memory-maps nor reopens it by name) and no ``fs``
    or ``path`` attributes (so pyfive does not treat it as an fsspec file).
    """

    def __init__(self, cached: CachedSource) -> None:
        super().__init__()
        self._cached = cached
        self._pos = 0
        self.name = cached.name

    @property
    def cached_source(self) -> CachedSource:
        return self._cached

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._cached.size + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if size is None or size < 0:
            size = max(self._cached.size - self._pos, 0)
        data = self._cached.read_range(self._pos, self._pos + size)
        self._pos += len(data)
        return data

    def readinto(self, buffer) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)
