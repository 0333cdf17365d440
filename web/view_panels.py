"""The view panels: open, close, reorder, one shared time window, frames asked of the worker.

Runs in MicroPython on the main thread. Why the split with ``views.js``: this module decides
(which panels, in what order, what the URL says, when to ask the worker for frames); the
JavaScript glue only moves Bokeh models and typed arrays, and tells this module through DOM
events what the user did inside a plot.

A panel is named in the URL by a key: its object path for the object's default view, or
``<view>:<path>`` for another view of it (``spectrogram:/acquisition/ES``); paths begin with
``/``, so the two never clash. ``t=start,end`` is the shared window.
"""

import asyncio
import json

from page import el, set_status
from pyscript import document, window
from render import esc, sort_button_html

PAN_DELAY = 0.05  # seconds: during a drag, at most one request per panel this often
PLOT_MARGIN_PX = 80  # axis and padding inside a panel, off the plot's drawable width


def panel_key(path, view, default):
    return path if view == default else view + ":" + path


def _js_null(value):
    """Whether a value from a DOM event's detail is JavaScript's null or undefined."""
    return value is None or str(value) in ("null", "undefined")


def split_key(key):
    """``(path, view or None)`` of a URL key."""
    if key.startswith("/"):
        return key, None
    name, _, path = key.partition(":")
    return (path or "/"), name


