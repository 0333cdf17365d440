"""A small HTTP file server for tests and benchmarks, with Range support that can be turned off.

Standard library only, run in a thread: ``with serve(folder) as server: server.url("a.nwb")``.
- ``GET`` with ``Range: bytes=a-b`` answers 206 with ``Content-Range`` (416 past the end);
  without ``Range`` (or with ``ranges=False``) it answers 200 with the whole file;
- ``/redirect/<name>`` answers 302 to ``/<name>``; a missing file is 404;
- ``delay`` seconds are slept before each answer (latency for benchmarks);
- ``max_range`` caps the bytes of one 206 answer (servers that send less than asked);
- ``server.log`` records ``(method, path, range header, status, bytes sent)`` per request.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


@dataclass
class RangeServer:
    root: Path
    ranges: bool = True
    delay: float = 0.0
    max_range: int | None = None  # answer at most this many bytes per request (like some CDNs)
    log: list[tuple[str, str, str | None, int, int]] = field(default_factory=list)
    port: int = 0

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


class _Handler(BaseHTTPRequestHandler):
    server_state: RangeServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass  # keep test output clean

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        state = self.server_state
        if state.delay:
            time.sleep(state.delay)
        path = self.path.split("?", 1)[0].lstrip("/")
        range_header = self.headers.get("Range")
        if path.startswith("redirect/"):
            self._finish(302, range_header, 0, {"Location": "/" + path[len("redirect/"):]})
            return
        file = (state.root / path).resolve()
        if not path or state.root.resolve() not in file.parents or not file.is_file():
            self._finish(404, range_header, 0)
            return
        size = file.stat().st_size
        match = _RANGE.match(range_header or "")
        if not state.ranges or match is None:
            body = file.read_bytes() if send_body else b""
            self._finish(200, range_header, size, body=body)
            return
        first, last = match.groups()
        if first == "":  # suffix range: the last N bytes
            start, stop = max(size - int(last or 0), 0), size
        else:
            start, stop = int(first), min(int(last) + 1 if last else size, size)
        if state.max_range is not None:
            stop = min(stop, start + state.max_range)
        if start >= size:
            self._finish(416, range_header, 0, {"Content-Range": f"bytes */{size}"})
            return
        headers = {"Content-Range": f"bytes {start}-{stop - 1}/{size}", "ETag": '"v1"'}
        body = b""
        if send_body:
            with open(file, "rb") as fh:
                fh.seek(start)
                body = fh.read(stop - start)
        self._finish(206, range_header, stop - start, headers, body)

    def _finish(
        self, status: int, range_header: str | None, length: int,
        headers: dict[str, str] | None = None, body: bytes = b"",
    ) -> None:
        self.server_state.log.append((self.command, self.path, range_header, status, len(body)))
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Accept-Ranges", "bytes" if self.server_state.ranges else "none")
        self.send_header("Content-Length", str(length if status in (200, 206) else 0))
        self.end_headers()
        if body:
            self.wfile.write(body)


@contextmanager
def serve(
    root: Path, *, ranges: bool = True, delay: float = 0.0, max_range: int | None = None
) -> Iterator[RangeServer]:
    """Serve ``root`` on 127.0.0.1 (a free port) until the block ends."""
    state = RangeServer(Path(root), ranges=ranges, delay=delay, max_range=max_range)
    handler = type("Handler", (_Handler,), {"server_state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
