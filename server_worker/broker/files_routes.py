"""``GET /api/files``: the project's files, as Protocaas listed them beside its jobs.

Inputs linked by URL (from the jobs that used them), files people uploaded to the store (from
the upload records), and every output a job produced, each output with the provenance that
made it (processor and version, parameters, input). Newest first. Read with a token
(``ReadAuth``), and a credential in an input URL is shown as ``***`` (``redact_url``).
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy import select

from nwbscope.store import format_uri

from ..auth import ReadAuth
from ..db import JobRow, UploadRow
from ..redact import redact_url
from .deps import ReadSessionDep
from .inputs_ref import InputRef
from .models import FileList, FileOut

router = APIRouter(prefix="/api/files", tags=["files"])


@router.get("", response_model=FileList)
def list_files(_: ReadAuth, session: ReadSessionDep,
               limit: int = Query(500, ge=1, le=5000)) -> FileList:
    files: list[FileOut] = []
    seen: set[object] = set()
    jobs = session.scalars(select(JobRow).order_by(JobRow.created_at.desc()).limit(limit)).all()
    for job in jobs:
        if job.status == "completed":
            for name, uri in sorted(job.outputs.items()):
                files.append(FileOut(
                    uri=uri, label=InputRef.label_of(uri), kind="output", job_id=job.id,
                    sha256=uri.removeprefix("sha256://").split("?")[0],
                    created_at=_iso(job.finished_at),
                    provenance={"output": name, "processor": job.processor,
                                "processor_version": job.processor_version,
                                "parameters": job.parameters, "recording": job.recording,
                                "input": redact_url(job.input_uri),
                                "input_sha256": job.input_sha256},
                ))
        if not job.input_uri.startswith("sha256://") and job.input_uri not in seen:
            seen.add(job.input_uri)
            files.append(FileOut(uri=redact_url(job.input_uri),
                                 label=InputRef.label_of(job.input_uri),
                                 kind="url", sha256=job.input_sha256, job_id=job.id,
                                 created_at=_iso(job.created_at)))
    uploads = session.scalars(
        select(UploadRow).order_by(UploadRow.created_at.desc()).limit(limit)).all()
    for row in uploads:  # the same bytes uploaded again under the same name: listed once
        if (row.sha256, row.label) in seen:
            continue
        seen.add((row.sha256, row.label))
        files.append(FileOut(uri=format_uri(row.sha256, row.label or None),
                             label=row.label or row.sha256[:12], kind="upload",
                             sha256=row.sha256, size=row.size, created_at=_iso(row.created_at)))
    files.sort(key=lambda f: f.created_at or "", reverse=True)
    return FileList(files=files[:limit])


def _iso(value: object) -> str | None:
    return value.isoformat() if value is not None else None  # type: ignore[attr-defined]
