"""The external files a registered NWB file names (a video beside it), served where the viewer
looks for them: ``/files/<id>/<relative path>``.

Why: an ImageSeries may keep its frames outside the NWB file (``external_file``, paths
relative to the NWB file, says the schema); the viewer resolves each name against the NWB
file's URL and plays it in a ``<video>``. A registered NWB file is served without a token, so
what else may be served is decided by that file and by where things really lie:

- only a name the NWB file itself gives in an ``external_file`` dataset, as the viewer
  resolves it (``\\`` read as ``/``, dot segments removed); an absolute path, a URL, a name
  that climbs out (``..``) or holds a NUL is never served;
- only a regular file whose real path (symlinks followed) lies in the NWB file's own real
  folder or below, outside the server's own places (``files.refused_places``), and the bytes
  sent are those of the very file checked (as for the NWB file itself).

The names are read with h5py from the NWB file already opened and checked, and kept per file
version (device, inode, size, mtime), so a request costs one ``stat`` once a file is known.
"""

from __future__ import annotations

import os
import posixpath
import threading
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO

from .files import Place, Refusal, open_regular

MAX_KNOWN = 64  # NWB files whose names are kept
_known: OrderedDict[tuple[int, int, int, int], frozenset[str]] = OrderedDict()
_lock = threading.Lock()


def servable_name(name: str) -> str | None:
    """``name`` as the viewer's URL carries it (relative, normalised), or None when it may
    never be served (absolute, a URL, outside the NWB file's folder, empty, a NUL)."""
    name = name.replace("\\", "/")
    if not name or "\x00" in name or "://" in name or name.startswith("/"):
        return None
    if len(name) > 1 and name[1] == ":":  # a Windows drive: C:/videos/a.mp4
        return None
    normal = posixpath.normpath(name)
    if normal in (".", "..") or normal.startswith("../"):
        return None
    return normal


def external_names(nwb: BinaryIO) -> frozenset[str]:
    """The servable names given by the ``external_file`` datasets of the open NWB file."""
    opened = os.fstat(nwb.fileno())
    key = (opened.st_dev, opened.st_ino, opened.st_size, opened.st_mtime_ns)
    with _lock:
        if key in _known:
            _known.move_to_end(key)
            return _known[key]
    names = frozenset(n for n in map(servable_name, _read_names(nwb)) if n is not None)
    with _lock:
        _known[key] = names
        while len(_known) > MAX_KNOWN:
            _known.popitem(last=False)
    return names


def _read_names(nwb: BinaryIO) -> list[str]:
    import h5py
    import numpy as np

    found: list[str] = []

    def visit(name: str, node: object) -> None:
        if posixpath.basename(name) != "external_file" or not isinstance(node, h5py.Dataset):
            return
        if node.dtype.kind not in "SOU" or node.size > 10_000:
            return
        for value in np.asarray(node[()]).reshape(-1):
            found.append(value.decode("utf-8", "replace") if isinstance(value, bytes)
                         else str(value))

    nwb.seek(0)
    try:
        with h5py.File(nwb, "r") as f:
            f.visititems(visit)
    except (OSError, ValueError, RuntimeError):
        return []  # not readable as HDF5 (the signature check passed): nothing is named
    return found


def open_external(nwb_path: Path, nwb: BinaryIO, relative: str,
                  refused: list[Place]) -> BinaryIO:
    """The external file ``relative`` of the NWB file ``nwb_path`` (open as ``nwb``), opened
    once it is known to be servable; else ``Refusal`` (404 for all but the server's places,
    so nothing tells a guesser which paths exist)."""
    wanted = servable_name(relative)
    if wanted is None or wanted != relative or wanted not in external_names(nwb):
        raise Refusal(404, "is not a file this NWB file names")
    folder = Path(os.path.realpath(nwb_path)).parent
    return open_regular(folder / wanted, refused, inside=folder)
