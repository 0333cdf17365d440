"""``SlurmExecutor``: each job is a Slurm batch job, submitted from the worker's (login) node.

``submit`` writes ``slurm_job.py`` into the job folder, a Python script (its ``#!`` line is
this interpreter) that runs the same entry point as the local executors
(``jobs.runner.run_folder``) on that folder: no shell ever sees a parameter, since the job's
parameters stay in ``job.json`` and the script holds only the folder's path and import roots
as Python literals. ``sbatch`` is called with an argument list: the processor's ``Resources``
become ``--cpus-per-task``, ``--mem`` and ``--gres=gpu:1``, plus the partition, account, time
limit and any ``--sbatch-arg`` of the worker; the job's console output goes to the folder's
``log.txt`` (Slurm appends to it), which the daemon streams to the broker as it grows.

The Slurm job id is recorded in the folder (``slurm.json``), so a restarted daemon can
``reattach`` to jobs already in Slurm. Jobs are followed with ``squeue`` and, once they have
left the queue, ``scontrol show job`` (finished jobs stay there ``MinJobAge`` seconds) and
``sacct`` where accounting runs. ``--no-requeue``: Slurm never runs a job again on its own; a
job ended by the cluster (NODE_FAIL, PREEMPTED, BOOT_FAIL) is given back to the broker by the
daemon instead (``put_back``), which counts the attempt.

The daemon reads ``log.txt`` and ``result.json`` from the folder, so the folder must be on a
file system shared by the login node and the compute nodes (as ``$HOME`` or a scratch space
usually is). Without one (``SlurmConfig.no_shared_fs``), ``slurm_detached`` submits jobs that
fetch, stream, upload and report themselves, and the daemon only follows their state.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..jobs.folder import JobFolder
from ..processors.base import Resources
from .executors import (
    DEFAULT_RESOURCES,
    Executor,
    ExecutorOptions,
    JobHandle,
    child_env,
    import_roots,
)
from .slurm_text import advertised_from_sinfo, combined_exit_code, parse_scontrol

#: The record of a job's Slurm submission, in its folder.
RECORD = "slurm.json"
SCRIPT = "slurm_job.py"

#: Slurm states in which a job may still run (or is running).
ACTIVE = frozenset({"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED",
                    "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING",
                    "STAGE_OUT", "RESV_DEL_HOLD", "STOPPED"})
#: Ended by the cluster, not by the job: the job is put back in the broker's queue.
PUT_BACK = frozenset({"NODE_FAIL", "PREEMPTED", "BOOT_FAIL"})

#: What a user reads when a Slurm job ended without the runner's own error report.
MESSAGES = {
    "TIMEOUT": "The Slurm job {id} reached its time limit ({limit}) and was stopped by Slurm "
               "(TIMEOUT). Ask for more time: the worker's --time-limit, or the partition's.",
    "OUT_OF_MEMORY": "The Slurm job {id} ran out of memory (OUT_OF_MEMORY): it was given "
                     "{memory}; the processor's memory requirement is too low for this "
                     "recording.",
    "CANCELLED": "The Slurm job {id} was cancelled in Slurm (CANCELLED{reason}), not through "
                 "nwbscope: by scancel, an administrator or the cluster.",
    "FAILED": "The Slurm job {id} failed (FAILED, exit code {exit}{reason}).",
    "DEADLINE": "The Slurm job {id} passed its deadline (DEADLINE).",
    "NODE_FAIL": "The node of Slurm job {id} failed (NODE_FAIL{reason}): the job goes back "
                 "to the queue.",
    "PREEMPTED": "The Slurm job {id} was preempted (PREEMPTED{reason}): the job goes back to "
                 "the queue.",
    "BOOT_FAIL": "The node of Slurm job {id} failed to boot (BOOT_FAIL{reason}): the job goes "
                 "back to the queue.",
    "GONE": "Slurm no longer knows job {id} (it ended longer ago than the controller keeps "
            "records, and there is no accounting to ask).",
}


class SlurmError(RuntimeError):
    """A Slurm command failed; the message carries its stderr."""


@dataclass(frozen=True)
class SlurmState:
    """One reading of a Slurm job: its state, Slurm's reason, exit code, limits."""

    state: str
    reason: str = ""
    exit_code: int = 0
    time_limit: str = ""
    memory: str = ""

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def message(self, job_id: str) -> str | None:
        """The text a user is shown for an end other than COMPLETED (None for that)."""
        if self.active or self.state == "COMPLETED":
            return None
        reason = f", {self.reason}" if self.reason and self.reason != "None" else ""
        template = MESSAGES.get(self.state, "The Slurm job {id} ended in state " + self.state +
                                "{reason}.")
        return template.format(id=job_id, limit=self.time_limit or "?", exit=self.exit_code,
                               memory=self.memory or "?", reason=reason)

    def code(self) -> int:
        """Our exit code: 0 for COMPLETED, the job's own when it failed, else non-zero."""
        if self.state == "COMPLETED":
            return 0
        return self.exit_code or 1


