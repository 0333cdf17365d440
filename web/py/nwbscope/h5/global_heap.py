"""Global heap objects (variable-length strings and sequences, region references), read lazily.

Why not pyfive's ``GlobalHeap``: it reads a collection through the file object, whose small
first read (the 16-byte header) sets off the block cache's adaptive read-ahead; collections
of one dataset lie next to each other, so the read-ahead doubles up to 4 MiB and a page of
25 randomly placed text rows fetched about 25 MB for 25 strings. It then parses every object
of the collection into a dict before the first is used, and kept every collection forever.

Here a collection is read with plain range reads (no read-ahead), its first ``WINDOW``
bytes and then twice as much each time; its object headers are walked in order only as far
as the object asked for (a collection is a chain: each header gives the size of its object,
so the walk is sequential by nature), and where the walk stopped is kept with the
collection, so the next object of the same collection continues from there. Collections are
kept in an LRU bounded by ``budget`` bytes (the bytes read of each), so a later page reuses
them.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from typing import Any

from pyfive.core import UNDEFINED_ADDRESS

from ..errors import CorruptFileError, TruncatedFileError

KiB = 1024
MiB = 1024 * KiB
WINDOW = 64 * KiB  # bytes read at a time while walking a collection
DEFAULT_HEAP_CACHE_BYTES = 16 * MiB
HEADER = struct.Struct("<4sB3xQ")  # "GCOL", version, reserved, collection size
OBJECT = struct.Struct("<HH4xQ")  # index, reference count, reserved, object size
HEADER_SIZE = HEADER.size
OBJECT_SIZE = OBJECT.size


class _Collection:
    """One collection: the bytes read so far (from its start) and the objects found in them."""

    __slots__ = ("address", "size", "data", "walked", "done", "objects")

    def __init__(self, address: int, size: int, data: bytes) -> None:
        self.address = address
        self.size = size  # the collection's size, header included
        self.data = data  # bytes [address, address + len(data))
        self.walked = HEADER_SIZE  # offset of the next object header to parse
        self.done = False  # the walk reached the free space or the end
        self.objects: dict[int, tuple[int, int]] = {}  # index -> (start, stop) in data


class GlobalHeaps:
    """Global heap objects of one file by (collection address, object index).

    ``source`` is anything with ``read_ranges([(start, stop)])`` in the file's addresses
    (the engine's source, base address applied). ``fh`` is accepted for the old signature
    and unused when ``source`` is given. ``readahead``: a collection's first read goes
    through ``source.read_range``, which lets the block cache read around it: right for
    attributes (their small collections lie among the metadata the tree walk reads next),
    wrong for dataset values (collections of one dataset lie side by side, and read-ahead
    grows to megabytes while a page reads one string from each).
    """

    def __init__(self, fh: Any = None, source: Any = None,
                 budget: int = DEFAULT_HEAP_CACHE_BYTES, readahead: bool = False) -> None:
        if source is None:
            source = _FileSource(fh)
            readahead = False
        self._source = source
        self.budget = budget
        self.readahead = readahead
        self._kept: OrderedDict[int, _Collection] = OrderedDict()
        self._kept_bytes = 0
        self.collections_read = 0  # counters for tests and benchmarks
        self.bytes_read = 0

    def get(self, collection: int, index: int) -> bytes | None:
        """The object's bytes; None for a null heap ID (collection 0 or undefined)."""
        if collection in (0, UNDEFINED_ADDRESS):
            return None
        heap = self._collection(collection)
        found = heap.objects.get(index)
        if found is None and not heap.done:
            found = self._walk(heap, index)
        if found is None:
            return None
        if found[1] > len(heap.data):  # (found by a walk that went on past it, unread)
            self._extend(heap, found[1])
        return heap.data[found[0]:found[1]]

    def clear(self) -> None:
        self._kept.clear()
        self._kept_bytes = 0

    # -- reading ---------------------------------------------------------------------------
    def _collection(self, address: int) -> _Collection:
        heap = self._kept.get(address)
        if heap is not None:
            self._kept.move_to_end(address)
            return heap
        # with read-ahead (attributes) the header alone first, as libhdf5 reads it: a window
        # past a small collection's end would fetch a block the walk has no use for
        first = HEADER_SIZE if self.readahead else WINDOW
        head = self._read(address, address + first, address, allow_short=True)
        if len(head) < HEADER_SIZE:
            raise TruncatedFileError(self._name, self._size, address + HEADER_SIZE)
        signature, version, size = HEADER.unpack_from(head, 0)
        if signature != b"GCOL" or version != 1:
            raise CorruptFileError(
                f"{self._name}: no global heap collection at byte {address} (variable-length "
                "data points there). The file may be damaged.")
        if size < HEADER_SIZE:
            raise CorruptFileError(f"{self._name}: the global heap collection at byte "
                                   f"{address} says it holds {size} bytes.")
        heap = _Collection(address, size, head[:size])
        self._kept[address] = heap
        self._kept_bytes += len(heap.data)
        if len(heap.data) < min(size, WINDOW):
            self._extend(heap, min(size, WINDOW))
        self._trim()
        return heap

    def _walk(self, heap: _Collection, index: int) -> tuple[int, int] | None:
        """Parse object headers from where the last walk stopped until ``index`` is found
        or the collection ends, reading further windows as needed."""
        found = None
        while found is None and not heap.done:
            offset = heap.walked
            if offset + OBJECT_SIZE > heap.size:  # a remainder too small for a header
                heap.done = True
                break
            if offset + OBJECT_SIZE > len(heap.data):
                self._extend(heap, offset + OBJECT_SIZE)
            number, _, size = OBJECT.unpack_from(heap.data, offset)
            if number == 0:  # the free space: no object after it
                heap.done = True
                break
            start = offset + OBJECT_SIZE
            stop = start + size
            if stop > heap.size:
                raise CorruptFileError(
                    f"{self._name}: object {number} of the global heap collection at byte "
                    f"{heap.address} runs past the collection's end.")
            heap.objects[number] = (start, stop)
            heap.walked = start + ((size + 7) & ~7)
            if number == index:
                if stop > len(heap.data):
                    self._extend(heap, stop)
                found = (start, stop)
        self._trim()
        return found

    def _extend(self, heap: _Collection, needed: int) -> None:
        """Read the collection's bytes on to at least ``needed`` (a window at a time)."""
        stop = min(heap.size, max(needed, 2 * len(heap.data)))  # (doubling: copies stay O(n))
        more = self._read(heap.address + len(heap.data), heap.address + stop, heap.address)
        heap.data = heap.data + more
        self._kept_bytes += len(more)

    def _read(self, start: int, stop: int, collection: int, allow_short: bool = False) -> bytes:
        if self.readahead and start == collection:
            data = self._source.read_range(start, stop)
        else:
            data = self._source.read_ranges([(start, stop)])[0]
        self.bytes_read += len(data)
        if start == collection:
            self.collections_read += 1
        if len(data) < stop - start and not allow_short:
            raise TruncatedFileError(self._name, self._size, stop)
        return bytes(data)

    def _trim(self) -> None:
        """Drop the least recently used collections past the budget (never the newest)."""
        while self._kept_bytes > self.budget and len(self._kept) > 1:
            _, old = self._kept.popitem(last=False)
            self._kept_bytes -= len(old.data)

    @property
    def _name(self) -> str:
        return str(getattr(self._source, "name", "the file"))

    @property
    def _size(self) -> int:
        return int(getattr(self._source, "size", 0) or 0)


class _FileSource:
    """``read_ranges`` over a seekable file object (when no byte source is at hand)."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh
        self.name = str(getattr(fh, "name", "the file"))

    @property
    def size(self) -> int:
        here = self._fh.tell()
        end = self._fh.seek(0, 2)
        self._fh.seek(here)
        return int(end)

    def read_ranges(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        out = []
        for start, stop in ranges:
            self._fh.seek(start)
            out.append(self._fh.read(stop - start))
        return out
