"""What the connected workers can run, from the capabilities they registered.

The broker knows processors only as the JSON workers send (name, version, parameter schema,
resources): it never imports a sorter. A processor offered by several workers is listed once,
with the newest version seen and the workers that have it.

Requirements. A job needs what its processor's ``resources`` declare (CPUs, memory, a GPU
when ``gpu`` is ``"required"``) and what its own options ask for (``torch_device: "cuda"``
on a sorter whose GPU is ``"optional"``, as Kilosort4's is), with the submission's own
``resources`` (CPUs, memory, GPUs, time limit) taking the place of the declared figures:
``job_resources`` merges them once, and the result is what the job records and the worker's
executor (a Slurm request) gets. ``unmet`` says, in words a user
can act on, why a worker's registered capabilities fall short; the same rule answers both
the submission (no registered worker can run it: refused at once, see ``jobs_service``) and
the claim (a worker only gets jobs it can run, see ``leases``). A capability a worker did not
report (an old worker, no ``memory_bytes``) is taken as met: only what is known refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nwbscope.errors import ParameterError

from ..db import WorkerRow, utcnow
from ..jobs.spec import JobResources
from .models import ProcessorOut


@dataclass
class CatalogEntry:
    description: dict[str, Any]
    workers: list[str]
    online: bool
    #: Capabilities of every registered worker offering it (online or not yet pruned), by id.
    offered_by: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Requirements:
    """What one job needs of the worker that runs it."""

    cpus: int = 1
    memory_gb: float = 0.0
    gpu: bool = False
    #: How many GPUs when ``gpu``.
    gpus: int = 1


#: A machine sold as 16 GB reports a little less: memory within this fraction of the need
#: is taken as enough.
MEMORY_SLACK = 0.1


def job_resources(description: dict[str, Any], parameters: dict[str, Any] | None = None,
                  given: JobResources | None = None) -> JobResources:
    """The job's final resources: what the submission ``given`` asks, over the processor's
    declared ``resources`` (a GPU when ``gpu`` is ``"required"``, or ``"optional"`` and the
    parameters ask for a CUDA ``torch_device``). Asking for no GPU where the processor or its
    options need one is a ``ParameterError`` on ``resources.gpus``."""
    declared = description.get("resources") or {}
    gpu_mode = str(declared.get("gpu", "none"))
    device = str((parameters or {}).get("torch_device", "")).lower()
    needs_gpu = gpu_mode == "required" or (gpu_mode == "optional" and device.startswith("cuda"))
    given = given or JobResources()
    if given.gpus == 0 and needs_gpu:
        why = "needs a GPU" if gpu_mode == "required" else "runs on a GPU (torch_device)"
        raise ParameterError("resources.gpus", f"must be at least 1: this job {why}")
    declared_time = declared.get("time_limit_minutes")
    return JobResources(
        cpus=given.cpus or max(1, int(declared.get("cpus") or 1)),
        memory_gb=given.memory_gb or (float(declared.get("memory_gb") or 0.0) or None),
        gpus=given.gpus if given.gpus is not None else int(needs_gpu),
        time_limit_minutes=given.time_limit_minutes or (
            int(declared_time) if declared_time else None),
    )


def requirements(description: dict[str, Any], parameters: dict[str, Any] | None = None,
                 given: JobResources | None = None) -> Requirements:
    """What a worker must have to run the job: its resources (``job_resources``)."""
    final = job_resources(description, parameters, given)
    gpus = final.gpus or 0
    return Requirements(cpus=final.cpus or 1, memory_gb=final.memory_gb or 0.0,
                        gpu=gpus > 0, gpus=max(1, gpus))


def unmet(capabilities: dict[str, Any], need: Requirements) -> str | None:
    """None when a worker with ``capabilities`` can run a job needing ``need``; else why not."""
    gaps: list[str] = []
    gpus = capabilities.get("gpus")
    if need.gpu and not gpus:
        gaps.append("a GPU (it has none)")
    elif need.gpu and isinstance(gpus, list) and len(gpus) < need.gpus:
        gaps.append(f"{need.gpus} GPUs (it has {len(gpus)})")
    cpus = capabilities.get("cpus")
    if isinstance(cpus, int) and cpus < need.cpus:
        gaps.append(f"{need.cpus} CPUs (it has {cpus})")
    memory = capabilities.get("memory_bytes")
    if isinstance(memory, int | float) and need.memory_gb > 0:
        if memory < need.memory_gb * (1 - MEMORY_SLACK) * 2**30:
            gaps.append(f"{need.memory_gb:g} GB of memory (it has {memory / 2**30:.1f} GB)")
    return "needs " + " and ".join(gaps) if gaps else None


def can_run(capabilities: dict[str, Any], processor: str,
            parameters: dict[str, Any] | None = None,
            resources: JobResources | dict[str, Any] | None = None) -> bool:
    """True when the worker offers ``processor`` and meets a job's requirements (its recorded
    ``resources`` when given, as a claim reads them from the job's row)."""
    description = offered(capabilities, processor)
    if description is None:
        return False
    try:
        need = requirements(description, parameters, _as_resources(resources))
    except ParameterError:
        return False
    return unmet(capabilities, need) is None


