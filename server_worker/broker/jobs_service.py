"""Submitting, deduplicating, listing, cancelling jobs and reading their logs.

Route handlers stay thin: they call these functions with a session. Parameters are checked
once, here, against the schema the workers registered, then completed with its defaults, so
the job record (and its deduplication key) holds every parameter the sorter will use, and the
worker runs it without checking again. A job no registered worker can run (a GPU asked for
where no worker has one, more memory than any has) is refused here too, naming what each
worker lacks, rather than queued to wait forever (``catalog.refusal``), with the submission's own
``resources`` (CPUs, memory, GPUs, time limit) in place of the processor's figures; the
merged figures are recorded with the job and handed to the worker in its ``JobSpec``. They
are not part of the deduplication key: more CPUs do not change a sort's result. The record keeps
the input URL whole (the worker's claim needs it); what people read (``job_out``, the
log) shows its credentials as ``***``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nwbscope.errors import ParameterError

from ..db import FINAL_STATES, AttemptRow, JobRow, LogChunkRow, WorkerRow, utcnow
from ..jobs.spec import JobResources
from ..processors.schema import complete
from ..processors.validate import validate
from ..redact import redact_url
from .catalog import CatalogEntry, job_resources, refusal
from .errors import ConflictError
from .inputs_ref import InputRef
from .models import AttemptOut, JobInputs, JobOut, JobTimings, LogOut


def canonical_hash(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def checked_options(
    entry: CatalogEntry, parameters: dict[str, Any], recording: dict[str, Any],
    max_parameter_bytes: int | None = None, resources: JobResources | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate ``parameters`` and ``recording`` (ParameterError names the field; each item
    at most ``max_parameter_bytes`` as JSON), complete both with the schema's defaults, and
    check that some registered worker meets the job's requirements, ``resources`` included
    (ParameterError on ``processor`` otherwise)."""
    described = entry.description
    params_schema = described.get("parameters_schema", {"type": "object"})
    rec_schema = described.get("recording_schema", {"type": "object"})
    validate(parameters, params_schema, prefix="parameters", max_item_bytes=max_parameter_bytes)
    validate(recording, rec_schema, prefix="recording", max_item_bytes=max_parameter_bytes)
    full = complete(params_schema, parameters)
    reason = refusal(entry, str(described.get("name", "")), full, resources)
    if reason is not None:
        raise ParameterError("processor", reason)
    return full, complete(rec_schema, recording)


def checked_resources(entry: CatalogEntry, parameters: dict[str, Any],
                      given: JobResources | None) -> JobResources:
    """The figures a job records: ``given`` over the processor's declared resources
    (``parameters`` complete, as ``checked_options`` returns them)."""
    return job_resources(entry.description, parameters, given)


def submit(
    session: Session,
    entry: CatalogEntry,
    *,
    processor: str,
    parameters: dict[str, Any],
    recording: dict[str, Any],
    source: InputRef,
    force: bool,
    max_attempts: int,
    resources: JobResources | None = None,
) -> tuple[JobRow, bool]:
    """Queue one job with checked, complete options, or return its completed twin;
    ``(job, reused)``."""
    version = str(entry.description.get("version", ""))
    params_hash = canonical_hash(processor, version, parameters, recording)
    if not force:
        twin = find_completed(session, processor, version, params_hash, source)
        if twin is not None:
            return twin, True
    job = JobRow(
        id=uuid.uuid4().hex,
        processor=processor,
        processor_version=version,
        parameters=parameters,
        recording=recording,
        params_hash=params_hash,
        input_uri=source.uri,
        input_sha256=source.sha256,
        status="pending",
        max_attempts=max_attempts,
        resources=None if resources is None else resources.model_dump(),
    )
    session.add(job)
    session.flush()
    return job, False


