"""Both executors run a job folder in a child process, report its exit, and cancel it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from server_worker.jobs.folder import JobFolder
from server_worker.jobs.spec import JobSpec
from server_worker.worker.executors import Executor, JobHandle, LocalExecutor
from server_worker.worker.hosts import HostExecutor


@pytest.fixture(params=["process", "host"])
def executor(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Executor]:
    made: Executor
    if request.param == "process":
        made = LocalExecutor(numba_cache=tmp_path / "numba", grace_seconds=2)
    else:
        made = HostExecutor(tmp_path / "numba", tmp_path / "hosts.log", grace_seconds=2)
    made.start()
    yield made
    made.close()


def job(tmp_path: Path, name: str, content: bytes | None) -> JobFolder:
    folder = JobFolder(tmp_path / name).create(JobSpec(
        job_id=name, processor="spykingcircus2",
        input_uri=f"sha256://{'b' * 64}?label={name}.nwb"))
    if content is None:
        os.mkfifo(folder.input_file)  # opening it blocks: a job stuck on its input
    else:
        folder.input_file.write_bytes(content)
    return folder


def wait(handle: JobHandle, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while (code := handle.poll()) is None:
        assert time.monotonic() < deadline, "the job's process did not end"
        time.sleep(0.1)
    return code


def test_exit_code_error_report_and_log(executor: Executor, tmp_path: Path) -> None:
    for name in ("first", "second"):  # a host runs the second job in the same process
        folder = job(tmp_path, name, b"plain text, not a recording")
        assert wait(executor.submit(folder), 60) == 1
        error = folder.read_error()
        assert error is not None and error.type == "NotHDF5Error"
        assert "NotHDF5Error" in folder.log_file.read_text()
    if isinstance(executor, HostExecutor):
        assert len(executor.hosts) == 1 and executor.hosts[0].jobs_run == 2


def test_cancel_stops_a_stuck_job_and_the_next_one_runs(executor: Executor, tmp_path: Path
                                                         ) -> None:
    stuck = executor.submit(job(tmp_path, "stuck", None))
    time.sleep(1.0)
    assert stuck.poll() is None
    stuck.cancel()
    assert wait(stuck, 10) != 0
    folder = job(tmp_path, "after", b"still not a recording")
    assert wait(executor.submit(folder), 60) == 1
    assert folder.read_error().type == "NotHDF5Error"
