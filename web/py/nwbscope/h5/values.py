"""Turning engine values into facade values: strings as ``str``, references named.

Engines hand over numpy arrays and scalars whose strings may be bytes (fixed-length strings,
h5py's variable-length datasets) and whose references are file addresses. These helpers make
one shape of value out of both: ``str`` for every string, ``np.dtype('O')`` arrays of ``str``
for string arrays, structured arrays with object fields for compounds holding strings or
references.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Convert = Callable[[Any], Any]


def decode_bytes(raw: bytes, encoding: str = "utf-8") -> str:
    """Decode HDF5 string bytes; ASCII-labelled strings with stray bytes never fail."""
    try:
        return raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return raw.decode("utf-8", errors="replace")


def is_string_dtype(dtype: np.dtype) -> bool:
    if dtype.kind in "SU":
        return True
    meta = dtype.metadata or {}
    return dtype.kind == "O" and meta.get("vlen") in (str, bytes)


# Both engines return text and references as Python objects; the dtype metadata says which,
# so the layers above can label a column "str" or "reference" without reading a value.
STR_DTYPE = np.dtype("O", metadata={"vlen": str})
REF_DTYPE = np.dtype("O", metadata={"ref": "object"})


def object_dtype(dtype: np.dtype, special: Callable[[np.dtype], bool]) -> np.dtype:
    """``dtype`` with every string or special (reference) part replaced by ``object``."""
    if dtype.names is not None:
        fields = []
        for name in dtype.names:
            sub = dtype.fields[name][0]
            fields.append((name, object_dtype(sub, special)))
        return np.dtype(fields)
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        return np.dtype((object_dtype(base, special), shape))
    if special(dtype):
        return REF_DTYPE
    if dtype.kind in "SU" or (dtype.metadata or {}).get("vlen") in (str, bytes):
        return STR_DTYPE
    if dtype.kind == "O":  # variable-length sequences
        return np.dtype("O")
    return np.dtype(dtype.str)


def convert_value(value: Any, scalar: Convert) -> Any:
    """Decode strings and apply ``scalar`` (reference conversion) throughout ``value``.

    ``scalar(x)`` returns the replacement for an engine-specific scalar (a reference) or
    ``x`` itself. Numeric arrays come back untouched (no copy).
    """
    if isinstance(value, bytes | np.bytes_):
        return decode_bytes(bytes(value))
    if isinstance(value, str):
        return str(value)
    if isinstance(value, np.void) and value.dtype.names is not None:
        arr = convert_value(np.array(value), scalar)
        return arr[()]
    if isinstance(value, np.ndarray):
        return _convert_array(value, scalar)
    if isinstance(value, list | tuple):
        return type(value)(convert_value(v, scalar) for v in value)
    return scalar(value)


def _convert_array(arr: np.ndarray, scalar: Convert) -> np.ndarray:
    dtype = arr.dtype
    if dtype.names is not None:
        out = np.empty(arr.shape, dtype=object_dtype(dtype, lambda d: False))
        for name in dtype.names:
            column = _convert_array(arr[name], scalar)
            if out.dtype.fields[name][0].kind == "O" and column.dtype.kind != "O":
                out[name] = column.astype(object)
            else:
                out[name] = column
        return out
    if dtype.kind == "S":
        out = np.empty(arr.shape, dtype=object)
        flat = out.reshape(-1)
        for i, item in enumerate(arr.reshape(-1)):
            flat[i] = decode_bytes(bytes(item))
        return out
    if dtype.kind == "U":
        return arr.astype(object)
    if dtype.kind == "O":
        out = np.empty(arr.shape, dtype=object)
        flat = out.reshape(-1)
        for i, item in enumerate(arr.reshape(-1)):
            flat[i] = convert_value(item, scalar)
        return out
    return arr
