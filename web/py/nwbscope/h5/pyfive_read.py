"""Reading dataset values for the pyfive engine: compact, contiguous and chunked storage.

pyfive 1.2.1 reads chunked data only where every chunk was written (a missing chunk is a
``KeyError``), memory-maps reference datasets (a plain file object has no ``fileno``) and
decodes filters it knows or fails with ``NotImplementedError``. This reader uses pyfive only
for the chunk B-tree; it reads the bytes a selection's bounding box touches in one batch
through the cached source (so adjacent chunks and rows coalesce into few requests), fills
unwritten chunks with the fill value, and decodes filters with ``h5.filters``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from pyfive.btree import BTreeV1RawDataChunks
from pyfive.core import UNDEFINED_ADDRESS

from ..errors import (
    CorruptFileError,
    TruncatedFileError,
    UnsupportedFeatureError,
)
from .filters import Filter, decode_chunk
from .pyfive_meta import Layout
from .selection import Box

MAX_RUNS = 4096  # above this many row runs, read the box's whole byte span at once


class DatasetReader:
    """Reads storage-dtype boxes of one dataset through a ``CachedSource``."""

    def __init__(
        self,
        path: str,
        fh: Any,
        source: Any,
        layout: Layout,
        shape: tuple[int, ...],
        dtype: np.dtype,
        fill: Any,
        pipeline: list[Filter],
    ) -> None:
        self.path = path
        self._fh = fh
        self._source = source
        self.layout = layout
        self.shape = shape
        self.dtype = dtype
        self.fill = fill
        self.pipeline = pipeline
        self._index: dict[tuple[int, ...], tuple[int, int, int]] | None = None

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
            if self.layout.index_version == 4:
                raise UnsupportedFeatureError(
                    f"Dataset {self.path} uses an HDF5 1.10+ chunk index, which the browser "
                    "reader cannot read yet; open the file with h5py."
                )
            return self._chunked(box)
        raise UnsupportedFeatureError(
            f"Dataset {self.path} has {kind} storage, which the browser reader cannot read."
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
        chunks = self.layout.chunks or ()
        index = self._chunk_index()
        out = self._filled(box.shape)
        grid = [
            range(lo // c, (hi + c - 1) // c)
            for lo, hi, c in zip(box.lo, box.hi, chunks, strict=True)
        ]
        wanted = []
        for coord in itertools.product(*grid):
            offset = tuple(g * c for g, c in zip(coord, chunks, strict=True))
            if offset in index:
                wanted.append((offset, index[offset]))
        if not wanted:
            return out
        raws = self._source.read_ranges([(addr, addr + size) for _, (addr, size, _) in wanted])
        chunk_bytes = int(np.prod(chunks, dtype=np.int64)) * self.dtype.itemsize
        for (offset, (addr, size, mask)), raw in zip(wanted, raws, strict=True):
            self._check_length(raw, addr, addr + size)
            data = decode_chunk(raw, self.pipeline, mask, self.dtype.itemsize, self.path)
            if len(data) < chunk_bytes:
                raise CorruptFileError(f"A chunk of {self.path} decodes to too few bytes.")
            count = int(np.prod(chunks, dtype=np.int64))
            chunk = np.frombuffer(data, dtype=self.dtype, count=count).reshape(chunks)
            src, dst = [], []
            for o, c, lo, hi in zip(offset, chunks, box.lo, box.hi, strict=True):
                a, b = max(o, lo), min(o + c, hi)
                src.append(slice(a - o, b - o))
                dst.append(slice(a - lo, b - lo))
            out[tuple(dst)] = chunk[tuple(src)]
        return out

    def _chunk_index(self) -> dict[tuple[int, ...], tuple[int, int, int]]:
        if self._index is not None:
            return self._index
        index: dict[tuple[int, ...], tuple[int, int, int]] = {}
        address = self.layout.address
        if address not in (None, UNDEFINED_ADDRESS) and int(np.prod(self.shape)) > 0:
            btree = BTreeV1RawDataChunks(self._fh, address, len(self.shape) + 1)
            for node in btree.all_nodes.get(0, []):
                for key, addr in zip(node["keys"], node["addresses"], strict=False):
                    offset = tuple(int(v) for v in key["chunk_offset"][:-1])
                    index[offset] = (int(addr), int(key["chunk_size"]), int(key["filter_mask"]))
        self._index = index
        return index

    def _check_length(self, data: bytes, start: int, stop: int) -> None:
        if len(data) < stop - start:
            raise TruncatedFileError(self._source.name, self._source.size, stop)
