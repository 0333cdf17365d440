"""nwbscope: read NWB files lazily, in CPython and in the browser (Pyodide).

``nwbscope.open(path_or_url)`` returns the same file model the web viewer uses.
Importing this package loads nothing heavy; the reader needs only numpy and pyfive.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["open", "__version__"]


def open(target, *, server=None, **options):  # noqa: A001 - the public name is nwbscope.open
    """Open an NWB (or any HDF5) file from a path, an http(s) URL, a stored object's
    ``sha256://<hex>?label=name`` URI, or a byte source.

    A ``sha256://`` URI is read by range requests from the store at ``server`` (default
    ``$NWBSCOPE_URL``, else http://127.0.0.1:8000), like any URL: nothing is downloaded whole.
    """
    from .nwb.file import open_nwb

    if isinstance(target, str) and target.lower().startswith("sha256://"):
        from .store import object_url

        target = object_url(target, server)
    return open_nwb(target, **options)
