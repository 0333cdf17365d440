"""The worker's view calls: open a panel, stream its frames as typed arrays, options, close.

Why a module of its own beside ``viewer_worker.py``: the file calls and the view calls share
only the open session; keeping the views here keeps each entry small. Like the entry, this is
worker-only code: it knows ``js`` and ``postMessage``. Everything else about panels is
``nwbscope.views.panels`` (tested in CPython).

Frames travel as ``{"kind": "view-data", panel, seq, sources: {name: {column: TypedArray}},
complete, status, notes, ranges}`` posted with their buffers transferred (no copy, never a
JSON list of numbers); ``web/views.js`` puts them into the panel's Bokeh sources. A newer
``view_update`` for a panel supersedes an older one: the older loop stops before its next
read, so reads the new window does not need are never made.
"""

import asyncio
import time

STATE = {"panels": None, "session": None, "seq": {}, "loaded": None}
FRAME_INTERVAL = 0.15  # seconds between progressive frames in an update's first second
SLOW_FRAME_INTERVAL = 1.0  # and after it


def panels(session):
    """The panel set of the open session (a new file starts with none)."""
    from nwbscope.views.panels import PanelSet

    if STATE["session"] is not session:
        STATE["session"], STATE["panels"], STATE["seq"] = session, PanelSet(session.file), {}
    return STATE["panels"]


async def load_views(site, manifest, post):
    """Install Bokeh, the wheels it needs and pandas (its ColumnDataSource imports it), once;
    later calls wait for the first."""
    if STATE["loaded"] is None:
        STATE["loaded"] = asyncio.ensure_future(_load(site, manifest, post))
    return await STATE["loaded"]


async def _load(site, manifest, post):
    import pyodide_js

    t0 = time.time()
    wheels = [site + w for w in manifest.get("wheels", {}).get("views", [])]
    post("views", state="loading", text="loading Bokeh and pandas for the views")
    await pyodide_js.loadPackage(list(manifest.get("view_packages", [])) + wheels)
    t1 = time.time()
    # each import blocks the worker for seconds: between them, the tree's calls queued
    # meanwhile (a group opened, an object clicked) get their turn
    await asyncio.sleep(0)
    import pandas  # noqa: F401

    await asyncio.sleep(0)
    from nwbscope.views.bokeh_kit import warm_up

    await asyncio.sleep(0)
    warm_up()
    timings = {"load": t1 - t0, "import": time.time() - t1}
    post("views", state="ready", text="views ready", timings=timings)
    return timings


def window_of(spec):
    from nwbscope.views.window import TimeWindow

    if not spec:
        return None
    cursor = spec.get("cursor")
    return TimeWindow(float(spec["start"]), float(spec["end"]), int(spec.get("width", 1000)),
                      None if cursor is None else float(cursor))


def view_open(session, request):
    """``{path, view?, options?, window?}`` → the panel's document (sources still empty)."""
    t0 = time.time()
    doc = panels(session).open(request["path"], request.get("view"),
                               request.get("options"), window_of(request.get("window")))
    reply = doc.as_dict()
    reply["seconds"] = time.time() - t0  # the worker's share of opening (benchmarks)
    prefetch_later(session, doc.panel_id)
    return reply


def prefetch_later(session, panel_id):
    """Let a view read its first frame's data (``View.prefetch``) once this call's reply is
    sent: the page embeds the document meanwhile, and the worker would idle. A failure is
    left to the frame, which reports it."""
    from nwbscope.views.base import View

    view = panels(session).panels.get(panel_id)
    if view is None or type(view).prefetch is View.prefetch:  # nothing to read ahead
        return
    warm = view.prefetch

    async def run():
        await asyncio.sleep(0.01)  # (a task starts before the reply is on its way: wait)
        try:
            warm()
        except Exception:  # noqa: BLE001, S110 - the frame asked for next says what failed
            pass

    asyncio.ensure_future(run())


