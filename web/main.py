"""The viewer page: MicroPython on the main thread, drawing what the Pyodide worker answers.

Why this split: MicroPython starts in well under a second, so the progress line and the
controls are live at once while Pyodide (seconds) boots in a PyScript worker. The page never
reads the file; it asks the worker (``workers/viewer_worker.py``) through ``worker.sync`` with
JSON text and draws the JSON it gets back (``render.py``).

State lives in the URL: ``?url=<file URL>&path=<object path>&view=<panel>...&t=<start>,<end>``.
Selecting an object or opening a view pushes a history entry, moving the time window replaces
the current one; back/forward and a copied link reopen the same file, object, panels and
window. The tree and details are ``tree_panel.py``, the view panels ``view_panels.py`` (with
the BokehJS glue ``views.js``); this module opens files and keeps the URL.
A local file cannot be named in a URL, so its entries carry only ``path`` (and ``file``, to say
which file to drop again after a reload).

Start-up is shown by ``progress.py`` (named steps, a ticking clock); Pyodide comes from
``boot.mjs`` (restored from a snapshot of the last visit when one is kept), and the tree (and,
in ``tree_panel.py``, the details) kept from the last visit are drawn before it is up.

Contract with the benchmarks and tests: ``performance.mark("nwbscope:python-ready" |
"nwbscope:packages-ready" | "nwbscope:file-open" | "nwbscope:tree-shown")``, the elements
``#status #header #tree #details #error #io-stats`` and ``body[data-state]`` =
starting | loading | ready | error; ``body[data-boot]`` = booted | restored.
"""

import asyncio
import json

import kept
import render
from page import (
    PROGRESS,
    SITE,
    absolute_url,
    clear_error,
    el,
    hide_landing,
    mark,
    page_url,
    param_list,
    parse_window,
    set_state,
    set_status,
    show_error,
    show_landing,
    show_notes,
    show_stats,
    url_params,
)
from pyscript import PyWorker, document, window
from sorting import Sorting, store_label
from tree_panel import TreePanel
from view_panels import ViewPanels

# the worker's own modules, probe.py (its early probe runs before nwbscope is installed) and
# render.py (the tree's rule of which rows open: the worker reads ahead what the page can open)
WORKER_FILES = ('{"files": {"./workers/view_calls.py": "./view_calls.py",'
                ' "./workers/sort_calls.py": "./sort_calls.py", "./probe.py": "./probe.py",'
                ' "./workers/kept_calls.py": "./kept_calls.py", "./render.py": "./render.py"}}')


