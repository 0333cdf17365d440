"""How long a worker lives: one per work directory, and (embedded) no longer than its server.

``WorkDirLock`` holds an exclusive ``flock`` on ``<work_dir>/worker.lock`` while a daemon
runs: two daemons on one work directory would take each other's job folders and cache
entries. The kernel drops the lock when the holder dies, however it dies, so a lock is never
left stale by a crash.

``follow_parent`` ends a worker whose parent (the ``nwbscope serve`` that embedded it) is
gone, even when the parent was killed with SIGKILL and could run no shutdown code: Linux
signals it at once (``PR_SET_PDEATHSIG``), and a thread polling ``os.getppid()`` covers other
systems and a parent thread that ended. Its job processes then end too: they watch their own
parent (``jobs.runner.watch_parent``), and the daemon cancels them as it stops.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("nwbscope.worker")
LOCK_NAME = "worker.lock"
_PR_SET_PDEATHSIG = 1


class WorkDirBusy(RuntimeError):
    """Another worker runs on this work directory."""


class WorkDirLock:
    def __init__(self, work_dir: Path) -> None:
        self.path = Path(work_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self, wait_seconds: float = 0.0) -> WorkDirLock:
        """Take the lock, waiting up to ``wait_seconds`` for a previous worker to end (an
        embedded worker restarted with its server); WorkDirBusy if it does not."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_pid(fd)
                    os.close(fd)
                    raise WorkDirBusy(
                        f"another worker{f' (pid {holder})' if holder else ''} is running on "
                        f"the work directory {self.path.parent}; stop it, or give this one "
                        "its own --work-dir"
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or 0) or None
    except (OSError, ValueError):
        return None


def follow_parent(parent_pid: int, stop: Callable[[], None], *, poll_seconds: float = 0.5,
                  grace_seconds: float = 30.0) -> None:
    """Call ``stop`` once ``parent_pid`` is no longer this process's parent; if the process
    is still alive ``grace_seconds`` later, exit it outright."""
    if sys.platform.startswith("linux"):
        try:  # SIGTERM, which the daemon handles as a stop, when the parent dies
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_seconds)
        log.warning("the server that started this worker (pid %d) is gone; stopping",
                    parent_pid)
        stop()
        time.sleep(grace_seconds)
        log.error("still running %.0f s after the server died; exiting", grace_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
