"""``GET /api/processors``: what connected workers can run, with parameter schemas."""

from __future__ import annotations

from fastapi import APIRouter

from .catalog import catalog, public_view
from .deps import ConfigDep, ReadSessionDep
from .errors import MissingError
from .models import ProcessorList, ProcessorOut

router = APIRouter(prefix="/api/processors", tags=["processors"])


@router.get("", response_model=ProcessorList)
def list_processors(session: ReadSessionDep, config: ConfigDep, include_offline: bool = False
                    ) -> ProcessorList:
    """Processors offered by workers heard from recently (``include_offline`` for all)."""
    entries = catalog(session, config.worker_timeout_seconds)
    return ProcessorList(processors=[
        public_view(name, entry)
        for name, entry in sorted(entries.items())
        if entry.online or include_offline
    ])


@router.get("/{name}", response_model=ProcessorOut)
def get_processor(name: str, session: ReadSessionDep, config: ConfigDep) -> ProcessorOut:
    entries = catalog(session, config.worker_timeout_seconds)
    if name not in entries:
        raise MissingError(f"processor named {name[:100]!r} offered by any worker")
    return public_view(name, entries[name])
