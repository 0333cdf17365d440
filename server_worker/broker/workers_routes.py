"""``/api/workers``: the calls only workers make (worker token), and a read-only list.

A worker registers its capabilities, claims jobs, heartbeats (renewing leases and learning of
cancellations), appends to a job's log, uploads outputs into the store and reports the end.
Every per-job call checks that the caller still holds the job's lease.
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from nwbscope.errors import NotFoundError
from nwbscope.store import format_uri

from ..auth import WorkerAuth
from ..db import WorkerRow
from .deps import ConfigDep, DatabaseDep, SessionDep
from .jobs_service import ConflictError, append_log, job_view
from .leases import claim, complete, fail, heartbeat, owned_job, register

router = APIRouter(prefix="/api/workers", tags=["workers"])


class Registration(BaseModel):
    name: str = Field(max_length=200)
    capabilities: dict[str, Any] = Field(default_factory=dict)


class ClaimRequest(BaseModel):
    processors: list[str] | None = None


class Heartbeat(BaseModel):
    jobs: list[str] = Field(default_factory=list)


class LogAppend(BaseModel):
    text: str = Field(max_length=4_000_000)


class Completion(BaseModel):
    outputs: dict[str, str] = Field(default_factory=dict)
    result: dict[str, Any] = Field(default_factory=dict)
    input_sha256: str | None = None


class Failure(BaseModel):
    error: str = Field(max_length=100_000)
    cancelled: bool = False


def _worker(session: SessionDep, worker_id: str) -> WorkerRow:
    worker = session.get(WorkerRow, worker_id)
    if worker is None:
        raise HTTPException(404, detail=f"Unknown worker {worker_id!r}: register again.")
    return worker


def _owned(session: SessionDep, worker: WorkerRow, job_id: str) -> Any:
    try:
        return owned_job(session, worker, job_id)
    except LookupError as error:
        raise HTTPException(404, detail=f"There is no job {job_id!r}.") from error
    except ConflictError as error:
        raise HTTPException(409, detail=str(error)) from error


@router.post("/register")
def register_worker(body: Registration, session: SessionDep, config: ConfigDep, _: WorkerAuth
                    ) -> dict[str, Any]:
    worker = register(session, body.name, body.capabilities)
    return {
        "worker_id": worker.id,
        "lease_seconds": config.lease_seconds,
        "heartbeat_seconds": config.heartbeat_seconds,
    }


@router.get("")
def list_workers(session: SessionDep) -> dict[str, Any]:
    rows = session.scalars(select(WorkerRow).order_by(WorkerRow.last_seen.desc())).all()
    return {"workers": [{
        "id": w.id, "name": w.name, "last_seen": w.last_seen.isoformat(),
        "processors": [p.get("name") for p in w.capabilities.get("processors", [])],
        **{k: v for k, v in w.capabilities.items() if k != "processors"},
    } for w in rows]}


@router.post("/{worker_id}/claim")
def claim_job(worker_id: str, body: ClaimRequest, session: SessionDep, config: ConfigDep,
              _: WorkerAuth) -> dict[str, Any]:
    """The next job for this worker (``{"job": null}`` when there is none)."""
    worker = _worker(session, worker_id)
    offered = [p["name"] for p in worker.capabilities.get("processors", []) if "name" in p]
    wanted = [p for p in (body.processors or offered) if p in offered]
    job = claim(session, worker, wanted, config.lease_seconds)
    if job is None:
        return {"job": None}
    view = job_view(session, job, detail=False)
    spec = {
        "job_id": job.id,
        "attempt": job.attempts,
        "processor": job.processor,
        "processor_version": job.processor_version,
        "parameters": job.parameters,
        "recording": job.recording,
        "input_uri": job.input_uri,
        "input_sha256": job.input_sha256,
        "started_at": view["timings"]["started_at"],
        "lease_seconds": config.lease_seconds,
    }
    return {"job": spec}


@router.post("/{worker_id}/heartbeat")
def worker_heartbeat(worker_id: str, body: Heartbeat, session: SessionDep, config: ConfigDep,
                     _: WorkerAuth) -> dict[str, Any]:
    worker = _worker(session, worker_id)
    answer = heartbeat(session, worker, body.jobs, config.lease_seconds)
    return {**answer, "lease_seconds": config.lease_seconds}


@router.post("/{worker_id}/jobs/{job_id}/log")
def append_job_log(worker_id: str, job_id: str, body: LogAppend, session: SessionDep,
                   _: WorkerAuth) -> dict[str, int]:
    job = _owned(session, _worker(session, worker_id), job_id)
    return {"log_size": append_log(session, job, body.text)}


@router.put("/{worker_id}/jobs/{job_id}/outputs", status_code=201)
async def upload_output(worker_id: str, job_id: str, request: Request, db: DatabaseDep,
                        _: WorkerAuth, label: str = Query(max_length=255)) -> dict[str, Any]:
    """Stream one output file into the store (only for a job this worker holds)."""

    def check() -> None:
        with db.session() as session:
            _owned(session, _worker(session, worker_id), job_id)

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
    return {"uri": format_uri(result.sha256, label), "sha256": result.sha256,
            "size": result.size}


@router.post("/{worker_id}/jobs/{job_id}/complete")
def complete_job(worker_id: str, job_id: str, body: Completion, request: Request,
                 session: SessionDep, _: WorkerAuth) -> dict[str, Any]:
    job = _owned(session, _worker(session, worker_id), job_id)
    store = request.app.state.store
    for name, uri in body.outputs.items():  # outputs must be in the store already
        hexdigest = uri.removeprefix("sha256://").split("?")[0]
        try:
            present = store.has(hexdigest)
        except (NotFoundError, ValueError):
            present = False
        if not present:
            raise HTTPException(422, detail={"field": f"outputs.{name}",
                                             "message": f"{uri} is not in the store"})
    return job_view(session, complete(session, job, body.outputs, body.result, body.input_sha256))


@router.post("/{worker_id}/jobs/{job_id}/fail")
def fail_job(worker_id: str, job_id: str, body: Failure, session: SessionDep, _: WorkerAuth
             ) -> dict[str, Any]:
    job = _owned(session, _worker(session, worker_id), job_id)
    cancelled = body.cancelled and job.cancel_requested
    return job_view(session, fail(session, job, body.error, cancelled))
