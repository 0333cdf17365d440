"""The broker's own background work: expiring leases on time, pruning dead workers, and
recording uploads.

Why a task: a job whose worker died must go back to pending (or fail) when its lease runs
out, even if no other worker is claiming; before, reads (``GET /api/jobs``) did it, so a GET
wrote to the database and every read waited on the write lock. Workers silent for
``prune_worker_seconds`` are deleted in the same rounds, so dead ones do not stay listed.
"""

from __future__ import annotations

import logging
import threading

from fastapi import FastAPI

from ..db import Database, UploadRow
from ..store.base import PutResult
from .config import BrokerConfig
from .deps import open_database
from .leases import prune_workers, reap_expired

log = logging.getLogger("nwbscope.broker")


class Reaper:
    """Calls ``reap_expired`` and ``prune_workers`` every quarter lease (at most every
    ``reap_seconds``)."""

    def __init__(self, db: Database, config: BrokerConfig) -> None:
        self.db = db
        self.interval = min(config.reap_seconds, config.lease_seconds / 4)
        self.prune_seconds = config.prune_worker_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-reaper", daemon=True)

    def start(self) -> Reaper:
        if self.interval > 0:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self.db.session() as session:
                    reap_expired(session)
                with self.db.session() as session:
                    prune_workers(session, self.prune_seconds)
            except Exception:  # a database hiccup must not end the reaper
                log.exception("reaping expired leases or pruning silent workers failed")


def record_upload(app: FastAPI, upload: PutResult, label: str | None) -> None:
    """Keep the name and size of a file a person stored (``GET /api/files`` lists it)."""
    with open_database(app).session() as session:
        session.add(UploadRow(sha256=upload.sha256, label=(label or "")[:255], size=upload.size))
