"""nwbscope: read NWB files lazily, in CPython and in the browser (Pyodide).

``nwbscope.open(path_or_url)`` returns the same file model the web viewer uses.
Importing this package loads nothing heavy; the reader needs only numpy and pyfive.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["open", "__version__"]


def open(target, **options):  # noqa: A001 - the public name is nwbscope.open
    """Open an NWB (or any HDF5) file from a path, an http(s) URL or a byte source."""
    from .nwb.file import open_nwb

    return open_nwb(target, **options)
