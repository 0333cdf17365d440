"""Keep SpikeInterface's compiled numba kernels on disk, shared by the jobs of a worker.

SpikeInterface decorates its kernels with ``numba.jit`` without ``cache=True``, so every fresh
process compiles them again on first use: measured here, SpykingCircus2 on 40 s x 16 channels
takes ~19 s in a new process and ~9 s once the kernels come from the cache. A job runs in a
fresh child process on purpose (isolation, cancel by killing it), so the runner turns numba's
own on-disk cache on by default for every kernel compiled in it. Numba keys cache entries on
the source file, its modification time, the signature and the CPU, so a stale entry is never
used. Call ``enable`` before anything imports the sorters.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

#: The executor sets this to the worker's cache folder; unset means: leave numba alone.
CACHE_ENV = "NWBSCOPE_NUMBA_CACHE"


def enable(cache_dir: str | Path | None = None) -> bool:
    """Make ``numba.jit`` / ``numba.njit`` cache to ``cache_dir`` unless told otherwise."""
    cache_dir = cache_dir or os.environ.get(CACHE_ENV)
    if not cache_dir:
        return False
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = str(cache_dir)  # read by numba when it is imported
    try:
        import numba
    except ImportError:
        return False
    numba.config.CACHE_DIR = str(cache_dir)
    for name in ("jit", "njit"):
        original = getattr(numba, name)
        if getattr(original, "_nwbscope_cached", False):
            continue
        patched = _cached(original)
        setattr(numba, name, patched)
    return True


def _cached(decorator: Any) -> Any:
    @functools.wraps(decorator)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cache", True)
        return decorator(*args, **kwargs)

    wrapper._nwbscope_cached = True  # type: ignore[attr-defined]
    return wrapper
