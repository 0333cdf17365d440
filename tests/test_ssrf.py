"""Job inputs may not reach into the server's network (issue #11, item 7), and are probed first.

- the URL policy on addresses: loopback, private, link-local, multicast, unspecified, IPv6,
  IPv4-mapped IPv6, 6to4, decimal and hex spellings of 127.0.0.1, other schemes; each redirect
  hop is checked (urllib for the broker, httpx for the worker) before it is sent;
- the broker (a real uvicorn server) refuses a private URL at submission with a 422 naming
  ``input`` without fetching it, still reads its own ``/files/demo.nwb`` with the default
  settings, and refuses an input over ``max_input_bytes``;
- the real worker daemon with default limits fails a job whose input is on a second local
  HTTP server, saying why, and fetches it with ``allow_private_urls``;
- a 50 MB input that is not HDF5 is refused after a few hundred bytes (counted by the test
  server), an over-size input before its download, and a download that runs past the limit
  although the server said it was small is stopped.
"""

from __future__ import annotations

import ipaddress
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from nwbscope.errors import SourceError
from nwbscope.sources.http import HttpSource
from server_worker.app import create_app
from server_worker.broker.local_server import LocalServer, free_port
from server_worker.inputs import InputTooLargeError, NotNwbInputError
from server_worker.jobs.folder import JobFolder
from server_worker.jobs.synthetic import write_ground_truth_nwb
from server_worker.processors.base import Resources
from server_worker.settings import Settings
from server_worker.url_policy import BlockedUrlError, UrlPolicy, why_private
from server_worker.worker.client import BrokerClient
from server_worker.worker.daemon import WorkerDaemon
from server_worker.worker.executors import DEFAULT_RESOURCES, Executor, JobHandle
from server_worker.worker.limits import WorkerLimits
from tests.range_server import RangeServer, serve

USER = "user-token-ssrf-0123456789"
WORKER = "worker-token-ssrf-0123456789"
U = {"Authorization": f"Bearer {USER}"}
SERVER = UrlPolicy.for_server(Settings(data_dir=Path("/nonexistent"), port=8000))


# ---- the policy ----------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "reason"), [
    ("http://127.0.0.1:8080/x.nwb", "a loopback address"),
    ("http://2130706433/x.nwb", "a loopback address"),  # 127.0.0.1 as one decimal number
    ("http://0x7f000001/x.nwb", "a loopback address"),
    ("http://127.1/x.nwb", "a loopback address"),
    ("http://localhost:9999/x.nwb", "a loopback address"),
    ("http://[::1]/x.nwb", "a loopback address"),
    ("http://[::ffff:127.0.0.1]/x.nwb", "a loopback address"),  # IPv4-mapped IPv6
    ("http://[::ffff:10.0.0.1]/x.nwb", "a private address"),
    ("http://[2002:7f00:1::]/x.nwb", "a loopback address"),  # 6to4 of 127.0.0.1
    ("http://0.0.0.0/x.nwb", "an unspecified address"),
    ("http://[::]/x.nwb", "an unspecified address"),
    ("http://169.254.169.254/latest/meta-data", "a link-local address"),  # cloud metadata
    ("http://[fe80::1]/x.nwb", "a link-local address"),
    ("http://10.1.2.3/x.nwb", "a private address"),
    ("http://172.16.0.1/x.nwb", "a private address"),
    ("https://192.168.1.10/x.nwb", "a private address"),
    ("http://[fd00::1]/x.nwb", "a private address"),
    ("http://224.0.0.1/x.nwb", "a multicast address"),
    ("http://[ff02::1]/x.nwb", "a multicast address"),
    ("http://100.64.0.1/x.nwb", "not a public address"),  # carrier-grade NAT
    ("http://127.0.0.1:8000/api/jobs", "a loopback address"),  # own origin, not its files
    ("http://127.0.0.1:8000/files/../api/jobs", "a loopback address"),
    ("http://127.0.0.1:8000/files/%2e%2e/api/jobs", "a loopback address"),
    ("http://127.0.0.1:8001/files/demo.nwb", "a loopback address"),  # another port
])
def test_private_addresses_are_refused_saying_why(url: str, reason: str) -> None:
    with pytest.raises(BlockedUrlError) as caught:
        SERVER.check(url)
    message = str(caught.value)
    assert reason in message and "--allow-private-urls" in message, message
    UrlPolicy.for_server(Settings(data_dir=Path("/x"), allow_private_urls=True)).check(url)


