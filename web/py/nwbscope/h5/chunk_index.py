"""The chunk index of one data set (HDF5's version 1 chunk B-tree), read lazily and kept.

Why not pyfive's ``BTreeV1RawDataChunks``: it reads every node of the tree, one small read
after another, and builds a dict per chunk, before the first value can be read. A view of a
long series needs the few chunks on screen. This index reads only the nodes whose key range
can hold a wanted chunk, one batch of reads per tree level, parses each node with one
``np.frombuffer``, and keeps what it read: numpy arrays of the chunks' linear grid numbers
(sorted), file addresses, stored sizes and filter masks, looked up with ``searchsorted``.

What is still unread is a sorted list of disjoint key intervals, each one a subtree; reading
a subtree replaces its interval with its children's. Keys are chunk offsets in elements
compared as tuples (the B-tree's own order), so the intervals need no grid arithmetic.
Node layout (HDF5 spec III.A.1): ``TREE``, type, level, entries used, two sibling addresses,
then key, child, key, ..., child, key; a key is chunk size (u32), filter mask (u32) and one
u64 offset per dimension plus one for the element size.
"""

from __future__ import annotations

import struct
import threading
from bisect import bisect_right
from typing import Any, NamedTuple

import numpy as np

from ..errors import CorruptFileError

HEADER = struct.Struct("<4sBBHQQ")
GUESS_ENTRIES = 64  # libhdf5 sizes chunk nodes for 2K entries, K = 32 unless set otherwise


class Found(NamedTuple):
    """Per wanted chunk: whether it was written, and its address, stored size, filter mask."""

    found: np.ndarray
    addresses: np.ndarray
    sizes: np.ndarray
    masks: np.ndarray


