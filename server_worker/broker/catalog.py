"""What the connected workers can run, from the capabilities they registered.

The broker knows processors only as the JSON workers send (name, version, parameter schema,
resources): it never imports a sorter. A processor offered by several workers is listed once,
with the newest version seen and the workers that have it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import WorkerRow, utcnow
from .models import ProcessorOut


@dataclass
class CatalogEntry:
    description: dict[str, Any]
    workers: list[str]
    online: bool


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
                entries[name] = CatalogEntry(proc, [worker.id] if online else [], online)
                continue
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
