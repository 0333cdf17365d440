"""The viewer's worker entry: Pyodide in a PyScript worker, serving the page's requests.

This is the only code that knows it runs in a Web Worker. The page (MicroPython on the main
thread) calls the functions exported at the bottom through ``worker.sync``; each takes and
returns JSON text, so nothing but strings (and a dropped ``File``) crosses the thread boundary
and no proxy outlives a call. Progress lines and live I/O counters go the other way as plain
``postMessage`` events (the page listens for them), because without cross-origin isolation a
worker cannot call into the page synchronously.

Start-up overlaps what it can: when the page already knows the file's URL (``?url=``), ``init``
issues the file's ranged probe before loading numpy, so the probe's round trip is hidden behind
package loading, and ``open_url`` picks its answer up. After the tree is shown, the metadata
blocks the open read and the tree answered are kept in the Cache API
(``nwbscope.sources.browser.save_metadata``/``save_tree``); on the next visit the page draws
the kept tree after its own probe and hands that probe over (``open_probed``), and the block
cache is filled from the kept blocks, so an unchanged file needs no other request.

Every answer is ``{"ok": true, ...}`` or ``{"ok": false, "error": {"type", "message"}}``; an
``NwbscopeError`` message is shown as it is, anything else is wrapped in a sentence that says
what was being done.
"""

import asyncio
import json
import sys
import time

from polyscript import xworker
from pyscript import sync

STATE = {"site": "", "session": None, "stats": None, "last_post": 0.0, "generation": 0,
         "early": None, "saving": None, "browse": None}


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
        if config.get("chunk_cache_mb") is not None:  # decoded chunks kept for the views
            STATE["open_options"] = {"chunk_cache_bytes": int(config["chunk_cache_mb"]) << 20}
        t0 = time.time()
        if config.get("url"):  # the file is known already: probe it while numpy loads
            STATE["early"] = (config["url"], _start_probe(config["url"]))
        from pyodide.http import pyfetch

        manifest = await (await pyfetch(site + "manifest.json")).json()
        STATE["manifest"] = manifest
        packages, wheels = core_packages(manifest)
        post("progress", step="packages", text="loading numpy",
             names=packages + [w.rsplit("/", 1)[-1].split("-")[0] for w in wheels])
        import pyodide_js

        t1 = time.time()
        await pyodide_js.loadPackage(packages + [site + w for w in wheels])
        t2 = time.time()
        import numpy  # noqa: F401

        t3 = time.time()
        import pyfive  # noqa: F401

        t4 = time.time()
        import nwbscope  # noqa: F401
        from nwbscope.viewer import ViewerSession  # noqa: F401

        now = time.time()  # the split of each step, for the benchmarks' start-up table
        timings = {"manifest": t1 - t0, "load": t2 - t1, "import": now - t2,
                   "import_numpy": t3 - t2, "import_pyfive": t4 - t3, "import_nwbscope": now - t4}
        return answer(python=sys.version.split()[0], timings=timings, packages=packages,
                      wheels=wheels, bokehjs=manifest.get("urls", {}).get("bokehjs", []))
    except Exception as exc:  # noqa: BLE001 - shown on the page
        return failure(exc, "load the Python packages")


def _start_probe(url):
    """``(fetch promise, AbortController)`` of the opening probe, issued now and read later
    by ``nwbscope.sources.browser.open_url``: the same request, from the same module
    (``probe.py`` is ``nwbscope.sources.probe``, given to this worker as a file because the
    package is not installed yet)."""
    from js import AbortController, Object, fetch
    from probe import fetch_init
    from pyodide.ffi import create_once_callable, to_js

    controller = AbortController.new()
    init = to_js(dict(fetch_init(), signal=controller.signal), dict_converter=Object.fromEntries)
    promise = fetch(url, init)
    promise.catch(create_once_callable(lambda _error: None))  # an unused probe is aborted
    return promise, controller


def _take_probe(url):
    """The early probe if it was for ``url``; any other early probe is aborted."""
    early, STATE["early"] = STATE["early"], None
    if early is None:
        return None
    if early[0] == url:
        return early[1]
    early[1][1].abort()
    return None


def core_packages(manifest):
    """(Pyodide package names, wheel URLs relative to the site) that the tree needs."""
    packages = list(manifest.get("core_packages", []))
    wheels = list(manifest.get("wheels", {}).get("core", []))
    return packages, wheels


