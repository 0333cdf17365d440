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


def catalog(session: Session, timeout_seconds: float) -> dict[str, CatalogEntry]:
    """Processors by name; ``online`` when a worker offering it was heard from recently."""
    horizon = utcnow() - timedelta(seconds=timeout_seconds)
    entries: dict[str, CatalogEntry] = {}
    rows = session.scalars(select(WorkerRow).order_by(WorkerRow.last_seen)).all()
    for worker in rows:  # oldest first: a newer registration's description wins
        online = worker.last_seen >= horizon
        for proc in worker.capabilities.get("processors", []):
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
