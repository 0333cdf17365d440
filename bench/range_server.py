"""A loopback HTTP file server for benchmarks: Range, CORS, an added delay, and counters.

Loopback hides latency, so every request to a file can be held back by ``--delay-ms`` before
it is answered (30 ms is a near cloud region). The server counts what it serves, so browser
figures are measured at the server as well as by the page's own counters:

    GET  /__stats   -> {"requests", "range_requests", "full_gets", "head", "options",
                        "bytes", "by_path": {...}}   (not counted, never delayed)
    POST /__reset   -> zero the counters
    POST /__delay?ms=30 -> change the delay without a restart

Files are served from ``--root``. Answers carry ``Access-Control-Allow-Origin: *``, expose
``Content-Range``/``Content-Length``/``ETag`` and allow the ``Range`` header (preflights are
answered and counted apart), plus ``Cross-Origin-Resource-Policy: cross-origin`` so a page
with cross-origin isolation may read them. Only single ranges are supported (``bytes=a-b``,
``bytes=a-``, ``bytes=-n``); anything else gets the whole file, as HTTP allows.

    python3 bench/range_server.py --root bench/data --port 8123 --delay-ms 30
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import closing
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_COPY_BLOCK = 1 << 20


@dataclass
class Counters:
    """What the server sent; one lock, because the server answers on many threads."""

    requests: int = 0
    range_requests: int = 0
    full_gets: int = 0
    head: int = 0
    not_modified: int = 0  # 304s: a cached copy was revalidated
    options: int = 0
    bytes: int = 0
    by_path: dict[str, dict[str, int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, path: str, kind: str, nbytes: int) -> None:
        with self.lock:
            if kind == "options":
                self.options += 1
            else:
                self.requests += 1
                if kind == "range":
                    self.range_requests += 1
                elif kind == "full":
                    self.full_gets += 1
                elif kind == "head":
                    self.head += 1
                elif kind == "not_modified":
                    self.not_modified += 1
                self.bytes += nbytes
            entry = self.by_path.setdefault(path, {"requests": 0, "bytes": 0, "options": 0})
            if kind == "options":
                entry["options"] += 1
            else:
                entry["requests"] += 1
                entry["bytes"] += nbytes

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "requests": self.requests, "range_requests": self.range_requests,
                "full_gets": self.full_gets, "head": self.head, "options": self.options,
                "not_modified": self.not_modified,
                "bytes": self.bytes, "by_path": {k: dict(v) for k, v in self.by_path.items()},
            }

    def reset(self) -> None:
        with self.lock:
            self.requests = self.range_requests = self.full_gets = 0
            self.head = self.options = self.bytes = self.not_modified = 0
            self.by_path = {}


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """``(start, stop)`` for one satisfiable range; ``None``: send it all; "416": unsatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match:
        return None  # multi-range or junk: serve the whole file (allowed by RFC 9110)
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        n = int(last)
        if n == 0:
            return "416"
        return max(0, size - n), size
    start = int(first)
    stop = size if last == "" else min(int(last) + 1, size)
    if start >= size or stop <= start:
        return "416"
    return start, stop


