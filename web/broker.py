"""The broker the page sorts with: where it is, the user's token, and whether it answers.

Runs in MicroPython on the main thread. Why one module owns every call to the broker: each
call must carry the token, end within a timeout (an ``AbortController``: the page never hangs
on a broker that stopped answering, the complaint about jobs "stuck with no error") and, when
it gets no answer, flip the state everyone sees to "unreachable" and start retrying with
backoff. Panels call ``request`` and read ``state``; only this module touches ``fetch``.

Where the broker comes from, in order: the fragment ``#broker=<url>&token=<token>`` that
``nwbscope serve`` prints (saved in ``localStorage`` under ``nwbscope.broker`` and removed from
the address bar at once, so the token never reaches history, logs or a Referer), what was
saved before (the settings dialog saves there too), else the page's own origin, tried without
a token: a static site elsewhere has no ``/api/health`` and shows "no broker".

States (``#broker-state[data-state]``): connecting, connected, no-token (it answers; the
sorters are public, but reading jobs, logs and files and every write need a token),
unreachable (retrying), none.
"""

import asyncio
import json

from page import SITE
from pyscript import window
from pyscript.ffi import create_proxy

STORAGE_KEY = "nwbscope.broker"
TIMEOUT_MS = 10000  # any call; uploads have their own stall timeout (upload.py)
PROBE_TIMEOUT_MS = 5000
BACKOFF_S = (1, 2, 4, 8, 15, 30)
REFRESH_S = 30  # while connected: the sorter list again (and a lost broker noticed)
FINAL = ("completed", "failed", "cancelled")

_abort = create_proxy(lambda controller: controller.abort())


def read_fragment(fragment):
    """``(url, token)`` from ``#broker=<url-encoded>&token=<token>``; None if absent."""
    text = str(fragment or "")
    if not text.startswith("#") or "broker=" not in text:
        return None
    params = window.URLSearchParams.new(text[1:])
    url = params.get("broker")
    if not url:
        return None
    token = params.get("token")
    return str(url).rstrip("/"), (str(token) if token else "")


def load_saved():
    try:
        text = window.localStorage.getItem(STORAGE_KEY)
        saved = json.loads(str(text)) if text else None
    except Exception:  # noqa: BLE001 - storage refused or garbled: as if nothing was saved
        return None
    if not isinstance(saved, dict) or not saved.get("url"):
        return None
    return str(saved["url"]).rstrip("/"), str(saved.get("token") or "")


def save(url, token):
    try:
        window.localStorage.setItem(STORAGE_KEY, json.dumps({"url": url, "token": token}))
    except Exception:  # noqa: BLE001 - private mode: it works for this visit only
        pass


