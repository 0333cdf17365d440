"""Reading and decoding stored chunks in batches: few requests, few copies, numpy decoding.

``ChunkIO.read`` takes every chunk a selection needs at once and merges chunks that lie next
to each other in the file (gaps up to ``max_gap`` bytes are read and dropped) into runs of at
most ``max_run`` bytes: a 10-minute window of 4 MiB chunks written in order becomes a few
large requests. Runs of ``direct_min`` bytes or more go straight to the byte source under
the block cache, counted in its ``stats`` like any other fetch: cutting megabytes of values
into 64 KiB blocks, caching them (they would push out the file's metadata, which the browser
keeps across visits) and joining them again cost more than the read. Smaller runs (small
compressed chunks next to B-tree nodes) go through the block cache as before.

``decode_chunk_array`` undoes a filter pipeline into a numpy array: zlib per chunk, the
shuffle filter one byte plane at a time (a strided transpose of the whole chunk is ten times
slower), and an unfiltered chunk read alone is a zero-copy view of the bytes read (one cut
from a run of several is copied: cached, a view would keep the whole run alive). Other
filters go through ``filters.decode_chunk``.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import CorruptFileError, TruncatedFileError
from ..sources.cache import CachedSource
from .filters import FLETCHER32, GZIP, SHUFFLE, Filter, check_fletcher32, decode_chunk

KiB = 1024
MiB = 1024 * KiB


class ChunkIO:
    """Batched chunk reads over one file's source (``base``: the user-block offset)."""

    def __init__(
        self,
        source: Any,
        base: int = 0,
        *,
        max_gap: int = 64 * KiB,
        max_run: int = 32 * MiB,
        direct_min: int = 256 * KiB,
    ) -> None:
        self._source = source
        self._base = base
        self.max_gap = max_gap
        self.max_run = max_run
        self.direct_min = direct_min

    def read(self, ranges: Sequence[tuple[int, int]]) -> list[memoryview]:
        """The bytes of each ``[start, stop)`` (file addresses), in the order given."""
        runs = plan_runs(ranges, self.max_gap, self.max_run)
        small = [r for r in runs if r[1] - r[0] < self.direct_min]
        big = [r for r in runs if r[1] - r[0] >= self.direct_min]
        out: list[memoryview] = [memoryview(b"")] * len(ranges)
        for group, direct in ((small, False), (big, True)):
            if not group:
                continue
            spans = [(a + self._base, b + self._base) for a, b, _ in group]
            datas = self._read_direct(spans, group) if direct else (
                self._source.read_ranges(spans))
            for (run_start, run_stop, members), data in zip(group, datas, strict=True):
                if len(data) < run_stop - run_start:
                    raise TruncatedFileError(self._source.name, self._source.size,
                                             run_stop + self._base)
                view = memoryview(data)
                for index in members:
                    start, stop = ranges[index]
                    out[index] = view[start - run_start : stop - run_start]
        return out

    def _read_direct(
        self, spans: list[tuple[int, int]], runs: list[tuple[int, int, list[int]]]
    ) -> list[bytes]:
        """Runs read from the source under the block cache, counted in the cache's stats."""
        cached = self._source
        if not isinstance(cached, CachedSource):
            return cached.read_ranges(spans)
        datas = cached.source.read_ranges(spans)
        for data in datas:
            cached.stats.request(len(data))
        cached.stats.reads += sum(len(members) for _, _, members in runs)
        return datas


def plan_runs(
    ranges: Sequence[tuple[int, int]], max_gap: int, max_run: int
) -> list[tuple[int, int, list[int]]]:
    """Merge ranges (in address order) into runs ``(start, stop, indices of ranges)``."""
    runs: list[tuple[int, int, list[int]]] = []
    for index in sorted(range(len(ranges)), key=lambda i: ranges[i][0]):
        start, stop = ranges[index]
        if runs:
            run_start, run_stop, members = runs[-1]
            if start - run_stop <= max_gap and max(stop, run_stop) - run_start <= max_run:
                runs[-1] = (run_start, max(stop, run_stop), members)
                members.append(index)
                continue
        runs.append((start, stop, [index]))
    return runs


def decode_chunk_array(
    raw: Any,
    pipeline: Sequence[Filter],
    filter_mask: int,
    dtype: np.dtype,
    chunks: tuple[int, ...],
    dataset: str,
) -> np.ndarray:
    """One stored chunk -> its (read-only) array of shape ``chunks``."""
    count = int(np.prod(chunks, dtype=np.int64))
    nbytes = count * dtype.itemsize
    data: Any = raw
    for index in range(len(pipeline) - 1, -1, -1):
        if filter_mask & (1 << index):
            continue  # the writer skipped this optional filter for this chunk
        data = _undo(pipeline[index], data, dtype.itemsize, nbytes, dataset)
    if len(data) < nbytes:
        raise CorruptFileError(f"A chunk of {dataset} decodes to too few bytes.")
    if isinstance(data, memoryview) and data.nbytes < memoryview(data.obj).nbytes:
        data = bytes(data)  # cut from a larger read: a copy, so the cache does not pin it
    arr = np.frombuffer(data, dtype=dtype, count=count).reshape(chunks)
    arr.flags.writeable = False
    return arr


def _undo(stage: Filter, data: Any, itemsize: int, nbytes: int, dataset: str) -> Any:
    if stage.id == GZIP:
        try:
            return zlib.decompress(data, zlib.MAX_WBITS, nbytes)
        except zlib.error as exc:
            raise CorruptFileError(
                f"A chunk of {dataset} does not decode with its gzip filter ({exc}); "
                "the file is damaged."
            ) from None
    if stage.id == SHUFFLE:
        return unshuffle_array(data, stage.client_data[0] if stage.client_data else itemsize)
    if stage.id == FLETCHER32:
        plain = data if isinstance(data, bytes) or (len(data) - 4) % 2 == 0 else bytes(data)
        check_fletcher32(plain, dataset)
        return memoryview(data)[:-4]
    return decode_chunk(bytes(data), [stage], 0, itemsize, dataset)


def unshuffle_array(data: Any, itemsize: int) -> Any:
    """Undo HDF5's byte shuffle into a new uint8 array; a short tail is left as it is."""
    if itemsize <= 1:
        return data
    buf = np.frombuffer(data, dtype=np.uint8)
    n = len(buf) // itemsize
    whole = n * itemsize
    out = np.empty(len(buf), dtype=np.uint8)
    elements = out[:whole].reshape(n, itemsize)
    planes = buf[:whole].reshape(itemsize, n)
    for k in range(itemsize):
        elements[:, k] = planes[k]
    out[whole:] = buf[whole:]
    return out