class Handler(BaseHTTPRequestHandler):
    """Serves ``server.root``; every counted request waits ``server.delay_s`` first."""

    protocol_version = "HTTP/1.1"  # keep-alive, as browsers and real servers do
    # Headers and body go out in separate writes: with Nagle's algorithm on, a keep-alive
    # client's delayed ACK would add ~40 ms to every response and pass for network latency.
    disable_nagle_algorithm = True
    server: BenchServer

    def log_message(self, fmt: str, *args) -> None:  # quiet: benchmarks print their own
        if self.server.verbose:
            super().log_message(fmt, *args)

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers",
                         "Content-Range, Content-Length, ETag, Accept-Ranges")
        self.send_header("Cross-Origin-Resource-Policy", "cross-origin")
        self.send_header("Timing-Allow-Origin", "*")

    def _send_json(self, payload: dict, status: int = 200) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self._cors()
        self.end_headers()
        self.wfile.write(body)

    def _resolve(self) -> tuple[str, Path | None]:
        rel = unquote(urlsplit(self.path).path)
        target = (self.server.root / rel.lstrip("/")).resolve()
        if target.is_dir():
            target = target / "index.html"
        if self.server.root not in target.parents and target != self.server.root:
            return rel, None
        return rel, target if target.is_file() else None

    def do_OPTIONS(self) -> None:  # noqa: N802 - http.server's naming
        rel = urlsplit(self.path).path
        self._delay()
        self.server.counters.add(rel, "options", 0)
        self.send_response(204)
        self._cors()
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Range, If-Range, Cache-Control")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if url.path == "/__reset":
            self.server.counters.reset()
            self._send_json({"ok": True})
        elif url.path == "/__delay":
            ms = float(parse_qs(url.query).get("ms", ["0"])[0])
            self.server.delay_s = ms / 1000.0
            self._send_json({"delay_ms": ms})
        else:
            self._send_json({"error": "not found"}, 404)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head=True)

    def do_GET(self) -> None:  # noqa: N802
        if urlsplit(self.path).path == "/__stats":
            self._send_json({**self.server.counters.snapshot(),
                             "delay_ms": self.server.delay_s * 1000.0})
            return
        self._serve(head=False)

    def _delay(self) -> None:
        if self.server.delay_s > 0:
            time.sleep(self.server.delay_s)

    def _serve(self, head: bool) -> None:
        rel, target = self._resolve()
        self._delay()
        if target is None:
            self.server.counters.add(rel, "head" if head else "full", 0)
            self._send_json({"error": f"{rel} not found"}, 404)
            return
        stat = target.stat()
        size = stat.st_size
        etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
        if not head and self.headers.get("If-None-Match") == etag:  # a cached copy stands
            self.server.counters.add(rel, "not_modified", 0)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Cache-Control", "no-cache")
            self._cors()
            self.end_headers()
            return
        wanted = parse_range(self.headers.get("Range"), size)
        if wanted == "416":
            self.server.counters.add(rel, "range", 0)
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self._cors()
            self.end_headers()
            return
        start, stop = wanted if isinstance(wanted, tuple) else (0, size)
        self.send_response(206 if isinstance(wanted, tuple) else 200)
        if isinstance(wanted, tuple):
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{size}")
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.suffix in (".mjs", ".js"):
            ctype = "text/javascript"
        elif target.suffix == ".wasm":
            ctype = "application/wasm"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(stop - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Cache-Control", "no-cache")
        self._cors()
        self.end_headers()
        kind = "head" if head else ("range" if isinstance(wanted, tuple) else "full")
        if head:
            self.server.counters.add(rel, kind, 0)
            return
        sent = 0
        try:
            with target.open("rb") as fh:
                fh.seek(start)
                while sent < stop - start:
                    block = fh.read(min(_COPY_BLOCK, stop - start - sent))
                    if not block:
                        break
                    self.wfile.write(block)
                    sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # a client that aborts a plain GET, counted as sent
        finally:
            self.server.counters.add(rel, kind, sent)


class BenchServer(ThreadingHTTPServer):
    """The server object: root folder, delay and counters live here for the handlers."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, root: Path, port: int = 0, delay_ms: float = 0.0,
                 verbose: bool = False) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.root = Path(root).resolve()
        self.delay_s = delay_ms / 1000.0
        self.counters = Counters()
        self.verbose = verbose

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, rel: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{rel.lstrip('/')}"


def start_in_thread(root: Path, port: int = 0, delay_ms: float = 0.0) -> BenchServer:
    """A server running in a daemon thread of this process (``shutdown()`` to stop it)."""
    server = BenchServer(root, port, delay_ms)
    threading.Thread(target=server.serve_forever, name="range-server", daemon=True).start()
    return server


class ServerProcess:
    """This server in a child process (so its work never competes with the measured client
    for one interpreter lock), with helpers to read and reset its counters over HTTP."""

    def __init__(self, root: Path, delay_ms: float = 0.0) -> None:
        self.root = Path(root)
        self.delay_ms = delay_ms
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> ServerProcess:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--root", str(self.root),
               "--port", str(self.port), "--delay-ms", str(self.delay_ms)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.stats()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError("the range server did not start") from None
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None

    def url(self, rel: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{rel.lstrip('/')}"

    def _call(self, method: str, rel: str) -> dict:
        req = urllib.request.Request(self.url(rel), method=method, data=b"" if method == "POST"
                                     else None)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict:
        return self._call("GET", "/__stats")

    def reset(self) -> None:
        self._call("POST", "/__reset")

    def set_delay(self, ms: float) -> None:
        self._call("POST", f"/__delay?ms={ms:g}")
        self.delay_ms = ms


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).parent / "data"))
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    server = BenchServer(Path(args.root), args.port, args.delay_ms, args.verbose)
    print(f"serving {server.root} at {server.url()} (delay {args.delay_ms:g} ms)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