@dataclass(frozen=True)
class SlurmConfig:
    """Where and how the worker submits: partition, account, time limit, extra arguments."""

    partition: str | None = None
    account: str | None = None
    time_limit: str | None = None  # sbatch --time syntax: "90", "2:00:00", "1-00:00:00"
    extra_args: tuple[str, ...] = ()
    #: Seconds between two looks at a job's state (each look is one Slurm command).
    poll_seconds: float = 2.0
    #: The ``squeue``/``sbatch``... environment (``SLURM_CONF`` in tests); None: ours.
    env: dict[str, str] | None = None
    #: The compute nodes do not see the work dir: jobs report themselves (slurm_detached),
    #: in a folder of their own under ``node_dir`` (None: the node's $TMPDIR or /tmp).
    no_shared_fs: bool = False
    node_dir: str | None = None


def sbatch_command(folder: JobFolder, resources: Resources, config: SlurmConfig) -> list[str]:
    """``sbatch``'s argument list for ``folder``; the worker's own ``--sbatch-arg`` come last,
    so they override ours."""
    command = [
        "sbatch", "--parsable", "--no-requeue",
        f"--job-name=nwbscope-{folder.path.name[:12]}",
        f"--chdir={folder.path}",
        f"--output={folder.log_file}", "--open-mode=append",
        "--ntasks=1", f"--cpus-per-task={max(1, resources.cpus)}",
        f"--mem={max(1, math.ceil(resources.memory_gb * 1024))}M",
    ]
    if resources.gpu == "required":
        command.append(f"--gres=gpu:{max(1, resources.gpus)}")
    if config.partition:
        command.append(f"--partition={config.partition}")
    if config.account:
        command.append(f"--account={config.account}")
    limit = str(resources.time_limit_minutes) if resources.time_limit_minutes \
        else config.time_limit  # the job's own limit wins over the worker's
    if limit:
        command.append(f"--time={limit}")
    command += list(config.extra_args)
    command.append(str(folder.path / SCRIPT))
    return command


def batch_script(folder: JobFolder) -> str:
    """The batch script: Python run by this interpreter, the folder and import roots written
    as Python literals (``repr``), so nothing in it is ever read by a shell."""
    return "\n".join([
        f"#!{sys.executable}",
        "# nwbscope job, submitted by a worker with sbatch (see server_worker/worker/slurm.py)",
        "import sys",
        f"sys.path[:0] = {import_roots()!r}",
        "from pathlib import Path",
        "from server_worker.jobs.numba_cache import enable",
        "from server_worker.jobs.runner import run_folder",
        "from server_worker.jobs.folder import JobFolder",
        "enable()",
        f"sys.exit(run_folder(JobFolder(Path({str(folder.path)!r}))))",
        "",
    ])


