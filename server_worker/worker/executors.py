"""Where a job's child process runs: one interface, local executors and Slurm.

``LocalExecutor`` starts a fresh process per job; ``hosts.HostExecutor`` (the default) hands
jobs to a long-lived child process that stays warm between jobs; ``slurm.SlurmExecutor``
submits each job to a Slurm cluster. ``EXECUTORS`` is the one table of them by name, which
the daemon and the command line both build from (``build_executor``).

An executor turns a prepared job folder into a running ``JobHandle`` that can be polled and
cancelled. The command is always an argument list (``python -m server_worker.jobs.runner
<folder>``), never a shell string, and the job's parameters travel in ``job.json`` inside the
folder, never on a command line. ``submit`` gets the processor's ``Resources`` too: a local
executor has the machine it runs on, a cluster executor asks the scheduler for them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..jobs.folder import JobFolder
from ..jobs.numba_cache import CACHE_ENV
from ..jobs.runner import DIE_WITH_PARENT_ENV
from ..processors.base import Resources

if TYPE_CHECKING:
    from .slurm import SlurmConfig

#: What a job needs when nothing says otherwise (the processor's default ``Resources``).
DEFAULT_RESOURCES = Resources()


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

    def failure_reason(self) -> str | None:
        """Why it ended, in the scheduler's words, when it did not complete (a time limit,
        out of memory, cancelled from outside); None when there is nothing to add."""
        return None

    def notes(self) -> list[str]:
        """Lines for the job's log since the last call (e.g. a scheduler's state changes),
        sent to the broker by the daemon, never written into the job's own log file."""
        return []

    def put_back(self) -> bool:
        """True when the job ended through no fault of its own (a node failed, it was
        preempted): it should run again rather than fail."""
        return False


@dataclass(frozen=True)
class ExecutorOptions:
    """Everything an executor may be built from (each takes what it needs)."""

    work_dir: Path
    numba_cache: Path | None = None
    warm_up: bool = False
    slurm: SlurmConfig | None = None


class Executor(ABC):
    """Starts job folders as child processes."""

    name: str = "abstract"
    #: True when jobs outlive the daemon (a cluster's): stopping the daemon leaves them
    #: running for the next daemon on the work dir to ``reattach``.
    detached: bool = False

    @classmethod
    def from_options(cls, options: ExecutorOptions) -> Executor:
        raise NotImplementedError(cls.__name__)

    def start(self) -> None:
        """Prepare before the first job (e.g. warm up); returns at once."""
        return None

    @abstractmethod
    def submit(self, folder: JobFolder, resources: Resources = DEFAULT_RESOURCES) -> JobHandle:
        """Start the runner on ``folder`` with ``resources`` (the processor's needs); its
        console output goes to ``folder.log_file``."""

    def reattach(self, folder: JobFolder) -> JobHandle | None:
        """The handle of a job this executor started before the daemon restarted, if it can
        still be followed (None: it cannot, the job is lost)."""
        return None

    def forget(self, folder: JobFolder) -> None:
        """The job in ``folder`` was reported: never reattach to it."""
        return None

    def advertised(self) -> dict[str, Any] | None:
        """CPUs, memory and GPUs to register with, when the jobs run elsewhere than on this
        machine (None: this machine's, probed by ``capabilities``)."""
        return None

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
    env["PYTHONPATH"] = os.pathsep.join([*import_roots(), *filter(None, [env.get("PYTHONPATH")])])
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

    @classmethod
    def from_options(cls, options: ExecutorOptions) -> Executor:
        return cls(numba_cache=options.numba_cache,
                   warm_dir=options.work_dir / "warm-up" if options.warm_up else None)

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

    def submit(self, folder: JobFolder, resources: Resources = DEFAULT_RESOURCES) -> JobHandle:
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


#: The executors by the name a worker is started with (``--executor``): "module:class"
#: relative to this package, imported when chosen (Slurm's is not needed elsewhere).
EXECUTORS: dict[str, str] = {
    "host": ".hosts:HostExecutor",
    "process": ".executors:LocalExecutor",
    "slurm": ".slurm:SlurmExecutor",
}


def executor_class(name: str) -> type[Executor]:
    """The executor class called ``name`` in ``EXECUTORS`` (KeyError for an unknown one)."""
    module_name, _, class_name = EXECUTORS[name].partition(":")
    found: type[Executor] = getattr(import_module(module_name, __package__), class_name)
    return found


def build_executor(name: str, options: ExecutorOptions) -> Executor:
    return executor_class(name).from_options(options)


def import_roots() -> list[str]:
    """Folders that make ``server_worker`` and ``nwbscope`` importable in the child, whether
    installed or run from a checkout."""
    import nwbscope
    import server_worker

    roots = [Path(server_worker.__file__).resolve().parent.parent,
             Path(nwbscope.__file__).resolve().parent.parent]
    return list(dict.fromkeys(str(r) for r in roots))


_import_roots = import_roots  # the name ``embedded`` imports