class Broker:
    """The connection: ``url``, ``token``, ``state``, ``processors`` (the last list read)."""

    def __init__(self):
        self.url = None
        self.token = ""
        self.implicit = False  # the page's own origin, not configured: failing means "none"
        self.state = "connecting"
        self.detail = ""  # why, for the badge's tooltip
        self.processors = []
        self.processors_text = '{"processors": []}'
        self.listeners = []
        self.generation = 0  # bumps on reconfiguration: older retry loops stop
        self.retrying = False
        self.first = None  # the first connection attempt (a sha256:// link waits on it)
        given = read_fragment(window.location.hash)
        if given is not None:
            save(*given)
            href = str(window.location.href).split("#")[0]
            window.history.replaceState(window.history.state, "", href)
        given = given or load_saved()
        if given is None:
            self.url, self.implicit = SITE.rstrip("/"), True
        else:
            self.url, self.token = given

    # -- state ----------------------------------------------------------------------------
    def on_change(self, callback):
        self.listeners.append(callback)

    def set_state(self, state, detail=""):
        changed = (state, detail) != (self.state, self.detail)
        self.state, self.detail = state, detail
        if changed:
            for callback in self.listeners:
                callback()

    def usable(self):
        """It answers (reads work); writes also need ``self.token``."""
        return self.state in ("connected", "no-token")

    def label(self):
        """The broker's address as people read it (no scheme)."""
        url = self.url or ""
        return url.split("://", 1)[-1]

    def store_url(self, hexdigest, label=None):
        tail = "?label=" + str(window.encodeURIComponent(label)) if label else ""
        return self.url + "/api/store/" + hexdigest + tail

    # -- connecting -----------------------------------------------------------------------
    def start(self):
        self.first = asyncio.create_task(self.connect())

    def configure(self, url, token):
        """The settings dialog: another broker (saved), connected at once."""
        self.url, self.token, self.implicit = url.rstrip("/"), token, False
        save(self.url, token)
        self.generation += 1
        self.retrying = False
        self.set_state("connecting")
        self.first = asyncio.create_task(self.connect())

    def forget(self):
        try:
            window.localStorage.removeItem(STORAGE_KEY)
        except Exception:  # noqa: BLE001
            pass
        self.url, self.token, self.implicit = SITE.rstrip("/"), "", True
        self.generation += 1
        self.retrying = False
        self.first = asyncio.create_task(self.connect())

    async def ready(self):
        """Wait for the first attempt to connect (bounded by the request timeouts)."""
        if self.first is not None:
            await self.first

    async def connect(self):
        """Health, then the sorters; the state says how it went. True when connected."""
        ok, why = await self.probe()
        if ok:
            self.connected()
            return True
        if self.implicit:
            self.set_state("none", "this site has no broker (" + why + ")")
            return False
        self.set_state("unreachable", why)
        self.start_retry()
        return False

    async def probe(self):
        """``(answers, why not)``: ``/api/health`` says nwbscope and the sorters are listed."""
        status, health, _ = await self.request("GET", "/api/health", timeout_ms=PROBE_TIMEOUT_MS,
                                               quiet=True)
        if status == 200 and isinstance(health, dict) and health.get("app") == "nwbscope":
            if await self.refresh_processors(quiet=True):
                return True, ""
            return False, "/api/processors did not answer"
        if status == 0:
            return False, "no answer from " + self.label()
        return False, "/api/health answered " + str(status)

    def connected(self):
        self.retrying = False
        self.set_state("connected" if self.token else "no-token")
        asyncio.create_task(self.watch(self.generation))

    async def refresh_processors(self, quiet=False):
        status, body, text = await self.request("GET", "/api/processors", quiet=quiet)
        if status != 200 or not isinstance(body, dict):
            return False
        self.processors = body.get("processors") or []
        self.processors_text = text  # the form reads the schemas' key order from it
        return True

    async def watch(self, generation):
        """While connected: the sorter list every ``REFRESH_S`` (the badge's count; a broker
        gone quiet is noticed here too)."""
        while generation == self.generation and self.usable():
            await asyncio.sleep(REFRESH_S)
            if generation != self.generation or not self.usable():
                return
            count = len(self.processors)
            if await self.refresh_processors() and len(self.processors) != count:
                for callback in self.listeners:
                    callback()

    def lost(self, why):
        """A call got no answer: unreachable, and reconnect with backoff."""
        if self.implicit and self.state in ("connecting", "none"):
            self.set_state("none", why)
            return
        self.set_state("unreachable", why)
        self.start_retry()

    def start_retry(self):
        if not self.retrying:
            self.retrying = True
            asyncio.create_task(self._retry(self.generation))

    async def _retry(self, generation):
        """One loop at a time (``retrying``); a new configuration ends it (``generation``)."""
        attempt = 0
        while generation == self.generation:
            await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
            attempt += 1
            if generation != self.generation:
                return
            ok, why = await self.probe()
            if generation != self.generation:
                return
            if ok:
                self.connected()
                return
            self.set_state("unreachable", why + "; next try in "
                           + str(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]) + " s")

    # -- calls ----------------------------------------------------------------------------
    def headers(self, json_body=False):
        headers = {}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        if json_body:
            headers["Content-Type"] = "application/json"
        return headers

    async def request(self, method, path, body=None, timeout_ms=TIMEOUT_MS, quiet=False):
        """``(status, JSON or None, text)``; status 0 means no answer in time (then the
        state flips to unreachable unless ``quiet``: ``connect`` decides that itself)."""
        controller = window.AbortController.new()
        timer = window.setTimeout(_abort, timeout_ms, controller)
        init = {"method": method, "headers": self.headers(body is not None),
                "cache": "no-store"}
        if body is not None:
            init["body"] = json.dumps(body)
        options = window.JSON.parse(json.dumps(init))
        options.signal = controller.signal
        try:
            response = await window.fetch(self.url + path, options)
            status = int(response.status)
            text = str(await response.text())
        except Exception as exc:  # noqa: BLE001 - network error, CORS, timeout (abort)
            if not quiet:
                self.lost("no answer from " + self.label() + " (" + str(exc) + ")")
            return 0, None, ""
        finally:
            window.clearTimeout(timer)
        if status == 401 and self.state == "connected":
            self.set_state("no-token", "the broker refused the token")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return status, parsed, text


def detail_message(body, text, status):
    """A broker error as one sentence: FastAPI's ``detail`` (text, or our field/message)."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        return str(detail.get("message") or detail)
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return str(detail[0].get("msg") or detail[0])
    if detail:
        return str(detail)
    return "the broker answered " + str(status) + (": " + text[:200] if text else "")
