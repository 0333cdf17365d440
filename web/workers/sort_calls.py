"""The worker's calls for sorting from the page: hash a dropped file, list typed series.

Why here and not on the page: the SHA-256 of a local file (the store's key, asked for before
an upload) is computed as the file is read, in slices with ``FileReaderSync`` (a worker-only
API) and ``hashlib``, posting progress as it goes, so the page stays live and never holds the
file's bytes; and only the worker has the open file to find every ElectricalSeries in it
(the page's tree knows only the rows it has opened). Worker-only code, like ``view_calls.py``.
"""

import hashlib

SLICE = 4 << 20  # bytes read (and hashed) per step; one progress message each


def hash_file(file, post):
    """``{"sha256", "size"}`` of a ``File``; posts ``{"kind": "hash", done, total}``."""
    from js import FileReaderSync

    reader = FileReaderSync.new()
    size = int(file.size)
    digest = hashlib.sha256()
    post("hash", done=0, total=size)
    for start in range(0, size, SLICE):
        stop = min(size, start + SLICE)
        digest.update(reader.readAsArrayBuffer(file.slice(start, stop)).to_bytes())
        post("hash", done=stop, total=size)
    return {"sha256": digest.hexdigest(), "size": size}


def typed_paths(session, base):
    """Paths of the groups of type ``base`` or a subtype (the file's own specifications)."""
    from nwbscope.views.data.walk import find_typed

    return [info.path for info in find_typed(session.file, base)]
