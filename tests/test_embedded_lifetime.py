"""The embedded worker lives and dies with its server, and is never doubled (#11 item 9).

A real ``nwbscope serve`` (with its embedded worker) killed with SIGKILL: nothing can run
at its exit, so the worker and its job host must notice by themselves. A restart on the same
data directory then runs exactly one embedded worker, and a worker started by hand on that
work directory refuses to run beside it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.services import NwbscopeServer, processes_mentioning


class ServerWithWorker(NwbscopeServer):
    """``nwbscope serve`` as a user starts it: with its embedded worker."""

    def _command(self) -> list[str]:
        return [arg for arg in super()._command() if arg != "--no-worker"]


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"  # a zombie has ended


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def workers_on(work_dir: Path) -> list[int]:
    """Live worker daemons whose command line names ``work_dir``."""
    pids = []
    for pid in processes_mentioning(f"--work-dir {work_dir} "):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"server_worker.worker" in cmdline and alive(pid):
            pids.append(pid)
    return pids


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def registered(server: NwbscopeServer) -> bool:
    answer = httpx.get(f"{server.url}/api/processors", timeout=10,
                       headers={"Authorization": f"Bearer {server.token}"})
    return answer.status_code == 200 and bool(answer.json()["processors"])


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>site</title>")
    return site


def test_embedded_worker_dies_with_a_killed_server_and_is_never_doubled(
    tmp_path: Path, site: Path
) -> None:
    work_dir = tmp_path / "srv" / "data" / "worker"
    server = ServerWithWorker(tmp_path / "srv", site=site).start()
    try:
        wait_until(lambda: registered(server), 90, "the embedded worker never registered")
        [worker] = workers_on(work_dir)
        hosts = children(worker)
        assert hosts, "the embedded worker runs no job host"

        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)  # the server only, not its group
        server.process.wait()
        wait_until(lambda: not any(alive(pid) for pid in [worker, *hosts]), 30,
                   "the embedded worker (or its job host) outlived its killed server")

        server = ServerWithWorker(tmp_path / "srv", site=site).start()
        wait_until(lambda: registered(server), 90, "the restarted server's worker never came")
        assert len(workers_on(work_dir)) == 1

        # a second worker on the same work directory refuses, saying why
        token = json.loads((work_dir.parent / "tokens.json").read_text())["worker_token"]
        second = subprocess.run(
            [sys.executable, "-m", "server_worker.worker", "--broker", server.url,
             "--token", token, "--work-dir", str(work_dir)],
            capture_output=True, text=True, timeout=60,
        )
        assert second.returncode != 0
        assert "another worker" in second.stderr and str(work_dir) in second.stderr
        assert len(workers_on(work_dir)) == 1
    finally:
        server.stop()
        for pid in workers_on(work_dir):  # what a failure left running
            os.kill(pid, signal.SIGKILL)
