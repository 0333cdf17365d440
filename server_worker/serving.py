"""How a real server runs: uvicorn with header limits, timeouts and the ``Host`` check.

``nwbscope serve`` (``commands.cmd_serve``) runs every server through ``serve``; tests that
need the same protocol settings in-process build one with ``uvicorn_server``.

Why h11 and not httptools (uvicorn's default when installed): httptools has no header size
limit, and a 100 MB header kept the event loop busy for about a minute, so no other request
(not even a worker's heartbeat) was answered. h11 refuses a request whose headers exceed
``Settings.max_header_bytes`` (400, connection closed) as soon as its buffer passes that size.
On top of uvicorn's keep-alive timeout (idle connections between requests), each request's
headers must arrive within ``HEADER_TIMEOUT_S``: a client trickling a header byte by byte
holds a connection (and its buffer) that long at most.
"""

from __future__ import annotations

import asyncio
import logging

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from .limits import HostCheck
from .settings import Settings

#: Seconds from a connection's start (or its previous answer) to the end of a request's
#: headers; a browser or script sends them at once.
HEADER_TIMEOUT_S = 15.0
#: Seconds an idle keep-alive connection stays open between requests.
KEEP_ALIVE_S = 5

log = logging.getLogger("nwbscope.serving")

REQUEST_TIMEOUT = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\n"
                   b"content-length: 38\r\nconnection: close\r\n\r\n"
                   b"The request headers took too long.\r\n\r\n")


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers do not arrive
    within ``header_timeout`` seconds (uvicorn itself waits for ever)."""

    header_timeout = HEADER_TIMEOUT_S
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # a request's headers are in (or an error)
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm()  # waiting for the next request on this connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        log.warning("closing a connection from %s: no complete request headers within %.0f s",
                    self.client, self.header_timeout)
        self.transport.write(REQUEST_TIMEOUT)
        self.transport.close()


def uvicorn_server(app: ASGIApp, settings: Settings, *, log_level: str = "warning",
                   header_timeout: float = HEADER_TIMEOUT_S) -> uvicorn.Server:
    """A uvicorn server for ``app`` on ``settings.host:port``, behind the ``Host`` check."""
    protocol = type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,),
                    {"header_timeout": header_timeout})
    config = uvicorn.Config(
        HostCheck(app, settings), host=settings.host, port=settings.port,
        log_level=log_level, lifespan="on",
        http=protocol, h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    return uvicorn.Server(config)


def serve(app: ASGIApp, settings: Settings, *, log_level: str = "warning") -> None:
    """Run ``app`` until the process is told to stop (SIGINT/SIGTERM), as ``uvicorn.run``."""
    server = uvicorn_server(app, settings, log_level=log_level)
    server.run()
    if not server.started:
        raise SystemExit(3)  # uvicorn.run's exit when the start failed (it logged why)
