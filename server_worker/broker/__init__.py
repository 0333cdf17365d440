"""The job broker: routes for processors, jobs, workers and files, plugged into the app factory.

``routers()`` gives the routers; ``install(app)`` registers the error handlers and records
store uploads as the project's files; ``lifespan(app)`` opens the database from the settings,
runs the lease reaper (so reads never change state) and, when ``settings.embedded_worker``,
starts one worker daemon in a child process (the broker process itself never imports a
sorter).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from .deps import open_database


def routers() -> list[APIRouter]:
    from .files_routes import router as files
    from .jobs_routes import router as jobs
    from .processors_routes import router as processors
    from .workers_routes import router as workers

    return [processors, jobs, workers, files]


def install(app: FastAPI) -> None:
    from .errors import register_handlers
    from .reaper import record_upload

    if not app.state.settings.server_secret:  # workers could get no credential
        raise RuntimeError("Settings.server_secret is empty: the broker signs each worker's "
                           "credential with it. Call Settings.with_tokens() (nwbscope serve "
                           "does) or set server_secret.")
    register_handlers(app)
    app.state.upload_listeners.append(lambda upload, label: record_upload(app, upload, label))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    from .reaper import Reaper

    db = open_database(app)
    settings = app.state.settings
    reaper = Reaper(db, app.state.broker_config).start()
    embedded = None
    if settings.embedded_worker:
        from ..worker.embedded import EmbeddedWorker

        embedded = EmbeddedWorker.start(settings)
    try:
        yield
    finally:
        reaper.stop()
        if embedded is not None:
            embedded.stop()
        db.dispose()
        app.state.jobs_db = None
