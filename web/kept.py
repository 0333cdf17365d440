"""The page's half of a warm start: what it needs to trust the tree kept from a last visit.

The worker keeps, after each open of a URL, the header and tree it answered, stamped with the
file's size, ETag and Last-Modified (``nwbscope.sources.browser.save_tree``, Cache API store
``nwbscope-tree-v1``). On the next visit the page (MicroPython: it cannot import nwbscope)
probes the file itself while Pyodide boots, compares the stamps here, draws the kept tree if
they match, and hands its probe to the worker so that no second one is made.
"""

import json

from pyscript import window
from stamp import same_file

TREE_CACHE = "nwbscope-tree-v1"
PROBE_INIT = '{"headers": {"Range": "bytes=0-65535"}}'  # as the worker's opening probe


def content_range_total(value):
    """The total in ``bytes 0-99/1000``; None when absent or ``*``."""
    total = str(value or "").rsplit("/", 1)[-1]
    return int(total) if total.isdigit() else None


async def probe(url):
    """``(handover, reply)``: the probe of ``url`` for the worker (``(url, probe JSON, body)``,
    None if nothing is kept for ``url`` or the probe was no 206) and the kept answer to draw
    (None unless the file is unchanged)."""
    caches = getattr(window, "caches", None)  # none on plain-http origins
    if not caches:
        return None, None
    found = await (await caches.open(TREE_CACHE)).match(url)
    if not found:
        return None, None
    entry = json.loads(str(await found.text()))
    response = await window.fetch(url, window.JSON.parse(PROBE_INIT))
    total = content_range_total(response.headers.get("Content-Range"))
    if int(response.status) != 206 or total is None:
        return None, None  # the worker opens it as usual, with its own probe
    stamp = {"size": total, "etag": response.headers.get("ETag") or None,
             "last_modified": response.headers.get("Last-Modified") or None}
    final_url = str(response.url or url)
    handover = (url, json.dumps(dict(stamp, final_url=final_url)), await response.arrayBuffer())
    if entry.get("final_url") != final_url or not same_file(entry.get("stamp"), stamp):
        return handover, None
    return handover, entry["reply"]