class Viewer:
    """One page: the worker, the open file, its tree (``tree``) and view panels (``panels``)."""

    def __init__(self):
        self.worker = None
        self.ready = False
        self.file_url = None  # the URL typed or linked (kept as given, for the address bar)
        self.file_name = None  # the local file open, when not a URL
        self.generation = 0  # bumps on every open; answers for older opens are dropped
        self.navigations = 0  # bumps on every back/forward (a late panel's entry is gone)
        self.pending = None  # a URL or File given before Python was ready
        self.handover = None  # (URL, probe JSON, probe body): the page probed it (warm start)
        self.kept_shown = False  # the tree kept from the last visit is on screen
        self.bokeh_urls = []  # BokehJS files, from the worker's manifest
        self.tree = TreePanel(self)
        self.panels = ViewPanels(self)
        self.local_file = None  # the File open (sorting uploads it, when asked to)
        self.sorting = Sorting(self)  # the broker (takes #broker=&token= off the URL now)

    async def call(self, name, *args):
        """One worker call: JSON in, JSON out; counters refreshed from every answer."""
        raw = await getattr(self.worker.sync, name)(*args)
        reply = json.loads(str(raw))
        show_stats(reply.get("stats"))
        return reply

    # -- the address bar ------------------------------------------------------------------
    def state_url(self, path=None):
        selected = self.tree.selected if path is None else path
        # before the file is open (a click on the kept tree) the address bar's URL stands
        file_url = self.file_url or (None if self.file_name else url_params().get("url"))
        return page_url(file_url, self.file_name, selected, self.panels.keys(),
                        self.panels.window if self.panels.order else None)

    def push_state(self, path=None):
        window.history.pushState(None, "", self.state_url(path))

    def replace_state(self, path=None):
        window.history.replaceState(None, "", self.state_url(path))

    # -- start-up -------------------------------------------------------------------------
    async def start(self):
        set_state("starting")
        set_status("starting Python")
        PROGRESS.step("python")
        asyncio.create_task(PROGRESS.load_totals(SITE + "manifest.json"))
        if not url_params().get("url"):  # the empty page: its demo link, while Python boots
            asyncio.create_task(show_landing(lambda url: self.open_later_or_now("url", url)))
        mark("worker-created")
        self.worker = PyWorker("./workers/viewer_worker.py", type="pyodide",
                               version=SITE + "boot.mjs",  # Pyodide, from a snapshot when kept
                               config=window.JSON.parse(WORKER_FILES))
        self.worker.addEventListener("message", self.on_worker_message)
        window.nwbscopeViews.attach(self.worker)
        first_url = url_params().get("url")
        if first_url and str(first_url).startswith("sha256:"):
            first_url = None  # a store link: resolved through the broker when it opens
        if first_url:  # while Pyodide boots in its worker
            try:
                await self.show_kept(first_url)
            except Exception as exc:  # noqa: BLE001 - the normal open follows anyway
                print("kept tree not shown:", exc)
        await self.worker.ready
        mark("python-ready")
        set_status("loading numpy")
        PROGRESS.step("packages")
        config = {"site": SITE}
        cache_mb = url_params().get("cache_mb")  # the views' decoded-chunk budget, in MiB
        if cache_mb and str(cache_mb).isdigit():
            config["chunk_cache_mb"] = int(cache_mb)
        if first_url and self.pending is None and self.handover is None:
            config["url"] = absolute_url(first_url)  # probed by the worker while numpy loads
        reply = await self.call("init", json.dumps(config))
        if not reply.get("ok"):
            set_state("error")
            set_status("Python could not start")
            show_error(reply["error"]["message"])
            return
        mark("packages-ready")
        window.nwbscopeStartup = json.dumps(reply.get("timings") or {})  # for the benchmarks
        self.bokeh_urls = reply.get("bokehjs") or []
        self.ready = True
        if self.pending is not None:
            kind, what = self.pending
            self.pending = None
            await (self.open_url(what) if kind == "url" else self.open_file(what))
            return
        await self.apply_location()

    async def show_kept(self, url):
        """Warm start: draw the tree kept from the last visit before Python is up, if the
        file's probe (made here, handed to the worker later) shows it unchanged."""
        self.handover, entry = await kept.probe(absolute_url(url))
        if entry is None:
            return
        self.draw_file(entry["reply"], url)
        self.tree.kept = entry.get("browse") or {}
        self.kept_shown = True
        mark("kept-tree-shown")  # not in the contract: tree-shown comes after the worker's open
        set_status("Shown as on your last visit (the file is unchanged); starting Python")

    def on_worker_message(self, event):
        data = event.data
        if not isinstance(data, str) or not data.startswith("{"):
            return  # view frames (objects) are views.js's
        message = json.loads(data)
        kind = message.get("kind")
        if kind == "progress" and document.body.dataset.state != "ready":
            set_status(message.get("text", ""))
            if str(document.body.dataset.state) in ("starting", "loading"):
                PROGRESS.progress(message)  # its step ("packages", "file") and names
        elif kind == "boot":  # Pyodide booting, or restored from a snapshot (boot.mjs)
            if message.get("step") in ("booted", "restored"):  # for the tests and benchmarks
                document.body.dataset.boot = message["step"]
                window.nwbscopeBoot = data  # its ms in all, and wasm_ms of it
            if PROGRESS.boot(message) and message.get("text"):
                set_status(str(message["text"]))
        elif kind == "stats":
            show_stats(message)
            PROGRESS.update(message)  # bytes and requests, live, while the file is read
        elif kind == "views":
            el("views-state").textContent = "views: " + message.get("text", "")

    # -- the URL is the state -------------------------------------------------------------
    async def apply_location(self):
        """Make the page show what the address bar says (on load and on back/forward)."""
        params = url_params()
        file_url, name, path = params.get("url"), params.get("file"), params.get("path")
        if file_url:
            if file_url != self.file_url and not await self.open_url(file_url, push=False):
                return
        elif not name or name != self.file_name:
            # no file in this entry, or a local file other than the one open: show none
            if self.file_url or self.file_name:
                self.begin_open()
                self.file_url = self.file_name = None
            set_state("ready")
            set_status("Drop " + name + " again to reopen it (local files are never uploaded)."
                       if name else "Open a URL, or drop an .nwb file anywhere on the page.")
            asyncio.create_task(show_landing(lambda url: self.open_later_or_now("url", url)))
            return
        if path:
            await self.tree.select(path, push=False)
        elif self.tree.selected:
            self.tree.clear_selection()
        await self.panels.sync(param_list("view"), parse_window(params.get("t")))

    def on_popstate(self, event):
        self.navigations += 1
        if self.ready:
            asyncio.create_task(self.apply_location())

    # -- opening --------------------------------------------------------------------------
    async def open_url(self, url, push=True):
        absolute, problem = await self.sorting.resolve(url)  # sha256:// -> the broker's store
        if problem:
            self.begin_open()
            return self.finish_open({"ok": False, "error": {"message": problem}}, url)
        handover, self.handover = self.handover, None
        if handover is not None and handover[0] != absolute:
            handover = None
        self.begin_open(keep_shown=handover is not None and self.kept_shown)
        generation = self.generation
        if handover is not None:  # the page's probe stands: no second one
            reply = await self.call("open_probed", absolute, handover[1], handover[2])
        else:
            reply = await self.call("open_url", absolute)
        if generation != self.generation:
            return False
        self.file_url, self.file_name = url, None
        if push:
            window.history.pushState(None, "", page_url(url, None, None))
        return self.finish_open(reply, url)

    async def open_file(self, file):
        self.begin_open()
        generation = self.generation
        reply = await self.call("open_file", file)
        if generation != self.generation:
            return False
        self.file_url, self.file_name, self.local_file = None, str(file.name), file
        window.history.pushState(None, "", page_url(None, self.file_name, None))
        return self.finish_open(reply, self.file_name)

    def begin_open(self, keep_shown=False):
        """A new open: older answers are dropped; the screen is cleared unless it shows the
        kept tree of this very file (a warm start), which stays unless the worker answers
        other rows."""
        self.generation += 1
        self.kept_shown = False
        set_state("loading")
        set_status("reading file")
        hide_landing()
        PROGRESS.step("file")
        clear_error()
        show_notes([])
        self.panels.reset()
        self.sorting.form.close()  # its series and input were the old file's
        self.tree.clear(keep_tree=keep_shown)
        if not keep_shown:
            el("header").innerHTML = ""

    def finish_open(self, reply, label):
        if reply.get("superseded"):  # the worker dropped it for a newer open
            return False
        if not reply.get("ok"):
            set_state("error")
            set_status("Could not open " + label)
            show_error(reply["error"]["message"])
            return False
        mark("file-open")
        PROGRESS.step("tree")
        self.draw_file(reply, label)
        mark("tree-shown")
        show_notes(reply.get("notes") or [])
        set_state("ready")
        size = reply.get("size") or 0
        name = store_label(label) or reply.get("name") or label
        set_status("Opened " + str(name) + " (" + f"{size / 1e6:.1f}"
                   + " MB). Click an object to see its details; typed objects open a view.")
        if self.bokeh_urls:  # after the tree: the views' packages load in the background
            self.panels.start_loading(self.bokeh_urls)
        return True

    def draw_file(self, reply, label):
        """Header and top-level tree from an open's answer (the worker's, or the kept one)."""
        summary = reply.get("summary") or {}
        header = dict(summary.get("metadata") or {})
        header["file_name"] = (store_label(label) or summary.get("name") or reply.get("name")
                               or label)
        el("header").innerHTML = (render.header_html(header)
                                  + '<button class="open-view" data-view-path="/" '
                                  'data-view="alignment">Timeline of all objects</button>')
        self.tree.draw(reply.get("tree") or [])

    # -- events ---------------------------------------------------------------------------
    def on_header_click(self, event):
        button = event.target.closest("[data-view-path]")
        if button is not None and self.ready:
            asyncio.create_task(self.panels.show(str(button.dataset.viewPath),
                                                 str(button.getAttribute("data-view"))))

    def on_submit(self, event):
        event.preventDefault()
        url = str(el("url-input").value).strip()
        if url:
            self.open_later_or_now("url", url)

    def on_file_input(self, event):
        files = event.target.files
        if files.length:
            self.open_later_or_now("file", files.item(0))

    def on_dragover(self, event):
        event.preventDefault()
        el("drop-overlay").hidden = False

    def on_dragleave(self, event):
        el("drop-overlay").hidden = True

    def on_drop(self, event):
        event.preventDefault()
        el("drop-overlay").hidden = True
        files = event.dataTransfer.files if event.dataTransfer else None
        if files and files.length:
            self.open_later_or_now("file", files.item(0))

    def open_later_or_now(self, kind, what):
        """Open at once, or as soon as Python is ready (the last request wins)."""
        if not self.ready:
            self.pending = (kind, what)
            set_status("starting Python (the file opens as soon as it is ready)")
            return
        asyncio.create_task(self.open_url(what) if kind == "url" else self.open_file(what))


