"""Sorting from the page: the broker badge and settings, "Spike sort" buttons, job inputs,
``sha256://`` links. The one object ``main.py`` holds for all of it (``viewer.sorting``).

Runs in MicroPython on the main thread. Why a coordinator: the form (``sort_form.py``), the
Jobs and Files panels (``jobs_panel.py``, ``files_panel.py``) and the upload (``upload.py``)
each do one thing; what they share (the broker, which file is open and how to name it as a
job input, opening a result in the viewer) is here, so they never reach into each other or
into ``main.py``. A page without a broker views files exactly as before and says "no broker".

A ``sha256://<hex>[?label=L]`` URL is read from ``<broker>/api/store/<hex>?label=L`` while
the address bar keeps the ``sha256://`` form (a link that names bytes, not a server), and the
label is the title.
"""

import asyncio

from broker import Broker, detail_message
from files_panel import FilesPanel
from jobs_panel import JobsPanel, decode, skeleton_html
from jobs_render import parse_store_uri
from page import absolute_url, el, page_url
from pyscript import document, window
from render import esc
from sort_form import SortForm
from upload import Uploader, consent_html, size_text

NO_STORE = ("A sha256:// link needs a broker/store: set one in settings (the broker button "
            "at the top), or open the link that `nwbscope serve` printed.")


def store_label(url):
    """The label of a ``sha256://`` URL (its title in the viewer), else None."""
    parsed = parse_store_uri(url)
    return decode(parsed[1]) if parsed is not None and parsed[1] else None


