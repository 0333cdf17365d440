"""The page's half of a warm start: what it needs to trust the tree kept from a last visit.

The worker keeps, after each open of a URL, the header and tree it answered (and, as the user
browses, the children and details it answered), stamped with the file's size, ETag and
Last-Modified (``nwbscope.sources.browser.save_tree``, Cache API store
``nwbscope-tree-v1``). On the next visit the page (MicroPython: it cannot import nwbscope)
probes the file itself while Pyodide boots, compares the stamps here, draws the kept tree if
they match, and hands its probe to the worker so that no second one is made. The probe, how
its answer is read and the stamp are ``probe.py`` (``nwbscope.sources.probe``, placed on the
site by the build), the same module the worker reads its own probe with.
"""

import json

from probe import RANGED, fetch_init, file_identity, handover, read_answer, same_file
from pyscript import window

TREE_CACHE = "nwbscope-tree-v1"


async def probe(url):
    """``(handover, entry)``: the probe of ``url`` for the worker (``(url, probe JSON, body)``,
    None if nothing is kept for ``url`` or the probe was no 206) and the kept entry (None
    unless the file is unchanged): ``entry["reply"]`` is the open's answer to draw,
    ``entry.get("browse")`` the children and details answered on earlier visits
    (``nwbscope.kept_browse``)."""
    caches = getattr(window, "caches", None)  # none on plain-http origins
    if not caches:
        return None, None
    found = await (await caches.open(TREE_CACHE)).match(url)
    if not found:
        return None, None
    entry = json.loads(str(await found.text()))
    response = await window.fetch(url, window.JSON.parse(json.dumps(fetch_init())))
    kind, _size, stamp = read_answer(response.status, lambda name: response.headers.get(name))
    if kind != RANGED:
        return None, None  # the worker opens it as usual, with its own probe
    final_url = str(response.url or url)
    given = (url, json.dumps(handover(final_url, stamp)), await response.arrayBuffer())
    # the same object, however this visit's presigned URL is signed, and the same version
    kept_url = file_identity(str(entry.get("final_url") or ""))
    if kept_url != file_identity(final_url) or not same_file(entry.get("stamp"), stamp):
        return given, None
    return given, entry