def view_option(session, request):
    """``{panel, name, value, window}`` → ``{"rebuild": doc | None}``."""
    group = panels(session)
    if group.set_option(request["panel"], request["name"], request["value"]):
        return {"rebuild": group.rebuild(request["panel"],
                                         window_of(request.get("window"))).as_dict()}
    return {"rebuild": None}


def view_select(session, request):
    """``{table, rows, panel?, window?}`` (rows of a table chosen in a panel) → ``{"panels":
    [{"panel_id", "rebuild": doc | None}]}``: the other panels that changed."""
    changed = panels(session).select(request["table"], request.get("rows") or [],
                                     request.get("panel"), window_of(request.get("window")))
    return {"panels": [{"panel_id": pid, "rebuild": doc.as_dict() if doc else None}
                       for pid, doc in changed.items()]}


def view_close(session, panel_id):
    panels(session).close(panel_id)
    STATE["seq"].pop(panel_id, None)


async def view_update(session, request, post_frame):
    """Stream the frames of ``{panel, seq, window}``; stop when a newer seq arrives."""
    panel_id, seq = request["panel"], int(request["seq"])
    STATE["seq"][panel_id] = seq
    frames = panels(session).frames(panel_id, window_of(request["window"]))
    last = None
    sent = 0
    started = time.time()
    posting = 0.0  # of which: converting and posting frames (the rest is reading, reducing)
    for frame in frames:
        if STATE["seq"].get(panel_id) != seq:  # superseded: read nothing more
            frames.close()
            return {"superseded": True, "frames": sent}
        now = time.time()
        # often at first (the coarse picture), then seldom: each frame costs its conversion
        # here and a redraw on the page, time a long read would rather spend reading
        interval = FRAME_INTERVAL if now - started < 1.0 else SLOW_FRAME_INTERVAL
        if frame.complete or last is None or now - last >= interval:
            post_frame(_message(panel_id, seq, frame))
            sent += 1
            last = time.time()
            posting += last - now
        await asyncio.sleep(0)  # let a newer request in
    return {"superseded": False, "frames": sent, "seconds": time.time() - started,
            "post_seconds": posting}


def _message(panel_id, seq, frame):
    """``(JS object, transfer list)`` of one frame: each column a typed array (a copy out of
    the wasm heap), each list of arrays a JS array of typed arrays."""
    import numpy as np
    from js import Object
    from pyodide.ffi import to_js

    transfer = []
    made = {}  # id(array) -> typed array: an array shared by many lines is sent once

    def typed(array):
        key = id(array)
        if key in made:
            return made[key][1]
        source = array
        array = np.ascontiguousarray(array)
        if array.dtype.kind == "f" and array.dtype not in (np.float32, np.float64):
            array = array.astype(np.float32)
        elif array.dtype.kind in "iub" and array.dtype.itemsize == 8:
            array = array.astype(np.float64)  # BigInt64Array is no use to BokehJS
        elif array.dtype.kind == "b":
            array = array.astype(np.uint8)
        js_array = to_js(array)
        transfer.append(js_array.buffer)
        made[key] = (source, js_array)  # (keeps the source alive, so its id stays its own)
        return js_array

    def column(value):
        if isinstance(value, list):
            return [column(v) if isinstance(v, list) else _text_or_typed(v, typed)
                    for v in value]
        return _text_or_typed(value, typed)

    sources = {name: {c: column(v) for c, v in cols.items()}
               for name, cols in frame.sources.items()}
    message = {"kind": "view-data", "panel": panel_id, "seq": seq, "sources": sources,
               "complete": frame.complete, "status": frame.status, "notes": list(frame.notes),
               "ranges": {k: list(v) for k, v in frame.ranges.items()}}
    return to_js(message, dict_converter=Object.fromEntries), transfer


def _text_or_typed(value, typed):
    """Numbers as typed arrays; labels (strings) as a plain JS array of strings."""
    import numpy as np

    array = np.asarray(value)
    if array.dtype.kind in "OUS":
        return [str(v) for v in array.tolist()]
    return typed(array)
