"""``/api/jobs``: submit (one or a batch), list, read, follow the log, cancel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from nwbscope.errors import ParameterError

from ..auth import UserAuth
from ..db import JOB_STATES, JobRow
from .catalog import catalog
from .deps import ConfigDep, SessionDep
from .errors import not_found, unprocessable
from .jobs_service import ConflictError, cancel, input_identity, job_view, read_log, submit
from .leases import reap_expired

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


class JobRequest(BaseModel):
    processor: str = Field(max_length=100)
    parameters: dict[str, Any] = Field(default_factory=dict)
    recording: dict[str, Any] = Field(default_factory=dict)
    input: str | None = None
    inputs: list[str] | None = Field(default=None, max_length=1000)
    force: bool = False


@router.post("", status_code=201)
def submit_jobs(body: JobRequest, request: Request, session: SessionDep, config: ConfigDep,
                _: UserAuth) -> JSONResponse:
    """Queue one job (``input``) or one per input (``inputs``: answers ``{"jobs": [...]}``).

    An identical completed job (processor, version, parameters, input hash) is returned
    instead of queuing again, with ``reused: true``, unless ``force``.
    """
    if (body.input is None) == (body.inputs is None):
        raise unprocessable(ParameterError("input", "give either 'input' or 'inputs'"))
    entries = catalog(session, config.worker_timeout_seconds)
    entry = entries.get(body.processor)
    if entry is None:
        known = ", ".join(sorted(entries)) or "none yet (no worker has registered)"
        raise unprocessable(ParameterError(
            "processor", f"unknown processor {body.processor!r}; workers offer: {known}"))
    inputs = body.inputs if body.inputs is not None else [body.input or ""]
    views = []
    for index, uri in enumerate(inputs):
        field = "input" if body.inputs is None else f"inputs.{index}"
        try:
            _uri, sha = input_identity(uri)
            if sha is not None and not request.app.state.store.has(sha):
                raise ParameterError(
                    "input", f"{uri} is not in this server's store; upload it first "
                    "(PUT /api/store or `nwbscope store FILE`).")
            job, reused = submit(
                session, entry, processor=body.processor, parameters=body.parameters,
                recording=body.recording, input_uri=uri, force=body.force,
                max_attempts=config.max_attempts,
            )
        except ParameterError as error:
            if error.field in ("input", "uri"):
                error = ParameterError(field, str(error).split(": ", 1)[-1])
            raise unprocessable(error) from error
        views.append({**job_view(session, job), "reused": reused})
    if body.inputs is not None:
        return JSONResponse({"jobs": views}, status_code=201)
    return JSONResponse(views[0], status_code=200 if views[0]["reused"] else 201)


@router.get("")
def list_jobs(session: SessionDep, status: str | None = None, processor: str | None = None,
              limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
    reap_expired(session)
    query = select(JobRow).order_by(JobRow.created_at.desc()).limit(limit)
    if status is not None:
        if status not in JOB_STATES:
            raise unprocessable(ParameterError("status", f"one of {', '.join(JOB_STATES)}"))
        query = query.where(JobRow.status == status)
    if processor is not None:
        query = query.where(JobRow.processor == processor)
    return {"jobs": [job_view(session, j, detail=False) for j in session.scalars(query)]}


def _job(session: SessionDep, job_id: str) -> JobRow:
    job = session.get(JobRow, job_id)
    if job is None:
        raise not_found(f"job {job_id!r}")
    return job


@router.get("/{job_id}")
def get_job(job_id: str, session: SessionDep) -> dict[str, Any]:
    reap_expired(session)
    return job_view(session, _job(session, job_id))


@router.get("/{job_id}/log")
def get_log(job_id: str, session: SessionDep, offset: int = Query(0, ge=0)) -> dict[str, Any]:
    """Console output from ``offset`` on; poll again with ``next_offset``."""
    return read_log(session, _job(session, job_id), offset)


@router.post("/{job_id}/cancel")
def cancel_job(job_id: str, session: SessionDep, _: UserAuth) -> dict[str, Any]:
    try:
        job = cancel(session, _job(session, job_id))
    except ConflictError as error:
        raise HTTPException(409, detail=str(error)) from error
    return job_view(session, job)