@pytest.mark.parametrize("url", ["ftp://example.org/x.nwb", "file:///etc/passwd",
                                 "gopher://127.0.0.1:6379/_INFO", "http:///x.nwb"])
def test_other_schemes_and_no_host_are_refused_even_when_private_is_allowed(url: str) -> None:
    for allow in (False, True):
        with pytest.raises(BlockedUrlError):
            UrlPolicy(allow_private=allow).check(url)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/files/demo.nwb", "http://localhost:8000/files/demo.nwb",
    "http://[::1]:8000/api/store/" + "a" * 64, "http://8.8.8.8/x.nwb",
    "https://[2606:4700:4700::1111]/x.nwb",
])
def test_own_files_and_public_addresses_pass(url: str) -> None:
    SERVER.check(url)  # literal addresses: no DNS needed


def test_the_worker_allows_its_brokers_files_only() -> None:
    policy = UrlPolicy.for_worker(False, "http://127.0.0.1:8123/")
    policy.check("http://127.0.0.1:8123/files/demo.nwb")
    policy.check("http://localhost:8123/api/store/" + "b" * 64)
    for url in ("http://127.0.0.1:8123/api/workers", "http://127.0.0.1:8124/files/demo.nwb"):
        with pytest.raises(BlockedUrlError, match="start the worker with --allow-private"):
            policy.check(url)


def test_serve_has_allow_private_urls(tmp_path: Path) -> None:
    from server_worker.cli import build_parser
    from server_worker.commands import settings_from_args

    for argv, allowed in (([], False), (["--allow-private-urls"], True)):
        args = build_parser().parse_args(["serve", "--data-dir", str(tmp_path), *argv])
        assert settings_from_args(args).allow_private_urls is allowed


def test_unresolvable_hosts_are_a_source_error() -> None:
    with pytest.raises(SourceError, match="Could not resolve"):
        SERVER.check("http://no-such-host.invalid/x.nwb")


def test_why_private_on_addresses() -> None:
    assert why_private(ipaddress.ip_address("93.184.216.34")) == ""
    assert why_private(ipaddress.ip_address("::ffff:169.254.1.1")) == "a link-local address"
    assert why_private(ipaddress.ip_address("240.0.0.1")) != ""  # reserved


@pytest.fixture
def files(tmp_path: Path) -> Iterator[RangeServer]:
    """A second local HTTP server (Range support, ``/redirect/<name>``, a request log)."""
    (tmp_path / "served").mkdir()
    with serve(tmp_path / "served") as server:
        yield server


def test_each_redirect_hop_is_checked_before_it_is_sent(files: RangeServer) -> None:
    """A first hop the policy allows redirects to 127.0.0.1: refused before the second GET,
    by the broker's urllib reader and the worker's httpx download alike."""
    (files.root / "secret.nwb").write_bytes(b"\x89HDF\r\n\x1a\n" + b"x" * 100)
    policy = UrlPolicy(own_origins=frozenset({("http", "127.0.0.1", files.port)}),
                       own_paths=("/redirect/",))
    url = files.url("redirect/secret.nwb")
    with pytest.raises(BlockedUrlError, match="loopback"):
        HttpSource(url, opener=policy.opener()).read_range(0, 8)
    with pytest.raises(BlockedUrlError, match="loopback"), httpx.Client(
            follow_redirects=True, event_hooks={"request": [policy.httpx_hook()]}) as http:
        http.get(url)
    assert [entry[1] for entry in files.log] == ["/redirect/secret.nwb"] * 2
    with pytest.raises(BlockedUrlError):  # a plain urllib opener checks each request too
        policy.opener().open(urllib.request.Request(url), timeout=10)


# ---- the broker, at submission --------------------------------------------------------------

def tiny_nwb(path: Path) -> Path:
    return write_ground_truth_nwb(path, num_channels=4, num_units=2, duration_s=1.0,
                                  seed=7).path


