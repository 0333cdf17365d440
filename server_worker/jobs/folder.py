"""A job is a folder: its spec, its input, its console log, its outputs and its error.

Like a SpikeInterface sorter folder (``spikeinterface_params.json``, ``spikeinterface_log.json``
with the error trace), everything a run needs or produced is on disk, so a job can be run by
another process (or a cluster node) from the folder alone, and inspected after the fact::

    <job folder>/
        job.json        what to run: processor, parameters, recording options, input, attempt
        inputs/         the input file (a hard link to the worker's cache when possible)
        log.txt         console output of the run (streamed to the broker while it runs)
        sorter/         the sorter's own working folder
        outputs/        units.nwb and summary.json, uploaded to the store when done
        result.json     written last on success: outputs, timings, versions
        error.json      written on failure: message, error type, trace

A folder is not kept for ever: the worker removes it once the outputs are stored and the
completion reported (the log is in the broker), and a failed, cancelled or lost one after
``keep_failed_seconds`` from its end (``mark_ended``, ``remove_expired``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .spec import JobFailure, JobResult, JobSpec


@dataclass(frozen=True)
class JobFolder:
    path: Path

    @property
    def spec_file(self) -> Path:
        return self.path / "job.json"

    @property
    def inputs_dir(self) -> Path:
        return self.path / "inputs"

    @property
    def input_file(self) -> Path:
        return self.inputs_dir / "input.nwb"

    @property
    def log_file(self) -> Path:
        return self.path / "log.txt"

    @property
    def sorter_dir(self) -> Path:
        return self.path / "sorter"

    @property
    def outputs_dir(self) -> Path:
        return self.path / "outputs"

    @property
    def result_file(self) -> Path:
        return self.path / "result.json"

    @property
    def error_file(self) -> Path:
        return self.path / "error.json"

    def create(self, spec: JobSpec) -> JobFolder:
        """Lay out a fresh folder for ``spec`` (an earlier attempt's leftovers are kept out)."""
        for sub in (self.inputs_dir, self.outputs_dir):
            sub.mkdir(parents=True, exist_ok=True)
        for stale in (self.result_file, self.error_file):
            stale.unlink(missing_ok=True)
        _write_json(self.spec_file, spec.model_dump(mode="json"))
        return self

    def read_spec(self) -> JobSpec:
        return JobSpec.model_validate_json(self.spec_file.read_text())

    def write_result(self, result: JobResult) -> None:
        _write_json(self.result_file, result.model_dump(mode="json"))

    def read_result(self) -> JobResult | None:
        data = _read_json(self.result_file)
        return None if data is None else JobResult.model_validate(data)

    def write_error(self, error: JobFailure) -> None:
        _write_json(self.error_file, error.model_dump(mode="json"))

    def read_error(self) -> JobFailure | None:
        data = _read_json(self.error_file)
        return None if data is None else JobFailure.model_validate(data)

    # ---- clean-up: a worker's disk must not fill with old jobs ---------------------------

    def remove(self) -> bool:
        """Delete the folder (once its outputs are stored and its log is in the broker, it
        holds nothing else); False if something could not be removed."""
        shutil.rmtree(self.path, ignore_errors=True)
        return not self.path.exists()

    def mark_ended(self) -> None:
        """Stamp the folder's mtime with now: a failed or cancelled folder is kept for a set
        time from its end (``remove_expired``)."""
        try:
            os.utime(self.path)
        except FileNotFoundError:
            pass


def remove_expired(jobs_dir: Path, keep_seconds: float, running: set[str]) -> list[str]:
    """Remove the job folders in ``jobs_dir`` last changed more than ``keep_seconds`` ago,
    except those of ``running`` jobs; answer the names removed.

    Folders left are those of failed, cancelled or lost jobs (kept for inspection) and of a
    worker that was killed; a completed job's folder is removed when it is reported.
    """
    try:
        folders = [p for p in jobs_dir.iterdir() if p.is_dir() and p.name not in running]
    except FileNotFoundError:
        return []
    cutoff = time.time() - keep_seconds
    removed = []
    for path in folders:
        try:
            expired = path.stat().st_mtime <= cutoff
        except FileNotFoundError:
            continue
        if expired and JobFolder(path).remove():
            removed.append(path.name)
    return removed


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write via a temp file and rename, so a reader never sees half a JSON document."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    tmp.replace(path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
