"""Decoding HDF5 element bytes for the pyfive engine, one datatype at a time.

pyfive 1.2.1 reads some types wrongly or not at all from a plain file object (fixed-length
UTF-8 strings through a ``<U`` dtype, references through ``np.memmap``, region references
not at all). Here every pyfive datatype gets a *storage* dtype (exactly the bytes on disk)
and a decoder from storage to facade values: ``str``, ``RefAddress``, ``RawRegion``, bool.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pyfive.core import UNDEFINED_ADDRESS
from pyfive.p5t import (
    P5CompoundType,
    P5EnumType,
    P5FixedStringType,
    P5ReferenceType,
    P5SequenceType,
    P5Type,
    P5VlenStringType,
)

from .engine import RawRegion, RefAddress
from .global_heap import GlobalHeaps
from .regions import parse_region
from .values import REF_DTYPE, STR_DTYPE, decode_bytes

VLEN_RECORD = np.dtype([("length", "<u4"), ("collection", "<u8"), ("index", "<u4")])
HEAP_ID = np.dtype([("collection", "<u8"), ("index", "<u4")])


def storage_dtype(ptype: P5Type) -> np.dtype:
    """The numpy dtype of the bytes as stored."""
    if isinstance(ptype, P5FixedStringType):
        return np.dtype(f"S{ptype.fixed_size}")
    if isinstance(ptype, P5VlenStringType | P5SequenceType):
        return VLEN_RECORD
    if isinstance(ptype, P5ReferenceType):
        return np.dtype("<u8") if ptype.size == 8 else HEAP_ID
    if isinstance(ptype, P5CompoundType):
        if ptype.is_complex:
            return ptype.dtype
        return np.dtype({
            "names": [f.name for f in ptype.fields],
            "formats": [storage_dtype(f.ptype) for f in ptype.fields],
            "offsets": [f.offset for f in ptype.fields],
            "itemsize": ptype.size,
        })
    if isinstance(ptype, P5EnumType):
        return ptype.base_dtype
    return np.dtype(ptype.dtype.str) if ptype.dtype.kind != "V" else ptype.dtype


def is_bool_enum(ptype: P5Type) -> bool:
    if not isinstance(ptype, P5EnumType):
        return False
    mapping = {str(k).upper(): int(v) for k, v in ptype.mapping.items()}
    return mapping == {"FALSE": 0, "TRUE": 1}


def value_dtype(ptype: P5Type) -> np.dtype:
    """The dtype the facade reports: strings and references as object, bool enums as bool."""
    if isinstance(ptype, P5FixedStringType | P5VlenStringType):
        return STR_DTYPE
    if isinstance(ptype, P5SequenceType):
        return np.dtype("O")
    if isinstance(ptype, P5ReferenceType):
        return REF_DTYPE
    if isinstance(ptype, P5CompoundType):
        if ptype.is_complex:
            return ptype.dtype
        return np.dtype([(f.name, value_dtype(f.ptype)) for f in ptype.fields])
    if is_bool_enum(ptype):
        return np.dtype(bool)
    if isinstance(ptype, P5EnumType):
        return ptype.base_dtype
    return storage_dtype(ptype)


def decode_array(arr: np.ndarray, ptype: P5Type, heaps: GlobalHeaps) -> np.ndarray:
    """Storage array -> facade array (same shape)."""
    if isinstance(ptype, P5FixedStringType):
        encoding = "utf-8" if ptype.character_set == 1 else "ascii"
        return _map(arr, lambda raw: decode_bytes(bytes(raw), encoding))
    if isinstance(ptype, P5VlenStringType):
        encoding = "utf-8" if ptype.character_set == 1 else "ascii"

        def vlen_str(rec: Any) -> str:
            data = heaps.get(int(rec["collection"]), int(rec["index"]))
            return "" if data is None else decode_bytes(data, encoding)

        return _map(arr, vlen_str)
    if isinstance(ptype, P5SequenceType):
        base = ptype.base_dtype
        base_storage = storage_dtype(base)

        def sequence(rec: Any) -> np.ndarray:
            data = heaps.get(int(rec["collection"]), int(rec["index"])) or b""
            count = int(rec["length"])
            items = np.frombuffer(data, dtype=base_storage, count=count)
            return decode_array(items, base, heaps)

        return _map(arr, sequence)
    if isinstance(ptype, P5ReferenceType):
        if ptype.size == 8:
            return _map(arr, _object_ref)

        def region(rec: Any) -> RawRegion | None:
            data = heaps.get(int(rec["collection"]), int(rec["index"]))
            if not data:
                return None
            address, text = parse_region(data)
            return RawRegion(address, text)

        return _map(arr, region)
    if isinstance(ptype, P5CompoundType) and not ptype.is_complex:
        out = np.empty(arr.shape, dtype=value_dtype(ptype))
        for field in ptype.fields:
            out[field.name] = decode_array(arr[field.name], field.ptype, heaps)
        return out
    if is_bool_enum(ptype):
        return arr.astype(bool)
    return arr


def _object_ref(address: Any) -> RefAddress | None:
    address = int(address)
    if address in (0, UNDEFINED_ADDRESS):
        return None
    return RefAddress(address)


def _map(arr: np.ndarray, func: Any) -> np.ndarray:
    out = np.empty(arr.shape, dtype=object)
    flat_in = arr.reshape(-1)
    flat_out = out.reshape(-1)
    for i in range(flat_in.shape[0]):
        flat_out[i] = func(flat_in[i])
    return out
