"""The h5py-like facade over one engine: groups, datasets, links, references, errors.

Everything engines disagree on is settled here, once: paths are walked component by
component with soft links followed by the facade (so a link in the middle of a path works
with pyfive too), keys come in creation order when tracked and by name otherwise, references
are named by path, and every engine failure becomes one of ``nwbscope.errors``.
"""

from __future__ import annotations

import posixpath
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np

from ..errors import (
    BrokenLinkError,
    CorruptFileError,
    NotFoundError,
    NwbscopeError,
    TruncatedFileError,
    UnsupportedFeatureError,
)
from ..sources.cache import CachedSource, IOStats
from .api import LinkInfo, ObjectRef, RegionRef, StorageInfo
from .chunk_cache import ChunkCache
from .engine import DatasetMeta, Engine, RawLink, RawRegion, RefAddress
from .selection import selection_box
from .values import convert_value

MAX_SOFT_LINK_HOPS = 16


class _Node:
    kind: Literal["group", "dataset"]

    def __init__(self, file: H5File, handle: Any, path: str, address: int) -> None:
        self._file = file
        self._handle = handle
        self.path = path
        self.name = posixpath.basename(path)
        self.address = address
        self._hard = True  # reached through hard links only: its path can name references

    @property
    def file(self) -> H5File:
        return self._file

    @property
    def attrs(self) -> dict[str, Any]:
        return self._file._attrs(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path!r} ({self._file.engine})>"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Node) and other._file is self._file
            and other.address == self.address
        )

    def __hash__(self) -> int:
        return hash((id(self._file), self.address))


class H5Dataset(_Node):
    kind: Literal["dataset"] = "dataset"

    @property
    def _meta(self) -> DatasetMeta:
        return self._file._meta(self)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._meta.shape

    @property
    def dtype(self) -> np.dtype:
        return self._meta.dtype

    @property
    def storage(self) -> StorageInfo:
        return self._meta.storage

    @property
    def is_null(self) -> bool:
        """An HDF5 null dataspace: no values (shape reported as (0,))."""
        return self._meta.null

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError(f"{self.path} is a scalar dataset; it has no length.")
        return self.shape[0]

    def __getitem__(self, selection: Any) -> Any:
        return self._file._read(self, selection)

    def read(self) -> Any:
        return self[()]


class H5Group(_Node):
    kind: Literal["group"] = "group"

    def keys(self) -> list[str]:
        return list(self._file._links(self))

    def links(self) -> dict[str, LinkInfo]:
        out = {}
        for name, raw in self._file._links(self).items():
            target = raw.target
            if raw.kind == "external":
                target = f"{raw.filename}:{raw.target}"
            out[name] = LinkInfo(name, raw.kind, target, raw.filename)
        return out

    def __getitem__(self, path: str) -> H5Group | H5Dataset:
        return self._file._resolve(self, path)

    def get(self, path: str, default: Any = None) -> Any:
        try:
            return self[path]
        except NotFoundError:
            return default

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self.get(path) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._file._links(self))

    def items(self) -> Iterator[tuple[str, H5Group | H5Dataset]]:
        for name in self.keys():
            yield name, self[name]


