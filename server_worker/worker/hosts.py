"""``HostExecutor``: jobs run in long-lived child processes that stay warm between jobs.

Each host (``jobs.host``) runs one job at a time; the daemon hands it a job folder on its
stdin and learns the exit code from its stdout. A cancel kills the whole host (its process
group) and a host that crashed or reached ``max_jobs`` is replaced, so a job can never hurt
the daemon and leaks cannot pile up. One host is started ahead (``start``) so that it has
imported, and with ``warm_dir`` warmed up, before the first job arrives.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from ..jobs.folder import JobFolder
from ..processors.base import Resources
from .executors import (
    DEFAULT_RESOURCES,
    Executor,
    ExecutorOptions,
    GroupKiller,
    JobHandle,
    child_env,
)


class Host:
    def __init__(self, process: subprocess.Popen[str], grace_seconds: float) -> None:
        self.process = process
        self.killer = GroupKiller(process, grace_seconds)  # type: ignore[arg-type]
        self.ready = threading.Event()
        self.current: HostHandle | None = None
        self.jobs_run = 0
        self.retired = False
        self.reader = threading.Thread(target=self._read, name="host-reader", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout or ():
            word, _, value = line.strip().partition(" ")
            if word == "ready":
                self.ready.set()
            elif word == "done" and self.current is not None:
                handle, self.current = self.current, None
                self.jobs_run += 1
                handle.code = int(value)

    def alive(self) -> bool:
        return self.process.poll() is None and not self.retired

    def run(self, handle: HostHandle, folder: JobFolder) -> None:
        self.current = handle
        if self.process.stdin is not None:
            self.process.stdin.write(f"{folder.path}\n")
            self.process.stdin.flush()

    def stop(self, timeout: float = 5.0) -> None:
        """End the host (closing its stdin ends its loop; killed if it does not) and its
        pipes."""
        self.retired = True
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            self.killer.kill()
            self.process.wait()
        self.killer.done()
        self.reader.join(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()


class HostHandle(JobHandle):
    def __init__(self, host: Host) -> None:
        self.host = host
        self.code: int | None = None

    def poll(self) -> int | None:
        if self.code is not None:
            return self.code
        died = self.host.process.poll()
        if died is None:
            return None
        self.host.reader.join(1.0)  # an answer written just before dying still counts
        if self.code is not None:
            return self.code
        self.host.killer.done()
        return died if died != 0 else 1

    def cancel(self) -> None:
        self.host.retired = True
        self.host.killer.kill()


class HostExecutor(Executor):
    name = "host"

    def __init__(self, numba_cache: Path | None, log_file: Path, *, warm_dir: Path | None = None,
                 max_jobs: int = 10, grace_seconds: float = 5.0) -> None:
        self.numba_cache = numba_cache
        self.log_file = log_file
        self.warm_dir = warm_dir
        self.max_jobs = max_jobs
        self.grace_seconds = grace_seconds
        self.hosts: list[Host] = []

    @classmethod
    def from_options(cls, options: ExecutorOptions) -> Executor:
        return cls(options.numba_cache, options.work_dir / "hosts.log",
                   warm_dir=options.work_dir / "warm-up" if options.warm_up else None)

    def _spawn(self) -> Host:
        command = [sys.executable, "-m", "server_worker.jobs.host"]
        if self.warm_dir is not None:
            command += ["--warm-up", str(self.warm_dir)]
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                env=child_env(self.numba_cache), start_new_session=True,
            )
        host = Host(process, self.grace_seconds)
        self.hosts.append(host)
        return host

    def start(self) -> None:
        if not self.hosts:
            self._spawn()

    def submit(self, folder: JobFolder, resources: Resources = DEFAULT_RESOURCES) -> JobHandle:
        for host in list(self.hosts):
            if not host.alive() or (host.current is None and host.jobs_run >= self.max_jobs):
                self.hosts.remove(host)
                host.stop()
        host = next((h for h in self.hosts if h.current is None), None) or self._spawn()
        handle = HostHandle(host)
        host.run(handle, folder)
        return handle

    def close(self) -> None:
        for host in self.hosts:
            host.stop()
        self.hosts.clear()
