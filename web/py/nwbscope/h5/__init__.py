"""The HDF5 access layer: one h5py-like facade over pyfive or h5py.

``open_h5(target, engine="auto")`` returns an ``H5File``; ``api`` holds the value types
(``LinkInfo``, ``ObjectRef``, ``RegionRef``, ``StorageInfo``) every layer above uses.
"""

from __future__ import annotations

from .api import LinkInfo, ObjectRef, RegionRef, StorageInfo
from .facade import H5Dataset, H5File, H5Group
from .open import choose_engine, open_h5

__all__ = [
    "H5Dataset", "H5File", "H5Group", "LinkInfo", "ObjectRef", "RegionRef", "StorageInfo",
    "choose_engine", "open_h5",
]
