"""CORS with two policies: reads open to any (configured) origin, writes only to listed ones.

The viewer may be hosted on another origin than this server (a static host, a colleague's
site) and must still read files and store objects with Range requests: reads (GET/HEAD)
follow ``Settings.cors_read_origins`` (default ``*``), allow the ``Range`` and conditional
headers, and expose ``Content-Range``, ``Content-Length``, ``Accept-Ranges`` and ``ETag`` so the
reader can see them. Writes (PUT/POST/DELETE/PATCH) from a browser follow
``Settings.cors_origins`` (default none: same origin only); they need a bearer token anyway.
Read responses also carry ``Cross-Origin-Resource-Policy: cross-origin``, so pages that run
cross-origin isolated elsewhere may still load them.

Starlette's CORSMiddleware has one policy for all methods, hence this small ASGI middleware.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

READ_METHODS = ("GET", "HEAD")
WRITE_METHODS = ("PUT", "POST", "DELETE", "PATCH")
ALLOW_HEADERS = (
    "Range, If-Range, If-None-Match, If-Modified-Since, Content-Type, Authorization"
)
EXPOSE_HEADERS = "Content-Range, Content-Length, Accept-Ranges, ETag, Content-Disposition"


class CorsMiddleware:
    def __init__(
        self, app: ASGIApp, read_origins: tuple[str, ...], write_origins: tuple[str, ...]
    ) -> None:
        self.app = app
        self.read_origins = frozenset(read_origins)
        self.write_origins = frozenset(write_origins)

    def _allowed(self, origin: str, method: str) -> str | None:
        """The Access-Control-Allow-Origin value for this origin and method, or None."""
        if method in READ_METHODS:
            if origin in self.read_origins or origin in self.write_origins:
                return origin
            return "*" if "*" in self.read_origins else None
        if method in WRITE_METHODS and (origin in self.write_origins or "*" in self.write_origins):
            return origin
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        method = scope["method"].upper()
        if origin and method == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(origin, headers)(scope, receive, send)
            return
        allow = self._allowed(origin, method) if origin else None
        read = method in READ_METHODS

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                if read:
                    out.setdefault("Cross-Origin-Resource-Policy", "cross-origin")
                if allow:
                    out["Access-Control-Allow-Origin"] = allow
                    out["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
                    if allow != "*":
                        out.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _preflight(self, origin: str, headers: Headers) -> PlainTextResponse:
        wanted = headers["access-control-request-method"].upper()
        allow = self._allowed(origin, wanted)
        if allow is None:
            return PlainTextResponse(
                f"CORS: origin {origin} may not send {wanted} requests here.", status_code=403
            )
        methods = READ_METHODS + (WRITE_METHODS if wanted in WRITE_METHODS else ())
        out = {
            "Access-Control-Allow-Origin": allow,
            "Access-Control-Allow-Methods": ", ".join((*methods, "OPTIONS")),
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": "600",
        }
        if allow != "*":
            out["Vary"] = "Origin"
        return PlainTextResponse("OK", status_code=200, headers=out)