class Broker:
    """A real broker (uvicorn on a free port) with a tiny NWB as its demo file, and a worker
    registered through the API so that submissions name a known processor."""

    def __init__(self, root: Path, capabilities: dict[str, Any], **settings: Any) -> None:
        port = free_port()
        root.mkdir(parents=True)
        self.demo = tiny_nwb(root / "demo.nwb")
        self.settings = Settings(data_dir=root / "data", user_token=USER, worker_token=WORKER,
                                 port=port, embedded_worker=False, demo_file=self.demo,
                                 extra={"lease_seconds": 30, "heartbeat_seconds": 0.2},
                                 **settings).with_tokens()
        self.server = LocalServer(create_app(self.settings), port).start()
        self.url = self.server.url
        self.http = httpx.Client(base_url=self.url, timeout=60, headers=U)
        self.capabilities = capabilities

    def register(self) -> None:
        answer = self.http.post("/api/workers/register",
                                headers={"Authorization": f"Bearer {WORKER}"},
                                json={"name": "probe", "capabilities": self.capabilities})
        assert answer.status_code == 200, answer.text

    def submit(self, uri: str) -> httpx.Response:
        return self.http.post("/api/jobs", json={"processor": "spykingcircus2", "input": uri,
                                                 "force": True})

    def job(self, job_id: str) -> dict[str, Any]:
        answer = self.http.get(f"/api/jobs/{job_id}")
        answer.raise_for_status()
        return answer.json()

    def close(self) -> None:
        self.http.close()
        self.server.stop()


@pytest.fixture
def broker_factory(tmp_path: Path, capabilities: dict) -> Iterator[Any]:
    made: list[Broker] = []

    def make(**settings: Any) -> Broker:
        broker = Broker(tmp_path / f"broker{len(made)}", capabilities, **settings)
        made.append(broker)
        return broker

    yield make
    for broker in made:
        broker.close()


def test_the_broker_refuses_a_private_url_at_submission(broker_factory: Any,
                                                        files: RangeServer) -> None:
    tiny_nwb(files.root / "tiny.nwb")
    broker = broker_factory()
    broker.register()
    for url in (files.url("tiny.nwb"), f"http://2130706433:{files.port}/tiny.nwb"):
        answer = broker.submit(url)
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"]
        assert detail["field"] == "input"
        assert "loopback address" in detail["message"], detail
        assert "--allow-private-urls" in detail["message"], detail
    assert files.log == []  # not one request reached the other service

    own = broker.submit(f"{broker.url}/files/demo.nwb")  # its own files: always
    assert own.status_code == 201, own.text
    assert own.json()["recording"]["electrical_series_path"] == "acquisition/ElectricalSeries"

    allowed = broker_factory(allow_private_urls=True)  # the local test setup's setting
    allowed.register()
    answer = allowed.submit(files.url("tiny.nwb"))
    assert answer.status_code == 201, answer.text


def test_the_broker_refuses_an_input_over_max_input_bytes(broker_factory: Any,
                                                           files: RangeServer) -> None:
    size = tiny_nwb(files.root / "tiny.nwb").stat().st_size
    broker = broker_factory(allow_private_urls=True, max_input_bytes=size - 1)
    broker.register()
    answer = broker.submit(files.url("tiny.nwb"))
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail["field"] == "input"
    assert f"({size} bytes)" in detail["message"] and f"({size - 1} bytes)" in detail["message"]
    assert "max_input_bytes" in detail["message"]
    assert sum(entry[4] for entry in files.log) < 1024, files.log


# ---- the worker -----------------------------------------------------------------------------

class _Done(JobHandle):
    def poll(self) -> int | None:
        return 1

    def cancel(self) -> None:
        return None


class Recorder(Executor):
    """Runs nothing: keeps the input each job was started with (its fetch succeeded)."""

    name = "recorder"

    def __init__(self) -> None:
        self.inputs: dict[str, bytes] = {}

    def submit(self, folder: JobFolder, resources: Resources = DEFAULT_RESOURCES) -> JobHandle:
        self.inputs[folder.path.name] = folder.input_file.read_bytes()
        return _Done()