class ChunkIndex:
    """Where each written chunk of one data set is; unwritten chunks are simply absent."""

    def __init__(
        self,
        source: Any,
        root: int,
        shape: tuple[int, ...],
        chunks: tuple[int, ...],
        path: str = "",
    ) -> None:
        self._source = source
        self.path = path
        self.rank = len(shape)
        self.chunks = chunks
        self.grid = tuple(-(-n // c) for n, c in zip(shape, chunks, strict=True))
        strides = [1] * self.rank
        for axis in range(self.rank - 2, -1, -1):
            strides[axis] = strides[axis + 1] * self.grid[axis + 1]
        self._strides = np.array(strides, dtype=np.int64)
        self._entry = np.dtype([("size", "<u4"), ("mask", "<u4"),
                                ("offset", "<u8", (self.rank + 1,)), ("child", "<u8")])
        self._key_size = self._entry.itemsize - 8
        lowest, highest = (-1,) * self.rank, (1 << 64,) * self.rank
        # unread subtrees: [lo, hi) key intervals, sorted and disjoint
        self._los: list[tuple[int, ...]] = [lowest]
        self._his: list[tuple[int, ...]] = [highest]
        self._nodes: list[tuple[int, int | None]] = [(root, None)]  # (address, level)
        self._parts: list[tuple[np.ndarray, ...]] = []
        self.keys = np.empty(0, dtype=np.int64)
        self.addresses = np.empty(0, dtype=np.uint64)
        self.sizes = np.empty(0, dtype=np.uint32)
        self.masks = np.empty(0, dtype=np.uint32)
        self.nodes_read = 0
        self._lock = threading.Lock()

    @property
    def complete(self) -> bool:
        """Whether every node has been read (the arrays then list every written chunk)."""
        return not self._nodes

    def linear(self, coords: np.ndarray) -> np.ndarray:
        """Grid coordinates (..., rank) -> linear chunk numbers (C order over the grid)."""
        return np.asarray(coords, dtype=np.int64) @ self._strides

    def lookup(self, keys: np.ndarray, first: tuple[int, ...], last: tuple[int, ...]) -> Found:
        """Where the chunks with linear numbers ``keys`` are (``found`` False: never written).

        ``first``/``last`` are the smallest and largest grid coordinates among them; only
        subtrees whose key range meets ``[first, last]`` are read.
        """
        lo = tuple(g * c for g, c in zip(first, self.chunks, strict=True))
        hi = tuple(g * c for g, c in zip(last, self.chunks, strict=True))
        with self._lock:  # the arrays are replaced, never changed: a consistent set here
            self._load(lo, hi)
            known, addresses, sizes, masks = self.keys, self.addresses, self.sizes, self.masks
        keys = np.asarray(keys, dtype=np.int64)
        if not len(known):
            nothing = np.zeros(keys.shape, dtype=np.int64)
            return Found(nothing.astype(bool), nothing, nothing, nothing)
        rows = np.minimum(np.searchsorted(known, keys), len(known) - 1)
        return Found(known[rows] == keys, addresses[rows].astype(np.int64),
                     sizes[rows].astype(np.int64), masks[rows].astype(np.int64))

    def load_all(self) -> int:
        """Read the whole tree; the number of written chunks."""
        with self._lock:
            self._load((-1,) * self.rank, (1 << 64,) * self.rank)
            return len(self.keys)

    # -- reading nodes ----------------------------------------------------------------------
    def _load(self, lo: tuple[int, ...], hi: tuple[int, ...]) -> None:
        """Read every unread subtree whose interval meets ``[lo, hi]``, level by level."""
        added = False
        while True:
            i0 = bisect_right(self._his, lo)  # first interval ending after lo
            i1 = bisect_right(self._los, hi)  # intervals starting at or before hi
            if i0 >= i1:
                break
            todo = list(range(i0, i1))
            nodes = self._read_nodes([self._nodes[i] for i in todo])
            new_los: list[tuple[int, ...]] = []
            new_his: list[tuple[int, ...]] = []
            new_nodes: list[tuple[int, int | None]] = []
            for i, (level, entries) in zip(todo, nodes, strict=True):
                if level == 0:
                    self._add_leaf(entries)
                    added = True
                    continue
                starts = [tuple(row) for row in entries["offset"][:, :-1].tolist()]
                ends = starts[1:] + [self._his[i]]
                new_los += starts
                new_his += ends
                new_nodes += [(int(a), level - 1) for a in entries["child"].tolist()]
            self._los[i0:i1] = new_los
            self._his[i0:i1] = new_his
            self._nodes[i0:i1] = new_nodes
        if added:
            self._merge()

    def _read_nodes(self, nodes: list[tuple[int, int | None]]) -> list[tuple[int, np.ndarray]]:
        guess = HEADER.size + GUESS_ENTRIES * self._entry.itemsize + self._key_size
        datas = self._source.read_ranges([(a, a + guess) for a, _ in nodes])
        out: list[tuple[int, np.ndarray] | None] = []
        again = []
        for k, ((address, level), data) in enumerate(zip(nodes, datas, strict=True)):
            n = self._entries_used(data, address, level)
            need = HEADER.size + n * self._entry.itemsize + self._key_size
            if len(data) < need:
                again.append((k, address, need))
                out.append(None)
                continue
            out.append((data[5], np.frombuffer(data, self._entry, n, HEADER.size)))
        if again:  # a node with more entries than libhdf5's default room
            for (k, _, need), data in zip(
                again, self._source.read_ranges([(a, a + need) for _, a, need in again]),
                strict=True,
            ):
                if len(data) < need:
                    raise CorruptFileError(f"A chunk index node of {self.path} is cut short.")
                n = HEADER.unpack_from(data)[3]
                out[k] = (data[5], np.frombuffer(data, self._entry, n, HEADER.size))
        self.nodes_read += len(nodes)
        return out  # type: ignore[return-value]

    def _entries_used(self, data: bytes, address: int, level: int | None) -> int:
        if len(data) < HEADER.size:
            raise CorruptFileError(f"A chunk index node of {self.path} is cut short.")
        signature, node_type, node_level, used, _, _ = HEADER.unpack_from(data)
        if signature != b"TREE" or node_type != 1:
            raise CorruptFileError(
                f"The chunk index of {self.path} points at {address}, which is not a chunk "
                "B-tree node; the file is damaged."
            )
        if level is not None and node_level != level:
            raise CorruptFileError(f"The chunk index of {self.path} has a node at the wrong "
                                   "level; the file is damaged.")
        return used

    def _add_leaf(self, entries: np.ndarray) -> None:
        offsets = entries["offset"][:, :-1].astype(np.int64)
        chunks = np.array(self.chunks, dtype=np.int64)
        if np.any(offsets % chunks):
            raise CorruptFileError(f"The chunk index of {self.path} has a chunk at an offset "
                                   "that is not on the chunk grid; the file is damaged.")
        coords = offsets // chunks
        inside = np.all(coords < np.array(self.grid, dtype=np.int64), axis=1)
        self._parts.append((self.linear(coords[inside]), entries["child"][inside],
                            entries["size"][inside], entries["mask"][inside]))

    def _merge(self) -> None:
        keys, addresses, sizes, masks = (
            np.concatenate([old, *[p[k] for p in self._parts]])
            for k, old in enumerate((self.keys, self.addresses, self.sizes, self.masks))
        )
        order = np.argsort(keys, kind="stable")
        self.keys, self.addresses = keys[order], addresses[order]
        self.sizes, self.masks = sizes[order], masks[order]
        self._parts.clear()
