"""The worker ``nwbscope serve`` starts beside the broker: a daemon in a child process.

It is a separate process on purpose: the broker process never imports a sorter, and a sorter
that exhausts memory takes down the worker, not the server. It reaches the broker over HTTP on
loopback like any other worker, with the worker token passed in its environment, and the
server's limits (``WorkerLimits.from_settings``) as options.

It lives no longer than its server, even one killed with SIGKILL (``--parent-pid``:
``lifetime.follow_parent``), and is never doubled: a restarted server's worker waits for the
previous one to let go of the work directory (``lifetime.WorkDirLock``) rather than run beside
it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..settings import Settings
from .executors import _import_roots
from .limits import WorkerLimits

#: Seconds a restarted server's worker waits for the previous one (which is stopping: its
#: server is gone) to release the work directory.
LOCK_WAIT_S = 60.0


def start_worker_process(
    broker_url: str,
    token: str,
    work_dir: Path,
    *,
    name: str = "worker",
    slots: int = 1,
    poll_seconds: float = 0.5,
    stdout: Any = None,
    numba_cache: Path | None = None,
    warm_up: bool = False,
    executor: str = "host",
    limits: WorkerLimits | None = None,
    die_with_parent: bool = False,
    lock_wait_seconds: float = 0.0,
) -> subprocess.Popen[bytes]:
    """``python -m server_worker.worker`` as a child process (the token in its environment).

    ``die_with_parent``: it stops when this process ends, however it ends.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["NWBSCOPE_WORKER_TOKEN"] = token
    env["PYTHONPATH"] = os.pathsep.join([*_import_roots(), *filter(None, [env.get("PYTHONPATH")])])
    command = [
        sys.executable, "-m", "server_worker.worker",
        "--broker", broker_url,
        "--work-dir", str(work_dir),
        "--slots", str(slots),
        "--name", name,
        "--poll", str(poll_seconds),
        "--executor", executor,
    ]
    if numba_cache is not None:
        command += ["--numba-cache", str(numba_cache)]
    if warm_up:
        command.append("--warm-up")
    limits = limits or WorkerLimits()
    command += ["--max-input-bytes", str(limits.max_input_bytes),
                "--input-cache-bytes", str(limits.input_cache_bytes),
                "--keep-failed-seconds", str(limits.keep_failed_seconds)]
    if limits.allow_private_urls:
        command.append("--allow-private-urls")
    if die_with_parent:
        command += ["--parent-pid", str(os.getpid())]
    if lock_wait_seconds:
        command += ["--lock-wait", str(lock_wait_seconds)]
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=subprocess.STDOUT if stdout is not None else None, env=env)


@dataclass
class EmbeddedWorker:
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, settings: Settings, slots: int = 1) -> EmbeddedWorker:
        return cls(start_worker_process(settings.base_url, settings.worker_token,
                                        settings.data_dir / "worker", name="embedded",
                                        slots=slots, limits=WorkerLimits.from_settings(settings),
                                        die_with_parent=True, lock_wait_seconds=LOCK_WAIT_S))

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
