"""``GET /api/processors``: what connected workers can run, with parameter schemas."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from .catalog import catalog, public_view
from .deps import ConfigDep, SessionDep

router = APIRouter(prefix="/api/processors", tags=["processors"])


@router.get("")
def list_processors(session: SessionDep, config: ConfigDep, include_offline: bool = False
                    ) -> dict[str, Any]:
    """Processors offered by workers heard from recently (``include_offline`` for all)."""
    entries = catalog(session, config.worker_timeout_seconds)
    return {
        "processors": [
            public_view(name, entry)
            for name, entry in sorted(entries.items())
            if entry.online or include_offline
        ]
    }


@router.get("/{name}")
def get_processor(name: str, session: SessionDep, config: ConfigDep) -> dict[str, Any]:
    entries = catalog(session, config.worker_timeout_seconds)
    if name not in entries:
        raise HTTPException(404, detail=f"No worker has offered a processor named {name!r}.")
    return public_view(name, entries[name])