class H5File(H5Group):
    """An open HDF5 file; also its root group. ``stats`` are the I/O counters."""

    def __init__(self, engine: Engine, io: CachedSource, name: str) -> None:
        self._engine = engine
        self.io = io
        self.filename = name
        self.engine = engine.name
        self._link_cache: dict[int, dict[str, RawLink]] = {}
        self._attr_cache: dict[int, dict[str, Any]] = {}
        self._meta_cache: dict[int, DatasetMeta] = {}
        self._paths: dict[int, str] = {}
        self._bfs_done = False
        with self._guard("the root group"):
            root = engine.root()
            address = engine.address(root)
        super().__init__(self, root, "/", address)
        self.name = ""
        self._paths[address] = "/"

    @property
    def stats(self) -> IOStats:
        return self.io.stats

    @property
    def source(self) -> CachedSource:
        """The cached byte source the engine reads through (``size``, ``stats``)."""
        return self.io

    @property
    def size(self) -> int:
        return self.io.size

    @property
    def chunk_cache(self) -> ChunkCache | None:
        """The decoded-chunk cache (``budget``, ``stats``) where the engine has one (pyfive)."""
        return getattr(self._engine, "chunk_cache", None)

    def close(self) -> None:
        try:
            self._engine.close()
        finally:
            self.io.close()

    def __enter__(self) -> H5File:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- errors -----------------------------------------------------------------------------
    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """Turn any engine failure while reading ``what`` into an nwbscope error."""
        try:
            yield
        except NwbscopeError:
            raise
        except NotImplementedError as exc:
            raise UnsupportedFeatureError(
                f"{what} in {self.filename} uses an HDF5 feature the {self.engine} reader "
                f"cannot decode ({exc})."
            ) from None
        except Exception as exc:  # noqa: BLE001 - engines fail with anything (assert, struct)
            past = self.io.past_eof
            if past is not None:
                raise TruncatedFileError(self.filename, self.io.size, past) from None
            raise CorruptFileError(
                f"Could not read {what} in {self.filename}: the HDF5 structures there do not "
                f"parse ({type(exc).__name__}: {exc}). The file may be damaged."
            ) from None

    # -- links and paths --------------------------------------------------------------------
    def _links(self, group: H5Group) -> dict[str, RawLink]:
        cached = self._link_cache.get(group.address)
        if cached is None:
            with self._guard(f"the members of {group.path}"):
                raw = self._engine.links(group._handle)
            if raw and all(link.order is not None for link in raw):
                raw.sort(key=lambda link: link.order)  # type: ignore[arg-type, return-value]
            else:
                raw.sort(key=lambda link: link.name)
            cached = self._link_cache[group.address] = {link.name: link for link in raw}
        return cached

    def _child(self, group: H5Group, link: RawLink, path: str) -> H5Group | H5Dataset:
        with self._guard(path):
            handle = self._engine.open_link(group._handle, link)
            address = self._engine.address(handle)
            is_group = self._engine.is_group(handle)
        cls = H5Group if is_group else H5Dataset
        return cls(self, handle, path, address)

    def _resolve(self, base: H5Group, path: str, hops: int = 0) -> H5Group | H5Dataset:
        if not isinstance(path, str):
            raise TypeError(f"HDF5 paths are strings, not {type(path).__name__}")
        node: H5Group | H5Dataset = self if path.startswith("/") else base
        for part in path.split("/"):
            if part in ("", "."):
                continue
            full = posixpath.join(node.path, part)
            if not isinstance(node, H5Group):
                raise NotFoundError(full, self.filename)
            link = self._links(node).get(part)
            if link is None:
                raise NotFoundError(full, self.filename)
            if link.kind == "hard":
                child = self._child(node, link, full)
                child._hard = node._hard
                if child._hard:
                    self._paths.setdefault(child.address, full)
            elif link.kind == "soft":
                if hops >= MAX_SOFT_LINK_HOPS:
                    raise BrokenLinkError(full, link.target or "")
                try:
                    target = self._resolve(node, link.target or "", hops + 1)
                except NotFoundError:
                    raise BrokenLinkError(full, link.target or "") from None
                child = type(target)(self, target._handle, full, target.address)
                child._hard = False
            else:
                raise BrokenLinkError(full, f"{link.filename}:{link.target}", external=True)
            node = child
        return node

    def _path_of(self, address: int) -> str | None:
        """The path of the object at ``address``: as first reached through hard links, else
        the first found breadth-first in key order (what a reference is named by). Each
        group's link list gives its members' addresses, so a level is searched before any
        member is opened."""
        if address in self._paths or self._bfs_done:
            return self._paths.get(address)
        queue: deque[H5Group] = deque([self])
        seen = {self.address}
        while queue:
            group = queue.popleft()
            hard = [(n, link) for n, link in self._links(group).items() if link.kind == "hard"]
            for name, link in hard:
                if link.address == address:
                    path = posixpath.join(group.path, name)
                    self._paths.setdefault(address, path)
                    return self._paths[address]
            for name, link in hard:
                if link.address in seen:
                    continue
                seen.add(int(link.address or 0))
                child = group[name]
                self._paths.setdefault(child.address, child.path)
                if isinstance(child, H5Group):
                    queue.append(child)
        self._bfs_done = True
        return None

    # -- values -----------------------------------------------------------------------------
    def _name_refs(self, value: Any) -> Any:
        def scalar(item: Any) -> Any:
            if isinstance(item, RefAddress):
                path = self._path_of(item.address)
                return ObjectRef(path if path is not None else f"<address {item.address}>")
            if isinstance(item, RawRegion):
                path = self._path_of(item.address)
                return RegionRef(path or f"<address {item.address}>", item.selection)
            return item

        return convert_value(value, scalar)

    def _attrs(self, node: _Node) -> dict[str, Any]:
        cached = self._attr_cache.get(node.address)
        if cached is None:
            with self._guard(f"the attributes of {node.path}"):
                raw = self._engine.attrs(node._handle)
            cached = {name: self._name_refs(raw[name]) for name in sorted(raw)}
            self._attr_cache[node.address] = cached
        return dict(cached)

    def _meta(self, dataset: H5Dataset) -> DatasetMeta:
        cached = self._meta_cache.get(dataset.address)
        if cached is None:
            with self._guard(f"the dataset {dataset.path}"):
                cached = self._engine.meta(dataset._handle, dataset.path)
            fill = self._name_refs(cached.storage.fillvalue)
            cached = DatasetMeta(
                cached.shape, cached.dtype,
                StorageInfo(cached.storage.layout, cached.storage.chunks,
                            cached.storage.filters, fill),
                cached.null,
            )
            self._meta_cache[dataset.address] = cached
        return cached

    def _read(self, dataset: H5Dataset, selection: Any) -> Any:
        meta = self._meta(dataset)
        if not meta.null:
            selection_box(selection, meta.shape)  # a bad selection is the caller's IndexError
        with self._guard(f"the values of {dataset.path}"):
            value = self._engine.read(dataset._handle, selection, dataset.path)
        return self._name_refs(value)
