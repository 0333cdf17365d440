"""The pyfive engine: pure Python, the one that runs in the browser.

pyfive parses the superblock, object headers, B-trees and heaps; this engine uses those
pieces and does the rest itself (links with their kinds, attribute values, dataset values)
where pyfive 1.2.1 falls short: see ``pyfive_links``, ``pyfive_meta`` and ``pyfive_read``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pyfive.p5t import P5SequenceType

from ..errors import UnsupportedFeatureError
from .api import StorageInfo
from .chunk_cache import DEFAULT_CHUNK_CACHE_BYTES, ChunkCache
from .chunk_io import ChunkIO
from .engine import DatasetMeta, RawLink
from .filters import Filter, describe_filter
from .pyfive_links import group_links
from .pyfive_meta import (
    DATASPACE,
    DATATYPE,
    messages,
    read_attributes,
    read_fill_bytes,
    read_layout,
)
from .pyfive_read import DatasetReader
from .pyfive_types import GlobalHeaps, decode_array, storage_dtype, value_dtype
from .selection import selection_box


class _OffsetSource:
    """Addresses in a file with a user block are relative to the superblock's base address."""

    def __init__(self, source: Any, base: int) -> None:
        self._source = source
        self._base = base
        self.name = source.name

    @property
    def size(self) -> int:
        return self._source.size - self._base

    def read_range(self, start: int, stop: int) -> bytes:
        return self._source.read_range(start + self._base, stop + self._base)

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        return self._source.read_ranges([(a + self._base, b + self._base) for a, b in ranges])


class PyfiveNode:
    """One object of the file: its header address and parsed header messages."""

    __slots__ = ("address", "dobj", "info", "reader", "ptype", "unsupported")

    def __init__(self, address: int, dobj: Any) -> None:
        self.address = address
        self.dobj = dobj
        self.info: DatasetMeta | None = None
        self.reader: DatasetReader | None = None
        self.ptype: Any = None
        self.unsupported = ""


class PyfiveEngine:
    name: Literal["pyfive"] = "pyfive"

    def __init__(
        self, fileobj: Any, source: Any, chunk_cache_bytes: int = DEFAULT_CHUNK_CACHE_BYTES
    ) -> None:
        # pyfive.File would list the root group's links at once, and its link decoder
        # stops on external links; so only its superblock and header readers are used.
        from pyfive.high_level import File
        from pyfive.misc_low_level import SuperBlock
        from pyfive.utilities import HDF5OffsetWrapper

        offset = File._find_superblock_offset(fileobj)
        base = int(SuperBlock(fileobj, offset)._contents["base_address"] or 0)
        self._fh = HDF5OffsetWrapper(fileobj, base) if base else fileobj
        self._superblock = SuperBlock(self._fh, offset - base)
        self._source = _OffsetSource(source, base) if base else source
        self._chunk_io = ChunkIO(source, base)
        self.chunk_cache = ChunkCache(chunk_cache_bytes)  # decoded chunks of every data set
        self._heaps = GlobalHeaps(self._fh, self._source)  # values: no read-ahead
        self._attr_heaps = GlobalHeaps(self._fh, self._source, readahead=True)
        self._headers: dict[int, Any] = {}
        self._root = self._superblock.offset_to_dataobjects

    def _dataobjects(self, address: int) -> Any:
        from pyfive.dataobjects import DataObjects

        dobj = self._headers.get(address)
        if dobj is None:
            dobj = self._headers[address] = DataObjects(self._fh, address)
        return dobj

    def root(self) -> PyfiveNode:
        return PyfiveNode(self._root, self._dataobjects(self._root))

    def address(self, node: PyfiveNode) -> int:
        return node.address

    def is_group(self, node: PyfiveNode) -> bool:
        return not messages(node.dobj, DATASPACE)

    def links(self, group: PyfiveNode) -> list[RawLink]:
        return group_links(group.dobj)

    def open_link(self, group: PyfiveNode, link: RawLink) -> PyfiveNode:
        address = int(link.address or 0)
        return PyfiveNode(address, self._dataobjects(address))

    def attrs(self, node: PyfiveNode) -> dict[str, Any]:
        return read_attributes(node.dobj, self._attr_heaps)

    def meta(self, node: PyfiveNode, path: str = "") -> DatasetMeta:
        if node.info is None:
            self._prepare(node, path)
        assert node.info is not None  # noqa: S101 - set by _prepare, not file bytes
        return node.info

    def read(self, node: PyfiveNode, selection: Any, path: str = "") -> Any:
        info = self.meta(node, path)
        if node.ptype is None:
            raise UnsupportedFeatureError(
                f"Dataset {path} has an HDF5 datatype the browser reader cannot decode "
                f"({node.unsupported}). Its shape is shown; open the file with h5py to read "
                "its values."
            )
        if info.null:
            return np.empty((0,), dtype=info.dtype)[selection]
        box = selection_box(selection, info.shape)
        raw = node.reader.read_selection(box)  # type: ignore[union-attr]
        values = decode_array(raw, node.ptype, self._heaps)
        return values[()] if values.ndim == 0 else values

    def close(self) -> None:
        self._headers.clear()
        self.chunk_cache.clear()

    def _prepare(self, node: PyfiveNode, path: str) -> None:
        dobj = node.dobj
        try:
            ptype = dobj.ptype
        except NotImplementedError as exc:  # e.g. array members: keep shape, refuse values
            node.unsupported = str(exc)
            self._prepare_opaque(node)
            return
        node.ptype = ptype
        dtype = storage_dtype(ptype)
        shape = dobj.shape
        null = shape is None
        shape = (0,) if null else tuple(int(n) for n in shape)
        layout = read_layout(dobj)
        pipeline = [
            Filter(int(f["filter_id"]), tuple(int(v) for v in f.get("client_data", ())),
                   bool(f.get("optional", False)))
            for f in (dobj.filter_pipeline or [])
        ]
        fill_raw = read_fill_bytes(dobj)
        if fill_raw is not None and len(fill_raw) >= dtype.itemsize:
            fill = np.frombuffer(fill_raw, dtype=dtype, count=1)[0]
        else:
            fill = np.zeros((), dtype=dtype)[()]
        fill_value = decode_array(np.array([fill], dtype=dtype), ptype, self._heaps)[0]
        if fill_raw is None and isinstance(ptype, P5SequenceType):
            fill_value = None  # as h5py: no fill value for variable-length sequences
        storage = StorageInfo(
            layout=layout.kind,  # type: ignore[arg-type]
            chunks=layout.chunks,
            filters=tuple(describe_filter(f) for f in pipeline),
            fillvalue=None if null else fill_value,
        )
        node.info = DatasetMeta(shape, value_dtype(ptype), storage, null)
        node.reader = DatasetReader(
            path, self._source, layout, shape, dtype, fill, pipeline,
            chunk_io=self._chunk_io, chunk_cache=self.chunk_cache,
        )

    def _prepare_opaque(self, node: PyfiveNode) -> None:
        """Shape and element size of a dataset whose datatype pyfive cannot parse."""
        dobj = node.dobj
        offset = messages(dobj, DATATYPE)[0]
        size = struct.unpack_from("<I", dobj.msg_data, offset + 4)[0]
        shape = dobj.shape
        null = shape is None
        layout = read_layout(dobj)
        storage = StorageInfo(layout=layout.kind, chunks=layout.chunks)  # type: ignore[arg-type]
        node.info = DatasetMeta(
            (0,) if null else tuple(int(n) for n in shape), np.dtype(f"V{size}"), storage, null
        )
