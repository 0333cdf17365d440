"""The small interface each HDF5 engine implements under the facade (``h5.facade``).

An engine only knows how to list one group's links, open a hard link, and read attributes
and values of one object. Walking paths, following soft links, naming references and
ordering keys are the facade's job, done once for both engines so they cannot drift apart.

Values an engine returns are already decoded (strings as ``str``, empty attributes as
``None``), except object and region references, which come back as ``RefAddress`` /
``RawRegion`` (file addresses) for the facade to turn into paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from .api import LinkKind, StorageInfo


@dataclass(frozen=True)
class RawLink:
    """One member of a group as stored: a hard link (``address``) or a soft/external link."""

    name: str
    kind: LinkKind
    address: int | None = None  # hard links: the object header address
    target: str | None = None  # soft: path in this file; external: path in the other file
    filename: str | None = None  # external links only
    order: int | None = None  # creation order, when the group tracks it


@dataclass(frozen=True)
class RefAddress:
    """An object reference before the facade names it: the object header address."""

    address: int


@dataclass(frozen=True)
class RawRegion:
    """A region reference before the facade names it: dataset address and selection text."""

    address: int
    selection: str


@dataclass(frozen=True)
class DatasetMeta:
    shape: tuple[int, ...]
    dtype: np.dtype
    storage: StorageInfo
    null: bool = False  # an HDF5 null (empty) dataspace: no values at all


class Engine(Protocol):
    name: Literal["pyfive", "h5py"]

    def root(self) -> Any: ...

    def address(self, node: Any) -> int: ...

    def is_group(self, node: Any) -> bool: ...

    def links(self, group: Any) -> list[RawLink]: ...

    def open_link(self, group: Any, link: RawLink) -> Any: ...

    def attrs(self, node: Any) -> dict[str, Any]: ...

    def meta(self, dataset: Any, path: str = "") -> DatasetMeta: ...

    def read(self, dataset: Any, selection: Any, path: str = "") -> Any: ...

    def close(self) -> None: ...