# ---- opening -------------------------------------------------------------------------------
def _on_request():
    """Live counters during a long open: at most five updates a second."""
    now = time.time()
    if now - STATE["last_post"] > 0.2 and STATE["stats"] is not None:
        STATE["last_post"] = now
        post("stats", **_stats())


def _new_stats():
    """The I/O record of the file being opened: the block cache counts into it, the probe
    first, and it goes to the page as it is (``_stats``)."""
    from nwbscope.sources.cache import IOStats

    STATE["stats"] = IOStats(_on_request)
    return STATE["stats"]


async def open_url(url):
    """Open a remote file: one ranged probe, then the tree through the block cache."""
    generation = _close()
    try:
        from nwbscope.sources.browser import open_url as open_remote

        stats = _new_stats()
        post("progress", step="file", text="reading file")
        opened = await open_remote(url, stats=stats, pending=_take_probe(url))
        return await _open_remote_source(opened, url, generation)
    except Exception as exc:  # noqa: BLE001 - shown on the page
        return failure(exc, "open " + url)


async def open_probed(url, probe_json, head):
    """Open a remote file the page has probed already (a warm start: it drew the kept tree
    after that probe); ``head`` is the probe's body (an ArrayBuffer), counted here."""
    generation = _close()
    try:
        from nwbscope.sources.browser import OpenedSource, XhrRangeSource, probed
        from nwbscope.sources.probe import handover_stamp

        _take_probe(None)
        probe = json.loads(probe_json)
        stats = _new_stats()
        post("progress", step="file", text="reading file")
        stamp = handover_stamp(probe)
        final_url = probe["final_url"]  # an expired presigned URL asks ``url`` again
        remote = XhrRangeSource(final_url, stamp["size"],
                                origin_url=url if final_url != url else None)
        opened = OpenedSource(probed(remote, head.to_bytes(), stats), probe["final_url"],
                              stamp=stamp)
        return await _open_remote_source(opened, url, generation)
    except Exception as exc:  # noqa: BLE001 - shown on the page
        return failure(exc, "open " + url)


async def _open_remote_source(opened, url, generation):
    """The session over an opened remote file, with the metadata kept from a previous visit."""
    source, kept = await _with_kept_metadata(opened)
    if generation != STATE["generation"]:  # another file was opened while we waited
        source.close()
        return json.dumps({"ok": False, "superseded": True, "error": {
            "type": "Superseded", "message": "Another file was opened meanwhile."}})
    reply = _open_source(source, opened.notes, url)  # snippets: the stable URL
    if opened.stamp:  # the blocks again only if some were fetched beyond those kept
        _keep_metadata(url, opened, source, reply, not kept or source.stats.misses)
    return reply


async def _with_kept_metadata(opened):
    """``(CachedSource, blocks were preloaded)``: the opened block cache, filled from the
    Cache API when the probe says the file is the one kept."""
    from nwbscope.sources.browser import load_metadata

    source = opened.source
    if not opened.stamp:
        return source, False
    try:
        kept = await load_metadata(opened.url, opened.stamp)
        if kept is not None:
            source.preload(*kept)
            return source, True
    except Exception:  # noqa: BLE001 - a broken store must never stop a file from opening
        import traceback

        traceback.print_exc()
    return source, False


def _keep_metadata(url, opened, source, reply, save_blocks):
    """Keep the tree drawn (by the URL the page was given), the blocks read so far when
    ``save_blocks`` (by the final URL), and from now on what the user browses
    (``kept_calls.KeptFile``), after the answer has gone: nothing waits."""
    import kept_calls

    kept = kept_calls.KeptFile(url, opened, source, reply, STATE["generation"], _Worker)
    STATE["browse"] = kept
    STATE["saving"] = asyncio.ensure_future(kept.start(save_blocks))


class _Worker:
    """What ``kept_calls`` needs of this worker."""

    answer = staticmethod(lambda **fields: answer(**fields))
    current = staticmethod(lambda: STATE["generation"])
    session = staticmethod(lambda: _session())


def _browsed(kind, path, reply, blocks_before):
    """Tell the kept entry of the open remote file (if any) about one answer."""
    kept = STATE.get("browse")
    if kept is not None and blocks_before is not None:
        kept.browsed(kind, path, reply, blocks_before)


def _blocks_before():
    kept = STATE.get("browse")
    return kept.block_numbers() if kept is not None and kept.live() else None


