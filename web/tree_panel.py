"""The file tree and the details of the selected object.

Runs in MicroPython on the main thread. Why apart from the opener: the tree only asks the
worker for children and details and draws what comes back (``render.py``); which file is open
and what the address bar says are the viewer's (``main.py``), which it calls back for both.
"""

import asyncio

import render
from page import clear_error, copy_text, el, mark, set_status, show_error
from pyscript import window


class TreePanel:
    """Rows of the tree (groups opened on demand) and the details of one selected object."""

    def __init__(self, viewer):
        self.viewer = viewer
        self.selected = None
        # answers kept from earlier visits ({"children": {path: rows}, "details": {path: ...}}),
        # shown while Python starts; the worker answers again once it is up
        self.kept = {}
        self.drawn = None  # the top-level rows' HTML as drawn (the tree may have grown since)
        # the path whose kept details are on screen, when they were a full answer (not read
        # ahead): Python need not be asked the same again once it is up
        self.kept_full_path = None

    def draw(self, rows):
        """The top-level rows; the same rows again (the worker's answer after the kept tree
        of an unchanged file) leave the tree as it is, with the branches opened meanwhile."""
        html = "<ul>" + render.tree_items_html(rows or []) + "</ul>"
        if html == self.drawn and el("tree").firstElementChild is not None:
            return
        el("tree").innerHTML = html
        self.drawn = html

    def clear(self, keep_tree=False):
        """Forget the file's tree and details; ``keep_tree`` (the worker reopening the file
        whose kept tree is shown) leaves the tree and the kept details on screen until the
        worker's answers replace them."""
        if keep_tree:
            return
        self.selected = None
        self.kept = {}
        self.drawn = None
        self.kept_full_path = None
        el("details").innerHTML = ""
        el("tree").innerHTML = ""

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
        reply = await self.viewer.call("children", str(item.dataset.path))
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
            self.viewer.push_state(path=path)
        self.selected = path
        item = await self.reveal(path)
        old = el("tree").querySelector("li.selected")
        if old is not None:
            old.classList.remove("selected")
        if item is not None:
            item.classList.add("selected")
            item.scrollIntoView(window.JSON.parse('{"block": "nearest"}'))
        if path == self.kept_full_path:  # already on screen, as Python answered it before
            return
        reply = await self.viewer.call("details", path)
        if self.selected != path:
            return
        if not reply.get("ok"):
            el("details").innerHTML = ""
            show_error(reply["error"]["message"])
            return
        clear_error()
        self.kept_full_path = None
        el("details").innerHTML = render.details_html(reply["details"], self.views_of(path))

    def views_of(self, path):
        """The view names the tree row of ``path`` carries (empty when none or not shown)."""
        item = self.row_item(path)
        button = item.querySelector(".open-view") if item is not None else None
        return str(button.dataset.views).split(",") if button is not None else []

    def clear_selection(self):
        self.selected = None
        self.kept_full_path = None
        old = el("tree").querySelector("li.selected")
        if old is not None:
            old.classList.remove("selected")
        el("details").innerHTML = ""

    # -- the kept answers, before Python is up ---------------------------------------------
    def kept_answer(self, kind, path):
        return (self.kept.get(kind) or {}).get(path)

    def show_kept(self, path, toggle=False):
        """A click on the kept tree while Python starts: the branch and the details kept
        from an earlier visit, at once; the address bar remembers the choice, and
        ``apply_location`` selects it again once the file is open."""
        self.viewer.replace_state(path=path)
        item = self.row_item(path)
        rows = self.kept_answer("children", path)
        if item is not None and rows is not None and item.classList.contains("expandable"):
            if toggle and item.classList.contains("open"):
                item.classList.remove("open")
            else:
                item.classList.add("open")
                if not item.getAttribute("data-loaded"):
                    item.setAttribute("data-loaded", "1")
                    item.querySelector("ul.children").innerHTML = render.tree_items_html(rows)
        if toggle:
            return
        self.selected = path
        old = el("tree").querySelector("li.selected")
        if old is not None:
            old.classList.remove("selected")
        if item is not None:
            item.classList.add("selected")
        details = self.kept_answer("details", path)
        if details is None:
            self.kept_full_path = None
            el("details").innerHTML = ""
            set_status("starting Python (" + path + " opens as soon as it is ready)")
            return
        el("details").innerHTML = render.details_html(details, self.views_of(path))
        self.kept_full_path = None if details.get("kept_as") else path
        mark("kept-details-shown")
        set_status("Details of " + path + " as kept from your last visit; starting Python")

    # -- events ---------------------------------------------------------------------------
    def on_click(self, event):
        viewer = self.viewer
        row = event.target.closest(".row")
        if row is not None and not viewer.ready and viewer.kept_shown:
            self.show_kept(str(row.dataset.path), event.target.classList.contains("toggle"))
        if row is None or not viewer.ready:
            return
        item = row.parentElement
        if event.target.classList.contains("toggle") and item.classList.contains("open"):
            item.classList.remove("open")
            return
        asyncio.create_task(self.expand(item))
        if event.target.classList.contains("toggle"):
            return
        path = str(row.dataset.path)
        if row.querySelector(".open-view") is not None:
            # a typed object with a view: the view is asked of the worker first (it draws
            # first); the selection's history entry gets the panel too once it exists
            asyncio.create_task(viewer.panels.show(path, history="replace"))
        asyncio.create_task(self.select(path))

    def on_details_click(self, event):
        target = event.target
        ready = self.viewer.ready
        goto = target.closest("[data-goto]")
        if goto is not None:
            event.preventDefault()
            if ready:
                asyncio.create_task(self.select(str(goto.dataset.goto)))
            elif self.viewer.kept_shown:
                self.show_kept(str(goto.dataset.goto))
            return
        view = target.closest("[data-view-path]")
        if view is not None:
            event.preventDefault()
            if not ready:  # kept details: views need Python
                set_status("starting Python (views open as soon as it is ready)")
                return
            name = view.getAttribute("data-view")
            asyncio.create_task(self.viewer.panels.show(str(view.dataset.viewPath),
                                                        str(name) if name else None))
            return
        if target.classList.contains("copy"):
            code = target.closest(".snippet").querySelector("code").textContent
            copy_text(code)
            target.textContent = "Copied"
