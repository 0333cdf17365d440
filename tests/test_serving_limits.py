"""Hostile clients against a real ``nwbscope serve``: the server keeps answering.

Raw sockets, because the point is what a client that does not follow the rules can do:
declare a 1 GB body without a token, send a 100 MB header, trickle a header byte by byte,
send another ``Host``. Meanwhile ``/api/health`` must keep answering within 100 ms (the
issue's bar) and the server's memory must not follow the bodies.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server_worker.app import create_app
from server_worker.settings import Settings
from tests.services import NwbscopeServer, free_port

HEALTH_BAR_S = 0.1  # issue #11: health answers within 100 ms while hostile requests run
MB = 1 << 20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NwbscopeServer]:
    site = tmp_path_factory.mktemp("site")
    (site / "index.html").write_text("<!doctype html><title>fake nwbscope site</title>")
    with NwbscopeServer(tmp_path_factory.mktemp("serve"), site=site, token="limits-token",
                        extra_args=["--allowed-host", "nwb.lab.example"]) as s:
        yield s


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def read_status(sock: socket.socket, timeout: float) -> int | None:
    """The status code of the answer on ``sock``, or None when it closed without one."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            piece = sock.recv(4096)
            if not piece:
                break
            data += piece
    except OSError:
        pass
    return int(data.split()[1]) if data.startswith(b"HTTP/") else None


class HealthPoller(threading.Thread):
    """Asks ``/api/health`` every ~50 ms until stopped; keeps each answer's latency."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stop.is_set():
                start = time.perf_counter()
                try:
                    ok = client.get(f"{self.url}/api/health").status_code == 200
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    ok = False
                self.latencies.append(time.perf_counter() - start)
                if not ok:
                    self.failures.append("not 200")
                self.stop.wait(0.05)

    def __enter__(self) -> HealthPoller:
        self.start()
        time.sleep(0.3)  # a few answers before the hostile clients start
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.3)  # and a few after
        self.stop.set()
        self.join(10)

    def check(self, what: str) -> None:
        worst = max(self.latencies)
        print(f"\n{what}: {len(self.latencies)} health answers, worst {worst * 1000:.1f} ms")
        assert not self.failures, self.failures[:3]
        assert len(self.latencies) >= 5
        assert worst < HEALTH_BAR_S, f"{what}: a health answer took {worst * 1000:.0f} ms"


# ---- 1 GB bodies without a token -------------------------------------------------------------

def unauthenticated_gigabyte_post(port: int, result: dict, give_up_after: int = 96 * MB) -> None:
    """Declare a 1 GB JSON body and stream it (generated, never held) until an answer comes;
    ``result`` gets the status and how many body bytes were sent before it."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {1 << 30}\r\n\r\n"
                     .encode())
        chunk, sent = b" " * MB, 0
        while sent < give_up_after:
            if select.select([sock], [], [], 0.2 if sent == 0 else 0)[0]:
                break  # the answer is there
            try:
                sock.sendall(chunk)
            except OSError:
                break
            sent += len(chunk)
        result["sent_before_answer"] = sent
        result["status"] = read_status(sock, timeout=5)


def test_unauthenticated_gigabyte_posts_are_refused_before_their_bodies(
        server: NwbscopeServer) -> None:
    pid = server.process.pid
    before = peak = rss_bytes(pid)
    results: list[dict] = [{}, {}, {}]
    clients = [threading.Thread(target=unauthenticated_gigabyte_post, args=(server.port, r))
               for r in results]
    for t in clients:
        t.start()
    while any(t.is_alive() for t in clients):
        peak = max(peak, rss_bytes(pid))
        time.sleep(0.02)
    for t in clients:
        t.join()
    print(f"\nRSS {before / MB:.0f} MB -> peak {peak / MB:.0f} MB; {results}")
    for result in results:
        assert result["status"] == 401, result
        assert result["sent_before_answer"] < 8 * MB, result  # answered from the headers
    assert peak - before < 200 * MB


# ---- one huge header, slow headers ------------------------------------------------------------

def huge_header(port: int, result: dict, size: int = 100 * MB) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sent = 0
        try:
            sock.sendall(f"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Big: "
                         .encode())
            chunk = b"a" * MB
            while sent < size:
                sock.sendall(chunk)
                sent += len(chunk)
            sock.sendall(b"\r\n\r\n")
        except OSError:
            pass  # closed by the server: refused
        result["sent"] = sent
        result["status"] = read_status(sock, timeout=10)


def test_a_100_mb_header_is_refused_while_health_answers_fast(server: NwbscopeServer) -> None:
    result: dict = {}
    with HealthPoller(server.url) as poller:
        big = threading.Thread(target=huge_header, args=(server.port, result))
        big.start()
        big.join(60)
    print(f"\nhuge header: {result}")
    assert result["status"] in (400, 431, None), result
    assert result["status"] is not None or result["sent"] < 100 * MB, result
    poller.check("100 MB header")


def slow_header(port: int, stop: threading.Event, pause: float = 0.1) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        try:
            sock.sendall(f"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
            while not stop.is_set():
                sock.sendall(b"X")
                stop.wait(pause)
        except OSError:
            pass


def test_slow_header_clients_do_not_hold_up_others(server: NwbscopeServer) -> None:
    stop = threading.Event()
    slow = [threading.Thread(target=slow_header, args=(server.port, stop), daemon=True)
            for _ in range(50)]
    with HealthPoller(server.url) as poller:
        for t in slow:
            t.start()
        time.sleep(2.0)
        stop.set()
    for t in slow:
        t.join(5)
    poller.check("50 slow-header clients")


def test_a_connection_whose_headers_never_end_is_closed(tmp_path: Path) -> None:
    """The header timeout of every real server (shortened here): a slow client cannot hold
    a connection (and its memory) for ever."""
    from server_worker.serving import uvicorn_server

    settings = Settings(data_dir=tmp_path / "data", port=free_port(), user_token="t",
                        embedded_worker=False)
    server = uvicorn_server(create_app(settings, broker=False), settings, header_timeout=0.5)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", settings.port)) as sock:
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            start = time.monotonic()
            status = read_status(sock, timeout=5)
            waited = time.monotonic() - start
        assert status in (408, None)
        assert waited < 3, f"still open after {waited:.1f} s"
        with httpx.Client() as client:  # a complete request is unaffected
            assert client.get(f"http://127.0.0.1:{settings.port}/api/health").status_code == 200
    finally:
        server.should_exit = True
        thread.join(10)


# ---- Host ------------------------------------------------------------------------------------

def test_the_server_answers_only_to_its_own_host_names(server: NwbscopeServer) -> None:
    with httpx.Client(timeout=5) as client:
        for name in (f"127.0.0.1:{server.port}", f"localhost:{server.port}",
                     f"[::1]:{server.port}", "nwb.lab.example"):
            answer = client.get(f"{server.url}/api/health", headers={"Host": name})
            assert answer.status_code == 200, name
        answer = client.get(f"{server.url}/api/health", headers={"Host": "rebound.example"})
        assert answer.status_code == 421
        assert "--allowed-host" in answer.text
        assert client.get(f"{server.url}/", headers={"Host": "rebound.example"}
                          ).status_code == 421
