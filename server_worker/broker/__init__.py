"""The job broker: routes for processors, jobs and workers, plugged into the app factory.

``routers()`` gives the routers; ``lifespan(app)`` opens the database from the settings and,
when ``settings.embedded_worker``, starts one worker daemon in a child process (the broker
process itself never imports a sorter).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from .deps import open_database


def routers() -> list[APIRouter]:
    from .jobs_routes import router as jobs
    from .processors_routes import router as processors
    from .workers_routes import router as workers

    return [processors, jobs, workers]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    db = open_database(app)
    settings = app.state.settings
    embedded = None
    if settings.embedded_worker:
        from ..worker.embedded import EmbeddedWorker

        embedded = EmbeddedWorker.start(settings)
    try:
        yield
    finally:
        if embedded is not None:
            embedded.stop()
        db.dispose()
        app.state.jobs_db = None
