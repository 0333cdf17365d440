"""The worker daemon: claim jobs into free slots, run each in a child process, report.

One loop, no threads of its own: every ``poll_seconds`` it forwards new console output of
each running job to the broker, collects finished children (uploading outputs, reporting the
outcome), heartbeats (renewing leases; the answer names jobs to cancel or that were given to
another worker), and claims jobs while a slot is free. A crash or cancel of a job only ends
its child; the daemon carries on.

Nothing piles up on the worker's disk: a completed job's folder is removed once its outputs
are stored and reported; a failed, cancelled or lost one is kept ``keep_failed_seconds`` (for
inspection), then removed by a sweep (at start-up and every ``sweep_seconds``), which also
holds the input cache to ``input_cache_bytes`` (``input_cache``). One daemon per work
directory (``lifetime.WorkDirLock``).

Each job gets its processor's ``Resources`` from the executor (a cluster's asks the scheduler
for them). With an executor whose jobs outlive the daemon (``Executor.detached``: Slurm), a
stopped daemon leaves its jobs running, and the next one on the work directory takes up its
registration (``worker.json``, readable by its owner only) and reattaches to every job
folder that the executor can still follow; the broker keeps such jobs leased to it as long
as the restart is shorter than the lease. A job the cluster ended through no fault of its own
(``JobHandle.put_back``: a node failed, it was preempted) is not reported: its lease runs out
and the broker puts it back in the queue, counting the attempt, as for any lost worker.
With an executor whose jobs report themselves (``reports_itself``: Slurm without a shared
file system, ``slurm_detached``) the daemon fetches, reads and uploads nothing: it follows
the job's state and reports only an end the job could not (``remote_job.follow_up``).
"""

from __future__ import annotations

import json
import logging
import re
import signal
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from nwbscope.errors import ParameterError
from nwbscope.store import parse_uri

from ..jobs.folder import JobFolder, remove_expired
from ..jobs.spec import JobSpec
from ..redact import redact_url
from .capabilities import capabilities
from .client import BrokerClient, WorkerGone
from .executors import Executor, ExecutorOptions, JobHandle, build_executor
from .input_cache import InputCache
from .lifetime import WorkDirLock
from .limits import WorkerLimits
from .log_tail import LogTail
from .remote_job import follow_up
from .resume import LOG_FORWARDED, save_identity
from .resume import forwarded_offset as _forwarded
from .resume import processor_resources as _resources

log = logging.getLogger("nwbscope.worker")
JOB_ID = re.compile(r"[0-9a-f]{32}")
#: In the work dir: this daemon's registration, taken up by the next one (detached executors).
IDENTITY = "worker.json"
#: Seconds a self-reporting job the broker no longer leases to us may take to end by itself.
LOST_GRACE_S = 30.0


@dataclass
class RunningJob:
    spec: JobSpec
    folder: JobFolder
    handle: JobHandle | None = None  # None while the input is being fetched
    fetcher: threading.Thread | None = None
    input_sha256: str | None = None
    fetch_error: str | None = None
    tail: LogTail | None = None  # log.txt from what the broker has (None: from the start)
    stop_reason: str | None = None  # "cancelled" or "lost" once asked to stop
    lost_at: float | None = None  # a self-reporting job that may be ending: scancel later

    def __post_init__(self) -> None:
        if self.tail is None:
            self.tail = LogTail(self.folder.log_file)

    @property
    def job_id(self) -> str:
        return self.spec.job_id


