"""Nothing piles up (#11 item 8): job folders, the input cache, uploads cut off by a crash.

A real worker daemon against a real broker for the job folders and the cache (one quick
sort, one job that fails at once), a real ``nwbscope serve`` killed with SIGKILL in the
middle of a streamed upload for the scratch files, and the input cache's LRU order on files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from server_worker.store import LocalStore
from server_worker.worker.embedded import start_worker_process
from server_worker.worker.input_cache import InputCache
from server_worker.worker.limits import WorkerLimits
from tests.services import NwbscopeServer
from tests.test_cli_jobs import NUMBA_CACHE
from tests.test_worker_e2e import FINAL, WORKER, Service

HOUR = 3600.0


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = Service(tmp_path_factory.mktemp("cleanup"))
    yield service
    service.close()


@pytest.fixture
def worker(service: Service) -> Iterator[Callable[[str, WorkerLimits], subprocess.Popen[bytes]]]:
    """Start a worker daemon process on ``<root>/<name>`` with the given limits."""
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, limits: WorkerLimits) -> subprocess.Popen[bytes]:
        with open(service.root / f"{name}.log", "ab") as log:
            process = start_worker_process(service.server.url, WORKER, service.root / name,
                                           name=name, poll_seconds=0.2, stdout=log,
                                           numba_cache=NUMBA_CACHE, limits=limits)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.wait(30)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def cached_inputs(work_dir: Path) -> list[str]:
    cache = work_dir / "cache"
    return sorted(p.name for p in cache.iterdir() if len(p.name) == 64) if cache.is_dir() else []


def test_done_job_folders_go_failed_ones_stay_then_expire_and_the_cache_is_bounded(
    service: Service, worker: Callable, tmp_path: Path
) -> None:
    from server_worker.jobs.synthetic import write_ground_truth_nwb

    truth = write_ground_truth_nwb(tmp_path / "gt.nwb", num_channels=8, num_units=4,
                                   duration_s=10)
    uri = service.store(truth.path)
    work_dir = service.root / "keeper"
    first = worker("keeper", WorkerLimits(allow_private_urls=True, keep_failed_seconds=HOUR))
    service.wait_processors()
    # fails in the runner at once: the time range is past the end of the 10 s recording
    failing = service.submit(uri, recording={"time_range": [50, 60]}, force=True)
    done = service.submit(uri, recording={"time_range": [0, 5]}, force=True)
    failed = service.wait(failing["id"], lambda j: j["status"] in FINAL, timeout=120)
    assert failed["status"] == "failed" and "time_range" in failed["error"]
    completed = service.wait(done["id"], lambda j: j["status"] in FINAL, timeout=300)
    assert completed["status"] == "completed", completed["error"]

    jobs = work_dir / "jobs"
    wait_until(lambda: not (jobs / done["id"]).exists(), 30,
               "the completed job's folder is still there after its outputs were stored")
    assert (jobs / failing["id"] / "error.json").is_file()  # kept for inspection
    assert cached_inputs(work_dir) == [uri.removeprefix("sha256://").split("?")[0]]

    first.terminate()
    first.wait(30)
    # kept for an hour by the first worker; a worker that keeps failures for no time removes
    # it when it starts, and then holds its input cache to one byte (nothing in use is left)
    worker("keeper", WorkerLimits(allow_private_urls=True, keep_failed_seconds=0,
                                  input_cache_bytes=1))
    wait_until(lambda: not (jobs / failing["id"]).exists(), 60,
               "the expired failed job's folder was not removed at start-up")
    wait_until(lambda: not cached_inputs(work_dir), 30, "the input cache was not bounded")


# ---- the input cache ---------------------------------------------------------------------

def _entry(cache: Path, name: str, size: int, age_s: float) -> Path:
    path = cache / (name * 64)[:64]
    path.write_bytes(b"x" * size)
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def test_input_cache_evicts_least_recently_used_but_never_what_a_job_holds(tmp_path: Path
                                                                           ) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    old = _entry(cache_dir, "a", 100, 300)
    used = _entry(cache_dir, "b", 100, 200)
    linked = _entry(cache_dir, "c", 100, 400)
    protected = _entry(cache_dir, "d", 100, 500)
    fresh = _entry(cache_dir, "e", 100, 100)
    partial = cache_dir / ".part-123"  # a download in flight is not the cache's to remove
    partial.write_bytes(b"x" * 1000)
    os.link(linked, tmp_path / "job-input.nwb")  # a job folder's hard link to it

    cache = InputCache(cache_dir, max_bytes=400)
    cache.touch(used.name)  # used now: the most recent of all
    # 500 bytes: the oldest two are a job's (linked, protected), so the third oldest goes
    assert cache.trim(in_use={protected.name}) == [old.name]
    assert sorted(p.name for p in cache_dir.iterdir()) == sorted(
        [used.name, linked.name, protected.name, fresh.name, partial.name])
    # then the one used least recently: "fresh" was stored later, but "used" was used since
    assert InputCache(cache_dir, max_bytes=350).trim(in_use={protected.name}) == [fresh.name]
    assert used.exists() and linked.exists() and protected.exists() and partial.exists()


# ---- uploads cut off by a crash ------------------------------------------------------------

def test_an_upload_cut_off_by_kill_9_leaves_no_scratch_file_after_a_restart(
    tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>site</title>")
    scratch = tmp_path / "srv" / "data" / "store" / "tmp"
    release = threading.Event()

    def body() -> Iterator[bytes]:
        yield b"\x89HDF\r\n\x1a\n" + b"\0" * (8 << 20)
        release.wait(60)  # the rest never comes: the server dies first

    server = NwbscopeServer(tmp_path / "srv", site=site).start()
    try:
        def upload() -> None:
            try:
                httpx.put(f"{server.url}/api/store", content=body(), timeout=60,
                          headers={"Authorization": f"Bearer {server.token}"})
            except httpx.HTTPError:
                pass

        uploader = threading.Thread(target=upload, daemon=True)
        uploader.start()
        wait_until(lambda: any(p.stat().st_size >= 2 << 20 for p in scratch.glob("upload-*")),
                   30, "the upload never reached the server's scratch file")
        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        release.set()
        uploader.join(30)
        left = list(scratch.glob("upload-*"))
        assert left, "kill -9 left no scratch file: nothing to test"

        server = NwbscopeServer(tmp_path / "srv", site=site).start()
        assert not [p for p in left if p.exists()], "the restarted server kept the dead upload"
    finally:
        server.stop()


def test_scratch_clean_up_spares_an_upload_in_flight(tmp_path: Path) -> None:
    """A store directory may be shared by servers: only uploads nobody writes are removed."""
    store = LocalStore(tmp_path / "store")
    with store.writer() as live:
        live.write(b"still coming")
        dead = live.tmp_path.with_name("upload-dead")
        dead.write_bytes(b"left by a killed server")
        assert store.clean_scratch() == 1
        assert live.tmp_path.exists() and not dead.exists()
        result = live.commit()
    assert store.read_bytes(result.sha256) == b"still coming"
