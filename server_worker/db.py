"""The broker's database: SQLAlchemy 2 models behind one session layer (SQLite, PostgreSQL).

Nothing here is created at import time: ``Database(url)`` builds the engine, so the app factory
(and each test) makes its own, on a SQLite file or a PostgreSQL server alike. Claims use a
conditional ``UPDATE ... WHERE status = 'pending'`` and check the row count, which is atomic on
both engines without engine-specific locking.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

JOB_STATES = ("pending", "running", "completed", "failed", "cancelled")
FINAL_STATES = ("completed", "failed", "cancelled")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes on both engines (SQLite drops the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class WorkerRow(Base):
    """A worker daemon that registered; its capabilities say which processors it runs."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    capabilities: Mapped[dict[str, Any]] = mapped_column(default=dict)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


class JobRow(Base):
    """One run of one processor on one input, through all its attempts."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    processor: Mapped[str] = mapped_column(String(100), index=True)
    processor_version: Mapped[str] = mapped_column(String(100), default="")
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recording: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: SHA-256 of the canonical JSON of processor, version, parameters and recording options.
    params_hash: Mapped[str] = mapped_column(String(64), index=True)
    input_uri: Mapped[str] = mapped_column(Text)
    #: The input's SHA-256 when known (store URIs carry it; URLs get it once downloaded).
    input_sha256: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    worker_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    log_size: Mapped[int] = mapped_column(Integer, default=0)
    #: The job's final resources (``JobResources``: its options over the processor's).
    resources: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)


class AttemptRow(Base):
    """One claim of a job by a worker, and how it ended (``lease expired`` included)."""

    __tablename__ = "job_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    worker_id: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(40), nullable=True)


class LogChunkRow(Base):
    """A piece of a job's console output; ``start`` is its offset in the whole log."""

    __tablename__ = "job_log_chunks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    start: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


class UploadRow(Base):
    """A file a person put in the store (``PUT /api/store``): the project's uploaded inputs.

    The store itself knows only hashes; this keeps the name it was given and when."""

    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    label: Mapped[str] = mapped_column(String(255), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def normalize_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy would pick psycopg2 by default)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def add_missing_columns(engine: Engine) -> list[str]:
    """Add the nullable columns a newer nwbscope defines to the tables an older one made
    (``create_all`` makes missing tables, never missing columns): a lab's database keeps its
    jobs across upgrades. Only nullable columns are added, so old rows stay valid; returns
    ``table.column`` of each one added."""
    from sqlalchemy import inspect, text

    added = []
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present or not column.nullable:
                continue
            kind = column.type.compile(dialect=engine.dialect)
            with engine.begin() as connection:
                connection.execute(text(
                    f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))
            added.append(f"{table.name}.{column.name}")
    return added


class Database:
    """An engine, its session factory and the schema; one per app (or per test)."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        # as many pooled connections as the server runs request threads (anyio's 40): with
        # fewer, each burst of clients opened and closed connections (SQLite: a file open and
        # the pragmas each time) instead of reusing them
        kwargs: dict[str, Any] = {"pool_size": 40, "max_overflow": 20}
        is_sqlite = self.url.startswith("sqlite")
        if not is_sqlite:  # a database server may restart: test a connection before use
            kwargs["pool_pre_ping"] = True
        if is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine: Engine = create_engine(self.url, **kwargs)
        if is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite allows one writer at a time; serialising our own writes avoids "database is
        # locked" under the thread pool FastAPI runs sync routes on.
        self._write_lock = threading.Lock() if is_sqlite else None
        Base.metadata.create_all(self.engine)
        add_missing_columns(self.engine)

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reads only: it takes no write lock and commits nothing, so reads never
        wait on writes (SQLite in WAL mode lets readers run beside the one writer)."""
        with self._sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error (writes: on SQLite one at
        a time in this process, so they queue here instead of failing "database is locked")."""
        lock = self._write_lock
        if lock is not None:
            lock.acquire()
        try:
            with self._sessions() as session:
                try:
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        finally:
            if lock is not None:
                lock.release()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL with synchronous=NORMAL cannot corrupt the database; a power cut may lose the last
    # commits, not a crash of the server. It saves an fsync per commit (most of a submission).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
