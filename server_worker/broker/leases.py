"""The worker side of the broker: registration, claims with leases, heartbeats, outcomes.

A claim flips one pending job to running with a conditional UPDATE (``WHERE status =
'pending'``) and takes it only if that UPDATE changed a row, so two workers can never get the
same job, on SQLite or PostgreSQL; on PostgreSQL a ``FOR UPDATE SKIP LOCKED`` before it lets
concurrent claimers pass each other instead of waiting. A worker gets only jobs whose
requirements its capabilities meet (``catalog``). A lease not renewed in time
(``reap_expired``, run before every claim and by the broker's background task, never by a
read) puts the job back to pending for another worker; after ``max_attempts`` claims the
job fails instead. Workers silent for long and holding no job are pruned
(``prune_workers``, by the same task).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..db import AttemptRow, JobRow, WorkerRow, utcnow
from .catalog import can_run
from .errors import ConflictError, MissingError
from .jobs_service import append_log

#: Pending jobs a claim looks at, oldest first: enough to pass over those another worker is
#: taking or that this worker cannot run.
CANDIDATES = 50


def register(session: Session, name: str, capabilities: dict[str, Any]) -> WorkerRow:
    worker = WorkerRow(id=uuid.uuid4().hex, name=name[:200], capabilities=capabilities)
    session.add(worker)
    session.flush()
    return worker


def _close_attempt(session: Session, job: JobRow, outcome: str) -> None:
    attempt = session.scalars(
        select(AttemptRow).where(AttemptRow.job_id == job.id, AttemptRow.number == job.attempts)
    ).first()
    if attempt is not None and attempt.ended_at is None:
        attempt.ended_at = utcnow()
        attempt.outcome = outcome


def reap_expired(session: Session) -> int:
    """Jobs whose lease ran out: back to pending (or failed / cancelled). Returns how many."""
    now = utcnow()
    expired = session.scalars(
        select(JobRow).where(JobRow.status == "running", JobRow.lease_expires_at < now)
    ).all()
    for job in expired:
        lost = job.worker_id
        changed = session.execute(
            update(JobRow)
            .where(JobRow.id == job.id, JobRow.status == "running",
                   JobRow.lease_expires_at == job.lease_expires_at)
            .values(lease_expires_at=None)
        ).rowcount
        if not changed:
            continue
        session.refresh(job)
        _close_attempt(session, job, "lease expired")
        append_log(session, job, f"\n[nwbscope] worker {lost} stopped answering: lease expired "
                                 f"after attempt {job.attempts}.\n")
        job.worker_id = None
        if job.cancel_requested:
            job.status, job.finished_at, job.error = "cancelled", now, "Cancelled."
        elif job.attempts >= job.max_attempts:
            job.status, job.finished_at = "failed", now
            job.error = (f"Gave up after {job.attempts} attempts: each time the worker stopped "
                         "answering (crashed, killed or out of memory) before finishing.")
        else:
            job.status = "pending"
    return len(expired)


def prune_workers(session: Session, silent_seconds: float) -> int:
    """Delete workers not heard from for ``silent_seconds`` that hold no running job (such a
    job's lease expires first and puts it back). Returns how many.

    Looks before it writes, so a round with nothing to prune takes no write lock."""
    horizon = utcnow() - timedelta(seconds=silent_seconds)
    busy = select(JobRow.worker_id).where(JobRow.status == "running",
                                          JobRow.worker_id.is_not(None))
    stale = session.scalars(
        select(WorkerRow.id).where(WorkerRow.last_seen < horizon, WorkerRow.id.not_in(busy))
    ).all()
    if not stale:
        return 0
    # checked again in the DELETE: a worker may have claimed a job since the SELECT
    return session.execute(
        delete(WorkerRow).where(WorkerRow.id.in_(stale), WorkerRow.last_seen < horizon,
                                WorkerRow.id.not_in(busy))
    ).rowcount


def claim(
    session: Session, worker: WorkerRow, processors: list[str], lease_seconds: float
) -> JobRow | None:
    """Give ``worker`` the oldest pending job it can run, leased for ``lease_seconds``.

    Only jobs whose requirements the worker's capabilities meet (``catalog.can_run``): a
    worker without a GPU never takes a job that asked for one. Each candidate is first
    locked with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL only: SQLite's writes
    are serialised anyway), so concurrent claimers pass over a job another is taking
    instead of queuing behind its transaction; the conditional UPDATE after it is what
    makes the claim safe on every database.
    """
    reap_expired(session)
    caps = worker.capabilities or {}
    runnable = [p for p in processors if can_run(caps, p)]  # processor-level needs
    if not runnable:
        return None
    candidates = session.execute(
        select(JobRow.id, JobRow.processor, JobRow.parameters, JobRow.resources)
        .where(JobRow.status == "pending", JobRow.processor.in_(runnable))
        .order_by(JobRow.created_at)
        .limit(CANDIDATES)
    ).all()
    now = utcnow()
    lock = session.get_bind().dialect.name == "postgresql"
    for row in candidates:
        if not can_run(caps, row.processor, row.parameters, row.resources):  # its own needs
            continue
        if lock and session.scalars(
            select(JobRow.id).where(JobRow.id == row.id, JobRow.status == "pending")
            .with_for_update(skip_locked=True)
        ).first() is None:
            continue  # another claimer is taking it (or took it)
        changed = session.execute(
            update(JobRow)
            .where(JobRow.id == row.id, JobRow.status == "pending")
            .values(
                status="running",
                worker_id=worker.id,
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                attempts=JobRow.attempts + 1,
            )
        ).rowcount
        # populate_existing: the reaper may have loaded this row before the UPDATE
        job = session.get(JobRow, row.id, populate_existing=True) if changed else None
        if job is not None:
            if job.started_at is None:
                job.started_at = now
            session.add(AttemptRow(job_id=job.id, number=job.attempts, worker_id=worker.id,
                                   started_at=now))
            append_log(session, job, f"[nwbscope] attempt {job.attempts} on worker "
                                     f"{worker.name} ({worker.id}).\n")
            return job
    return None


def heartbeat(
    session: Session, worker: WorkerRow, job_ids: list[str], lease_seconds: float
) -> dict[str, list[str]]:
    """Renew the leases of ``job_ids``; say which to cancel and which are no longer ours."""
    worker.last_seen = utcnow()
    cancel: list[str] = []
    lost: list[str] = []
    for job_id in job_ids:
        job = session.get(JobRow, job_id)
        if job is None or job.status != "running" or job.worker_id != worker.id:
            lost.append(job_id)
            continue
        job.lease_expires_at = utcnow() + timedelta(seconds=lease_seconds)
        if job.cancel_requested:
            cancel.append(job_id)
    return {"cancel": cancel, "lost": lost}


def owned_job(session: Session, worker: WorkerRow, job_id: str) -> JobRow:
    """The running job ``job_id`` if ``worker`` holds its lease; ConflictError otherwise.

    ``worker`` is the caller: the routes take it from the path only after ``WorkerCredential``
    checked that the credential was issued to that worker id."""
    job = session.get(JobRow, job_id)
    if job is None:
        raise MissingError(f"job {job_id!r}")
    if job.status != "running" or job.worker_id != worker.id:
        raise ConflictError(
            f"Job {job_id} is {job.status} and not leased to worker {worker.id} any more."
        )
    return job


def complete(
    session: Session, job: JobRow, outputs: dict[str, str], timings: dict[str, float],
    input_sha256: str | None,
) -> JobRow:
    job.status = "completed"
    job.finished_at = utcnow()
    job.lease_expires_at = None
    job.outputs = outputs
    job.timings = dict(timings)
    if input_sha256 and not job.input_sha256:
        job.input_sha256 = input_sha256
    _close_attempt(session, job, "completed")
    return job


def fail(session: Session, job: JobRow, error: str, cancelled: bool) -> JobRow:
    job.status = "cancelled" if cancelled else "failed"
    job.finished_at = utcnow()
    job.lease_expires_at = None
    job.error = error
    _close_attempt(session, job, job.status)
    return job
