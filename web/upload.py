"""A dropped local file into the broker's store: consent, hash, upload, its ``sha256://`` URI.

Runs in MicroPython on the main thread. Why these steps: the viewer promises that a dropped
file is never uploaded, so sorting one asks first ("Upload <name> (<size>) to <broker>"); the
SHA-256 is computed in the Pyodide worker (``hash_file`` reads the already-open ``File`` in
slices and posts progress), so the page stays live; ``HEAD /api/store/<hex>`` then says
whether the store has those bytes already, in which case nothing is sent; otherwise an
``XMLHttpRequest`` PUT (``fetch`` has no upload progress) sends the ``File`` itself, the bytes
streamed by the browser, and its ``upload.onprogress`` moves a progress bar.

The form's input box shows it: ``#upload-state[data-step]`` = hashing | checking | uploading |
stored | already | failed, ``data-seen`` every step passed (tests read it after the fact),
``#hash-bar`` and ``#upload-bar`` progress elements.
"""

import asyncio
import json

from page import el
from pyscript import window
from pyscript.ffi import create_proxy
from render import esc

STALL_S = 60  # an upload with no progress for this long is given up (the page never hangs)


def size_text(size):
    size = float(size or 0)
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return (str(int(size)) if unit == "bytes" else f"{size:.1f}") + " " + unit
        size /= 1000
    return str(size)


def consent_html(name, size, broker_label):
    """The checkbox that must be ticked before a local file leaves this machine."""
    return ('<p class="sort-note">This file is on your machine only: to sort it, the broker '
            "needs a copy in its store (kept by its SHA-256; an identical copy is not sent "
            'again).</p><label class="upload-consent"><input type="checkbox" '
            'id="upload-consent"> Upload ' + esc(name) + " (" + esc(size_text(size))
            + ") to " + esc(broker_label) + "</label>"
            + '<span class="field-error" data-error-for="input" hidden></span>'
            + '<div id="upload-state" data-step="" data-seen="" role="status"></div>'
            '<div class="upload-bars"><label hidden>hash <progress id="hash-bar" max="1" '
            'value="0"></progress></label><label hidden>upload <progress id="upload-bar" '
            'max="1" value="0"></progress></label></div>')


