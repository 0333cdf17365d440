"""Listing a group's links for the pyfive engine, with their kind and creation order.

pyfive 1.2.1 keeps links as ``name -> address-or-path`` and stops on external links (an
``assert`` in its link decoder). The facade needs each link's kind, target and creation
order, so the link messages are decoded here; pyfive's B-tree and heap readers are reused.
"""

from __future__ import annotations

import struct
from typing import Any

from pyfive.btree import BTreeV1Groups, BTreeV2GroupNames, BTreeV2GroupOrders
from pyfive.core import UNDEFINED_ADDRESS
from pyfive.misc_low_level import FractalHeap, Heap, SymbolTable

from ..errors import CorruptFileError
from .engine import RawLink

LINK_INFO_MSG = 0x0002
LINK_MSG = 0x0006
SYMBOL_TABLE_MSG = 0x0011


def group_links(dataobjects: Any) -> list[RawLink]:
    """All links of one group, in storage order (the facade sorts them)."""
    fh = dataobjects.fh
    links: list[RawLink] = []
    for msg in dataobjects.msgs:
        offset = msg["offset_to_message"]
        if msg["type"] == SYMBOL_TABLE_MSG:
            btree_address, heap_address = struct.unpack_from("<QQ", dataobjects.msg_data, offset)
            links.extend(_symbol_table_links(fh, btree_address, heap_address))
        elif msg["type"] == LINK_MSG:
            links.append(decode_link_message(dataobjects.msg_data, offset))
        elif msg["type"] == LINK_INFO_MSG:
            links.extend(_dense_links(fh, dataobjects.msg_data, offset))
    return links


def _symbol_table_links(fh: Any, btree_address: int, heap_address: int) -> list[RawLink]:
    """Old-style groups: a v1 B-tree of symbol table nodes naming entries in a local heap."""
    btree = BTreeV1Groups(fh, btree_address)
    heap = Heap(fh, heap_address)
    out = []
    for table_address in btree.symbol_table_addresses():
        table = SymbolTable(fh, table_address)
        table.assign_name(heap)
        for entry in table.entries:
            name = entry["link_name"]
            if entry["cache_type"] == 2:
                value_offset = struct.unpack_from("<I", entry["scratch"])[0]
                target = heap.get_object_name(value_offset).decode("utf-8", "replace")
                out.append(RawLink(name, "soft", target=target))
            else:
                out.append(RawLink(name, "hard", address=entry["object_header_address"]))
    return out


def _dense_links(fh: Any, data: bytes, offset: int) -> list[RawLink]:
    """New-style groups with many links: a fractal heap indexed by a v2 B-tree."""
    version, flags = struct.unpack_from("<BB", data, offset)
    if version != 0:
        raise CorruptFileError(f"Unknown link info message version {version}.")
    offset += 2 + (8 if flags & 1 else 0)
    heap_address, name_btree = struct.unpack_from("<QQ", data, offset)
    order_btree = None
    if flags & 2:
        order_btree = struct.unpack_from("<Q", data, offset + 16)[0]
        if order_btree == UNDEFINED_ADDRESS:
            order_btree = None
    if heap_address == UNDEFINED_ADDRESS or name_btree == UNDEFINED_ADDRESS:
        return []
    heap = FractalHeap(fh, heap_address)
    btree = (
        BTreeV2GroupOrders(fh, order_btree) if order_btree is not None
        else BTreeV2GroupNames(fh, name_btree)
    )
    out = []
    for record in btree.iter_records():
        raw = heap.get_data(record["heapid"])
        if raw is not None:
            out.append(decode_link_message(raw, 0))
    return out


def decode_link_message(data: bytes, offset: int) -> RawLink:
    """Decode one HDF5 link message (hard, soft or external)."""
    version, flags = struct.unpack_from("<BB", data, offset)
    if version != 1:
        raise CorruptFileError(f"Unknown link message version {version}.")
    offset += 2
    link_type = 0
    if flags & 0x08:
        link_type = data[offset]
        offset += 1
    order = None
    if flags & 0x04:
        order = struct.unpack_from("<q", data, offset)[0]
        offset += 8
    encoding = "ascii"
    if flags & 0x10:
        encoding = "utf-8" if data[offset] == 1 else "ascii"
        offset += 1
    width = 1 << (flags & 3)
    name_size = int.from_bytes(data[offset : offset + width], "little")
    offset += width
    name = data[offset : offset + name_size].decode(encoding, "replace")
    offset += name_size
    if link_type == 0:
        address = struct.unpack_from("<Q", data, offset)[0]
        return RawLink(name, "hard", address=address, order=order)
    length = struct.unpack_from("<H", data, offset)[0]
    value = data[offset + 2 : offset + 2 + length]
    if link_type == 1:
        return RawLink(name, "soft", target=value.decode(encoding, "replace"), order=order)
    if link_type == 64:
        # one byte of version/flags, then "file\0path\0"
        parts = value[1:].split(b"\x00")
        filename = parts[0].decode("utf-8", "replace")
        path = parts[1].decode("utf-8", "replace") if len(parts) > 1 else ""
        return RawLink(name, "external", target=path, filename=filename, order=order)
    raise CorruptFileError(f"Link {name!r} has an unknown link type {link_type}.")