def find_completed(
    session: Session, processor: str, version: str, params_hash: str, source: InputRef
) -> JobRow | None:
    """The newest completed job with these options on the same bytes (by hash when known,
    however the input was spelled; else by URL)."""
    query = select(JobRow).where(
        JobRow.status == "completed",
        JobRow.processor == processor,
        JobRow.processor_version == version,
        JobRow.params_hash == params_hash,
    )
    if source.sha256:
        query = query.where(JobRow.input_sha256 == source.sha256)
    else:
        query = query.where(JobRow.input_uri == source.uri)
    return session.scalars(query.order_by(JobRow.finished_at.desc()).limit(1)).first()


def get_job(session: Session, job_id: str) -> JobRow:
    from .errors import MissingError

    job = session.get(JobRow, job_id) if len(job_id) <= 64 else None
    if job is None:
        raise MissingError(f"job {job_id[:64]!r}")
    return job


def cancel(session: Session, job: JobRow) -> JobRow:
    """Pending: cancelled now. Running: flagged; the worker stops it at its next heartbeat."""
    if job.status in FINAL_STATES:
        raise ConflictError(f"Job {job.id} is already {job.status}; there is nothing to cancel.")
    if job.status == "pending":
        job.status = "cancelled"
        job.finished_at = utcnow()
        job.error = "Cancelled before it started."
    else:
        job.cancel_requested = True
    return job


def read_log(session: Session, job: JobRow, offset: int) -> LogOut:
    """The log from character ``offset`` on, and the offset to ask from next time."""
    offset = max(0, min(offset, job.log_size))
    chunks = session.scalars(
        select(LogChunkRow)
        .where(LogChunkRow.job_id == job.id,
               LogChunkRow.start + func.length(LogChunkRow.text) > offset)
        .order_by(LogChunkRow.start)
    ).all()
    text = "".join(c.text[max(0, offset - c.start):] for c in chunks)
    return LogOut(job_id=job.id, offset=offset, next_offset=offset + len(text), text=text,
                  status=job.status, complete=job.status in FINAL_STATES)


def append_log(session: Session, job: JobRow, text: str) -> int:
    """Add ``text`` to the job's log, credentials of URLs in it hidden (the runner prints its
    input; a failed fetch names it): the log is stored as it is shown, so offsets agree."""
    text = redact_url(text)
    if text:
        session.add(LogChunkRow(job_id=job.id, start=job.log_size, text=text))
        job.log_size += len(text)
    return job.log_size


def job_out(session: Session, job: JobRow, *, detail: bool = True) -> JobOut:
    """The record of a job people read (``detail`` adds its attempts); credentials in its
    input URL and error are hidden."""
    run_s = queue_s = None
    if job.started_at is not None:
        queue_s = (job.started_at - job.created_at).total_seconds()
        if job.finished_at is not None:
            run_s = (job.finished_at - job.started_at).total_seconds()
    worker = session.get(WorkerRow, job.worker_id) if job.worker_id else None
    measured = {k: v for k, v in job.timings.items() if k in JobTimings.model_fields}
    history = None
    if detail and job.attempts == 0:
        history = []  # never claimed (a job just submitted): no attempt rows to read
    elif detail:
        rows = session.scalars(
            select(AttemptRow).where(AttemptRow.job_id == job.id).order_by(AttemptRow.number)
        ).all()
        history = [AttemptOut(number=a.number, worker=a.worker_id, started_at=_iso(a.started_at),
                              ended_at=_iso(a.ended_at), outcome=a.outcome) for a in rows]
    return JobOut(
        id=job.id,
        processor=job.processor,
        processor_version=job.processor_version,
        status=job.status,
        parameters=job.parameters,
        recording=job.recording,
        inputs=JobInputs(input=redact_url(job.input_uri), input_sha256=job.input_sha256,
                         label=InputRef.label_of(job.input_uri)),
        outputs=job.outputs,
        error=redact_url(job.error) if job.error else job.error,
        worker=job.worker_id,
        worker_name=worker.name if worker is not None else None,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        cancel_requested=job.cancel_requested,
        timings=JobTimings(created_at=_iso(job.created_at), started_at=_iso(job.started_at),
                           finished_at=_iso(job.finished_at), queued_s=queue_s, run_s=run_s,
                           **measured),
        log_size=job.log_size,
        resources=job.resources,
        attempt_history=history,
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
