"""The typed groups of a file, found by walking the tree's own entries.

Why one walker: the units finder, the events finder and the alignment overview all ask "which
groups of this type are there, wherever they are" (Units in ``/units`` or a processing
module, EventsTables in ``/events``, TimeSeries anywhere). Each step reads one group's member
list and headers (what the tree reads anyway), never a dataset's values. It does not descend
into a TimeSeries or a table (their members are their own parts), nor into ``/general``
(metadata), ``/specifications`` (the schema) or ``/stimulus/templates`` (not in session time),
and it skips soft links, so an object linked from two places is listed once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...nwb.tree import NodeInfo

SKIP = ("/general", "/specifications", "/stimulus/templates")
MAX_DEPTH = 8
LEAF_TYPES = ("TimeSeries", "DynamicTable")


def is_a(nwb: Any, info: NodeInfo, base: str) -> bool:
    """Whether a tree entry's type is ``base`` or extends it (the file's specifications)."""
    return nwb.types.is_a(info.neurodata_type, base, info.namespace)


def walk_groups(nwb: Any, root: str = "/") -> Iterator[NodeInfo]:
    """Every group under ``root`` (breadth-first), typed or not, in the tree's order."""
    queue: list[tuple[str, int]] = [(root, 0)]
    while queue:
        path, depth = queue.pop(0)
        for info in nwb.children(path):
            if info.kind != "group" or info.path in SKIP:
                continue
            yield info
            leaf = info.neurodata_type is not None and any(
                is_a(nwb, info, base) for base in LEAF_TYPES)
            if not leaf and depth + 1 < MAX_DEPTH:
                queue.append((info.path, depth + 1))


def find_typed(nwb: Any, base: str, root: str = "/") -> list[NodeInfo]:
    """The groups whose type is ``base`` or extends it."""
    return [info for info in walk_groups(nwb, root) if is_a(nwb, info, base)]
