"""Dependencies of the broker routes, declared once: the database session and the config.

The database is opened by ``lifespan`` from the settings; when an app is used without its
lifespan (a bare ``TestClient``) it is opened on first use instead, so no route depends on
start-up order.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from ..db import Database
from .config import BrokerConfig

_open_lock = threading.Lock()


def open_database(app: object) -> Database:
    state = app.state  # type: ignore[attr-defined]
    with _open_lock:
        if getattr(state, "jobs_db", None) is None:
            state.jobs_db = Database(state.settings.database_url)
            state.broker_config = BrokerConfig.from_extra(state.settings.extra)
        return state.jobs_db


async def get_database(request: Request) -> Database:
    db = getattr(request.app.state, "jobs_db", None)
    return db if db is not None else open_database(request.app)


def get_session(db: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    with db.session() as session:
        yield session


def get_read_session(db: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    with db.read_session() as session:
        yield session


async def get_config(request: Request, _db: Annotated[Database, Depends(get_database)]
                     ) -> BrokerConfig:
    return request.app.state.broker_config


#: ``scope="function"``: the session commits before the answer is sent. By default FastAPI
#: ends a yield dependency after the response, so on PostgreSQL a worker's next call after a
#: claim could run before the claim was committed (a 409, the job run twice); SQLite's write
#: lock hid it.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
#: For routes that only read (GETs): no write lock, nothing committed.
ReadSessionDep = Annotated[Session, Depends(get_read_session)]
DatabaseDep = Annotated[Database, Depends(get_database)]
ConfigDep = Annotated[BrokerConfig, Depends(get_config)]
