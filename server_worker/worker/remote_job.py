"""A job that reports itself: what a Slurm job runs where no file system is shared.

The batch script (``slurm_detached``) calls ``run`` on the compute node with the job's spec
and this worker's registration. The job lays out its own folder under the node's scratch
space, fetches its input like the daemon does (``BrokerClient.fetch_input``: a store input
through the broker with ``?redirect=false``, a URL under the worker's ``UrlPolicy`` and
``WorkerLimits``), runs the same entry point as the local executors (``jobs.runner``) as a
child process, streams that child's console output to the broker as it grows
(``LogTail``), then uploads the outputs and completes the job, or fails it with the runner's
error. Its folder is removed at the end: nothing is left on the node.

A job stopped by a signal (Slurm's time limit, ``scancel``, out of memory) reports nothing:
it may be killed before it could, so the daemon, which follows the Slurm state, reports
those ends with Slurm's reason (``follow_up``). The runner child never sees the credential.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from ..jobs.folder import JobFolder
from ..jobs.spec import JobSpec
from ..redact import redact_url
from .client import BrokerClient
from .executors import JobHandle, runner_command
from .limits import WorkerLimits
from .log_tail import LogTail

log = logging.getLogger("nwbscope.worker")
#: Seconds between two looks at the runner's log while it runs.
POLL_SECONDS = 0.5


def follow_up(client: BrokerClient, worker_id: str, job_id: str, code: int,
              handle: JobHandle | None) -> None:
    """The daemon's part once a self-reporting job has ended with ``code``: nothing after a
    success (the job completed itself); otherwise fail it with the scheduler's reason, which
    the broker refuses (409) when the job had already reported its own failure."""
    if code == 0:
        log.info("job %s completed (reported by the job)", job_id)
        return
    reason = (handle.failure_reason() if handle is not None else None) or (
        f"The job ended with exit code {code} without reporting (killed?).")
    try:
        client.append_log(worker_id, job_id, f"\n[nwbscope] {reason}\n")
        client.fail(worker_id, job_id, reason)
    except httpx.HTTPStatusError as error:
        if error.response.status_code != 409:
            raise
        log.info("job %s had reported its own end", job_id)
        return
    log.info("job %s failed: %s", job_id, reason)


class _Stopped(BaseException):
    """SIGTERM (time limit, scancel): end now, report nothing."""


def run(settings: dict[str, Any]) -> int:
    """Run one job from ``settings`` (written into the batch script by the worker): 0 when
    it completed, 1 when it failed and said so, 143 when stopped by a signal."""
    spec = JobSpec.model_validate(settings["spec"])
    worker_id, job_id = str(settings["worker_id"]), spec.job_id
    client = BrokerClient(str(settings["broker"]), "")
    client.http.headers["Authorization"] = f"Bearer {settings['credential']}"
    limits = WorkerLimits(**settings.get("limits", {}))
    scratch = Path(tempfile.mkdtemp(prefix=f"nwbscope-{job_id[:12]}-",
                                    dir=settings.get("node_dir") or None))
    runner: subprocess.Popen[bytes] | None = None

    def stop(signum: int, _frame: FrameType | None) -> None:
        if runner is not None and runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
        raise _Stopped(signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        folder = JobFolder(scratch / "job").create(spec)
        where = f"{socket.gethostname()}:{folder.path}"
        client.append_log(worker_id, job_id, f"[nwbscope] the job runs in {where} and "
                                             "reports itself\n")
        try:
            sha256 = client.fetch_input(spec.input_uri, folder.input_file, scratch / "cache",
                                        expected=spec.input_sha256, limits=limits)
        except Exception as error:  # reported like the daemon does: no user:password@
            message = redact_url(f"Could not fetch the input {spec.input_uri}: {error}")
            client.append_log(worker_id, job_id, f"[nwbscope] {message}\n")
            client.fail(worker_id, job_id, message)
            return 1
        with open(folder.log_file, "ab") as out:
            runner = subprocess.Popen(runner_command(folder), stdout=out,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      start_new_session=True, env=_runner_env())
        tail = LogTail(folder.log_file)

        def send(text: str) -> None:
            client.append_log(worker_id, job_id, text)

        while runner.poll() is None:
            tail.forward(send)
            time.sleep(POLL_SECONDS)
        while tail.forward(send):
            pass
        return _report(client, worker_id, folder, runner.returncode, sha256)
    except _Stopped:
        return 143
    finally:
        client.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _report(client: BrokerClient, worker_id: str, folder: JobFolder, code: int,
            sha256: str) -> int:
    """Upload the outputs and complete, or fail with the runner's error report."""
    job_id = folder.read_spec().job_id
    result = folder.read_result()
    if code == 0 and result is not None:
        outputs = {key: client.upload_output(worker_id, job_id, folder.outputs_dir / name)
                   for key, name in result.outputs.items()}
        client.complete(worker_id, job_id, outputs, result.timings, sha256)
        return 0
    error = folder.read_error()
    message = (f"{error.type}: {error.message}" if error is not None else
               f"The job's process ended with exit code {code} and no error report "
               "(killed, or out of memory?).")
    client.fail(worker_id, job_id, message)
    return 1


def _runner_env() -> dict[str, str]:
    """The runner's environment: the job's own, which never held the credential."""
    return dict(os.environ)
