"""``open_h5``: from a path, URL, bytes or byte source to the facade, with one engine.

The bytes are checked before an engine sees them (HDF5 signature, end-of-file address), so a
web page saved as ``.nwb`` or a cut-short download gets a message that says so.
"""

from __future__ import annotations

import sys
from typing import Any, Literal

from ..errors import CorruptFileError, NwbscopeError, TruncatedFileError, UnsupportedFeatureError
from ..sources import open_source
from ..sources.cache import (
    DEFAULT_BLOCK_SIZE,
    DEFAULT_CACHE_BYTES,
    DEFAULT_READAHEAD_MAX,
    CachedSource,
)
from .chunk_cache import DEFAULT_CHUNK_CACHE_BYTES
from .facade import H5File
from .superblock import check_file

EngineName = Literal["auto", "pyfive", "h5py"]
IN_PYODIDE = sys.platform == "emscripten"


def choose_engine(engine: EngineName = "auto") -> Literal["pyfive", "h5py"]:
    """``auto``: pyfive in Pyodide, h5py in CPython when it is installed, else pyfive."""
    if engine in ("pyfive", "h5py"):
        return engine
    if engine != "auto":
        raise ValueError(f"engine must be 'auto', 'pyfive' or 'h5py', not {engine!r}")
    if IN_PYODIDE:
        return "pyfive"
    try:
        import h5py  # noqa: F401
    except ImportError:
        return "pyfive"
    return "h5py"


def open_h5(
    target: Any,
    *,
    engine: EngineName = "auto",
    block_size: int = DEFAULT_BLOCK_SIZE,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
    readahead_max: int = DEFAULT_READAHEAD_MAX,
    chunk_cache_bytes: int = DEFAULT_CHUNK_CACHE_BYTES,
    **source_options: Any,
) -> H5File:
    """Open an HDF5 file read-only: a path, an http(s) URL, bytes, or a ``ByteSource``.

    A ``CachedSource`` passed in is used as it is (its cache and counters are kept);
    anything else is wrapped in a new one with ``block_size`` / ``cache_bytes``.
    ``chunk_cache_bytes`` is the pyfive engine's budget for decoded chunks kept between
    reads (0: none; ``H5File.chunk_cache.budget`` changes it later); h5py keeps its own.
    """
    source = target if isinstance(target, CachedSource) else open_source(target, **source_options)
    if isinstance(source, CachedSource):
        cached = source
    else:
        cached = CachedSource(
            source, block_size=block_size, cache_bytes=cache_bytes, readahead_max=readahead_max
        )
    try:
        check_file(cached)
        name = choose_engine(engine)
        fileobj = cached.open()
        impl = _start_engine(name, fileobj, cached, chunk_cache_bytes)
        return H5File(impl, cached, cached.name)
    except BaseException:
        cached.close()
        raise


def _start_engine(
    name: str, fileobj: Any, cached: CachedSource, chunk_cache_bytes: int
) -> Any:
    try:
        if name == "pyfive":
            from .pyfive_engine import PyfiveEngine

            return PyfiveEngine(fileobj, cached, chunk_cache_bytes)
        from .h5py_engine import H5pyEngine

        return H5pyEngine(fileobj)
    except NwbscopeError:
        raise
    except NotImplementedError as exc:
        raise UnsupportedFeatureError(
            f"{cached.name} uses an HDF5 feature the {name} reader cannot decode ({exc})."
        ) from None
    except Exception as exc:  # noqa: BLE001 - engines fail with anything on bad bytes
        if cached.past_eof is not None:
            raise TruncatedFileError(cached.name, cached.size, cached.past_eof) from None
        raise CorruptFileError(
            f"{cached.name} has an HDF5 signature but its structures do not parse "
            f"({type(exc).__name__}: {exc}). The file may be damaged."
        ) from None
