"""Submitting, deduplicating, listing, cancelling jobs and reading their logs.

Route handlers stay thin: they call these functions with a session. Parameters are checked
against the schema the workers registered, then completed with its defaults, so the job record
(and its deduplication key) holds every parameter the sorter will use.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nwbscope.errors import ParameterError
from nwbscope.store import parse_uri

from ..db import FINAL_STATES, AttemptRow, JobRow, LogChunkRow, utcnow
from ..processors.schema import deep_merge
from ..processors.validate import validate
from .catalog import CatalogEntry


class UnknownProcessorError(LookupError):
    """No registered worker offers this processor."""


class ConflictError(RuntimeError):
    """The job is not in a state that allows this."""


def schema_defaults(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v["default"] for k, v in schema.get("properties", {}).items() if "default" in v}


def canonical_hash(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def input_identity(uri: str) -> tuple[str, str | None]:
    """Check an input reference; return it with its SHA-256 when the reference carries one."""
    if not isinstance(uri, str) or not uri:
        raise ParameterError("input", "give a store URI (sha256://...) or an http(s) URL")
    if uri.startswith("sha256://"):
        hexdigest, _label = parse_uri(uri)
        return uri, hexdigest
    if uri.startswith(("http://", "https://")) and len(uri) < 4096:
        return uri, None
    raise ParameterError(
        "input", f"{uri[:200]!r} is neither a store URI (sha256://<hex>) nor an http(s) URL"
    )


def submit(
    session: Session,
    entry: CatalogEntry,
    *,
    processor: str,
    parameters: dict[str, Any],
    recording: dict[str, Any],
    input_uri: str,
    force: bool,
    max_attempts: int,
) -> tuple[JobRow, bool]:
    """Queue one job, or return the completed twin; ``(job, reused)``."""
    described = entry.description
    params_schema = described.get("parameters_schema", {"type": "object"})
    rec_schema = described.get("recording_schema", {"type": "object"})
    validate(parameters, params_schema, prefix="parameters")
    validate(recording, rec_schema, prefix="recording")
    full_params = deep_merge(schema_defaults(params_schema), parameters)
    full_recording = {**schema_defaults(rec_schema), **recording}
    version = str(described.get("version", ""))
    uri, sha = input_identity(input_uri)
    params_hash = canonical_hash(processor, version, full_params, full_recording)
    if not force:
        twin = find_completed(session, processor, version, params_hash, uri, sha)
        if twin is not None:
            return twin, True
    job = JobRow(
        id=uuid.uuid4().hex,
        processor=processor,
        processor_version=version,
        parameters=full_params,
        recording=full_recording,
        params_hash=params_hash,
        input_uri=uri,
        input_sha256=sha,
        status="pending",
        max_attempts=max_attempts,
    )
    session.add(job)
    session.flush()
    return job, False


def find_completed(
    session: Session, processor: str, version: str, params_hash: str, uri: str, sha: str | None
) -> JobRow | None:
    query = select(JobRow).where(
        JobRow.status == "completed",
        JobRow.processor == processor,
        JobRow.processor_version == version,
        JobRow.params_hash == params_hash,
    )
    query = query.where(JobRow.input_sha256 == sha) if sha else query.where(JobRow.input_uri == uri)
    return session.scalars(query.order_by(JobRow.finished_at.desc()).limit(1)).first()


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


def read_log(session: Session, job: JobRow, offset: int) -> dict[str, Any]:
    """The log from character ``offset`` on, and the offset to ask from next time."""
    offset = max(0, min(offset, job.log_size))
    chunks = session.scalars(
        select(LogChunkRow)
        .where(LogChunkRow.job_id == job.id,
               LogChunkRow.start + func.length(LogChunkRow.text) > offset)
        .order_by(LogChunkRow.start)
    ).all()
    text = "".join(chunks_text(chunks, offset))
    return {
        "job_id": job.id,
        "offset": offset,
        "next_offset": offset + len(text),
        "text": text,
        "status": job.status,
        "complete": job.status in FINAL_STATES,
    }


def chunks_text(chunks: list[LogChunkRow], offset: int) -> list[str]:
    return [c.text[max(0, offset - c.start):] for c in chunks]


def append_log(session: Session, job: JobRow, text: str) -> int:
    if text:
        session.add(LogChunkRow(job_id=job.id, start=job.log_size, text=text))
        job.log_size += len(text)
    return job.log_size


def job_view(session: Session, job: JobRow, *, detail: bool = True) -> dict[str, Any]:
    """The JSON of a job (``detail`` adds its attempts)."""
    run_s = queue_s = None
    if job.started_at is not None:
        queue_s = (job.started_at - job.created_at).total_seconds()
        if job.finished_at is not None:
            run_s = (job.finished_at - job.started_at).total_seconds()
    view: dict[str, Any] = {
        "id": job.id,
        "processor": job.processor,
        "processor_version": job.processor_version,
        "status": job.status,
        "parameters": job.parameters,
        "recording": job.recording,
        "inputs": {"input": job.input_uri, "input_sha256": job.input_sha256},
        "outputs": job.outputs,
        "error": job.error,
        "worker": job.worker_id,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "cancel_requested": job.cancel_requested,
        "timings": {
            "created_at": _iso(job.created_at),
            "started_at": _iso(job.started_at),
            "finished_at": _iso(job.finished_at),
            "queued_s": queue_s,
            "run_s": run_s,
            **job.timings,
        },
        "log_size": job.log_size,
    }
    if detail:
        rows = session.scalars(
            select(AttemptRow).where(AttemptRow.job_id == job.id).order_by(AttemptRow.number)
        ).all()
        view["attempt_history"] = [
            {
                "number": a.number,
                "worker": a.worker_id,
                "started_at": _iso(a.started_at),
                "ended_at": _iso(a.ended_at),
                "outcome": a.outcome,
            }
            for a in rows
        ]
    return view


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
