"""The worker's cache of downloaded inputs, held under a size by evicting least recently used.

``BrokerClient.fetch_input`` writes a store input to ``<cache_dir>/<sha256>`` once and gives
each job a hard link to it (a copy across file systems). A file's mtime is its last use
(``touch`` at every job that uses it), so eviction removes the oldest first.

Never evicted: an input a running job names (it may be between download and link), and a
file with another hard link (a job folder still holds it: removing the cache's name would
free nothing and lose the entry). Files that are not named by a hash (``.part-*`` downloads
in flight) are not the cache's.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("nwbscope.worker")
HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class _Entry:
    path: Path
    size: int
    used: float
    links: int


@dataclass
class InputCache:
    cache_dir: Path
    max_bytes: int

    def touch(self, hexdigest: str) -> None:
        """Mark an entry as used now (it becomes the last to be evicted)."""
        try:
            os.utime(self.cache_dir / hexdigest)
        except FileNotFoundError:
            pass

    def trim(self, in_use: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """Evict least recently used entries until the cache holds at most ``max_bytes``
        (or only what cannot be evicted); answer the names removed, oldest first."""
        entries = self._entries()
        total = sum(e.size for e in entries)
        removed: list[str] = []
        for entry in sorted(entries, key=lambda e: e.used):
            if total <= self.max_bytes:
                break
            if entry.path.name in in_use or entry.links > 1:
                continue
            entry.path.unlink(missing_ok=True)
            total -= entry.size
            removed.append(entry.path.name)
        if removed:
            log.info("input cache: removed %d least recently used input(s); %d bytes left "
                     "(limit %d)", len(removed), total, self.max_bytes)
        return removed

    def _entries(self) -> list[_Entry]:
        try:
            paths = [p for p in self.cache_dir.iterdir() if HEX.fullmatch(p.name)]
        except FileNotFoundError:
            return []
        entries = []
        for path in paths:
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if path.is_file():
                entries.append(_Entry(path, st.st_size, st.st_mtime, st.st_nlink))
        return entries