def open_file(file):
    """Open a dropped or chosen local File; nothing is uploaded, slices are read on demand."""
    _close()
    try:
        from nwbscope.sources.browser import BrowserFileSource
        from nwbscope.sources.cache import CachedSource

        stats = _new_stats()
        post("progress", step="file", text="reading file")
        return _open_source(CachedSource(BrowserFileSource(file), stats=stats), [], None)
    except Exception as exc:  # noqa: BLE001 - shown on the page
        return failure(exc, "open the local file")


def _open_source(source, notes, url):
    """The session over ``source``, a block cache counting into ``STATE["stats"]``."""
    from nwbscope.viewer import ViewerSession

    session = ViewerSession(source, name=source.name, source=url or source.name,
                            **STATE.get("open_options", {}))
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
    STATE["session"] = STATE["stats"] = None
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
    before = _blocks_before()
    try:
        reply = answer(path=path, children=_session().children(path), stats=_stats())
    except Exception as exc:  # noqa: BLE001 - shown on the page
        return failure(exc, "list " + path)
    _browsed("children", path, reply, before)
    return reply


def details(path):
    before = _blocks_before()
    try:
        reply = answer(details=_session().details(path), stats=_stats())
    except Exception as exc:  # noqa: BLE001 - shown on the page
        return failure(exc, "read " + path)
    _browsed("details", path, reply, before)
    return reply


def _stats():
    """The open file's I/O record as it is (requests and bytes, the opening probe included;
    block-cache hits and misses); None before any file is opened."""
    stats = STATE.get("stats")
    return None if stats is None else stats.snapshot()


def stats():
    return answer(stats=_stats())


# ---- views (view_calls.py) ---------------------------------------------------------------
async def load_views():
    """Install Bokeh (once); the page calls this after the tree shows."""
    try:
        import view_calls

        timings = await view_calls.load_views(STATE["site"], STATE["manifest"], post)
        return answer(timings=timings)
    except Exception as exc:  # noqa: BLE001 - shown on the page
        return failure(exc, "load Bokeh for the views")


async def view_open(request_json):
    try:
        import view_calls

        await view_calls.load_views(STATE["site"], STATE["manifest"], post)
        panel = view_calls.view_open(_session(), json.loads(request_json))
        return answer(panel=panel, stats=_stats())
    except Exception as exc:  # noqa: BLE001 - shown inside the panel
        return failure(exc, "open the view")


async def view_update(request_json):
    try:
        import view_calls

        request = json.loads(request_json)
        result = await view_calls.view_update(_session(), request, _post_frame)
        return answer(stats=_stats(), **result)
    except Exception as exc:  # noqa: BLE001 - shown inside the panel
        return failure(exc, "draw the view")


def view_option(request_json):
    try:
        import view_calls

        return answer(stats=_stats(), **view_calls.view_option(_session(), json.loads(
            request_json)))
    except Exception as exc:  # noqa: BLE001 - shown beside the control
        return failure(exc, "change the view")


def view_select(request_json):
    try:
        import view_calls

        return answer(**view_calls.view_select(_session(), json.loads(request_json)))
    except Exception as exc:  # noqa: BLE001 - shown in the panel that chose
        return failure(exc, "choose the rows")


def view_close(panel_id):
    try:
        import view_calls

        view_calls.view_close(_session(), panel_id)
        return answer()
    except Exception as exc:  # noqa: BLE001
        return failure(exc, "close the view")


# ---- sorting from the page (sort_calls.py) -------------------------------------------------
def hash_file(file):
    """The SHA-256 of a dropped ``File``, with progress events (before uploading it)."""
    try:
        import sort_calls

        return answer(**sort_calls.hash_file(file, post))
    except Exception as exc:  # noqa: BLE001 - shown in the sort form
        return failure(exc, "compute the file's SHA-256")


def typed_paths(base):
    try:
        import sort_calls

        return answer(paths=sort_calls.typed_paths(_session(), base))
    except Exception as exc:  # noqa: BLE001 - the form falls back to the clicked series
        return failure(exc, "list the " + base + " objects")


def _post_frame(message):
    """Post one frame with its buffers transferred (moved, not copied, to the page)."""
    from pyodide.ffi import to_js

    payload, transfer = message
    xworker.postMessage(payload, to_js(transfer))


sync.load_views = load_views
sync.view_open = view_open
sync.view_update = view_update
sync.view_option = view_option
sync.view_close = view_close
sync.view_select = view_select
sync.init = init
sync.open_url = open_url
sync.open_probed = open_probed
sync.open_file = open_file
sync.children = children
sync.details = details
sync.stats = stats
sync.hash_file = hash_file
sync.typed_paths = typed_paths
