"""Turning values read from HDF5 into plain Python: JSON-ready values and short display text.

Why one place: metadata, previews and attribute lists all meet numpy scalars, 0-d arrays,
object arrays of str, references and NaN; JSON has none of these, and the page must get the
same text for the same value whichever engine read it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..h5.api import ObjectRef, RegionRef

MAX_TEXT = 80  # characters of one string shown in a preview or an attribute list


def truncate(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def to_python(value: Any) -> Any:
    """numpy scalars/arrays to int/float/bool/str/list; references to their path text."""
    if isinstance(value, ObjectRef):
        return value.path
    if isinstance(value, RegionRef):
        return f"{value.path}{value.selection}"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return to_python(value[()])
        return [to_python(v) for v in value]
    if isinstance(value, np.void):  # a compound element
        names = value.dtype.names or ()
        return {name: to_python(value[name]) for name in names}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list | tuple):
        return [to_python(v) for v in value]
    return value


def text(value: Any) -> str | None:
    """A scalar text value (dataset or attribute) as str; None when absent."""
    if value is None:
        return None
    value = to_python(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def text_list(value: Any) -> list[str]:
    """A text value that may be scalar or a 1-d array (e.g. experimenter) as a list."""
    if value is None:
        return []
    value = to_python(value)
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def display(value: Any, limit: int = MAX_TEXT * 2) -> str:
    """A short one-line text for an attribute or a scalar: what a scientist reads."""
    value = to_python(value)
    if isinstance(value, str):
        shown = value
    elif isinstance(value, list):
        items = [display(v, MAX_TEXT) for v in value[:20]]
        more = ", …" if len(value) > 20 else ""
        shown = "[" + ", ".join(items) + more + "]"
    elif isinstance(value, float):
        shown = f"{value:.6g}"
    else:
        shown = str(value)
    return truncate(shown, limit)


def dtype_text(dtype: Any) -> str:
    """``int16``, ``float64``, ``str`` (variable-length text), ``reference`` or the numpy name."""
    if dtype is None:
        return ""
    dtype = np.dtype(dtype)
    if dtype.kind == "O":
        meta = dtype.metadata or {}
        if meta.get("vlen") in (str, bytes) or meta.get("h5py_encoding"):
            return "str"
        if "ref" in meta or meta.get("reference"):
            return "reference"
        return "object"
    if dtype.kind in "SU":
        return "str"
    if dtype.names:
        return "compound{" + ", ".join(
            f"{name}: {dtype_text(dtype.fields[name][0])}" for name in dtype.names) + "}"
    return dtype.name


def value_dtype_text(value: Any) -> str:
    """The dtype label of an attribute value (as read, already decoded)."""
    if isinstance(value, str):
        return "str"
    if isinstance(value, ObjectRef):
        return "object reference"
    if isinstance(value, RegionRef):
        return "region reference"
    if isinstance(value, np.ndarray):
        inner = value.flat[0] if value.size else None
        if value.dtype.kind == "O" and inner is not None:
            return value_dtype_text(inner) + f"[{', '.join(str(n) for n in value.shape)}]"
        return dtype_text(value.dtype) + f"[{', '.join(str(n) for n in value.shape)}]"
    if isinstance(value, np.generic):
        return dtype_text(value.dtype)
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return type(value).__name__


def shape_text(dtype: str, shape: tuple[int, ...] | list[int]) -> str:
    """``int16 [76293625, 96]``; a scalar is ``float64 scalar``."""
    if not shape:
        return f"{dtype} scalar"
    return f"{dtype} [{', '.join(str(n) for n in shape)}]"