class Uploader:
    """Puts local files into the store; remembers hashes of files already hashed."""

    def __init__(self, sorting):
        self.sorting = sorting
        self.hashes = {}  # (name, size, lastModified) -> hex
        self.listening = False

    # -- what the form shows --------------------------------------------------------------
    def step(self, name, text):
        box = el("upload-state")
        if box is None:
            return
        box.dataset.step = name
        seen = [s for s in str(box.dataset.seen or "").split(",") if s]
        if name not in seen:
            box.dataset.seen = ",".join(seen + [name])
        box.textContent = text

    def bar(self, name, fraction):
        bar = el(name)
        if bar is None:
            return
        bar.parentElement.hidden = False
        bar.value = max(0.0, min(1.0, fraction))

    def on_worker_message(self, event):
        data = event.data
        if not isinstance(data, str) or not data.startswith('{"'):
            return
        message = json.loads(data)
        if message.get("kind") != "hash":
            return
        total = message.get("total") or 1
        done = message.get("done") or 0
        self.bar("hash-bar", done / total)
        self.step("hashing", "Computing the file's SHA-256 (in the worker): "
                  + str(int(100 * done / total)) + " %")

    # -- the steps ------------------------------------------------------------------------
    async def store(self, file):
        """``(sha256:// URI, None)`` once the store has the file, or ``(None, message)``."""
        broker = self.sorting.broker
        name, size = str(file.name), int(file.size)
        box = el("upload-state")
        if box is not None:
            box.dataset.seen = ""  # the steps of this submission only
        hexdigest, problem = await self.hash(file)
        if problem:
            self.step("failed", problem)
            return None, problem
        uri = "sha256://" + hexdigest + "?label=" + str(window.encodeURIComponent(name))
        self.step("checking", "Asking " + broker.label() + " whether it has these bytes")
        status, _, _ = await broker.request("HEAD", "/api/store/" + hexdigest)
        if status == 200:
            self.bar("upload-bar", 1.0)
            self.step("already", name + " is already in the store (sha256 " + hexdigest[:12]
                      + "…): nothing to send")
            return uri, None
        if status == 0:
            return None, self.failed("the broker does not answer")
        if status != 404:
            return None, self.failed("the store answered " + str(status) + " to HEAD")
        answer, problem = await self.put(file, name, size, hexdigest)
        if problem:
            return None, self.failed(problem)
        self.step("stored", "Uploaded " + name + " (" + size_text(size) + ")")
        return str(answer.get("uri") or uri), None

    def failed(self, message):
        self.step("failed", "Upload failed: " + message)
        return message

    async def hash(self, file):
        """``(hex, problem)``: hashed in the worker as it reads the file (once per file)."""
        key = (str(file.name), int(file.size), int(file.lastModified or 0))
        if key in self.hashes:
            self.step("hashing", "SHA-256 known from before")
            self.bar("hash-bar", 1.0)
            return self.hashes[key], None
        viewer = self.sorting.viewer
        if not self.listening:
            viewer.worker.addEventListener("message", self.on_worker_message)
            self.listening = True
        self.step("hashing", "Computing the file's SHA-256 (in the worker)")
        reply = await viewer.call("hash_file", file)
        if not reply.get("ok"):
            return None, reply["error"]["message"]
        self.hashes[key] = str(reply["sha256"])
        self.bar("hash-bar", 1.0)
        return self.hashes[key], None

    async def put(self, file, name, size, hexdigest):
        """``(answer, problem)`` of ``PUT /api/store`` sent with XMLHttpRequest."""
        broker = self.sorting.broker
        url = (broker.url + "/api/store?label=" + str(window.encodeURIComponent(name))
               + "&sha256=" + hexdigest)
        xhr = window.XMLHttpRequest.new()
        state = {"done": False, "error": None, "last": window.Date.now(), "sent": 0}

        def on_progress(event):
            state["last"] = window.Date.now()
            total = float(event.total or size or 1)
            state["sent"] = float(event.loaded or 0)
            self.bar("upload-bar", state["sent"] / total)
            self.step("uploading", "Uploading " + name + ": " + size_text(state["sent"])
                      + " of " + size_text(total))

        def on_done(event):
            state["done"] = True

        def on_error(event):
            state["done"], state["error"] = True, "the connection failed"

        handlers = [create_proxy(f) for f in (on_progress, on_done, on_error)]
        xhr.open("PUT", url)
        if broker.token:
            xhr.setRequestHeader("Authorization", "Bearer " + broker.token)
        xhr.setRequestHeader("Content-Type", "application/octet-stream")
        xhr.upload.onprogress = handlers[0]
        xhr.onload = handlers[1]
        xhr.onerror = handlers[2]
        xhr.onabort = handlers[2]
        self.bar("upload-bar", 0.0)
        self.step("uploading", "Uploading " + name + " (" + size_text(size) + ")")
        xhr.send(file)
        while not state["done"]:
            await asyncio.sleep(0.2)
            if window.Date.now() - state["last"] > STALL_S * 1000:
                state["error"] = "no progress for " + str(STALL_S) + " s"
                xhr.abort()
                break
        if state["error"]:
            return None, state["error"]
        status = int(xhr.status)
        text = str(xhr.responseText or "")
        if status not in (200, 201):
            if status == 401:
                return None, "the broker refused the token (401); set it in the broker settings"
            return None, "the store answered " + str(status) + ": " + text[:300]
        self.bar("upload-bar", 1.0)
        try:
            return json.loads(text), None
        except ValueError:
            return {}, None
