"""The viewer page: MicroPython on the main thread, drawing what the Pyodide worker answers.

Why this split: MicroPython starts in well under a second, so the progress line and the
controls are live at once while Pyodide (seconds) boots in a PyScript worker. The page never
reads the file; it asks the worker (``workers/viewer_worker.py``) through ``worker.sync`` with
JSON text and draws the JSON it gets back (``render.py``).

State lives in the URL: ``?url=<file URL>&path=<object path>``. Selecting an object pushes a
history entry; back/forward and a copied link reopen the same file at the same object.
A local file cannot be named in a URL, so its entries carry only ``path`` (and ``file``, to say
which file to drop again after a reload).

Contract with the benchmarks and tests: ``performance.mark("nwbscope:python-ready" |
"nwbscope:packages-ready" | "nwbscope:file-open" | "nwbscope:tree-shown")``, the elements
``#status #header #tree #details #error #io-stats`` and ``body[data-state]`` =
starting | loading | ready | error.
"""

import asyncio
import json

import kept
import render
from pyscript import PyWorker, document, window

SITE = window.location.href.split("#")[0].split("?")[0].rsplit("/", 1)[0] + "/"


def el(name):
    return document.getElementById(name)


def mark(name):
    window.performance.mark("nwbscope:" + name)


def set_state(state):
    document.body.dataset.state = state


def set_status(text):
    el("status").textContent = text


def show_error(message):
    box = el("error")
    box.textContent = message
    box.hidden = False


def clear_error():
    el("error").textContent = ""
    el("error").hidden = True


def show_notes(notes):
    box = el("notice")
    box.textContent = " ".join(notes)
    box.hidden = not notes


def show_stats(stats):
    if not stats:
        return
    box = el("io-stats")
    box.dataset.requests = str(stats.get("requests", 0))
    box.dataset.bytes = str(stats.get("bytes", 0))
    box.dataset.hits = str(stats.get("hits", 0))
    box.textContent = render.stats_text(stats)


def absolute_url(url):
    """Relative URLs (/files/demo.nwb) are relative to the page, not to the worker."""
    try:
        return str(window.URL.new(url, window.location.href).href)
    except Exception:  # noqa: BLE001 - the URL constructor's TypeError
        return url


def url_params():
    return window.URL.new(window.location.href).searchParams


def page_url(file_url, file_name, path):
    """The address bar for a state: the file (URL, or a local file's name) and the object."""
    url = window.URL.new(SITE + "index.html")
    params = url.searchParams
    if file_url:
        params.set("url", file_url)
    elif file_name:
        params.set("file", file_name)
    if path:
        params.set("path", path)
    return url.href


