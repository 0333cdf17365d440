"""The broker's HTTP records: request bodies and response models, which the page, the CLI and
the workers code against (``/docs`` shows them).

Responses are typed here and nowhere else; the services return rows and these models say
what of a row is public. ``JobSpec`` (what a claim hands a worker) lives with the job runner
in ``jobs.spec``, since both sides of that boundary use it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..jobs.spec import JobResources, JobSpec

#: Longest input reference accepted (a URL with a signed query fits easily).
MAX_URI = 4096


class JobRequest(BaseModel):
    """``POST /api/jobs``: one job (``input``) or one per input (``inputs``)."""

    processor: str = Field(max_length=100)
    parameters: dict[str, Any] = Field(default_factory=dict)
    recording: dict[str, Any] = Field(default_factory=dict)
    input: str | None = Field(default=None, max_length=MAX_URI)
    inputs: list[str] | None = Field(default=None, max_length=1000)
    force: bool = False
    #: CPUs, memory, GPUs, time limit; each left out keeps the processor's figure.
    resources: JobResources | None = None


class JobInputs(BaseModel):
    input: str
    input_sha256: str | None = None
    #: A name for people: the store label, or the URL's file name.
    label: str = ""


class JobTimings(BaseModel):
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    queued_s: float | None = None
    run_s: float | None = None
    #: Measured by the run itself (read, sort, write the outputs, all of it).
    load_s: float | None = None
    sort_s: float | None = None
    write_s: float | None = None
    total_s: float | None = None


class AttemptOut(BaseModel):
    number: int
    worker: str
    started_at: str | None = None
    ended_at: str | None = None
    outcome: str | None = None


class JobOut(BaseModel):
    id: str
    processor: str
    processor_version: str
    status: str
    parameters: dict[str, Any]
    recording: dict[str, Any]
    inputs: JobInputs
    #: Output name (``nwb``, ``summary``) -> ``sha256://<hex>?label=<file name>``.
    outputs: dict[str, str]
    error: str | None = None
    worker: str | None = None
    worker_name: str | None = None
    attempts: int
    max_attempts: int
    cancel_requested: bool
    timings: JobTimings
    log_size: int
    #: The final figures the worker's executor gets (the submission's over the processor's).
    resources: dict[str, Any] | None = None
    attempt_history: list[AttemptOut] | None = None
    #: True when an identical completed job was answered instead of queuing a new one.
    reused: bool = False


class JobList(BaseModel):
    jobs: list[JobOut]


class LogOut(BaseModel):
    job_id: str
    offset: int
    next_offset: int
    text: str
    status: str
    complete: bool


class ProcessorOut(BaseModel):
    name: str
    version: str = ""
    family: str = ""
    description: str = ""
    spikeinterface_version: str = ""
    resources: dict[str, Any] = Field(default_factory=dict)
    parameters_schema: dict[str, Any]
    recording_schema: dict[str, Any]
    online: bool
    workers: list[str]


class ProcessorList(BaseModel):
    processors: list[ProcessorOut]


class FileOut(BaseModel):
    """One file of the project: an input (linked by URL, or uploaded) or a job's output."""

    uri: str
    label: str
    sha256: str | None = None
    size: int | None = None
    kind: str  # "url", "upload" or "output"
    job_id: str | None = None
    created_at: str | None = None
    provenance: dict[str, Any] | None = None


class FileList(BaseModel):
    files: list[FileOut]


# ---- the workers' side -------------------------------------------------------------------

class Registration(BaseModel):
    name: str = Field(max_length=200)
    capabilities: dict[str, Any] = Field(default_factory=dict)


class Registered(BaseModel):
    worker_id: str
    #: This worker's own bearer credential for every ``/api/workers/{worker_id}/...`` call
    #: (the shared worker token only registers), so no worker can act for another.
    credential: str
    lease_seconds: float
    heartbeat_seconds: float


class ClaimRequest(BaseModel):
    processors: list[str] | None = None


class Claimed(BaseModel):
    job: JobSpec | None


class Heartbeat(BaseModel):
    jobs: list[str] = Field(default_factory=list)


class HeartbeatAnswer(BaseModel):
    cancel: list[str]
    lost: list[str]
    lease_seconds: float


class LogAppend(BaseModel):
    text: str = Field(max_length=4_000_000)


class LogSize(BaseModel):
    log_size: int


class Completion(BaseModel):
    outputs: dict[str, str] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    input_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class Failure(BaseModel):
    error: str = Field(max_length=100_000)
    cancelled: bool = False


class StoredOutput(BaseModel):
    uri: str
    sha256: str
    size: int


class WorkerOut(BaseModel):
    """A registered worker and what it said it offers (``worker.capabilities``)."""

    id: str
    name: str
    registered_at: str
    last_seen: str
    #: Heard from within the broker's ``worker_timeout_seconds``.
    online: bool
    #: ``online``, or ``lost`` (missed its heartbeats; listed until pruned after the broker's
    #: ``prune_worker_seconds``, unless it still holds a running job).
    state: Literal["online", "lost"]
    processors: list[str]
    slots: int | None = None
    executor: str | None = None
    hostname: str | None = None
    cpus: int | None = None
    memory_bytes: int | None = None
    gpus: list[str] = Field(default_factory=list)
    python: str | None = None


class WorkerList(BaseModel):
    workers: list[WorkerOut]