class Slurm:
    """The Slurm commands the executor uses, each an argument list with a timeout.

    ``squeue`` is asked about every ``watched`` job at once, at most every
    ``queue_seconds``: a worker with many jobs costs the controller one query per round, not
    one per job."""

    def __init__(self, env: dict[str, str] | None = None, timeout: float = 30.0,
                 queue_seconds: float = 2.0) -> None:
        self.env = env
        self.timeout = timeout
        self.queue_seconds = queue_seconds
        self.has_sacct = shutil.which("sacct") is not None
        #: Slurm job ids still followed (their handles have not seen them end).
        self.watched: set[str] = set()
        self._queue: dict[str, str] = {}
        self._asked: set[str] = set()
        self._queue_at = -math.inf

    def run(self, command: Sequence[str], check: bool = True,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        answer = subprocess.run(list(command), capture_output=True, text=True,
                                env=env or self.env, timeout=self.timeout,
                                stdin=subprocess.DEVNULL)
        if check and answer.returncode != 0:
            raise SlurmError(f"{command[0]} failed ({answer.returncode}): "
                             f"{answer.stderr.strip() or answer.stdout.strip()}")
        return answer

    def submit(self, command: list[str], env: dict[str, str]) -> str:
        out = self.run(command, env={**env, **(self.env or {})}).stdout.strip()
        job_id = out.split(";")[0]  # "<id>[;<cluster>]"
        if not job_id.isdigit():
            raise SlurmError(f"sbatch answered {out!r}, not a job id")
        return job_id

    def cancel(self, job_id: str) -> None:
        self.run(["scancel", job_id], check=False)

    def state(self, job_id: str) -> SlurmState | None:
        """The job's state now; None when Slurm no longer knows it."""
        line = self._queued(job_id)
        if line:
            state, reason, limit, memory = (line.split("|") + ["", "", ""])[:4]
            if state in ACTIVE:
                return SlurmState(state, reason, 0, limit, memory)
        shown = self.run(["scontrol", "show", "job", "-o", job_id], check=False)
        if shown.returncode == 0 and "JobState=" in shown.stdout:
            fields = parse_scontrol(shown.stdout)
            memory = fields.get("MinMemoryNode") or fields.get("MinMemoryCPU", "")
            return SlurmState(fields.get("JobState", "UNKNOWN"), fields.get("Reason", ""),
                              combined_exit_code(fields.get("ExitCode", "0:0")),
                              fields.get("TimeLimit", ""), memory)
        return self._accounted(job_id)

    def _queued(self, job_id: str) -> str | None:
        """``squeue``'s line for ``job_id`` ("state|reason|limit|memory"), from one query
        about all watched jobs (repeated when older than ``queue_seconds``)."""
        now = time.monotonic()
        if job_id not in self._asked or now - self._queue_at >= self.queue_seconds:
            ids = sorted(self.watched | {job_id}, key=int)
            answer = self.run(["squeue", "-h", "-j", ",".join(ids), "-o", "%i|%T|%r|%l|%m"],
                              check=False)
            self._queue = {}
            for line in answer.stdout.strip().splitlines():
                found, _, rest = line.partition("|")
                self._queue[found.strip()] = rest
            self._asked, self._queue_at = set(ids), now
        return self._queue.get(job_id)

    def _accounted(self, job_id: str) -> SlurmState | None:
        if not self.has_sacct:
            return None
        answer = self.run(["sacct", "-n", "-X", "-P", "-j", job_id,
                            "-o", "State,ExitCode,Timelimit,ReqMem"], check=False)
        line = answer.stdout.strip().splitlines()[:1]
        if answer.returncode != 0 or not line:
            return None
        state, exit_code, limit, memory = (line[0].split("|") + ["", "", ""])[:4]
        # "CANCELLED by 0": the state is the first word
        return SlurmState(state.split()[0], "", combined_exit_code(exit_code), limit, memory)


class SlurmHandle(JobHandle):
    """One Slurm job, looked at no more often than ``poll_seconds``."""

    def __init__(self, slurm: Slurm, job_id: str, poll_seconds: float) -> None:
        self.slurm = slurm
        self.slurm_job_id = job_id
        self.poll_seconds = poll_seconds
        slurm.watched.add(job_id)
        self.last: SlurmState | None = None
        self._next_look = 0.0
        self._code: int | None = None
        self._notes: list[str] = []

    def poll(self) -> int | None:
        if self._code is not None:
            return self._code
        if time.monotonic() < self._next_look:
            return None
        self._next_look = time.monotonic() + self.poll_seconds
        try:
            state = self.slurm.state(self.slurm_job_id)
        except (OSError, subprocess.SubprocessError):
            return None  # the controller is slow or away: look again later
        if state is None:
            state = SlurmState("GONE")
        if self.last is None or (state.state, state.reason) != (self.last.state,
                                                                 self.last.reason):
            shown = f" ({state.reason})" if state.reason and state.reason != "None" else ""
            self._notes.append(f"[nwbscope] Slurm job {self.slurm_job_id}: {state.state}"
                               f"{shown}\n")
        self.last = state
        if state.active:
            return None
        self.slurm.watched.discard(self.slurm_job_id)
        self._code = state.code()
        return self._code

    def cancel(self) -> None:
        self.slurm.cancel(self.slurm_job_id)

    def notes(self) -> list[str]:
        taken, self._notes = self._notes, []
        return taken

    def failure_reason(self) -> str | None:
        return None if self.last is None else self.last.message(self.slurm_job_id)

    def put_back(self) -> bool:
        return self.last is not None and self.last.state in PUT_BACK


class SlurmExecutor(Executor):
    """Submits each job folder with ``sbatch`` (``SlurmConfig``); see the module's notes."""

    name = "slurm"
    #: Jobs outlive the daemon: stopping it leaves them in Slurm for the next one to reattach.
    detached = True

    def __init__(self, config: SlurmConfig | None = None, numba_cache: Path | None = None
                 ) -> None:
        self.config = config or SlurmConfig()
        self.numba_cache = numba_cache
        self.slurm = Slurm(self.config.env, queue_seconds=self.config.poll_seconds)

    @classmethod
    def from_options(cls, options: ExecutorOptions) -> Executor:
        if options.slurm is not None and options.slurm.no_shared_fs:
            from .slurm_detached import DetachedSlurmExecutor

            return DetachedSlurmExecutor(options.slurm, options.numba_cache)
        return cls(options.slurm, options.numba_cache)

    def advertised(self) -> dict[str, Any] | None:
        """The largest node of the partition (``sinfo``): what one job can get there."""
        command = ["sinfo", "-h", "-N", "-o", "%c|%m|%G"]
        if self.config.partition:
            command += ["-p", self.config.partition]
        try:
            answer = self.slurm.run(command, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return advertised_from_sinfo(answer.stdout)

    def submit(self, folder: JobFolder, resources: Resources = DEFAULT_RESOURCES) -> JobHandle:
        script = folder.path / SCRIPT
        script.write_text(batch_script(folder))
        script.chmod(0o700)
        return self._sbatch(folder, sbatch_command(folder, resources, self.config))

    def _sbatch(self, folder: JobFolder, command: list[str]) -> JobHandle:
        """Submit ``command`` and record the Slurm job id in ``folder``."""
        env = child_env(self.numba_cache)
        env.pop("NWBSCOPE_DIE_WITH_PARENT", None)  # the job must outlive a daemon restart
        job_id = self.slurm.submit(command, env)
        record = {"slurm_job_id": job_id, "command": command, "submitted_at": time.time()}
        tmp = folder.path / (RECORD + ".tmp")
        tmp.write_text(json.dumps(record, indent=2))
        tmp.replace(folder.path / RECORD)
        return SlurmHandle(self.slurm, job_id, self.config.poll_seconds)

    def reattach(self, folder: JobFolder) -> JobHandle | None:
        try:
            record = json.loads((folder.path / RECORD).read_text())
        except (FileNotFoundError, ValueError):
            return None
        job_id = str(record.get("slurm_job_id", ""))
        if not job_id.isdigit():
            return None
        return SlurmHandle(self.slurm, job_id, self.config.poll_seconds)

    def forget(self, folder: JobFolder) -> None:
        (folder.path / RECORD).unlink(missing_ok=True)