class Viewer:
    """One page: the worker, the open file and the selected object."""

    def __init__(self):
        self.worker = None
        self.ready = False
        self.file_url = None  # the URL typed or linked (kept as given, for the address bar)
        self.file_name = None  # the local file open, when not a URL
        self.selected = None
        self.generation = 0  # bumps on every open; answers for older opens are dropped
        self.pending = None  # a URL or File given before Python was ready
        self.handover = None  # (URL, probe JSON, probe body): the page probed it (warm start)
        self.kept_shown = False  # the tree kept from the last visit is on screen

    async def call(self, name, *args):
        """One worker call: JSON in, JSON out; counters refreshed from every answer."""
        raw = await getattr(self.worker.sync, name)(*args)
        reply = json.loads(str(raw))
        show_stats(reply.get("stats"))
        return reply

    # -- start-up -------------------------------------------------------------------------
    async def start(self):
        set_state("starting")
        set_status("starting Python")
        mark("worker-created")
        self.worker = PyWorker("./workers/viewer_worker.py", type="pyodide",
                               version=SITE + "pyodide/pyodide.mjs")
        self.worker.addEventListener("message", self.on_worker_message)
        first_url = url_params().get("url")
        if first_url:  # while Pyodide boots in its worker
            try:
                await self.show_kept(first_url)
            except Exception as exc:  # noqa: BLE001 - the normal open follows anyway
                print("kept tree not shown:", exc)
        await self.worker.ready
        mark("python-ready")
        set_status("loading numpy")
        config = {"site": SITE}
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
        self.handover, reply = await kept.probe(absolute_url(url))
        if reply is None:
            return
        self.draw_file(reply, url)
        self.kept_shown = True
        mark("kept-tree-shown")  # not in the contract: tree-shown comes after the worker's open
        set_status("Shown as on your last visit (the file is unchanged); starting Python")

    def on_worker_message(self, event):
        data = event.data
        if not isinstance(data, str) or not data.startswith("{"):
            return
        message = json.loads(data)
        if message.get("kind") == "progress" and document.body.dataset.state != "ready":
            set_status(message.get("text", ""))
        elif message.get("kind") == "stats":
            show_stats(message)

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
            return
        if path:
            await self.select(path, push=False)
        elif self.selected:
            self.clear_selection()

    def on_popstate(self, event):
        if self.ready:
            asyncio.create_task(self.apply_location())

    # -- opening --------------------------------------------------------------------------
    async def open_url(self, url, push=True):
        absolute = absolute_url(url)
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
        self.file_url, self.file_name = None, str(file.name)
        window.history.pushState(None, "", page_url(None, self.file_name, None))
        return self.finish_open(reply, self.file_name)

    def begin_open(self, keep_shown=False):
        """A new open: older answers are dropped; the screen is cleared unless it shows the
        kept tree of this very file (a warm start), which the worker's answer redraws."""
        self.generation += 1
        self.selected = None
        self.kept_shown = False
        set_state("loading")
        set_status("reading file")
        clear_error()
        show_notes([])
        for name in ("details",) if keep_shown else ("header", "tree", "details"):
            el(name).innerHTML = ""

    def finish_open(self, reply, label):
        if reply.get("superseded"):  # the worker dropped it for a newer open
            return False
        if not reply.get("ok"):
            set_state("error")
            set_status("Could not open " + label)
            show_error(reply["error"]["message"])
            return False
        mark("file-open")
        self.draw_file(reply, label)
        mark("tree-shown")
        show_notes(reply.get("notes") or [])
        set_state("ready")
        size = reply.get("size") or 0
        set_status("Opened " + str(reply.get("name") or label) + " (" + f"{size / 1e6:.1f}"
                   + " MB). Click an object to see its details.")
        return True

    def draw_file(self, reply, label):
        """Header and top-level tree from an open's answer (the worker's, or the kept one)."""
        summary = reply.get("summary") or {}
        header = dict(summary.get("metadata") or {})
        header["file_name"] = summary.get("name") or reply.get("name") or label
        el("header").innerHTML = render.header_html(header)
        el("tree").innerHTML = "<ul>" + render.tree_items_html(reply.get("tree") or []) + "</ul>"

    # -- tree and details -----------------------------------------------------------------
    def row_item(self, path):
        return el("tree").querySelector('li[data-path="' + str(window.CSS.escape(path)) + '"]')

    async def expand(self, item):
        """Open a group's branch, asking the worker for its children the first time."""
        if item is None or not item.classList.contains("expandable"):
            return
        item.classList.add("open")
        if item.getAttribute("data-loaded"):  # (an unset dataset key raises in MicroPython)
            return
        item.setAttribute("data-loaded", "1")
        reply = await self.call("children", str(item.dataset.path))
        if not reply.get("ok"):
            item.removeAttribute("data-loaded")
            show_error(reply["error"]["message"])
            return
        item.querySelector("ul.children").innerHTML = render.tree_items_html(reply["children"])

    async def reveal(self, path):
        """Open the tree down to ``path`` (each ancestor's children loaded in turn)."""
        parts = [p for p in path.split("/") if p]
        prefix = ""
        for part in parts[:-1]:
            prefix += "/" + part
            await self.expand(self.row_item(prefix))
        return self.row_item(path)

    async def select(self, path, push=True):
        if push:
            window.history.pushState(None, "", page_url(self.file_url, self.file_name, path))
        self.selected = path
        item = await self.reveal(path)
        old = el("tree").querySelector("li.selected")
        if old is not None:
            old.classList.remove("selected")
        if item is not None:
            item.classList.add("selected")
            item.scrollIntoView(window.JSON.parse('{"block": "nearest"}'))
        reply = await self.call("details", path)
        if self.selected != path:
            return
        if not reply.get("ok"):
            el("details").innerHTML = ""
            show_error(reply["error"]["message"])
            return
        clear_error()
        el("details").innerHTML = render.details_html(reply["details"])

    def clear_selection(self):
        self.selected = None
        old = el("tree").querySelector("li.selected")
        if old is not None:
            old.classList.remove("selected")
        el("details").innerHTML = ""

    # -- events ---------------------------------------------------------------------------
    def on_tree_click(self, event):
        row = event.target.closest(".row")
        if row is not None and not self.ready and self.kept_shown:
            # the kept tree, before Python is up: the address bar remembers the choice and
            # apply_location selects it once the file is open
            path = str(row.dataset.path)
            window.history.replaceState(None, "", page_url(url_params().get("url"), None, path))
            set_status("starting Python (" + path + " opens as soon as it is ready)")
        if row is None or not self.ready:
            return
        item = row.parentElement
        if event.target.classList.contains("toggle") and item.classList.contains("open"):
            item.classList.remove("open")
            return
        asyncio.create_task(self.expand(item))
        if not event.target.classList.contains("toggle"):
            asyncio.create_task(self.select(str(row.dataset.path)))

    def on_details_click(self, event):
        target = event.target
        goto = target.closest("[data-goto]")
        if goto is not None:
            event.preventDefault()
            asyncio.create_task(self.select(str(goto.dataset.goto)))
            return
        if target.classList.contains("copy"):
            code = target.closest(".snippet").querySelector("code").textContent
            copy_text(code)
            target.textContent = "Copied"

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


def copy_text(text):
    """Copy to the clipboard; fall back to a selected textarea where the API is refused."""
    try:
        window.navigator.clipboard.writeText(text)
        return
    except Exception:  # noqa: BLE001 - no clipboard permission (http, headless)
        pass
    area = document.createElement("textarea")
    area.value = text
    document.body.appendChild(area)
    area.select()
    document.execCommand("copy")
    area.remove()


mark("page-ready")  # MicroPython is running (not in the contract; for the start breakdown)
viewer = Viewer()
el("tree").addEventListener("click", viewer.on_tree_click)
el("details").addEventListener("click", viewer.on_details_click)
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
