"""Object-header messages the pyfive engine parses itself: attributes, layout, fill value.

pyfive 1.2.1 parses these too, but reads some values wrongly (fixed-length UTF-8 strings,
references in compounds), rejects attribute message version 2 and compact layout v1/v2, and
returns 0 for an undefined fill value of any type. Parsing them here keeps every value going
through one decoder (``pyfive_types``) and lets the facade name what it cannot read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
from pyfive.btree import BTreeV2AttrCreationOrder, BTreeV2AttrNames
from pyfive.core import UNDEFINED_ADDRESS
from pyfive.dataobjects import determine_data_shape
from pyfive.datatype_msg import DatatypeMessage
from pyfive.misc_low_level import FractalHeap

from ..errors import CorruptFileError
from .pyfive_types import GlobalHeaps, decode_array, storage_dtype

DATASPACE, DATATYPE, FILL_OLD, FILL, LAYOUT = 0x01, 0x03, 0x04, 0x05, 0x08
EXTERNAL_FILES, FILTERS, ATTRIBUTE, ATTRIBUTE_INFO = 0x07, 0x0B, 0x0C, 0x15


def _pad(n: int, multiple: int) -> int:
    return (n + multiple - 1) // multiple * multiple


def messages(dobj: Any, msg_type: int) -> list[int]:
    """Offsets (into ``dobj.msg_data``) of every message of one type."""
    return [m["offset_to_message"] for m in dobj.msgs if m["type"] == msg_type]


# -- attributes ---------------------------------------------------------------------------
def read_attributes(dobj: Any, heaps: GlobalHeaps) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for offset in messages(dobj, ATTRIBUTE):
        name, value = parse_attribute(dobj.msg_data, offset, heaps)
        attrs[name] = value
    for offset in messages(dobj, ATTRIBUTE_INFO):
        attrs.update(_dense_attributes(dobj, offset, heaps))
    return attrs


def _dense_attributes(dobj: Any, offset: int, heaps: GlobalHeaps) -> dict[str, Any]:
    data = dobj.msg_data
    flags = data[offset + 1]
    pos = offset + 2 + (2 if flags & 1 else 0)
    heap_address, name_btree = struct.unpack_from("<QQ", data, pos)
    order_btree = struct.unpack_from("<Q", data, pos + 16)[0] if flags & 2 else None
    if heap_address == UNDEFINED_ADDRESS:
        return {}
    heap = FractalHeap(dobj.fh, heap_address)
    if order_btree not in (None, UNDEFINED_ADDRESS):
        btree: Any = BTreeV2AttrCreationOrder(dobj.fh, order_btree)
    else:
        btree = BTreeV2AttrNames(dobj.fh, name_btree)
    out = {}
    for record in btree.iter_records():
        raw = heap.get_data(record["heapid"])
        if raw is not None:
            name, value = parse_attribute(raw, 0, heaps)
            out[name] = value
    return out


def parse_attribute(buf: bytes, offset: int, heaps: GlobalHeaps) -> tuple[str, Any]:
    """One attribute message -> (name, decoded value); a null dataspace gives ``None``."""
    version = buf[offset]
    if version not in (1, 2, 3):
        raise CorruptFileError(f"Unknown attribute message version {version}.")
    flags = buf[offset + 1]
    name_size, type_size, space_size = struct.unpack_from("<HHH", buf, offset + 2)
    pos = offset + (9 if version == 3 else 8)
    pad = 8 if version == 1 else 1
    name = buf[pos : pos + name_size].rstrip(b"\x00").decode("utf-8", "replace")
    pos += _pad(name_size, pad)
    if flags & 3:
        raise CorruptFileError(
            f"Attribute {name!r} uses a shared datatype or dataspace, which the browser "
            "reader does not support."
        )
    try:
        ptype = DatatypeMessage(buf, pos).ptype
    except NotImplementedError:
        return name, None  # a datatype pyfive cannot parse: shown as no value
    pos += _pad(type_size, pad)
    shape, _ = determine_data_shape(buf, pos)
    pos += _pad(space_size, pad)
    if shape is None:
        return name, None
    shape = tuple(int(n) for n in shape)
    dtype = storage_dtype(ptype)
    count = int(np.prod(shape, dtype=np.int64))
    raw = np.frombuffer(buf, dtype=dtype, count=count, offset=pos).reshape(shape)
    value = decode_array(raw, ptype, heaps)
    return name, (value[()] if shape == () else value)


# -- storage layout -----------------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    kind: str  # compact | contiguous | chunked | virtual | external
    address: int | None = None
    size: int | None = None
    chunks: tuple[int, ...] | None = None
    compact: bytes | None = None
    index_version: int = 3  # layout message version (chunked: 4 needs new chunk indexes)


def read_layout(dobj: Any) -> Layout:
    offsets = messages(dobj, LAYOUT)
    if not offsets:
        raise CorruptFileError("A dataset has no data layout message.")
    data, pos = dobj.msg_data, offsets[0]
    version = data[pos]
    if version in (1, 2):
        rank, cls = data[pos + 1], data[pos + 2]
        pos += 8
        address = None
        if cls != 0:
            address = struct.unpack_from("<Q", data, pos)[0]
            pos += 8
        dims = struct.unpack_from(f"<{rank}I", data, pos)
        pos += 4 * rank
        if cls == 0:
            size = struct.unpack_from("<I", data, pos)[0]
            return Layout("compact", compact=bytes(data[pos + 4 : pos + 4 + size]))
        if cls == 1:
            return _contiguous_or_external(dobj, address, None)
        return Layout("chunked", address=address, chunks=tuple(dims[:-1]), index_version=2)
    if version not in (3, 4):
        raise CorruptFileError(f"Unknown data layout message version {version}.")
    cls = data[pos + 1]
    pos += 2
    if cls == 0:
        size = struct.unpack_from("<H", data, pos)[0]
        return Layout("compact", compact=bytes(data[pos + 2 : pos + 2 + size]))
    if cls == 1:
        address, size = struct.unpack_from("<QQ", data, pos)
        return _contiguous_or_external(dobj, address, size)
    if cls == 2:
        if version == 4:  # flags, rank, width of each dimension, dimensions, index ...
            rank, width = data[pos + 1], data[pos + 2]
            dims = [
                int.from_bytes(data[pos + 3 + i * width : pos + 3 + (i + 1) * width], "little")
                for i in range(rank)
            ]
            return Layout("chunked", chunks=tuple(dims[:-1]), index_version=4)
        rank = data[pos]
        address = struct.unpack_from("<Q", data, pos + 1)[0]
        dims = struct.unpack_from(f"<{rank}I", data, pos + 9)
        return Layout("chunked", address=address, chunks=tuple(dims[:-1]))
    if cls == 3:
        return Layout("virtual")
    raise CorruptFileError(f"Unknown data layout class {cls}.")


def _contiguous_or_external(dobj: Any, address: int | None, size: int | None) -> Layout:
    if messages(dobj, EXTERNAL_FILES):
        return Layout("external")
    return Layout("contiguous", address=address, size=size)


# -- fill value ---------------------------------------------------------------------------
def read_fill_bytes(dobj: Any) -> bytes | None:
    """The raw fill value of one element, or None when the file defines none (zeros)."""
    data = dobj.msg_data
    for pos in messages(dobj, FILL):
        version = data[pos]
        if version in (1, 2):
            defined = data[pos + 3]
            if version == 2 and not defined:
                return None
            size = struct.unpack_from("<I", data, pos + 4)[0]
            return bytes(data[pos + 8 : pos + 8 + size]) or None
        if version == 3:
            if not data[pos + 1] & 0x20:
                return None
            size = struct.unpack_from("<I", data, pos + 2)[0]
            return bytes(data[pos + 6 : pos + 6 + size]) or None
        raise CorruptFileError(f"Unknown fill value message version {version}.")
    for pos in messages(dobj, FILL_OLD):
        size = struct.unpack_from("<I", data, pos)[0]
        return bytes(data[pos + 4 : pos + 4 + size]) or None
    return None
