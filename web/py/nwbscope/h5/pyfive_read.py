"""Reading dataset values for the pyfive engine: compact, contiguous and chunked storage.

pyfive 1.2.1 reads chunked data only where every chunk was written (a missing chunk is a
``KeyError``), walks the whole chunk B-tree one node at a time before the first value,
memory-maps reference datasets (a plain file object has no ``fileno``) and decodes filters
it knows or fails with ``NotImplementedError``. So this reader uses pyfive for none of it.

Chunked data (what time-series views read) goes: selection -> the chunks it needs, axis by
axis (``chunk_plan``) -> their addresses from the data set's lazily read, kept chunk index
(``chunk_index``) -> decoded chunks kept from earlier reads (``chunk_cache``, one per file)
-> the rest read in coalesced batches and decoded with numpy (``chunk_io``) -> each copied
once into the result. Unwritten chunks read as the fill value.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from pyfive.core import UNDEFINED_ADDRESS

from ..errors import (
    CorruptFileError,
    TruncatedFileError,
    UnsupportedFeatureError,
)
from .chunk_cache import ChunkCache
from .chunk_index import ChunkIndex
from .chunk_io import ChunkIO, MiB, decode_chunk_array
from .chunk_plan import AxisPart, axis_parts, fill, place
from .filters import Filter
from .pyfive_meta import Layout
from .selection import Box

MAX_RUNS = 4096  # above this many row runs, read the box's whole byte span at once
BATCH_BYTES = 64 * MiB  # stored bytes read before they are decoded and let go
Pending = tuple[tuple[AxisPart, ...], int, int, int]  # a chunk to read: cell, address, size, mask


class DatasetReader:
    """Reads storage-dtype values of one dataset through a ``CachedSource``.

    ``chunk_io`` and ``chunk_cache`` are the file's (shared by its data sets); without them
    the reader makes its own, with the decoded-chunk cache off.
    """

    def __init__(
        self,
        path: str,
        source: Any,
        layout: Layout,
        shape: tuple[int, ...],
        dtype: np.dtype,
        fill: Any,
        pipeline: list[Filter],
        *,
        chunk_io: ChunkIO | None = None,
        chunk_cache: ChunkCache | None = None,
    ) -> None:
        self.path = path
        self._source = source
        self.layout = layout
        self.shape = shape
        self.dtype = dtype
        self.fill = fill
        self.pipeline = pipeline
        self._io = chunk_io if chunk_io is not None else ChunkIO(source)
        self.chunk_cache = chunk_cache if chunk_cache is not None else ChunkCache(0)
        self._index: ChunkIndex | None = None

    def read_selection(self, box: Box) -> np.ndarray:
        """The selected values (``box.local`` applied), as a new writable array."""
        arrays = sum(isinstance(item, np.ndarray) for item in box.local)
        if not box.empty and self.layout.kind == "chunked" and arrays < 2:
            self._check_chunk_index()
            return self._chunked_selection(box)
        return _apply_local(self.read_box(box), box.local)

    def read_box(self, box: Box) -> np.ndarray:
        if box.empty:
            return np.zeros(box.shape, dtype=self.dtype)
        kind = self.layout.kind
        if kind == "compact":
            return self._compact(box)
        if kind == "contiguous":
            if self.layout.address in (None, UNDEFINED_ADDRESS):
                return self._filled(box.shape)
            return self._contiguous(box)
        if kind == "chunked":
            self._check_chunk_index()
            return self._chunked(box)
        raise UnsupportedFeatureError(
            f"Dataset {self.path} has {kind} storage, which the browser reader cannot read."
        )

    def _check_chunk_index(self) -> None:
        if self.layout.index_version == 4:
            raise UnsupportedFeatureError(
                f"Dataset {self.path} uses an HDF5 1.10+ chunk index, which the browser "
                "reader cannot read yet; open the file with h5py."
            )

    # -- layouts -------------------------------------------------------------------------
    def _filled(self, shape: tuple[int, ...]) -> np.ndarray:
        out = np.empty(shape, dtype=self.dtype)
        out[...] = self.fill
        return out

    def _compact(self, box: Box) -> np.ndarray:
        data = self.layout.compact or b""
        count = int(np.prod(self.shape, dtype=np.int64))
        if len(data) < count * self.dtype.itemsize:
            raise CorruptFileError(f"The compact data of {self.path} is too short.")
        arr = np.frombuffer(data, dtype=self.dtype, count=count).reshape(self.shape)
        return arr[tuple(slice(a, b) for a, b in zip(box.lo, box.hi, strict=True))].copy()

    def _contiguous(self, box: Box) -> np.ndarray:
        itemsize = self.dtype.itemsize
        shape = self.shape
        base = int(self.layout.address or 0)
        strides = [
            itemsize * int(np.prod(shape[i + 1 :], dtype=np.int64)) for i in range(len(shape))
        ]
        # the first axis from which the box spans every later axis whole: one run per row
        split = len(shape)
        while split > 0 and all(
            box.lo[m] == 0 and box.hi[m] == shape[m] for m in range(split, len(shape))
        ):
            split -= 1
        outer = [range(box.lo[m], box.hi[m]) for m in range(split)]
        n_runs = int(np.prod([len(r) for r in outer], dtype=np.int64)) if outer else 1
        run_len = (box.hi[split] - box.lo[split]) * strides[split] if split < len(shape) else (
            itemsize
        )
        if n_runs > MAX_RUNS:  # whole rows of axis 0, then cut the box out with numpy
            start = base + box.lo[0] * strides[0]
            stop = base + box.hi[0] * strides[0]
            rows = self._source.read_range(start, stop)
            self._check_length(rows, start, stop)
            arr = np.frombuffer(rows, dtype=self.dtype).reshape((-1,) + shape[1:])
            inner = tuple(slice(a, b) for a, b in zip(box.lo[1:], box.hi[1:], strict=True))
            return arr[(slice(None),) + inner].copy()
        ranges = []
        for index in itertools.product(*outer) if outer else [()]:
            start = base + sum(i * strides[m] for m, i in enumerate(index))
            if split < len(shape):
                start += box.lo[split] * strides[split]
            ranges.append((start, start + run_len))
        parts = self._source.read_ranges(ranges)
        for part, (start, stop) in zip(parts, ranges, strict=True):
            self._check_length(part, start, stop)
        return np.frombuffer(b"".join(parts), dtype=self.dtype).reshape(box.shape).copy()

    def _chunked(self, box: Box) -> np.ndarray:
        """The whole box (compatibility with ``read_box``'s contract)."""
        full = tuple(slice(0, b - a) for a, b in zip(box.lo, box.hi, strict=True))
        return self._chunked_selection(Box(box.lo, box.hi, full))

    def _chunked_selection(self, box: Box) -> np.ndarray:
        """Only the chunks holding selected values: cached ones copied, the rest read in
        batches of about ``BATCH_BYTES`` stored bytes, decoded, cached and copied; each into
        its place in one preallocated result."""
        chunks = self.layout.chunks or ()
        planned = [
            axis_parts(item, lo, hi, c)
            for item, lo, hi, c in zip(box.local, box.lo, box.hi, chunks, strict=True)
        ]
        plans = [parts for parts, _ in planned]
        out = np.empty(tuple(n for _, n in planned if n is not None), dtype=self.dtype)
        if out.size == 0 or not all(plans):
            return out
        index = self.chunk_index
        if index is None:  # no chunk was ever written
            out[...] = self.fill
            return out
        numbers = itertools.product(*[[p.chunk for p in parts] for parts in plans])
        coords = np.array(list(numbers), dtype=np.int64).reshape(-1, len(plans))
        where = index.lookup(index.linear(coords), tuple(coords.min(axis=0).tolist()),
                             tuple(coords.max(axis=0).tolist()))
        cache = self.chunk_cache
        todo: list[Pending] = []
        for cell, found, address, size, mask in zip(
            itertools.product(*plans), where.found.tolist(), where.addresses.tolist(),
            where.sizes.tolist(), where.masks.tolist(), strict=True,
        ):
            if not found:
                fill(out, self.fill, cell)
                continue
            chunk = cache.get(address)
            if chunk is None:
                todo.append((cell, address, size, mask))
            else:
                place(out, chunk, cell)
        for batch in _batches(todo):
            self._read_batch(out, batch)
        return out

    def _read_batch(self, out: np.ndarray, batch: list[Pending]) -> None:
        raws = self._io.read([(address, address + size) for _, address, size, _ in batch])
        chunks = self.layout.chunks or ()
        cache = self.chunk_cache
        for (cell, address, _, mask), raw in zip(batch, raws, strict=True):
            chunk = decode_chunk_array(raw, self.pipeline, mask, self.dtype, chunks, self.path)
            cache.stats.decoded += 1
            cache.stats.decoded_bytes += chunk.nbytes
            cache.put(address, chunk)
            place(out, chunk, cell)

    @property
    def chunk_index(self) -> ChunkIndex | None:
        """The data set's chunk index, made on first use and kept (``None``: no chunk was
        written, so every value is the fill value)."""
        if self._index is None:
            address = self.layout.address
            if address in (None, UNDEFINED_ADDRESS) or int(np.prod(self.shape)) == 0:
                return None
            self._index = ChunkIndex(self._source, int(address or 0), self.shape,
                                     self.layout.chunks or (), self.path)
        return self._index

    def _check_length(self, data: bytes, start: int, stop: int) -> None:
        if len(data) < stop - start:
            raise TruncatedFileError(self._source.name, self._source.size, stop)


def _apply_local(arr: np.ndarray, local: tuple[Any, ...]) -> np.ndarray:
    """``local`` applied as h5py does: integers drop their axis first, so one index list
    keeps its place (numpy would move it to the front past an integer and a slice). Two or
    more lists (which h5py refuses) are then indexed pointwise, as numpy does."""
    view = arr[tuple(item if isinstance(item, int) else slice(None) for item in local)]
    return np.asarray(view[tuple(item for item in local if not isinstance(item, int))])


def _batches(todo: list[Pending]) -> list[list[Pending]]:
    """Split the chunks to read so that no batch holds much more than ``BATCH_BYTES`` of
    stored bytes at once (a whole-series read then never needs its bytes twice in memory)."""
    batches: list[list[Pending]] = []
    total = 0
    for item in todo:
        if not batches or (total + item[2] > BATCH_BYTES and batches[-1]):
            batches.append([])
            total = 0
        batches[-1].append(item)
        total += item[2]
    return batches
