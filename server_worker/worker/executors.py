"""Where a job's child process runs: one interface, local executors now, a cluster later.

``LocalExecutor`` starts a fresh process per job; ``hosts.HostExecutor`` (the default) hands
jobs to a long-lived child process that stays warm between jobs.

An executor turns a prepared job folder into a running ``JobHandle`` that can be polled and
cancelled. The command is always an argument list (``python -m server_worker.jobs.runner
<folder>``), never a shell string, and the job's parameters travel in ``job.json`` inside the
folder, never on a command line. A ``SlurmExecutor`` fits the same shape: ``submit`` writes a
batch script that runs the same command and calls ``sbatch --parsable`` (argument list),
``poll`` asks ``sacct`` for the state, ``cancel`` calls ``scancel``; the folder being on a
shared file system is all the daemon needs to read the log and the result.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from abc import ABC, abstractmethod
from pathlib import Path

from ..jobs.folder import JobFolder
from ..jobs.numba_cache import CACHE_ENV
from ..jobs.runner import DIE_WITH_PARENT_ENV


def runner_command(folder: JobFolder) -> list[str]:
    return [sys.executable, "-m", "server_worker.jobs.runner", str(folder.path)]


class JobHandle(ABC):
    """One job's process, wherever it runs."""

    @abstractmethod
    def poll(self) -> int | None:
        """The exit code once finished, None while running."""

    @abstractmethod
    def cancel(self) -> None:
        """Stop it (politely, then for sure); returns at once."""


class Executor(ABC):
    """Starts job folders as child processes."""

    name: str = "abstract"

    def start(self) -> None:
        """Prepare before the first job (e.g. warm up); returns at once."""
        return None

    @abstractmethod
    def submit(self, folder: JobFolder) -> JobHandle:
        """Start the runner on ``folder``; its console output goes to ``folder.log_file``."""

    def close(self) -> None:
        """Stop whatever the executor keeps running between jobs."""
        return None


class GroupKiller:
    """Stops a process started in its own session, with everything it started: SIGTERM to
    the group, then SIGKILL after a grace period if anything is left."""

    def __init__(self, process: subprocess.Popen[bytes], grace_seconds: float) -> None:
        self.process = process
        self.grace_seconds = grace_seconds
        self._kill_timer: threading.Timer | None = None

    def kill(self) -> None:
        self._signal(signal.SIGTERM)
        if self._kill_timer is None:
            self._kill_timer = threading.Timer(self.grace_seconds, self._signal, (signal.SIGKILL,))
            self._kill_timer.daemon = True
            self._kill_timer.start()

    def done(self) -> None:
        if self._kill_timer is not None:
            self._kill_timer.cancel()

    def _signal(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class LocalHandle(JobHandle):
    def __init__(self, process: subprocess.Popen[bytes], grace_seconds: float) -> None:
        self.process = process
        self.killer = GroupKiller(process, grace_seconds)

    def poll(self) -> int | None:
        code = self.process.poll()
        if code is not None:
            self.killer.done()
        return code

    def cancel(self) -> None:
        self.killer.kill()


def child_env(numba_cache: Path | None) -> dict[str, str]:
    """The environment of a job's process: importable code, the numba cache, no secrets, and
    the order to exit if the daemon dies (nobody would report its result)."""
    env = dict(os.environ)
    if numba_cache is not None:
        env[CACHE_ENV] = str(numba_cache)
    env[DIE_WITH_PARENT_ENV] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([*_import_roots(), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("NWBSCOPE_WORKER_TOKEN", None)  # the child needs no credentials
    env.pop("NWBSCOPE_TOKEN", None)
    return env


class LocalExecutor(Executor):
    """Runs each job in a fresh child process of the daemon, in its own process group.

    Simplest and most isolated; each job pays the imports and first calls of the sorting
    stack (``HostExecutor`` does not). ``warm_dir`` runs ``jobs.warmup`` once in the
    background to fill the numba cache.
    """

    name = "process"

    def __init__(self, grace_seconds: float = 5.0, numba_cache: Path | None = None,
                 warm_dir: Path | None = None) -> None:
        self.grace_seconds = grace_seconds
        self.numba_cache = numba_cache
        self.warm_dir = warm_dir
        self._warm_up: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.warm_dir is None:
            return
        self.warm_dir.mkdir(parents=True, exist_ok=True)
        with open(self.warm_dir.parent / "warm-up.log", "ab") as log:
            self._warm_up = subprocess.Popen(
                [sys.executable, "-m", "server_worker.jobs.warmup", str(self.warm_dir)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=child_env(self.numba_cache), start_new_session=True,
            )

    def submit(self, folder: JobFolder) -> JobHandle:
        with open(folder.log_file, "ab") as log:
            process = subprocess.Popen(
                runner_command(folder),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=folder.path,
                env=child_env(self.numba_cache),
                start_new_session=True,
            )
        return LocalHandle(process, self.grace_seconds)

    def close(self) -> None:
        if self._warm_up is not None and self._warm_up.poll() is None:
            self._warm_up.terminate()


def _import_roots() -> list[str]:
    """Folders that make ``server_worker`` and ``nwbscope`` importable in the child, whether
    installed or run from a checkout."""
    import nwbscope
    import server_worker

    roots = [Path(server_worker.__file__).resolve().parent.parent,
             Path(nwbscope.__file__).resolve().parent.parent]
    return list(dict.fromkeys(str(r) for r in roots))
