"""``/api/workers``: the calls only workers make, and a list for readers.

A worker registers its capabilities (with the shared worker token) and gets its own
credential; with that it claims jobs, heartbeats (renewing leases and learning of
cancellations), appends to a job's log, uploads outputs into the store and reports the end.
Every per-worker call needs that worker's credential (``WorkerCredential``: no worker acts for
another), and every per-job call checks that the worker still holds the job's lease. A worker
the broker does not know (database reset, or pruned after a long silence) gets a 404 with
``code: worker_unknown`` and registers again.
"""

from __future__ import annotations

from datetime import timedelta

import anyio
from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from nwbscope.errors import NotFoundError, ParameterError
from nwbscope.store import format_uri

from ..auth import (
    ReadAuth,
    SettingsDep,
    WorkerAuth,
    WorkerCredential,
    issue_worker_credential,
)
from ..db import JobRow, WorkerRow, utcnow
from ..jobs.spec import JobSpec, RecordingOptions
from .deps import ConfigDep, DatabaseDep, ReadSessionDep, SessionDep
from .errors import UnknownWorkerError
from .jobs_service import append_log, job_out
from .leases import claim, complete, fail, heartbeat, owned_job, register
from .models import (
    Claimed,
    ClaimRequest,
    Completion,
    Failure,
    Heartbeat,
    HeartbeatAnswer,
    JobOut,
    LogAppend,
    LogSize,
    Registered,
    Registration,
    StoredOutput,
    WorkerList,
    WorkerOut,
)

router = APIRouter(prefix="/api/workers", tags=["workers"])


def _worker(session: SessionDep, worker_id: str) -> WorkerRow:
    worker = session.get(WorkerRow, worker_id) if len(worker_id) <= 40 else None
    if worker is None:
        raise UnknownWorkerError(worker_id[:40])
    return worker


@router.post("/register", response_model=Registered)
def register_worker(body: Registration, settings: SettingsDep, session: SessionDep,
                    config: ConfigDep, _: WorkerAuth) -> Registered:
    """Record a worker; answer its id and the credential its other calls need."""
    worker = register(session, body.name, body.capabilities)
    credential = issue_worker_credential(settings, worker.id)
    return Registered(worker_id=worker.id, credential=credential,
                      lease_seconds=config.lease_seconds,
                      heartbeat_seconds=config.heartbeat_seconds)


@router.get("", response_model=WorkerList)
def list_workers(session: ReadSessionDep, config: ConfigDep, _: ReadAuth) -> WorkerList:
    """Workers not pruned yet, newest heard from first, each ``online`` or ``lost``."""
    horizon = utcnow() - timedelta(seconds=config.worker_timeout_seconds)
    rows = session.scalars(select(WorkerRow).order_by(WorkerRow.last_seen.desc())).all()
    return WorkerList(workers=[_worker_out(w, w.last_seen >= horizon) for w in rows])


def _worker_out(worker: WorkerRow, online: bool) -> WorkerOut:
    caps = worker.capabilities
    known = {k: caps.get(k) for k in ("slots", "executor", "hostname", "cpus", "memory_bytes",
                                       "python") if caps.get(k) is not None}
    return WorkerOut(
        id=worker.id, name=worker.name, registered_at=worker.registered_at.isoformat(),
        last_seen=worker.last_seen.isoformat(), online=online,
        state="online" if online else "lost",
        processors=[str(p.get("name")) for p in caps.get("processors", []) if p.get("name")],
        gpus=[str(g) for g in caps.get("gpus", []) or []], **known,
    )


@router.post("/{worker_id}/claim", response_model=Claimed)
def claim_job(worker_id: str, body: ClaimRequest, session: SessionDep, config: ConfigDep,
              _: WorkerCredential) -> Claimed:
    """The next job for this worker (``{"job": null}`` when there is none)."""
    worker = _worker(session, worker_id)
    offered = [p["name"] for p in worker.capabilities.get("processors", []) if "name" in p]
    wanted = [p for p in (body.processors or offered) if p in offered]
    job = claim(session, worker, wanted, config.lease_seconds)
    return Claimed(job=None if job is None else spec_of(job, config.lease_seconds))


def spec_of(job: JobRow, lease_seconds: float) -> JobSpec:
    """The typed record a worker runs (the broker completed every option at submission)."""
    return JobSpec(
        job_id=job.id,
        attempt=job.attempts,
        processor=job.processor,
        processor_version=job.processor_version,
        parameters=job.parameters,
        recording=RecordingOptions.complete(job.recording),
        input_uri=job.input_uri,
        input_sha256=job.input_sha256,
        started_at=job.started_at.isoformat() if job.started_at else None,
        lease_seconds=lease_seconds,
        resources=job.resources,
    )


@router.post("/{worker_id}/heartbeat", response_model=HeartbeatAnswer)
def worker_heartbeat(worker_id: str, body: Heartbeat, session: SessionDep, config: ConfigDep,
                     _: WorkerCredential) -> HeartbeatAnswer:
    worker = _worker(session, worker_id)
    answer = heartbeat(session, worker, body.jobs, config.lease_seconds)
    return HeartbeatAnswer(**answer, lease_seconds=config.lease_seconds)


@router.post("/{worker_id}/jobs/{job_id}/log", response_model=LogSize)
def append_job_log(worker_id: str, job_id: str, body: LogAppend, session: SessionDep,
                   _: WorkerCredential) -> LogSize:
    job = owned_job(session, _worker(session, worker_id), job_id)
    return LogSize(log_size=append_log(session, job, body.text))


@router.put("/{worker_id}/jobs/{job_id}/outputs", status_code=201, response_model=StoredOutput)
async def upload_output(worker_id: str, job_id: str, request: Request, db: DatabaseDep,
                        _: WorkerCredential, label: str = Query(max_length=255)) -> StoredOutput:
    """Stream one output file into the store (only for a job this worker holds)."""

    def check() -> None:
        with db.session() as session:
            owned_job(session, _worker(session, worker_id), job_id)

    await anyio.to_thread.run_sync(check)
    store = request.app.state.store
    writer = await anyio.to_thread.run_sync(store.writer)
    try:
        async for chunk in request.stream():
            if chunk:
                await anyio.to_thread.run_sync(writer.write, chunk)
        result = await anyio.to_thread.run_sync(writer.commit)
    finally:
        await anyio.to_thread.run_sync(writer.abort)
    return StoredOutput(uri=format_uri(result.sha256, label), sha256=result.sha256,
                        size=result.size)


@router.post("/{worker_id}/jobs/{job_id}/complete", response_model=JobOut)
def complete_job(worker_id: str, job_id: str, body: Completion, request: Request,
                 session: SessionDep, _: WorkerCredential) -> JobOut:
    job = owned_job(session, _worker(session, worker_id), job_id)
    store = request.app.state.store
    for name, uri in body.outputs.items():  # outputs must be in the store already
        hexdigest = uri.removeprefix("sha256://").split("?")[0]
        try:
            present = store.has(hexdigest)
        except (NotFoundError, ValueError):
            present = False
        if not present:
            raise ParameterError(f"outputs.{name}", f"{uri} is not in the store")
    return job_out(session, complete(session, job, body.outputs, body.timings,
                                     body.input_sha256))


@router.post("/{worker_id}/jobs/{job_id}/fail", response_model=JobOut)
def fail_job(worker_id: str, job_id: str, body: Failure, session: SessionDep,
             _: WorkerCredential) -> JobOut:
    job = owned_job(session, _worker(session, worker_id), job_id)
    cancelled = body.cancelled and job.cancel_requested
    return job_out(session, fail(session, job, body.error, cancelled))
