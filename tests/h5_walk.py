"""Walk a whole HDF5 file through the facade into plain, comparable Python values.

Used by the engine-agreement tests: both engines must produce the same snapshot (tree, link
infos, attributes, storage, values), and a value one engine cannot read is recorded as the
name of the error class it raised.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from nwbscope.errors import NwbscopeError


def canon(value: Any) -> Any:
    """A hashable-free, exactly comparable form of a facade value."""
    if isinstance(value, np.ndarray):
        return ("array", canon_dtype(value.dtype), value.shape,
                [canon(v) for v in value.reshape(-1).tolist()] if value.dtype.names is None
                else [canon(tuple(row)) for row in value.reshape(-1)])
    if isinstance(value, np.void) and value.dtype.names is not None:
        return ("record", tuple(canon(v) for v in value.tolist()))
    if isinstance(value, np.generic):
        return (type(value).__name__, canon(value.item()))
    if isinstance(value, float):
        return ("float", repr(value))
    if isinstance(value, list | tuple):
        return tuple(canon(v) for v in value)
    if isinstance(value, dict):
        return {k: canon(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__,
                tuple((f.name, canon(getattr(value, f.name))) for f in dataclasses.fields(value)))
    return value


def canon_dtype(dtype: np.dtype) -> Any:
    if dtype.names is not None:
        return tuple((name, canon_dtype(dtype.fields[name][0])) for name in dtype.names)
    return dtype.str


def _attempt(func: Any) -> Any:
    try:
        return canon(func())
    except NwbscopeError as exc:
        return ("error", type(exc).__name__)


def snapshot(h5: Any) -> dict[str, Any]:
    """Every object reachable through hard links, keyed by path, plus soft-link targets."""
    out: dict[str, Any] = {}
    queue = [h5]
    seen_groups: set[int] = set()
    while queue:
        node = queue.pop(0)
        if node.kind == "group":
            if node.address in seen_groups:
                continue
            seen_groups.add(node.address)
        entry: dict[str, Any] = {
            "kind": node.kind, "address": node.address, "attrs": _attempt(lambda n=node: n.attrs),
        }
        if node.kind == "group":
            entry["keys"] = node.keys()
            links = node.links()
            entry["links"] = canon(links)
            for name, link in links.items():
                child_path = f"{node.path.rstrip('/')}/{name}"
                if link.kind == "hard":
                    queue.append(node[name])
                else:
                    out[child_path + " ->"] = _attempt(
                        lambda n=node, k=name: (n[k].kind, n[k].address, n[k].path)
                    )
        else:
            entry["shape"] = node.shape
            entry["dtype"] = canon_dtype(node.dtype)
            entry["storage"] = _attempt(lambda n=node: n.storage)
            entry["null"] = node.is_null
            entry["values"] = _attempt(lambda n=node: n[()])
        out.setdefault(node.path, entry)
    return out
