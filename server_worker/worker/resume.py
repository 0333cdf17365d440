"""What a daemon leaves for the next one on its work dir, and small lookups it makes.

A daemon whose jobs outlive it (Slurm) keeps its registration in ``worker.json`` (readable by
its owner only: it holds the worker's credential) and, in each job folder, how much of the
job's log the broker has; the next daemon takes both up (``WorkerDaemon._resume``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..jobs.folder import JobFolder
from ..processors.base import Resources
from .executors import DEFAULT_RESOURCES

#: In a job folder: how much of ``log.txt`` the broker has, for a daemon that reattaches.
LOG_FORWARDED = "log_forwarded"


def save_identity(path: Path, identity: dict[str, Any]) -> None:
    """Write ``identity`` to ``path`` with mode 600 from the start, via a temp file and a
    rename (a reader never sees half of it, nobody else ever reads it)."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(identity, f)
    tmp.replace(path)


def forwarded_offset(folder: JobFolder) -> int:
    """Bytes of the folder's log the broker has (0 when nothing says)."""
    try:
        return int((folder.path / LOG_FORWARDED).read_text())
    except (FileNotFoundError, ValueError):
        return 0


def processor_resources(processor: str) -> Resources:
    """The processor's needs, as this worker's registry declares them (defaults if unknown:
    the job then fails in the runner with a clear message)."""
    from ..processors.registry import get_processor

    try:
        return get_processor(processor).resources
    except KeyError:
        return DEFAULT_RESOURCES
