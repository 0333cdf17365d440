"""The h5py-like facade every layer above HDF5 uses; engines (pyfive, h5py) implement it.

Everything that differs between engines is settled behind this interface and nowhere else:
- strings come back as ``str`` (attributes and string datasets; never ``bytes``);
- links are followed by the facade itself (soft links resolved against the file, external
  links reported, not followed), and ``Group.links()`` says what kind each member is;
- object references come back as ``ObjectRef(path)``, region references as ``RegionRef``;
- a filter the engine cannot decode raises ``errors.UnsupportedFilterError`` naming it;
- byte-level failures surface as ``errors.TruncatedFileError`` / ``NotHDF5Error`` /
  ``CorruptFileError`` (``UnsupportedFeatureError`` for valid HDF5 an engine cannot decode),
  never as an engine's ``AssertionError`` or ``KeyError``.

Settled choices, the same on both engines:
- ``keys()``: creation order where the group tracks it, else by name (byte order);
  ``attrs``: a dict sorted by name;
- strings: ``dtype`` is ``object`` for every string dataset (fixed or variable length),
  values ``str``; compounds are structured arrays whose string/reference fields are objects;
- HDF5 booleans (h5py's enum) come back as ``bool``;
- a null (empty) dataspace: dataset ``shape == (0,)`` with ``is_null`` True, attribute ``None``;
- a null object reference reads as ``None``; a reference is named by the path the object was
  first reached by through hard links (else the first found breadth-first in key order);
- a soft link reached node keeps the path it was reached by (``node.path``); ``address``
  (object header address) identifies the object itself (hard links share it).

Paths are absolute POSIX-style strings (``/acquisition/ElectricalSeries``).
Implementation: ``h5.facade`` over ``h5.pyfive_engine`` / ``h5.h5py_engine``; ``open_h5``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

LinkKind = Literal["hard", "soft", "external"]


@dataclass(frozen=True)
class LinkInfo:
    """How a member of a group is stored: a hard link, or a soft/external link and its target."""

    name: str
    kind: LinkKind
    target: str | None = None  # soft: path in this file; external: "file.nwb:/path"
    filename: str | None = None  # external links only


@dataclass(frozen=True)
class ObjectRef:
    """An HDF5 object reference, resolved to the path of the object it points to."""

    path: str


@dataclass(frozen=True)
class RegionRef:
    """An HDF5 region reference: the dataset path and the selection, as text (h5py style)."""

    path: str
    selection: str


@dataclass(frozen=True)
class StorageInfo:
    """How a dataset's values are laid out (shown in the viewer, used by readers to plan)."""

    layout: Literal["compact", "contiguous", "chunked", "virtual", "external"]
    chunks: tuple[int, ...] | None = None
    filters: tuple[str, ...] = ()  # e.g. ("shuffle", "gzip(4)", "fletcher32")
    fillvalue: Any = None


class Node(Protocol):
    name: str  # last path component ("" for the root)
    path: str  # absolute path this node was reached by
    kind: Literal["group", "dataset"]
    address: int  # object header address: the same object has the same address

    @property
    def attrs(self) -> dict[str, Any]:
        """All attributes, decoded: str for strings, ObjectRef/RegionRef, numpy scalars/arrays."""
        ...


class Dataset(Node, Protocol):
    shape: tuple[int, ...]
    dtype: np.dtype  # numpy dtype; variable-length strings: np.dtype("O") with str values

    @property
    def storage(self) -> StorageInfo: ...

    @property
    def is_null(self) -> bool:
        """An HDF5 null dataspace (no values at all; ``shape`` is reported as ``(0,)``)."""
        ...

    def __getitem__(self, selection: Any) -> Any:
        """Read a hyperslab (ints, slices, Ellipsis). Strings decoded, references resolved."""
        ...

    def __len__(self) -> int: ...


class Group(Node, Protocol):
    def keys(self) -> list[str]:
        """Member names in the file's order (creation order when tracked, else by name)."""
        ...

    def links(self) -> dict[str, LinkInfo]: ...

    def __getitem__(self, path: str) -> Group | Dataset:
        """Relative or absolute path; follows soft links; raises errors.NotFoundError."""
        ...

    def __contains__(self, path: str) -> bool: ...

    def __iter__(self) -> Iterator[str]: ...


class File(Group, Protocol):
    engine: Literal["pyfive", "h5py"]
    filename: str

    @property
    def size(self) -> int: ...

    @property
    def stats(self) -> Any:
        """The I/O counters (``sources.cache.IOStats``; ``.snapshot()`` gives a dict)."""
        ...

    def close(self) -> None: ...
