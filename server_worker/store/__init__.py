"""The content-addressed store: one interface (``base.Store``), two backends, HTTP routes.

``open_store(url)`` picks the backend from the store URL in the settings:
``file:///abs/dir`` or a plain path -> ``LocalStore``; ``s3://bucket/prefix?endpoint_url=...``
-> ``S3Store``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from .base import PutResult, Store, StoreWriter, check_hex, object_key
from .local import LocalStore

__all__ = [
    "LocalStore", "PutResult", "Store", "StoreWriter", "check_hex", "object_key", "open_store",
]


def open_store(url: str, *, tmp_dir: str | Path | None = None) -> Store:
    scheme = urlsplit(url).scheme
    if scheme == "s3":
        from .s3 import S3Store

        return S3Store.from_url(url, tmp_dir=tmp_dir)
    if scheme == "file":
        return LocalStore(unquote(urlsplit(url).path))
    if scheme in ("", ) or len(scheme) == 1:  # a plain path (or a Windows drive letter)
        return LocalStore(url)
    raise ValueError(f"Unsupported store URL {url!r}: use file:///dir, a path, or s3://bucket/...")
