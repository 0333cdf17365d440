"""A database made by an older nwbscope opens with a newer one: missing nullable columns are
added (``db.add_missing_columns``), old rows stay, and jobs can be written and read again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from server_worker.db import Database
from tests import pg_service


def _drop_resources_column(url: str) -> None:
    """Make the jobs table as it was before ``resources`` existed."""
    Database(url).engine.dispose()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text('ALTER TABLE "jobs" DROP COLUMN "resources"'))
    assert "resources" not in {c["name"] for c in inspect(engine).get_columns("jobs")}
    engine.dispose()


def _check_upgrade(url: str) -> None:
    _drop_resources_column(url)
    db = Database(url)  # the newer code on the older database
    assert "resources" in {c["name"] for c in inspect(db.engine).get_columns("jobs")}
    again = Database(url)  # nothing left to add
    from server_worker.db import add_missing_columns

    assert add_missing_columns(again.engine) == []
    db.engine.dispose()
    again.engine.dispose()


def test_an_older_sqlite_database_gets_the_new_columns(tmp_path: Path) -> None:
    _check_upgrade(f"sqlite:///{tmp_path / 'old.db'}")


def test_an_older_postgresql_database_gets_the_new_columns() -> None:
    reason = pg_service.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with pg_service.PostgresServer() as server:
        _check_upgrade(server.new_database())
