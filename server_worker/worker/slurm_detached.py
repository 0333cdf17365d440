"""Slurm without a shared file system: each job fetches, streams and reports by itself.

``SlurmConfig.no_shared_fs`` (a worker option) chooses this executor. Its batch script holds
all the job needs, since the script is the one file Slurm itself carries to the compute node:
the spec, the broker's URL, this worker's id and credential, its ``WorkerLimits`` and the
node folder to work in. It runs ``remote_job.run``, which fetches the input, runs the runner,
streams its log to the broker, uploads the outputs and completes or fails the job. Slurm's
own output goes to ``/dev/null`` (the job's log goes to the broker) and the job starts in
``node_dir``, so nothing names a path of the login node on the compute node except the
interpreter and the import roots (the same software is installed on both, as for any
worker).

The credential is in the script only: written with mode 600 in the daemon's job folder (never
readable by others, not even for a moment), read by ``sbatch`` from there (never a command
line argument, never in an environment), kept by Slurm where only the job's owner and root
read it. The daemon still heartbeats the lease, cancels with ``scancel``, and reports the
ends the job cannot report itself (time limit, out of memory, cancelled from outside: killed
by Slurm) from the Slurm state (``remote_job.follow_up``).

A shared-file-system worker stays the default: there the daemon's input cache serves every
job of a recording with one download, and the compute nodes need not reach the broker, which
many clusters do not allow.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from typing import Any

from ..jobs.folder import JobFolder
from ..processors.base import Resources
from .executors import DEFAULT_RESOURCES, JobHandle, import_roots
from .limits import WorkerLimits
from .slurm import SCRIPT, SlurmExecutor, sbatch_command


def detached_script(settings: dict[str, Any]) -> str:
    """The batch script: Python (its ``#!`` is this interpreter) with ``settings`` as the
    literal of a JSON string, so no shell and no Python parser sees a parameter as code."""
    return "\n".join([
        f"#!{sys.executable}",
        "# nwbscope job that reports itself (see server_worker/worker/slurm_detached.py)",
        "import json",
        "import sys",
        f"sys.path[:0] = {import_roots()!r}",
        "from server_worker.jobs.numba_cache import enable",
        "from server_worker.worker.remote_job import run",
        "enable()",
        f"sys.exit(run(json.loads({json.dumps(settings)!r})))",
        "",
    ])


def detached_command(folder: JobFolder, resources: Resources, config: Any) -> list[str]:
    """``sbatch_command`` with Slurm's output discarded and the job started in ``node_dir``
    (the job folder is not there on the node)."""
    start_in = config.node_dir or "/tmp"
    replaced = {f"--chdir={folder.path}": f"--chdir={start_in}",
                f"--output={folder.log_file}": "--output=/dev/null"}
    return [replaced.get(arg, arg) for arg in sbatch_command(folder, resources, config)]


class DetachedSlurmExecutor(SlurmExecutor):
    """``SlurmExecutor`` whose jobs report themselves (``reports_itself``); the daemon gives
    it its registration with ``bind`` before any job is submitted."""

    reports_itself = True

    _broker: str = ""
    _worker_id: str = ""
    _credential: str = ""
    _limits: WorkerLimits = WorkerLimits()

    def bind(self, broker_url: str, worker_id: str, credential: str,
             limits: WorkerLimits) -> None:
        self._broker, self._worker_id = broker_url, worker_id
        self._credential, self._limits = credential, limits

    def submit(self, folder: JobFolder, resources: Resources = DEFAULT_RESOURCES) -> JobHandle:
        if not self._credential:
            raise RuntimeError("DetachedSlurmExecutor.submit before bind()")
        settings = {"spec": folder.read_spec().model_dump(mode="json"),
                    "broker": self._broker, "worker_id": self._worker_id,
                    "credential": self._credential, "limits": asdict(self._limits),
                    "node_dir": self.config.node_dir}
        script = folder.path / SCRIPT
        script.unlink(missing_ok=True)  # created anew with mode 600: never readable by others
        fd = os.open(script, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(detached_script(settings))
        return self._sbatch(folder, detached_command(folder, resources, self.config))
