"""The job contract: what the broker hands a worker (``JobSpec``) and what a run gives back.

One typed record on both sides of every boundary a job crosses: the claim answer (HTTP), the
daemon, ``job.json`` in the job folder, and the runner in its child process. The broker fills
in every parameter (validated once, against the schema the worker registered, and completed
with its defaults) before a job is queued, so the runner runs exactly what the record says and
checks nothing again. ``RecordingOptions`` is read from ``RECORDING_SCHEMA``'s defaults, the
one place they are written.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..processors.schema import recording_defaults

#: ``code`` of the 404 a worker gets when the broker does not know its id: register again.
WORKER_UNKNOWN = "worker_unknown"


class RecordingOptions(BaseModel):
    """How the input is read before sorting (``RECORDING_SCHEMA`` documents each field)."""

    model_config = ConfigDict(extra="forbid")

    electrical_series_path: str | None = None
    time_range: tuple[float, float] | None = None
    preprocessing: bool = True
    freq_min: float = 300.0
    freq_max: float = 6000.0

    @classmethod
    def complete(cls, given: dict[str, Any] | None = None) -> RecordingOptions:
        """``given`` over the schema's defaults (the broker has already validated it)."""
        return cls.model_validate({**recording_defaults(), **(given or {})})


class JobSpec(BaseModel):
    """One attempt of one job, as a worker gets it from a claim."""

    job_id: str = Field(pattern=r"^[0-9a-zA-Z_-]{1,64}$")  # it becomes a folder name
    attempt: int = 1
    processor: str
    processor_version: str = ""
    #: Every parameter of the sorter, defaults included (completed by the broker).
    parameters: dict[str, Any] = Field(default_factory=dict)
    recording: RecordingOptions = Field(default_factory=RecordingOptions)
    input_uri: str
    input_sha256: str | None = None
    started_at: str | None = None
    lease_seconds: float = 60.0
    #: Filled in by the daemon: "<name> (<worker id>)", for the provenance.
    worker: str = ""


class JobResult(BaseModel):
    """What a successful run writes to ``result.json`` and the worker reports."""

    #: Output name -> file name in the folder's ``outputs/`` (``nwb``, ``summary``).
    outputs: dict[str, str]
    num_units: int
    processor_version: str = ""
    timings: dict[str, float] = Field(default_factory=dict)


class JobFailure(BaseModel):
    """What a failed run writes to ``error.json``: a message for people, the trace for us."""

    type: str
    message: str
    field: str | None = None
    trace: str = ""
