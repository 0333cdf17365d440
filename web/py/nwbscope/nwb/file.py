"""``open_nwb``: an NWB file (or any HDF5 file) as the viewer and notebooks see it.

``NWBFile`` adds NWB knowledge to the HDF5 facade: metadata, neurodata types and their
ancestors from the file's own specifications, time bases and tables. Everything is read on
first use, so opening a file costs the superblock and the root group only.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from ..errors import NotFoundError
from ..h5.api import File, Group
from ..sources.cache import IOStats
from .metadata import Metadata, read_metadata
from .tables import Table, is_table
from .timebase import TimeBase, read_timebase
from .tree import NodeInfo, list_children
from .types import TypeHierarchy, read_hierarchy
from .values import text


class NWBFile:
    """One open file. ``f["/acquisition/X"]`` gives the h5py-like node; the methods add NWB."""

    def __init__(self, h5: File, size: int | None = None,
                 io_stats: IOStats | None = None) -> None:
        self.h5 = h5
        self.name: str = getattr(h5, "filename", "") or "the file"
        self.engine: str = getattr(h5, "engine", "")
        self.size = size
        self._io_stats = io_stats

    # -- nodes --------------------------------------------------------------------------
    def __getitem__(self, path: str) -> Any:
        if path in ("", "/"):
            return self.h5
        return self.h5[path]

    def __contains__(self, path: str) -> bool:
        return path in ("", "/") or path in self.h5

    def group(self, path: str) -> Group:
        node = self[path]
        if node.kind != "group":
            raise NotFoundError(path, f"{self.name} (it is a dataset, not a group)")
        return node

    def children(self, path: str = "/") -> list[NodeInfo]:
        """The tree entries of the members of the group at ``path``."""
        return list_children(self.group(path))

    # -- NWB facts ----------------------------------------------------------------------
    @cached_property
    def is_nwb(self) -> bool:
        """An NWB file says so at its root (``nwb_version`` or the ``NWBFile`` type)."""
        attrs = self.h5.attrs
        return "nwb_version" in attrs or text(attrs.get("neurodata_type")) == "NWBFile"

    @cached_property
    def metadata(self) -> Metadata:
        return read_metadata(self.h5) if self.is_nwb else Metadata()

    @cached_property
    def types(self) -> TypeHierarchy:
        """The type hierarchy (reads ``/specifications`` the first time it is needed)."""
        return read_hierarchy(self.h5)

    def neurodata_type(self, node: Any) -> tuple[str | None, str | None]:
        """(type, namespace) of a node or a path; (None, None) for untyped objects."""
        node = self[node] if isinstance(node, str) else node
        attrs = node.attrs
        return text(attrs.get("neurodata_type")), text(attrs.get("namespace"))

    def ancestors(self, node: Any) -> list[str]:
        """Ancestor types of a node's type, nearest first (``TimeSeries`` before ...)."""
        name, namespace = self.neurodata_type(node)
        return self.types.ancestors(name, namespace) if name else []

    def is_a(self, node: Any, base: str) -> bool:
        """Whether a node's type is ``base`` or extends it (extensions included)."""
        name, namespace = self.neurodata_type(node)
        return self.types.is_a(name, base, namespace)

    def timebase(self, path: str) -> TimeBase | None:
        return read_timebase(self.group(path))

    def table(self, path: str) -> Table:
        return Table(self.group(path))

    def is_table(self, node: Any) -> bool:
        return is_table(self[node] if isinstance(node, str) else node)

    # -- I/O ----------------------------------------------------------------------------
    @property
    def stats(self) -> dict[str, int]:
        """The I/O record since the file was opened (``sources.cache.IOStats``: requests,
        bytes, block-cache hits and misses, reads), as the page's status bar gets it."""
        return (self._io_stats or IOStats()).snapshot()

    def close(self) -> None:
        self.h5.close()

    def __enter__(self) -> NWBFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        kind = "NWB" if self.is_nwb else "HDF5"
        return f"<nwbscope {kind} file {self.name!r} ({self.engine})>"


def open_nwb(target: Any, engine: str = "auto", **options: Any) -> NWBFile:
    """Open a path, an http(s) URL, bytes or a byte source; ``options`` go to the byte
    source and its cache (``block_size``, ``cache_bytes``, ...)."""
    from ..h5 import open_h5

    h5 = open_h5(target, engine=engine, **options)
    return NWBFile(h5, size=h5.io.size, io_stats=h5.stats)
