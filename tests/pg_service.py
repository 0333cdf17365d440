"""A throwaway PostgreSQL server for the test suite (Debian's ``postgresql`` package).

``PostgresServer`` runs ``initdb`` into a temporary folder and starts ``postgres`` on a free
port with its unix socket in that folder, trusting local connections; each test gets a fresh
database from ``new_database()``. ``initdb`` refuses to run as root, so under root the
cluster belongs to the ``postgres`` user (via ``runuser``). ``unavailable_reason()`` says why
the server cannot be started, for a clear skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def unavailable_reason() -> str | None:
    """None when a server can be started here, else why not."""
    if _bin_dir() is None:
        return "PostgreSQL is not installed (apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg 3 is not installed (pip install 'psycopg[binary]')"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to own the cluster"
        if shutil.which("runuser") is None:
            return "running as root without 'runuser' to drop to the postgres user"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        self.bin = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="nwbscope-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._as_root = os.geteuid() == 0

    def _command(self, *args: str) -> list[str]:
        if self._as_root:
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    def start(self) -> PostgresServer:
        if self._as_root:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            self._command(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                          "-A", "trust", "--no-sync", "-E", "UTF8"),
            check=True, capture_output=True,
        )
        with open(self.root / "postgres.log", "wb") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(
                self._command(str(self.bin / "postgres"), "-D", str(self.data),
                              "-p", str(self.port), "-k", str(self.root),
                              "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                              "-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
                stdout=log, stderr=subprocess.STDOUT,
            )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.admin_dsn(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline or (self.process and self.process.poll()):
                    text = (self.root / "postgres.log").read_text(errors="replace")
                    raise RuntimeError(f"PostgreSQL did not start:\n{text[-2000:]}") from None
                time.sleep(0.2)

    def admin_dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database; return its SQLAlchemy URL (psycopg 3)."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)  # fast shutdown
            except (ProcessLookupError, ValueError):
                pass
        if self.process is not None:
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