class WorkerDaemon:
    def __init__(
        self,
        broker_url: str,
        token: str,
        work_dir: Path,
        *,
        slots: int = 1,
        name: str | None = None,
        executor: Executor | None = None,
        poll_seconds: float = 0.5,
        numba_cache: Path | None = None,
        warm_up: bool = False,
        limits: WorkerLimits | None = None,
        lock_wait_seconds: float = 0.0,
    ) -> None:
        self.client = BrokerClient(broker_url, token)
        self.work_dir = Path(work_dir)
        self.slots = max(1, slots)
        self.name = name or f"{socket.gethostname()}-worker"
        self.numba_cache = numba_cache or self.work_dir / "cache" / "numba"
        self.executor = executor or build_executor("host", ExecutorOptions(
            self.work_dir, self.numba_cache, warm_up))
        self.poll_seconds = poll_seconds
        self.limits = limits or WorkerLimits()
        #: How long ``run_forever`` waits for a previous worker on ``work_dir`` to end.
        self.lock_wait_seconds = lock_wait_seconds
        self.input_cache = InputCache(self.work_dir / "cache", self.limits.input_cache_bytes)
        #: Seconds between sweeps of expired job folders (and at start-up).
        self.sweep_seconds = min(60.0, max(1.0, self.limits.keep_failed_seconds / 10))
        self._last_sweep = 0.0
        self.stop_event = threading.Event()
        self.running: dict[str, RunningJob] = {}
        self.worker_id: str | None = None
        self.heartbeat_seconds = 10.0
        self._capabilities: dict[str, Any] | None = None
        self._last_heartbeat = 0.0
        #: The executor's jobs fetch, stream, upload and report themselves (``remote_job``):
        #: the daemon only follows their state (Slurm without a shared file system).
        self.reports_itself = bool(getattr(self.executor, "reports_itself", False))

    # ---- lifecycle ---------------------------------------------------------------------

    def register(self) -> None:
        if self._capabilities is None:
            self._capabilities = capabilities(self.slots, self.executor.name,
                                              self.executor.advertised())
        answer = self.client.register(self.name, self._capabilities)
        self.worker_id = answer["worker_id"]
        self.heartbeat_seconds = min(float(answer["heartbeat_seconds"]),
                                     float(answer["lease_seconds"]) / 3)
        names = [p["name"] for p in self._capabilities["processors"]]
        log.info("registered as %s with processors %s", self.worker_id, names)
        if self.executor.detached:
            save_identity(self.work_dir / IDENTITY, {
                "broker": self.client.broker_url, "worker_id": self.worker_id,
                "credential": answer["credential"],
                "heartbeat_seconds": self.heartbeat_seconds})
        self._bind(answer["credential"])

    def _bind(self, credential: str) -> None:
        """Give a self-reporting executor what its jobs report with (this registration)."""
        if self.reports_itself:
            self.executor.bind(  # type: ignore[attr-defined]
                self.client.broker_url, self.worker_id or "", credential, self.limits)

    def _resume(self) -> None:
        """Take up the previous daemon's registration and reattach to its jobs that the
        executor can still follow; the first heartbeat tells which the broker still leases
        to us (the others are stopped as lost)."""
        try:
            saved = json.loads((self.work_dir / IDENTITY).read_text())
            worker_id, credential = str(saved["worker_id"]), str(saved["credential"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return
        if saved.get("broker") != self.client.broker_url:  # never show it to another broker
            return
        self.worker_id = worker_id
        self.heartbeat_seconds = float(saved.get("heartbeat_seconds", self.heartbeat_seconds))
        self.client.http.headers["Authorization"] = f"Bearer {credential}"
        self._bind(credential)
        try:
            folders = sorted(p for p in (self.work_dir / "jobs").iterdir() if p.is_dir())
        except FileNotFoundError:
            folders = []
        for path in folders:
            folder = JobFolder(path)
            if not JOB_ID.fullmatch(path.name):
                continue
            handle = self.executor.reattach(folder)
            if handle is None:
                continue
            try:
                spec = folder.read_spec()
            except (OSError, ValueError):
                continue
            job = RunningJob(spec, folder, handle,
                             tail=LogTail(folder.log_file, _forwarded(folder)))
            self.running[spec.job_id] = job
            log.info("job %s: reattached", spec.job_id)

    def run_forever(self) -> None:
        """Loop until ``stop()`` (or SIGTERM / SIGINT when run as a program).

        WorkDirBusy (before anything starts) if another worker runs on ``work_dir``.
        """
        lock = WorkDirLock(self.work_dir).acquire(self.lock_wait_seconds)
        try:
            self._run()
        finally:
            lock.release()

    def _run(self) -> None:
        if self.executor.detached:
            self._resume()  # before the sweep, which spares running jobs' folders
        self._sweep()  # what an earlier run left: expired folders, an over-full cache
        self.executor.start()
        while not self.stop_event.is_set():
            try:
                if self.worker_id is None:
                    self.register()
                self.step()
            except WorkerGone:
                log.warning("the broker forgot this worker; registering again")
                self.worker_id = None
            except httpx.HTTPError as error:
                log.warning("broker unreachable or refused a call: %s", error)
                # soon while not registered (a server starting up), then every few seconds
                self.stop_event.wait(1.0 if self.worker_id is None else
                                     min(5.0, self.heartbeat_seconds))
                continue
            except Exception:  # a bug in one turn must not end the daemon and its jobs
                log.exception("unexpected error in the worker loop")
            self.stop_event.wait(self.poll_seconds)
        if not self.executor.detached:  # a cluster's jobs wait for the next daemon
            for job in list(self.running.values()):
                if job.handle is not None:
                    job.handle.cancel()
        self.executor.close()
        self.client.close()

    def stop(self) -> None:
        self.stop_event.set()

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop())

    # ---- one turn of the loop ----------------------------------------------------------

    def step(self) -> None:
        if self.worker_id is None:
            raise WorkerGone("not registered")
        for job in list(self.running.values()):
            if job.handle is None:
                self._launch_when_fetched(job)
                continue
            self._forward_log(job)
            code = job.handle.poll()
            if code is None and job.lost_at and time.monotonic() - job.lost_at > LOST_GRACE_S:
                job.lost_at = None  # still running: given to another worker, so stopped
                job.handle.cancel()
            for note in job.handle.notes():
                if job.stop_reason != "lost":
                    self.client.append_log(self.worker_id or "", job.job_id, note)
            if code is not None:
                self._forward_log(job)
                del self.running[job.job_id]
                try:
                    if job.handle.put_back() and job.stop_reason is None:
                        self._give_back(job)
                    else:
                        self._finish(job, code)
                except httpx.TransportError:
                    # the broker is unreachable: the job's result stays in its folder and is
                    # reported on a later turn (uploads are by hash, so a second try is safe)
                    self.running[job.job_id] = job
                    raise
        if time.monotonic() - self._last_heartbeat >= self.heartbeat_seconds:
            self._heartbeat()
        if time.monotonic() - self._last_sweep >= self.sweep_seconds:
            self._sweep()
        while len(self.running) < self.slots and not self.stop_event.is_set():
            spec = self.client.claim(self.worker_id)
            if spec is None:
                break
            self._start(spec)

    def _heartbeat(self) -> None:
        answer = self.client.heartbeat(self.worker_id or "", list(self.running))
        self._last_heartbeat = time.monotonic()
        for reason in ("cancel", "lost"):
            for job_id in answer.get(reason, []):
                job = self.running.get(job_id)
                if job is not None and job.stop_reason is None:
                    log.info("stopping job %s (%s)", job_id, reason)
                    job.stop_reason = "cancelled" if reason == "cancel" else "lost"
                    if self.reports_itself and reason == "lost":
                        job.lost_at = time.monotonic()  # it may have just reported its end
                    elif job.handle is not None:
                        job.handle.cancel()

    def _start(self, spec: JobSpec) -> None:
        """Lay out the job folder and fetch the input in a thread (heartbeats go on, so a
        large download does not lose the lease)."""
        if not JOB_ID.fullmatch(spec.job_id):  # it becomes a folder name
            log.error("refusing a job with id %r from the broker", spec.job_id)
            return
        spec = spec.model_copy(update={"worker": f"{self.name} ({self.worker_id})"})
        folder = JobFolder(self.work_dir / "jobs" / spec.job_id)
        folder.create(spec)
        for stale in (folder.log_file, folder.path / LOG_FORWARDED):  # an earlier attempt's
            stale.unlink(missing_ok=True)
        job = RunningJob(spec, folder)
        self.running[job.job_id] = job
        if self.reports_itself:  # the job fetches its input where it runs
            return

        def fetch() -> None:
            try:
                job.input_sha256 = self.client.fetch_input(
                    spec.input_uri, folder.input_file, self.work_dir / "cache",
                    expected=spec.input_sha256, limits=self.limits)
            except Exception as error:  # a failed download ends this job, not the daemon
                job.fetch_error = redact_url(  # it is logged and shown: no user:password@
                    f"Could not fetch the input {spec.input_uri}: {error}")

        job.fetcher = threading.Thread(target=fetch, name=f"fetch-{job.job_id}", daemon=True)
        job.fetcher.start()

    def _launch_when_fetched(self, job: RunningJob) -> None:
        if job.fetcher is not None and job.fetcher.is_alive():
            return
        wid = self.worker_id or ""
        if job.stop_reason is not None or job.fetch_error is not None:
            del self.running[job.job_id]
            job.folder.mark_ended()  # kept a while (keep_failed_seconds), then swept
            if job.stop_reason == "cancelled":
                self.client.fail(wid, job.job_id, "Cancelled on request.", cancelled=True)
            elif job.fetch_error is not None and job.stop_reason is None:
                log.warning("job %s: %s", job.job_id, job.fetch_error)
                self.client.append_log(wid, job.job_id, f"[nwbscope] {job.fetch_error}\n")
                self.client.fail(wid, job.job_id, job.fetch_error)
            return
        if job.input_sha256:
            self.input_cache.touch(job.input_sha256)  # used now: the last to be evicted
        self._trim_cache()
        # the job's figures as the broker merged them (its options over the processor's); a
        # spec from an older broker has none: the processor's own
        spec = job.spec
        needs = spec.resources.to_resources() if spec.resources else _resources(spec.processor)
        job.handle = self.executor.submit(job.folder, needs)
        log.info("job %s started (attempt %s)", job.job_id, job.spec.attempt)

    # ---- clean-up ------------------------------------------------------------------------

    def _sweep(self) -> None:
        """Remove job folders that ended more than ``keep_failed_seconds`` ago, then hold
        the input cache to its size."""
        self._last_sweep = time.monotonic()
        removed = remove_expired(self.work_dir / "jobs", self.limits.keep_failed_seconds,
                                 set(self.running))
        if removed:
            log.info("removed %d job folder(s) kept longer than %.0f s", len(removed),
                     self.limits.keep_failed_seconds)
        self._trim_cache()

    def _trim_cache(self) -> None:
        """Evict least recently used inputs over ``input_cache_bytes``, never one that a
        running (or fetching) job names."""
        in_use = {job.input_sha256 for job in self.running.values() if job.input_sha256}
        for job in self.running.values():
            try:
                in_use.add(parse_uri(job.spec.input_uri)[0])
            except ParameterError:  # a URL, not a store URI: not in the cache
                pass
        self.input_cache.trim(in_use)

    def _forward_log(self, job: RunningJob) -> None:
        if self.reports_itself or job.tail is None:  # the job streams its log itself
            return
        lost = job.stop_reason == "lost"
        if job.tail.forward(lambda text: lost or self.client.append_log(
                self.worker_id or "", job.job_id, text)) and self.executor.detached:
            (job.folder.path / LOG_FORWARDED).write_text(str(job.tail.offset))

    def _give_back(self, job: RunningJob) -> None:
        """Leave a job the cluster ended (node failure, preemption) to the broker: no report,
        so its lease expires and it is queued again, the attempt counted."""
        assert job.handle is not None
        reason = job.handle.failure_reason() or "The job was ended by the cluster."
        log.warning("job %s: %s", job.job_id, reason)
        self.client.append_log(self.worker_id or "", job.job_id, f"\n[nwbscope] {reason}\n")
        self.executor.forget(job.folder)
        job.folder.mark_ended()

    def _finish(self, job: RunningJob, code: int) -> None:
        wid = self.worker_id or ""
        job.folder.mark_ended()  # unless removed below, kept a while (keep_failed_seconds)
        self.executor.forget(job.folder)
        if job.stop_reason == "lost":
            log.info("job %s was given to another worker; dropped", job.job_id)
            return
        if job.stop_reason == "cancelled":
            self.client.fail(wid, job.job_id, "Cancelled on request.", cancelled=True)
            return
        if self.reports_itself:
            follow_up(self.client, wid, job.job_id, code, job.handle)
            if code == 0 and not job.folder.remove():
                log.warning("could not remove all of %s", job.folder.path)
            return
        result = job.folder.read_result()
        if code == 0 and result is not None:
            outputs = {
                key: self.client.upload_output(wid, job.job_id, job.folder.outputs_dir / name)
                for key, name in result.outputs.items()
            }
            self.client.complete(wid, job.job_id, outputs, result.timings, job.input_sha256)
            log.info("job %s completed", job.job_id)
            # its outputs are in the store, its log in the broker: nothing left to keep
            if not job.folder.remove():
                log.warning("could not remove all of %s", job.folder.path)
            self._trim_cache()
            return
        error = job.folder.read_error()
        reason = job.handle.failure_reason() if job.handle is not None else None
        if error is not None:
            message = f"{error.type}: {error.message}"
        else:
            message = reason or f"The job's process ended with exit code {code} and no " \
                                "error report (killed, or out of memory?)."
        if reason and error is not None and reason not in message:
            message = f"{reason} {message}"
        if reason:
            self.client.append_log(wid, job.job_id, f"\n[nwbscope] {reason}\n")
        self.client.fail(wid, job.job_id, message)
        log.info("job %s failed: %s", job.job_id, message)