class ViewPanels:
    """The stack of open panels of the open file, in the order the page shows them."""

    def __init__(self, viewer):
        self.viewer = viewer
        self.order = []  # panel ids, top first
        self.info = {}  # id -> {"key", "path", "view", "title", "time_based", "span"}
        self.window = None  # (start, end) shared by every time-based panel
        self.cursor = None  # the shared cursor's time (None: not set)
        self.seq = 0
        self.dirty = False
        self.updater = None
        self.bokeh_urls = []
        self.opening = 0  # placeholders without a panel id yet
        self.generation = 0  # bumps when the file changes; older answers are dropped

    # -- state --------------------------------------------------------------------------------
    def keys(self):
        return [self.info[i]["key"] for i in self.order]

    def reset(self):
        """A new file: every panel goes."""
        self.generation += 1
        for panel_id in list(self.order):
            window.nwbscopeViews.remove(panel_id)
        self.order, self.info, self.window, self.cursor = [], {}, None, None
        el("views").innerHTML = ""

    def start_loading(self, bokeh_urls):
        """BokehJS on the page and Bokeh in the worker, in the background once the tree is
        on screen; the footer says how far it got."""
        self.bokeh_urls = bokeh_urls
        window.nwbscopeViews.loadBokeh(window.JSON.parse(json.dumps(bokeh_urls)))
        asyncio.create_task(self._load_worker_side())

    async def _load_worker_side(self):
        el("views-state").textContent = "views: loading Bokeh"
        reply = await self.viewer.call("load_views")
        el("views-state").textContent = ("views: ready" if reply.get("ok") else
                                         "views: " + reply["error"]["message"])
        el("views-state").dataset.state = "ready" if reply.get("ok") else "error"

    def width(self):
        return max(200, int(el("views").clientWidth or 1000) - PLOT_MARGIN_PX)

    def window_spec(self):
        if self.window is None:
            return None
        return {"start": self.window[0], "end": self.window[1], "width": self.width(),
                "cursor": self.cursor}

    # -- opening and closing ------------------------------------------------------------------
    async def show(self, path, view=None, history="push"):
        """Open ``path``'s view unless it is open already (then bring it into sight).

        ``history``: "push" a new history entry once the panel exists, or "replace" the
        current one (a tree click has pushed the selection already: one entry holds both).
        """
        for panel_id in self.order:
            info = self.info[panel_id]
            if info["path"] == path and (view is None or info["view"] == view):
                el("panel-" + panel_id).scrollIntoView()
                return panel_id
        return await self.open(path, view, history)

    async def sync(self, keys, t):
        """Make the panels be ``keys`` in that order, with window ``t`` (back/forward, links)."""
        if t is not None:
            self.set_window(t)
        wanted = list(keys)
        failed = el("views").querySelectorAll(".panel.failed")  # a static list
        for i in range(failed.length):
            failed.item(i).remove()  # a failed view is no panel: the URL it came from is left
        for panel_id in list(self.order):
            if self.info[panel_id]["key"] not in wanted:
                self.close(panel_id, push=False)
        for key in wanted:
            if key not in self.keys():
                path, view = split_key(key)
                await self.open(path, view)
        order = [self._by_key(key) for key in wanted if self._by_key(key)]
        if order != self.order:  # the URL's order (moving a panel costs a relayout)
            self.order = order
            for panel_id in order:
                self._append(panel_id)

    async def open(self, path, view=None, history=None, options=None):
        """A new panel; ``history`` ("push", "replace" or None: the URL already names it)
        says how the address bar learns of it, as soon as it exists; ``options`` are the
        view's own (a table opened on the rows a region points to)."""
        generation, navigations = self.generation, self.viewer.navigations
        box = self._placeholder(path)
        request = {"path": path, "view": view, "window": self.window_spec(),
                   "options": options}
        reply = await self.viewer.call("view_open", json.dumps(request))
        # asked for by a click, and the user went back or forward before it came: the history
        # entry it was for is not the current one, which must not gain it (panels asked for by
        # the URL, history None, belong to whatever entry asked)
        late = history is not None and navigations != self.viewer.navigations
        if generation != self.generation or late:
            box.remove()
            if late and reply.get("ok"):
                asyncio.create_task(self.viewer.call("view_close", reply["panel"]["panel_id"]))
            return None
        if not reply.get("ok"):
            self._failed(box, reply["error"]["message"])
            return None
        panel = reply["panel"]
        panel_id = panel["panel_id"]
        box.dataset.openSeconds = str(panel.get("seconds"))  # the worker's share (benchmarks)
        box.id = "panel-" + panel_id
        box.dataset.panel = panel_id
        box.dataset.view = panel["view"]
        default = panel["view"] if view is None else None
        key = panel_key(path, panel["view"], default)
        box.dataset.key = key
        self.info[panel_id] = {"key": key, "path": path, "view": panel["view"],
                               "title": panel["title"], "time_based": panel["time_based"],
                               "follows_cursor": panel.get("follows_cursor", False),
                               "span": panel["span"]}
        self.order.append(panel_id)
        if panel["time_based"] and self.window is None:  # the first: its window is shared
            self.set_window(panel["window"])
        if history == "push":
            self.viewer.push_state()
        elif history == "replace":
            self.viewer.replace_state()
        box.querySelector(".panel-title").textContent = panel["title"]
        box.querySelector(".panel-body").id = "body-" + panel_id
        self._alternatives(box, path, panel.get("alternatives") or [])
        if panel["view"] == "electrical":  # an ElectricalSeries: "Spike sort" (sorting.py)
            box.querySelector(".panel-tools").insertAdjacentHTML("afterbegin",
                                                                 sort_button_html(path))
        await window.nwbscopeViews.embed(panel_id, panel["doc"], "body-" + panel_id,
                                         panel["time_based"])
        await self.update(panel_id)
        return panel_id

    def close(self, panel_id, push=True):
        if panel_id not in self.info:
            return
        window.nwbscopeViews.remove(panel_id)
        box = el("panel-" + panel_id)
        if box is not None:
            box.remove()
        self.order.remove(panel_id)
        del self.info[panel_id]
        asyncio.create_task(self.viewer.call("view_close", panel_id))
        if push:
            self.viewer.push_state()

    def move(self, panel_id, step):
        i = self.order.index(panel_id)
        j = max(0, min(len(self.order) - 1, i + step))
        if i == j:
            return
        self.order.insert(j, self.order.pop(i))
        for pid in self.order:
            self._append(pid)
        self.viewer.push_state()

    # -- the shared window --------------------------------------------------------------------
    def set_window(self, t):
        self.window = (float(t[0]), float(t[1]))
        window.nwbscopeViews.setWindow(self.window[0], self.window[1])

    def on_window(self, event):
        detail = event.detail
        self.window = (float(detail.start), float(detail.end))
        self.viewer.replace_state()
        self.dirty = True
        if self.updater is None:
            self.updater = asyncio.create_task(self._update_all())

    async def _update_all(self):
        """Ask for frames of every time-based panel at once, then at most every
        ``PAN_DELAY`` while the range keeps moving (each request supersedes that panel's
        last, so the worker drops stale windows before reading for them)."""
        try:
            while self.dirty:
                self.dirty = False
                for panel_id in list(self.order):
                    if self.info[panel_id]["time_based"]:
                        asyncio.create_task(self.update(panel_id))
                await asyncio.sleep(PAN_DELAY)
        finally:
            self.updater = None

    async def update(self, panel_id):
        """Frames for the current window; they arrive as worker messages (views.js)."""
        info = self.info.get(panel_id)
        if info is None:
            return
        self.seq += 1
        spec = self.window_spec() or {"start": 0.0, "end": 1.0, "width": self.width()}
        drawn = int(window.nwbscopeViews.plotWidth(panel_id) or 0)
        if drawn > 0:  # the plot as laid out (axes, legend, colour bar off the panel's width)
            spec["width"] = drawn
        request = {"panel": panel_id, "seq": self.seq, "window": spec}
        reply = await self.viewer.call("view_update", json.dumps(request))
        box = el("panel-" + panel_id)
        if box is None:
            return
        if not reply.get("ok"):
            self._error(box, reply["error"]["message"])
        elif not reply.get("superseded"):
            self._error(box, "")
            # the worker's own time for this window (benchmarks split the redraw with it)
            box.dataset.workerSeconds = str(reply.get("seconds"))
            box.dataset.postSeconds = str(reply.get("post_seconds"))

    def on_option(self, event):
        detail = event.detail
        asyncio.create_task(self._option(str(detail.panel), str(detail.name),
                                         json.loads(str(detail.value))))

    async def _option(self, panel_id, name, value):
        request = {"panel": panel_id, "name": name, "value": value,
                   "window": self.window_spec()}
        reply = await self.viewer.call("view_option", json.dumps(request))
        box = el("panel-" + panel_id)
        if box is None:
            return
        if not reply.get("ok"):
            self._error(box, reply["error"]["message"])
            return
        self._error(box, "")
        if reply.get("rebuild"):
            await window.nwbscopeViews.embed(panel_id, reply["rebuild"]["doc"],
                                             "body-" + panel_id,
                                             self.info[panel_id]["time_based"])
        await self.update(panel_id)

    def on_open(self, event):
        """Open an object's view; with a time ``t``, the window moved there (its width
        kept). A view with options opens a new panel (a table on other rows)."""
        detail = event.detail
        if detail.t is not None and not _js_null(detail.t):
            t = float(detail.t)
            width = (self.window[1] - self.window[0]) if self.window else 10.0
            self.set_window((t, t + width))
            for panel_id in self.order:
                if self.info[panel_id]["time_based"]:
                    asyncio.create_task(self.update(panel_id))
        view = None if _js_null(detail.view) else str(detail.view)
        options = None if _js_null(detail.options) else json.loads(str(detail.options))
        if options:
            asyncio.create_task(self.open(str(detail.path), view, "push", options))
        else:
            asyncio.create_task(self.show(str(detail.path), view))

    def on_cursor(self, event):
        """The cursor moved (a tap, a frame slider): panels that show the moment at the
        cursor get a new frame."""
        self.cursor = float(event.detail.t)
        set_status("cursor at " + f"{self.cursor:.6g}" + " s")
        for panel_id in list(self.order):
            if self.info[panel_id].get("follows_cursor"):
                asyncio.create_task(self.update(panel_id))

    def on_select(self, event):
        detail = event.detail
        asyncio.create_task(self._select(str(detail.panel), str(detail.table),
                                         json.loads(str(detail.rows))))

    async def _select(self, source, table, rows):
        """Rows chosen in panel ``source``: every other panel that shows that table follows
        (rebuilt when a control shows the choice), then draws new frames."""
        request = {"panel": source, "table": table, "rows": rows, "window": self.window_spec()}
        reply = await self.viewer.call("view_select", json.dumps(request))
        if not reply.get("ok"):
            box = el("panel-" + source)
            if box is not None:
                self._error(box, reply["error"]["message"])
            return
        for changed in reply.get("panels") or []:
            panel_id = changed["panel_id"]
            if panel_id not in self.info:
                continue
            if changed.get("rebuild"):
                await window.nwbscopeViews.embed(panel_id, changed["rebuild"]["doc"],
                                                 "body-" + panel_id,
                                                 self.info[panel_id]["time_based"])
            await self.update(panel_id)

    def on_click(self, event):
        target = event.target
        box = target.closest(".panel")
        if box is None:
            return
        action = target.getAttribute("data-action")
        panel_id = box.getAttribute("data-panel")
        if action == "close":
            if panel_id:
                self.close(str(panel_id))
            else:
                box.remove()
        elif action in ("up", "down") and panel_id:
            self.move(str(panel_id), -1 if action == "up" else 1)

    def on_change(self, event):
        target = event.target
        if target.classList.contains("panel-alternatives") and target.value:
            box = target.closest(".panel")
            asyncio.create_task(self.show(str(box.dataset.path), str(target.value)))
            target.value = ""

    # -- DOM ----------------------------------------------------------------------------------
    def _placeholder(self, path):
        box = document.createElement("section")
        box.className = "panel"
        box.dataset.path = path
        box.innerHTML = (
            '<header class="panel-head"><span class="panel-title">opening a view of '
            + esc(path) + '</span><span class="panel-tools">'
            '<select class="panel-alternatives" hidden></select>'
            '<button data-action="up" title="Move up">↑</button>'
            '<button data-action="down" title="Move down">↓</button>'
            '<button data-action="close" title="Close">×</button></span></header>'
            '<div class="panel-error" role="alert" hidden></div><div class="panel-body"></div>')
        el("views").appendChild(box)
        return box

    def _alternatives(self, box, path, alternatives):
        select = box.querySelector(".panel-alternatives")
        if not alternatives:
            return
        options = ['<option value="">Other views…</option>']
        for name, title in alternatives:
            options.append('<option value="' + esc(name) + '">' + esc(title) + "</option>")
        select.innerHTML = "".join(options)
        select.hidden = False

    def _failed(self, box, message):
        box.classList.add("failed")
        box.querySelector(".panel-title").textContent = "No view of " + str(box.dataset.path)
        self._error(box, message)

    def _error(self, box, message):
        line = box.querySelector(".panel-error")
        line.textContent = message
        line.hidden = not message

    def _append(self, panel_id):
        box = el("panel-" + panel_id)
        if box is not None:
            el("views").appendChild(box)
            window.nwbscopeViews.relayout(panel_id)

    def _by_key(self, key):
        for panel_id in self.order:
            if self.info[panel_id]["key"] == key:
                return panel_id
        return None

