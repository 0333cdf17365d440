"""ASGI middlewares that bound what a request may cost before any route sees it.

``RequestLimits`` (installed by ``app.create_app``):

- a write (POST/PUT/PATCH/DELETE) under ``/api/`` whose bearer token is not one this server
  knows (``auth.known_token``) is answered 401 from its headers alone, before one byte of its
  body is read: without it a stranger's 1 GB body was parsed (and held) before the token
  check. Routes still check the exact token they need.
- a body is limited by ``Settings.max_json_bytes`` (everything but the streamed uploads), or
  by ``Settings.max_upload_bytes`` for the streamed store uploads (0: unlimited). A declared
  ``Content-Length`` over the limit is refused at once; a chunked body is counted as it
  arrives and cut off with 413 when it runs over.

``HostCheck`` (wrapped around the app by ``serving``, so every real server has it while
TestClient-based tests, whose ``Host`` is ``testserver``, need not): a server bound to
loopback answers only to its own names, which defeats DNS rebinding (a web page whose name
is re-pointed at 127.0.0.1 would otherwise read this server's answers with its own origin).
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import bearer_token, known_token
from .settings import Settings

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Routes whose body is streamed to the store, never parsed nor held (``store.routes``,
#: ``broker.workers_routes.upload_output``): limited by ``max_upload_bytes``, not as JSON.
STREAMED_UPLOADS = (
    re.compile(r"/api/store/?"),
    re.compile(r"/api/workers/[^/]+/jobs/[^/]+/outputs/?"),
)
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
#: An early refusal leaves the body unread on the connection: close it rather than read on.
CLOSE = {"Connection": "close"}


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a body runs over its limit. An HTTPException, so FastAPI
    passes it through body parsing unchanged and answers 413 with this detail."""

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=413, detail=detail, headers=CLOSE)


def body_limit(settings: Settings, method: str, path: str) -> tuple[int | None, str]:
    """The byte limit of this request's body (None: unlimited) and what to tell a client
    that runs over it."""
    if method == "PUT" and any(p.fullmatch(path) for p in STREAMED_UPLOADS):
        limit = settings.max_upload_bytes or None
        return limit, (f"An upload is limited to {limit} bytes on this server (setting "
                       "max_upload_bytes).")
    limit = settings.max_json_bytes
    return limit, (f"A request body is limited to {limit} bytes (setting max_json_bytes): "
                   "job parameters are small; send data as a store upload or an input URL.")


class RequestLimits:
    """The token check before the body, and the body size limits (see the module doc)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"].upper(), scope["path"]
        if method in WRITE_METHODS and path.startswith("/api/"):
            if not known_token(self.settings, bearer_token(Request(scope))):
                await _unauthorized()(scope, receive, send)
                return
        limit, message = body_limit(self.settings, method, path)
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(message)(scope, receive, send)
            return
        await _LimitedBody(limit, message).run(self.app, scope, receive, send)


class _LimitedBody:
    """One request's body, counted as the app reads it."""

    def __init__(self, limit: int, message: str) -> None:
        self.limit = limit
        self.message = message
        self.received = 0
        self.over = False
        self.response_started = False

    async def run(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit:
                    self.over = True
                    raise BodyTooLarge(self.message)
            return message

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.response_started = True
            await send(message)

        try:
            await app(scope, counted, watched)
        except BaseException:
            # a route that streams its body in a task group gets BodyTooLarge wrapped in an
            # ExceptionGroup, which no handler maps: answer 413 here
            if not self.over or self.response_started:
                raise
            await _too_large(self.message)(scope, receive, send)


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {"detail": "A valid token is needed to write here (header 'Authorization: Bearer "
                   "<token>', the token `nwbscope serve` printed).", "code": "unauthorized"},
        status_code=401, headers={"WWW-Authenticate": "Bearer", **CLOSE})


def _too_large(message: str) -> JSONResponse:
    return JSONResponse({"detail": message, "code": "too_large"}, status_code=413,
                        headers=CLOSE)


# ---- Host ------------------------------------------------------------------------------------

def accepted_hosts(settings: Settings) -> frozenset[str] | None:
    """The ``Host`` names (lower case, no port) this server answers to; None: any.

    Bound to loopback: this machine's loopback names, ``settings.host`` and
    ``settings.allowed_hosts``. Bound to a network interface: any name, unless
    ``allowed_hosts`` is set (then those and the loopback names). ``*`` allows any.
    """
    extra = frozenset(_host_name(h) for h in settings.allowed_hosts)
    if "*" in extra:
        return None
    host = settings.host.lower().strip("[]")
    if host in LOOPBACK_NAMES:
        return LOOPBACK_NAMES | {host} | extra
    if not extra:
        return None
    return LOOPBACK_NAMES | extra | ({host} if host not in ("", "0.0.0.0", "::") else set())


def _host_name(value: str) -> str:
    """``Host`` header value -> the name alone: ``[::1]:8000`` -> ``::1``, ``a.b:80`` -> ``a.b``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        return value.partition(":")[0]
    return value  # a name, or a bare IPv6 address


class HostCheck:
    """Answer 421 to a request whose ``Host`` is not one of ``accepted_hosts(settings)``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.accepted = accepted_hosts(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.accepted is not None:
            given = Headers(scope=scope).get("host")
            if given is not None and _host_name(given) not in self.accepted:
                await self._refuse(given)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refuse(self, given: str) -> PlainTextResponse:
        name = _host_name(given)
        return PlainTextResponse(
            f"This server (bound to {self.settings.host}) does not answer to the host name "
            f"{given!r}: a page whose name points at this machine could otherwise read it "
            f"(DNS rebinding). If you reach this server by that name, start it with "
            f"`nwbscope serve --allowed-host {name}` (setting allowed_hosts).",
            status_code=421, headers=CLOSE)
