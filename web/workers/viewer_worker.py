"""The viewer's worker entry: Pyodide in a PyScript worker, serving the page's requests.

This is the only code that knows it runs in a Web Worker. The page (MicroPython on the main
thread) calls the functions exported at the bottom through ``worker.sync``; each takes and
returns JSON text, so nothing but strings (and a dropped ``File``) crosses the thread boundary
and no proxy outlives a call. Progress lines and live I/O counters go the other way as plain
``postMessage`` events (the page listens for them), because without cross-origin isolation a
worker cannot call into the page synchronously.

Every answer is ``{"ok": true, ...}`` or ``{"ok": false, "error": {"type", "message"}}``; an
``NwbscopeError`` message is shown as it is, anything else is wrapped in a sentence that says
what was being done.
"""

import json
import sys
import time

from polyscript import xworker
from pyscript import sync

STATE = {"site": "", "session": None, "counter": None, "last_post": 0.0, "generation": 0}
WHOLE_FILE_LIMIT = 64 * 1024 * 1024


def post(kind, **fields):
    """Send one event to the page (progress text, I/O counters)."""
    fields["kind"] = kind
    xworker.postMessage(json.dumps(fields))


def answer(**fields):
    fields["ok"] = True
    return json.dumps(fields, default=_json_default)


def failure(exc, doing):
    """An error as the page shows it; our own errors already read as advice."""
    from nwbscope.errors import NwbscopeError

    if isinstance(exc, NwbscopeError):
        message = str(exc)
    else:
        message = (
            "Could not " + doing + ": " + type(exc).__name__ + ": " + str(exc)
            + ". The file may be damaged or use an HDF5 feature the browser reader lacks."
        )
        import traceback

        traceback.print_exc()
    return json.dumps({"ok": False, "error": {"type": type(exc).__name__, "message": message},
                       "stats": _stats()}, default=_json_default)


def _json_default(value):
    """Numpy scalars and arrays, bytes and anything else the viewer left un-JSON-ed."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


# ---- start-up ------------------------------------------------------------------------------
async def init(config_json):
    """Load the packages the tree needs (nothing heavier), as the site's manifest lists them."""
    try:
        config = json.loads(config_json)
        site = config["site"].rstrip("/") + "/"
        STATE["site"] = site
        t0 = time.time()
        from pyodide.http import pyfetch

        manifest = await (await pyfetch(site + "manifest.json")).json()
        packages, wheels = core_packages(manifest)
        post("progress", text="loading numpy")
        import pyodide_js

        t1 = time.time()
        await pyodide_js.loadPackage(packages + [site + w for w in wheels])
        t2 = time.time()
        import numpy  # noqa: F401

        import nwbscope  # noqa: F401
        from nwbscope.viewer import ViewerSession  # noqa: F401

        timings = {"manifest": t1 - t0, "load": t2 - t1, "import": time.time() - t2}
        return answer(python=sys.version.split()[0], timings=timings, packages=packages,
                      wheels=wheels)
    except Exception as exc:  # noqa: BLE001 - shown on the page
        return failure(exc, "load the Python packages")


# Only for micropip installs; wheels here go straight to loadPackage, which needs neither.
NOT_NEEDED = {"micropip", "packaging"}


def core_packages(manifest):
    """(Pyodide package names, wheel URLs relative to the site) that the tree needs."""
    packages = [n for n in manifest.get("core_packages", []) if n not in NOT_NEEDED]
    wheels = list(manifest.get("wheels", {}).get("core", []))
    return packages, wheels


# ---- opening -------------------------------------------------------------------------------
def _on_request():
    """Live counters during a long open: at most five updates a second."""
    now = time.time()
    if now - STATE["last_post"] > 0.2:
        STATE["last_post"] = now
        post("stats", **_stats())


def _counter():
    from nwbscope.sources.browser import RequestCounter

    return RequestCounter(_on_request)


async def open_url(url):
    """Open a remote file: one ranged probe, then the tree through the block cache."""
    generation = _close()
    try:
        from nwbscope.sources.browser import open_url as open_remote

        counter = _counter()
        STATE["counter"] = counter
        post("progress", text="reading file")
        opened = await open_remote(url, whole_file_limit=WHOLE_FILE_LIMIT, counter=counter)
        if generation != STATE["generation"]:  # another file was opened while we waited
            opened.source.close()
            return json.dumps({"ok": False, "superseded": True, "error": {
                "type": "Superseded", "message": "Another file was opened meanwhile."}})
        return _open_source(opened.source, opened.notes, url)  # snippets: the stable URL
    except Exception as exc:  # noqa: BLE001 - shown on the page
        return failure(exc, "open " + url)


def open_file(file):
    """Open a dropped or chosen local File; nothing is uploaded, slices are read on demand."""
    _close()
    try:
        from nwbscope.sources.browser import BrowserFileSource

        counter = _counter()
        STATE["counter"] = counter
        post("progress", text="reading file")
        return _open_source(BrowserFileSource(file, counter), [], None)
    except Exception as exc:  # noqa: BLE001 - shown on the page
        return failure(exc, "open the local file")


def _open_source(source, notes, url):
    """The session over ``source`` (the HDF5 layer wraps it in the block cache once)."""
    from nwbscope.viewer import ViewerSession

    session = ViewerSession(source, name=source.name, source=url or source.name)
    STATE["session"] = session
    summary = session.summary()
    tree = session.children("/")
    notes = list(notes) + list(summary.get("warnings") or [])
    return answer(summary=summary, tree=tree, notes=notes, url=url, name=source.name,
                  size=source.size, stats=_stats())


def _close():
    """Forget the open file; returns the number of this open (later opens supersede it)."""
    STATE["generation"] += 1
    session = STATE.get("session")
    STATE["session"] = STATE["counter"] = None
    if session is not None:
        try:
            session.close()
        except Exception:  # noqa: BLE001 - an old file failing to close must not block a new one
            pass
    return STATE["generation"]


# ---- browsing ------------------------------------------------------------------------------
def _session():
    session = STATE["session"]
    if session is None:
        from nwbscope.errors import NwbscopeError

        raise NwbscopeError("No file is open: open a URL or drop an NWB file first.")
    return session


def children(path):
    try:
        return answer(path=path, children=_session().children(path), stats=_stats())
    except Exception as exc:  # noqa: BLE001 - shown on the page
        return failure(exc, "list " + path)


def details(path):
    try:
        return answer(details=_session().details(path), stats=_stats())
    except Exception as exc:  # noqa: BLE001 - shown on the page
        return failure(exc, "read " + path)


def _stats():
    """Network requests and bytes (the opening probe included) and block-cache hits."""
    counter, session = STATE.get("counter"), STATE.get("session")
    stats = {"requests": 0, "bytes": 0, "hits": 0}
    if counter is not None:
        stats["requests"], stats["bytes"] = counter.requests, counter.bytes
    if session is not None:
        stats["hits"] = session.stats().get("hits", 0)
    return stats


def stats():
    return answer(stats=_stats())


sync.init = init
sync.open_url = open_url
sync.open_file = open_file
sync.children = children
sync.details = details
sync.stats = stats
