"""What the page may show on the next visit before Python is up: tree rows and details.

Why: on a second visit the page draws the tree kept from the last one at once (MicroPython,
no Python needed), but details and opened branches used to wait seconds for Pyodide to start
again. The worker records here the children lists and details it answered for a remote file,
plus the details of the top-level objects (read in the background after the tree shows), and
keeps the record beside the kept tree (``sources.browser.save_tree``). The page shows a kept
answer the moment a row is clicked; Python answers the same question again once it is up.

Bounded so the kept entry stays small: at most ``max_entries`` answers and ``max_bytes`` of
JSON; the oldest go first, and the top-level objects' details are added last-but-kept (they
are what a returning user clicks first). Answers are the worker's own JSON-able dicts, kept
as they were sent, so nothing here knows their fields beyond ``path``.
"""

from __future__ import annotations

import json
from typing import Any

MAX_ENTRIES = 400
MAX_BYTES = 2 << 20


class BrowseRecord:
    """Children and details answers for one file, in the order they were last answered."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.children: dict[str, list[dict[str, Any]]] = {}
        self.details: dict[str, dict[str, Any]] = {}
        self._sizes: dict[tuple[str, str], int] = {}  # (kind, path) -> JSON bytes, oldest first
        self.changed = False

    @classmethod
    def from_json(cls, data: Any, **limits: int) -> BrowseRecord:
        """A record from a kept entry's ``browse`` field (anything malformed is left out)."""
        record = cls(**limits)
        if not isinstance(data, dict):
            return record
        for kind, store in (("children", record.children), ("details", record.details)):
            items = data.get(kind)
            if isinstance(items, dict):
                for path, value in items.items():
                    if isinstance(path, str) and isinstance(value, list | dict):
                        record._put(kind, store, path, value)
        record.changed = False
        return record

    def add_children(self, path: str, rows: list[dict[str, Any]]) -> None:
        self._put("children", self.children, path, rows)

    def add_details(self, path: str, details: dict[str, Any]) -> None:
        self._put("details", self.details, path, details)

    def has_details(self, path: str) -> bool:
        return path in self.details

    def to_json(self) -> dict[str, Any]:
        return {"children": dict(self.children), "details": dict(self.details)}

    def _put(self, kind: str, store: dict[str, Any], path: str, value: Any) -> None:
        size = len(json.dumps(value, default=str))
        key = (kind, path)
        if size > self.max_bytes:  # one answer larger than the whole budget: not kept
            return
        self._sizes.pop(key, None)
        store.pop(path, None)
        self._sizes[key] = size
        store[path] = value
        self.changed = True
        total = sum(self._sizes.values())
        while len(self._sizes) > self.max_entries or total > self.max_bytes:
            (old_kind, old_path), old_size = next(iter(self._sizes.items()))
            del self._sizes[(old_kind, old_path)]
            (self.children if old_kind == "children" else self.details).pop(old_path, None)
            total -= old_size


def blocks_to_keep(held: dict[int, bytes], opening: set[int],
                   browsed: set[int]) -> dict[int, bytes]:
    """The block cache's blocks to keep for the next visit, ordered for ``pack_metadata``
    (which, past its budget, keeps the last ones first): those browsing read, then those the
    open read, so that a long browse (a full walk reads more than the budget) never pushes out
    what the next open needs. Blocks read by neither (a view's data) are not kept."""
    ordered = {n: data for n, data in held.items() if n in browsed and n not in opening}
    ordered.update((n, data) for n, data in held.items() if n in opening)
    return ordered