mark("page-ready")  # MicroPython is running (not in the contract; for the start breakdown)
viewer = Viewer()
el("tree").addEventListener("click", viewer.tree.on_click)
el("details").addEventListener("click", viewer.tree.on_details_click)
el("header").addEventListener("click", viewer.on_header_click)
el("views").addEventListener("click", viewer.panels.on_click)
el("views").addEventListener("change", viewer.panels.on_change)
document.addEventListener("nwbscope-window", viewer.panels.on_window)
document.addEventListener("nwbscope-option", viewer.panels.on_option)
document.addEventListener("nwbscope-cursor", viewer.panels.on_cursor)
document.addEventListener("nwbscope-open", viewer.panels.on_open)
document.addEventListener("nwbscope-select", viewer.panels.on_select)
el("open-form").addEventListener("submit", viewer.on_submit)
el("file-input").addEventListener("change", viewer.on_file_input)
document.addEventListener("dragover", viewer.on_dragover)
document.addEventListener("dragleave", viewer.on_dragleave)
document.addEventListener("drop", viewer.on_drop)
# window.addEventListener fails in MicroPython ("Illegal invocation"); defaultView works
document.defaultView.addEventListener("popstate", viewer.on_popstate)
initial_url = url_params().get("url")
if initial_url:
    el("url-input").value = initial_url
asyncio.create_task(viewer.start())