class Sorting:
    def __init__(self, viewer):
        self.viewer = viewer
        self.broker = Broker()  # reads (and removes) the #broker=...&token=... fragment now
        el("jobs-panel").innerHTML = skeleton_html()
        self.form = SortForm(self)
        self.jobs = JobsPanel(self)
        self.files = FilesPanel(self)
        self.upload = Uploader(self)
        self.broker.on_change(self.on_state)
        self.on_state()
        document.addEventListener("click", self.on_click)
        el("jobs-button").addEventListener("click", self.on_jobs_button)
        el("broker-state").addEventListener("click", self.on_settings_button)
        el("broker-settings").addEventListener("click", self.on_settings_button)
        el("broker-dialog").addEventListener("click", self.on_dialog_click)
        el("broker-form").addEventListener("submit", self.on_dialog_submit)
        self.broker.start()

    # -- the badge ------------------------------------------------------------------------
    def state_text(self):
        broker = self.broker
        count = len(broker.processors)
        sorters = str(count) + " sorter" + ("" if count == 1 else "s")
        return {"connecting": "broker: connecting…",
                "connected": "broker: connected (" + sorters + ")",
                "no-token": "broker: no token (" + sorters + "; jobs need a token)",
                "unreachable": "broker: unreachable — retrying",
                "none": "no broker"}.get(broker.state, broker.state)

    def on_state(self):
        badge = el("broker-state")
        broker = self.broker
        badge.dataset.state = broker.state
        badge.textContent = self.state_text()
        badge.title = ((broker.url or "") + (" — " + broker.detail if broker.detail else "")
                       + ". Click for the broker settings.")
        if self.form.path is not None and not self.form.busy and broker.usable():
            if el("sort-form") is None:  # it was waiting for a broker: the form now
                self.form.draw()
            elif broker.token:
                note = el("sort-panel").querySelector('[data-reason="no-token"]')
                if note is not None:
                    note.remove()

    # -- settings -------------------------------------------------------------------------
    def open_settings(self):
        el("broker-url").value = "" if self.broker.implicit else (self.broker.url or "")
        el("broker-token").value = self.broker.token or ""
        el("broker-dialog-state").textContent = self.state_text() + (
            " — " + self.broker.detail if self.broker.detail else "")
        el("broker-dialog").showModal()

    def on_settings_button(self, event):
        self.open_settings()

    def on_dialog_click(self, event):
        action = event.target.closest("[data-broker-action]")
        if action is None:
            return
        name = str(action.dataset.brokerAction)
        if name == "cancel":
            el("broker-dialog").close()
        elif name == "forget":
            el("broker-dialog").close()
            self.broker.forget()

    def on_dialog_submit(self, event):
        event.preventDefault()
        url = str(el("broker-url").value).strip()
        token = str(el("broker-token").value).strip()
        el("broker-dialog").close()
        if url:
            self.broker.configure(absolute_url(url), token)
        else:
            self.broker.forget()

    # -- buttons anywhere on the page -----------------------------------------------------
    def on_click(self, event):
        button = event.target.closest("[data-sort-path]")
        if button is not None and self.viewer.ready:
            event.preventDefault()
            asyncio.create_task(self.form.open(str(button.dataset.sortPath)))

    def on_jobs_button(self, event):
        self.jobs.toggle()

    # -- files and inputs -----------------------------------------------------------------
    async def resolve(self, url):
        """``(URL the worker reads, problem)``: a ``sha256://`` link through the broker's
        store (waiting for the first connection attempt), anything else as it is."""
        parsed = parse_store_uri(url)
        if parsed is None:
            if str(url).startswith("sha256:"):
                return None, str(url) + " is not a store link like sha256://<64 hex digits>."
            return absolute_url(url), None
        await self.broker.ready()
        if self.broker.state == "none":
            return None, NO_STORE
        if self.broker.state == "unreachable":
            return None, ("The broker " + self.broker.label() + " that holds sha256:// files "
                          "does not answer (retrying); " + url + " cannot be read now.")
        return self.broker.store_url(parsed[0], store_label(url)), None

    def open_uri(self, uri, views):
        """Open a file (a ``sha256://`` result, a linked URL) in this page, with panels."""
        if not uri:
            return
        window.history.pushState(None, "", page_url(uri, None, None, views))
        asyncio.create_task(self.viewer.apply_location())

    def local_file(self):
        viewer = self.viewer
        file = getattr(viewer, "local_file", None)
        if viewer.file_url or not viewer.file_name or file is None:
            return None
        return file if str(file.name) == viewer.file_name else None

    def input_html(self):
        """What the job will read, as the form says it (a local file: the consent box)."""
        viewer = self.viewer
        file = self.local_file()
        if file is not None:
            return consent_html(str(file.name), int(file.size), self.broker.label())
        if viewer.file_url and parse_store_uri(viewer.file_url) is not None:
            return ('<p class="sort-note">From the store: <code>' + esc(viewer.file_url)
                    + "</code></p>")
        if viewer.file_url:
            return ('<p class="sort-note">By its URL (the worker downloads it): <code>'
                    + esc(absolute_url(viewer.file_url)) + "</code></p>")
        return '<p class="sort-note">No file is open.</p>'

    async def job_input(self):
        """``(input URI, problem)``: the URL, the ``sha256://`` link, or a local file once
        it is in the store (asked for, hashed, uploaded unless the store has it)."""
        viewer = self.viewer
        if viewer.file_url:
            if parse_store_uri(viewer.file_url) is not None:
                return viewer.file_url, None
            return absolute_url(viewer.file_url), None
        file = self.local_file()
        if file is None:
            return None, "Open a file first (by URL, or drop one)."
        consent = el("upload-consent")
        if consent is None or not consent.checked:
            self.form.flag("input", "tick this to send the file")
            return None, ("This file is on your machine only: tick \u201cUpload "
                          + str(file.name) + " (" + size_text(int(file.size)) + ")\u201d "
                          "to send it to the broker's store first.")
        return await self.upload.store(file)

    def problem(self, status, body, text, doing):
        """A failed broker call as a sentence that says what to do."""
        if status == 0:
            return "Could not " + doing + ": the broker does not answer (" + \
                self.broker.label() + "); the page retries."
        if status == 401:
            return ("Could not " + doing + ": the broker needs a valid token; set it in the "
                    "broker settings.")
        return "Could not " + doing + ": " + detail_message(body, text, status)
