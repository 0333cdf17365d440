"""The job contract: what the broker hands a worker (``JobSpec``) and what a run gives back.

One typed record on both sides of every boundary a job crosses: the claim answer (HTTP), the
daemon, ``job.json`` in the job folder, and the runner in its child process. The broker fills
in every parameter (validated once, against the schema the worker registered, and completed
with its defaults) before a job is queued, so the runner runs exactly what the record says and
checks nothing again. ``RecordingOptions`` is read from ``RECORDING_SCHEMA``'s defaults, the
one place they are written.

Resources. A submission may ask for CPUs, memory, GPUs and a time limit (``JobResources``);
the broker merges what it gives over the processor's declared needs once, at submission, so
the spec carries the final figures and the worker passes them to its executor unchanged
(``JobResources.to_resources``): a Slurm job's request is then exactly what the user saw.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..processors.base import Resources
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


class JobResources(BaseModel):
    """What one job asks of its worker; a field left out keeps the processor's figure."""

    model_config = ConfigDict(extra="forbid")

    cpus: int | None = Field(default=None, ge=1, le=4096)
    memory_gb: float | None = Field(default=None, gt=0, le=65536)
    gpus: int | None = Field(default=None, ge=0, le=64)
    time_limit_minutes: int | None = Field(default=None, ge=1, le=525_600)

    def to_resources(self) -> Resources:
        """The executor's ``Resources`` (complete once merged by the broker; a field still
        missing takes ``Resources``' default)."""
        base = Resources()
        gpus = self.gpus or 0
        return Resources(cpus=self.cpus or base.cpus,
                         memory_gb=self.memory_gb or base.memory_gb,
                         gpu="required" if gpus > 0 else "none", gpus=max(1, gpus),
                         time_limit_minutes=self.time_limit_minutes)


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
    #: The job's final resources (its options over the processor's); None: a job queued
    #: before resources were recorded, which runs with the processor's own.
    resources: JobResources | None = None
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
