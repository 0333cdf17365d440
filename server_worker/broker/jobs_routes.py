"""``/api/jobs``: submit (one or a batch), list, read, follow the log, cancel.

Reads change nothing (expired leases are reaped by the broker's background task and by
claims, never by a GET). They need a token all the same (``ReadAuth``: the user token or the
read token): a job shows its parameters, its input and its log, which are the lab's business.
Errors are raised, and mapped to answers once (``errors``).
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from nwbscope.errors import ParameterError

from ..auth import ReadAuth, UserAuth
from ..db import JOB_STATES, JobRow
from .catalog import catalog
from .deps import ConfigDep, DatabaseDep, ReadSessionDep, SessionDep
from .input_check import check_input
from .inputs_ref import InputRef
from .jobs_service import (
    cancel,
    checked_options,
    checked_resources,
    get_job,
    job_out,
    read_log,
    submit,
)
from .models import JobList, JobOut, JobRequest, LogOut

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


@router.post("", status_code=201, response_model=JobOut | JobList,
             responses={200: {"model": JobOut, "description": "an identical job was reused"}})
def submit_jobs(body: JobRequest, request: Request, db: DatabaseDep, config: ConfigDep,
                _: UserAuth) -> JSONResponse:
    """Queue one job (``input``) or one per input (``inputs``: answers ``{"jobs": [...]}``).

    Everything is checked before anything is queued: the processor, its parameters, each
    input (its hash in the store, and that it is NWB with the ElectricalSeries asked for, or
    only one), so a wrong request is a 422 naming the field at once, not a failed job later.
    The inputs are read outside any database session (a slow URL holds up no other call).
    An identical completed job (processor, version, parameters, input bytes) is answered
    instead of queuing again, with ``reused: true``, unless ``force``.
    """
    if (body.input is None) == (body.inputs is None):
        raise ParameterError("input", "give either 'input' or 'inputs'")
    with db.read_session() as session:
        entries = catalog(session, config.worker_timeout_seconds)
    entry = entries.get(body.processor)
    if entry is None:
        known = ", ".join(sorted(entries)) or "none yet (no worker has registered)"
        raise ParameterError(
            "processor", f"unknown processor {body.processor!r}; workers offer: {known}")
    parameters, recording = checked_options(
        entry, body.parameters, body.recording,
        max_parameter_bytes=request.app.state.settings.max_parameter_bytes,
        resources=body.resources)
    resources = checked_resources(entry, parameters, body.resources)
    store = request.app.state.store
    given = body.inputs if body.inputs is not None else [body.input or ""]
    fields = ["input"] if body.inputs is None else [f"inputs.{i}" for i in range(len(given))]
    sources = [InputRef.parse(uri, store, field) for uri, field in zip(given, fields, strict=True)]
    settings = request.app.state.settings
    # each input with the series it resolves to: one file's only series is named, so the
    # same sort asked with or without the path is the same job
    checked = [check_input(source, recording, store, settings, field)
               for source, field in zip(sources, fields, strict=True)]
    answers = []
    with db.session() as session:
        for source, options in zip(sources, checked, strict=True):
            job, reused = submit(session, entry, processor=body.processor,
                                 parameters=parameters, recording=options, source=source,
                                 force=body.force, max_attempts=config.max_attempts,
                                 resources=resources)
            answers.append(job_out(session, job).model_copy(update={"reused": reused}))
    if body.inputs is not None:
        return JSONResponse(JobList(jobs=answers).model_dump(mode="json"), status_code=201)
    return JSONResponse(answers[0].model_dump(mode="json"),
                        status_code=200 if answers[0].reused else 201)


@router.get("", response_model=JobList)
def list_jobs(_: ReadAuth, session: ReadSessionDep, status: str | None = None,
              processor: str | None = None, limit: int = Query(100, ge=1, le=1000)) -> JobList:
    query = select(JobRow).order_by(JobRow.created_at.desc()).limit(limit)
    if status is not None:
        if status not in JOB_STATES:
            raise ParameterError("status", f"one of {', '.join(JOB_STATES)}")
        query = query.where(JobRow.status == status)
    if processor is not None:
        query = query.where(JobRow.processor == processor)
    return JobList(jobs=[job_out(session, j, detail=False) for j in session.scalars(query)])


@router.get("/{job_id}", response_model=JobOut)
def get_one(job_id: str, _: ReadAuth, session: ReadSessionDep) -> JobOut:
    return job_out(session, get_job(session, job_id))


@router.get("/{job_id}/log", response_model=LogOut)
def get_log(job_id: str, _: ReadAuth, session: ReadSessionDep,
            offset: int = Query(0, ge=0)) -> LogOut:
    """Console output from ``offset`` on; poll again with ``next_offset``."""
    return read_log(session, get_job(session, job_id), offset)


@router.post("/{job_id}/cancel", response_model=JobOut)
def cancel_job(job_id: str, session: SessionDep, _: UserAuth) -> JobOut:
    return job_out(session, cancel(session, get_job(session, job_id)))
