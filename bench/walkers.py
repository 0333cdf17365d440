"""The ways of reading an NWB file over HTTP that walk_cpython.py compares, and the walks.

A *reader* opens a URL and returns an h5py-like root group plus a ``close`` callable; a *walk*
touches metadata the way a viewer does:

- ``full``: every object reachable by hard links: all attributes read, and for datasets
  shape, dtype and chunking (no values);
- ``tree``: what the page shows first: the root's attributes, its children and their
  children (two levels), each with its attributes (neurodata_type) and, for datasets,
  shape and dtype.

Requests and bytes are counted by the range server, the same way for every reader, so the
figures compare like with like. nwbscope readers also report their own cache counters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Opened = tuple[Any, Callable[[], None], Callable[[], dict[str, int] | None]]


@dataclass(frozen=True)
class Reader:
    """One way to read a file over HTTP, named as it appears in docs/performance.md."""

    key: str
    label: str
    open: Callable[[str], Opened]


def _no_stats() -> None:
    return None


def open_remfile(url: str) -> Opened:
    import h5py
    import remfile

    rf = remfile.File(url)
    f = h5py.File(rf, "r")

    def close() -> None:
        f.close()
        rf.close()

    return f, close, _no_stats


def open_fsspec(url: str) -> Opened:
    import fsspec
    import h5py

    fs = fsspec.filesystem("http", skip_instance_cache=True)
    fh = fs.open(url, "rb")  # fsspec's defaults: 5 MB blocks, read-ahead cache
    f = h5py.File(fh, "r")

    def close() -> None:
        f.close()
        fh.close()

    return f, close, _no_stats


def _cached(url: str):
    from nwbscope.sources import CachedSource, open_source

    return CachedSource(open_source(url))


def open_pyfive_cache(url: str) -> Opened:
    """pyfive itself over nwbscope's block cache (what the browser does, minus the facade)."""
    import pyfive

    cached = _cached(url)
    f = pyfive.File(cached.open())
    return f, cached.close, cached.stats.snapshot


def open_h5py_cache(url: str) -> Opened:
    """h5py over nwbscope's block cache (a file object, like remfile)."""
    import h5py

    cached = _cached(url)
    f = h5py.File(cached.open(), "r")

    def close() -> None:
        f.close()
        cached.close()

    return f, close, cached.stats.snapshot


def _open_facade(url: str, engine: str) -> Opened:
    from nwbscope.h5 import open_h5

    f = open_h5(url, engine=engine)
    return f, f.close, f.stats.snapshot


def open_facade_pyfive(url: str) -> Opened:
    return _open_facade(url, "pyfive")


def open_facade_h5py(url: str) -> Opened:
    return _open_facade(url, "h5py")


READERS = [
    Reader("h5py-remfile", "h5py over remfile", open_remfile),
    Reader("h5py-fsspec", "h5py over fsspec HTTP", open_fsspec),
    Reader("pyfive-cache", "pyfive over nwbscope cache", open_pyfive_cache),
    Reader("h5py-cache", "h5py over nwbscope cache", open_h5py_cache),
    Reader("nwbscope-pyfive", "nwbscope.h5 facade, pyfive engine", open_facade_pyfive),
    Reader("nwbscope-h5py", "nwbscope.h5 facade, h5py engine", open_facade_h5py),
]


# -- walks -------------------------------------------------------------------------------
@dataclass
class WalkCount:
    """Objects visited, and objects a reader failed on (kept, not hidden: the doc shows them)."""

    visited: int = 0
    errors: int = 0
    first_error: str = ""

    def fail(self, where: str, exc: Exception) -> None:
        self.errors += 1
        if not self.first_error:
            self.first_error = f"{where}: {type(exc).__name__}: {exc}"[:300]


def _touch(obj: Any, count: WalkCount, where: str) -> None:
    """Read what the viewer shows of one object: all attributes; shape, dtype, chunking."""
    try:
        attrs = obj.attrs
        for key in list(attrs.keys()):
            attrs[key]
        if _is_dataset(obj):
            obj.shape, obj.dtype  # noqa: B018 - reading them is the point
            storage = getattr(obj, "storage", None)
            if storage is None:
                getattr(obj, "chunks", None)
        count.visited += 1
    except Exception as exc:  # noqa: BLE001 - a benchmark reports failures, it does not stop
        count.fail(where, exc)


def _is_dataset(obj: Any) -> bool:
    kind = getattr(obj, "kind", None)
    if isinstance(kind, str):
        return kind == "dataset"
    return hasattr(obj, "shape") and hasattr(obj, "dtype") and not hasattr(obj, "keys")


def _hard_children(group: Any) -> list[str]:
    """Member names reached by hard links (soft links would visit objects twice)."""
    links = getattr(group, "links", None)
    if callable(links):
        return [name for name, info in links().items() if info.kind == "hard"]
    names = list(group.keys())
    try:
        import h5py

        if isinstance(group, h5py.Group):
            return [n for n in names if isinstance(group.get(n, getlink=True), h5py.HardLink)]
    except ImportError:
        pass
    return names


def _children(group: Any, names: list[str], path: str, count: WalkCount) -> list[Any]:
    """Open each member, touch it, and return the groups among them."""
    groups = []
    for name in names:
        where = f"{path.rstrip('/')}/{name}"
        try:
            obj = group[name]
        except Exception as exc:  # noqa: BLE001
            count.fail(where, exc)
            continue
        _touch(obj, count, where)
        if not _is_dataset(obj):
            groups.append((obj, where))
    return groups


def walk_full(root: Any) -> WalkCount:
    """Every object reachable by hard links."""
    count = WalkCount()
    _touch(root, count, "/")
    stack = [(root, "/")]
    while stack:
        group, path = stack.pop()
        try:
            names = _hard_children(group)
        except Exception as exc:  # noqa: BLE001
            count.fail(path, exc)
            continue
        stack.extend(_children(group, names, path, count))
    return count


def walk_tree(root: Any, depth: int = 2) -> WalkCount:
    """The root and ``depth`` levels below it, as the page's tree first shows them."""
    count = WalkCount()
    _touch(root, count, "/")
    level = [(root, "/")]
    for _ in range(depth):
        nxt = []
        for group, path in level:
            try:
                names = list(group.keys())
            except Exception as exc:  # noqa: BLE001
                count.fail(path, exc)
                continue
            nxt.extend(_children(group, names, path, count))
        level = nxt
    return count


WALKS: dict[str, Callable[[Any], WalkCount]] = {"full": walk_full, "tree": walk_tree}