def run_daemon(broker: Broker, work_dir: Path, limits: WorkerLimits, capabilities: dict
               ) -> tuple[WorkerDaemon, Recorder, threading.Thread]:
    recorder = Recorder()
    daemon = WorkerDaemon(broker.url, WORKER, work_dir, executor=recorder, poll_seconds=0.1,
                          limits=limits)
    daemon._capabilities = capabilities  # the real ones, detected once for the session
    thread = threading.Thread(target=daemon.run_forever, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while daemon.worker_id is None:  # registered: its processors are known to the broker
        assert thread.is_alive() and time.monotonic() < deadline, "the worker did not register"
        time.sleep(0.05)
    return daemon, recorder, thread


def wait_final(broker: Broker, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (job := broker.job(job_id))["status"] not in ("completed", "failed", "cancelled"):
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    return job


def test_a_worker_with_default_limits_refuses_another_local_server(
        broker_factory: Any, files: RangeServer, tmp_path: Path, capabilities: dict) -> None:
    tiny = tiny_nwb(files.root / "tiny.nwb")
    broker = broker_factory(allow_private_urls=True)  # the broker lets it through; the worker
    daemon, recorder, thread = run_daemon(broker, tmp_path / "w1", WorkerLimits(), capabilities)
    try:
        refused = broker.submit(files.url("tiny.nwb")).json()
        files.log.clear()  # the broker's own check read it (allowed there)
        own = broker.submit(f"{broker.url}/files/demo.nwb").json()  # its broker's files: yes
        job = wait_final(broker, refused["id"])
        assert job["status"] == "failed"
        assert "Could not fetch the input" in job["error"], job["error"]
        assert "loopback address" in job["error"] and "start the worker with " \
               "--allow-private-urls" in job["error"], job["error"]
        assert files.log == []
        wait_final(broker, own["id"])
        assert recorder.inputs == {own["id"]: broker.demo.read_bytes()}
    finally:
        daemon.stop()
        thread.join(30)

    daemon, recorder, thread = run_daemon(broker, tmp_path / "w2",
                                          WorkerLimits(allow_private_urls=True), capabilities)
    try:
        allowed = broker.submit(files.url("tiny.nwb")).json()
        job = wait_final(broker, allowed["id"])
        assert "exit code 1" in (job["error"] or ""), job  # fetched, then run (by the stub)
        assert recorder.inputs == {allowed["id"]: tiny.read_bytes()}
    finally:
        daemon.stop()
        thread.join(30)


PRIVATE_OK = WorkerLimits(allow_private_urls=True)


def fetch(url: str, tmp_path: Path, limits: WorkerLimits = PRIVATE_OK) -> Path:
    client = BrokerClient("http://127.0.0.1:9", "unused")  # no broker: a URL input
    dest = tmp_path / "job" / "input.nwb"
    try:
        client.fetch_input(url, dest, tmp_path / "cache", limits=limits)
    finally:
        client.close()
    return dest


def test_a_50_mb_input_that_is_not_hdf5_is_refused_after_a_few_kb(
        files: RangeServer, tmp_path: Path) -> None:
    big = files.root / "page.nwb"
    with open(big, "wb") as f:
        f.write(b"<!DOCTYPE html><html><body>Sign in to continue</body></html>\n")
        f.truncate(50 << 20)
    with pytest.raises(NotNwbInputError) as caught:
        fetch(files.url("page.nwb"), tmp_path)
    message = str(caught.value)
    assert message.startswith("input page.nwb is not an HDF5/NWB file (starts with b'<!DOCTYPE")
    assert "HTML page" in message
    served = sum(entry[4] for entry in files.log)
    assert served < 4096, (served, files.log)
    assert not (tmp_path / "job" / "input.nwb").exists()


def test_an_input_over_max_input_bytes_is_refused_before_download(
        files: RangeServer, tmp_path: Path) -> None:
    size = tiny_nwb(files.root / "tiny.nwb").stat().st_size
    limits = WorkerLimits(allow_private_urls=True, max_input_bytes=size // 2)
    with pytest.raises(InputTooLargeError) as caught:
        fetch(files.url("tiny.nwb"), tmp_path, limits)
    message = str(caught.value)
    assert f"({size} bytes)" in message and f"({size // 2} bytes)" in message, message
    assert sum(entry[4] for entry in files.log) < 1024, files.log
    assert fetch(files.url("tiny.nwb"), tmp_path / "ok").read_bytes() == (
        files.root / "tiny.nwb").read_bytes()  # the default limit lets it through


class _Liar(BaseHTTPRequestHandler):
    """Says the file has 100 bytes (Content-Range) but sends 5 MB to a plain GET, chunked."""

    sent: list[int] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        head = b"\x89HDF\r\n\x1a\n" + b"\0" * 56
        if self.headers.get("Range"):
            self.send_response(206)
            self.send_header("Content-Range", "bytes 0-63/100")
            self.send_header("Content-Length", "64")
            self.end_headers()
            self.wfile.write(head)
            return
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for i in range(80):
                block = head + b"\0" * ((64 << 10) - 64) if i == 0 else b"\0" * (64 << 10)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                self.sent.append(len(block))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the client hung up: what the test wants


def test_a_download_past_the_limit_is_stopped_though_the_server_said_less(
        tmp_path: Path) -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Liar)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/small.nwb"
        with pytest.raises(InputTooLargeError, match="ran past the limit"):
            fetch(url, tmp_path, WorkerLimits(allow_private_urls=True, max_input_bytes=1 << 20))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert not (tmp_path / "job" / "input.nwb").exists()
    assert list((tmp_path / "job").iterdir()) == []  # no partial file left