def _as_resources(value: JobResources | dict[str, Any] | None) -> JobResources | None:
    if value is None or isinstance(value, JobResources):
        return value
    return JobResources.model_validate(value) if value else None


def offered(capabilities: dict[str, Any], processor: str) -> dict[str, Any] | None:
    """The worker's own description of ``processor``, or None when it does not offer it."""
    for proc in capabilities.get("processors", []) or []:
        if isinstance(proc, dict) and proc.get("name") == processor:
            return proc
    return None


def refusal(entry: CatalogEntry, processor: str, parameters: dict[str, Any],
            resources: JobResources | None = None) -> str | None:
    """None when some registered worker can run this job (with the submission's
    ``resources`` over each worker's description of the processor); else a sentence naming
    each worker that offers ``processor`` and what it lacks (for the submission's 422)."""
    if not entry.offered_by:
        return None  # nothing known to judge by (cannot happen for a catalog entry)
    reasons = []
    for worker_id, caps in entry.offered_by.items():
        description = offered(caps, processor) or entry.description
        gap = unmet(caps, requirements(description, parameters, resources))
        if gap is None:
            return None
        name = caps.get("hostname") or worker_id
        reasons.append(f"{name} ({caps.get('executor', 'worker')}) {gap}")
    return (f"no registered worker can run this {processor} job: " + "; ".join(reasons)
            + ". Start a worker that has it, or change the options.")


#: Capabilities by worker id. A registration is never changed (a worker that restarts
#: registers anew), so each is read from the database once, not on every submission: the
#: schemas are tens of kB of JSON per worker.
_capabilities: dict[str, dict[str, Any]] = {}
_CACHE_LIMIT = 4096


def _capabilities_of(session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    missing = [i for i in ids if i not in _capabilities]
    if missing:
        if len(_capabilities) + len(missing) > _CACHE_LIMIT:
            _capabilities.clear()
        rows = session.execute(select(WorkerRow.id, WorkerRow.capabilities)
                               .where(WorkerRow.id.in_(missing))).all()
        _capabilities.update({row.id: row.capabilities or {} for row in rows})
    return {i: _capabilities.get(i, {}) for i in ids}


def catalog(session: Session, timeout_seconds: float) -> dict[str, CatalogEntry]:
    """Processors by name; ``online`` when a worker offering it was heard from recently."""
    horizon = utcnow() - timedelta(seconds=timeout_seconds)
    entries: dict[str, CatalogEntry] = {}
    rows = session.execute(select(WorkerRow.id, WorkerRow.last_seen)
                           .order_by(WorkerRow.last_seen)).all()
    capabilities = _capabilities_of(session, [row.id for row in rows])
    for worker in rows:  # oldest first: a newer registration's description wins
        online = worker.last_seen >= horizon
        for proc in capabilities[worker.id].get("processors", []):
            name = proc.get("name")
            if not name:
                continue
            entry = entries.get(name)
            if entry is None:
                entry = entries[name] = CatalogEntry(proc, [worker.id] if online else [], online)
                entry.offered_by[worker.id] = capabilities[worker.id]
                continue
            entry.offered_by[worker.id] = capabilities[worker.id]
            if online:
                entry.workers.append(worker.id)
                entry.online = True
            if online or not entry.online:
                entry.description = proc
    return entries


def public_view(name: str, entry: CatalogEntry) -> ProcessorOut:
    d = entry.description
    return ProcessorOut(
        name=name,
        version=str(d.get("version", "")),
        family=str(d.get("family", "")),
        description=str(d.get("description", "")),
        spikeinterface_version=str(d.get("spikeinterface_version", "")),
        resources=d.get("resources", {}),
        parameters_schema=d.get("parameters_schema", {"type": "object"}),
        recording_schema=d.get("recording_schema", {"type": "object"}),
        online=entry.online,
        workers=entry.workers,
    )
