"""The job queue under many workers: jobs claimed and completed per second, SQLite vs PostgreSQL.

Measures the broker's queue, not a sorter: each worker is a separate process speaking the real
worker protocol over HTTP (register, claim, upload an output, complete, heartbeat) through the
daemon's own ``BrokerClient``, and its "job" sleeps ``sleep_s`` and writes a few bytes. The
real daemon would run every job through the sorting runner (load the recording, sort, write
NWB), seconds per job, which would measure the sorter instead of the queue.

    python -m bench.queue_bench                  # 1, 4, 16 workers on SQLite and PostgreSQL
    python -m bench.queue_bench --jobs 300 --workers 1 4
    python -m bench.queue_bench drain --broker URL --token T --name w1 --out FILE   # one worker

``tests/test_many_workers.py`` uses the same worker (``drain``) and broker (``QueueBroker``).
A worker writes one line per job it completed (``job_id attempt claimed_at done_at``) to its
``--out`` file, which is how the bench times the run and the test counts each job's runs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent

#: The processor the queue workers register: it needs nothing (no sorter, no GPU).
QUEUE_PROCESSOR = "queue-sleep"


def processor_description() -> dict[str, Any]:
    """The JSON a queue worker registers for ``QUEUE_PROCESSOR`` (the broker checks
    submissions against these schemas as it does a sorter's)."""
    from server_worker.processors.schema import RECORDING_SCHEMA

    return {
        "name": QUEUE_PROCESSOR, "family": "test", "version": "1",
        "description": "Sleeps, then writes a few bytes (for queue tests and benchmarks).",
        "spikeinterface_version": "",
        "parameters_schema": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "sleep_s": {"type": "number", "default": 0.0},
                "first_attempt_sleep_s": {"type": "number", "default": 0.0},
            },
        },
        "recording_schema": RECORDING_SCHEMA,
        "resources": {"cpus": 1, "memory_gb": 0.0, "gpu": "none"},
    }


# ---- one worker process --------------------------------------------------------------------

def _retry(call: Any, stopping: list[bool], timeout: float = 60.0) -> Any:
    """``call()`` again while the broker cannot be reached (restarting); other errors raise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except httpx.TransportError:
            if time.monotonic() > deadline or stopping[0]:
                raise
            time.sleep(0.2)


def drain(broker: str, token: str, name: str, out: Path, poll_s: float) -> None:
    """Claim and run queue jobs until SIGTERM; survives a broker restart (it retries, and
    registers again if the broker forgot it)."""
    from server_worker.worker.client import BrokerClient, WorkerGone

    stopping = [False]
    signal.signal(signal.SIGTERM, lambda *_: stopping.__setitem__(0, True))
    client = BrokerClient(broker, token, timeout=30)
    caps = {"processors": [processor_description()], "cpus": 1, "gpus": [], "slots": 1,
            "executor": "queue-bench", "hostname": name}
    worker_id: str | None = None
    beat_s = 5.0
    last_beat = 0.0
    payload = Path(tempfile.mkdtemp(prefix=f"qb-{name}-")) / "out.txt"
    with open(out, "a", buffering=1) as record:
        while not stopping[0]:
            try:
                if worker_id is None:
                    answer = client.register(name, caps)
                    worker_id = answer["worker_id"]
                    beat_s = min(float(answer["heartbeat_seconds"]),
                                 float(answer["lease_seconds"]) / 3)
                if time.monotonic() - last_beat > beat_s:
                    client.heartbeat(worker_id, [])
                    last_beat = time.monotonic()
                spec = client.claim(worker_id)
                if spec is None:
                    time.sleep(poll_s)
                    continue
                claimed = time.time()
                params = spec.parameters
                end = time.monotonic() + float(params.get("sleep_s", 0)) + (
                    float(params.get("first_attempt_sleep_s", 0)) if spec.attempt == 1 else 0)
                while (left := end - time.monotonic()) > 0 and not stopping[0]:
                    time.sleep(min(left, 0.2))
                    if time.monotonic() - last_beat > beat_s:  # keep the lease
                        client.heartbeat(worker_id, [spec.job_id])
                        last_beat = time.monotonic()
                payload.write_text(f"{spec.job_id} by {name}\n")
                uri = _retry(partial(client.upload_output, worker_id, spec.job_id, payload),
                             stopping)
                _retry(partial(client.complete, worker_id, spec.job_id, {"out": uri}, {}, None),
                       stopping)
                record.write(f"{spec.job_id} {spec.attempt} {claimed:.4f} {time.time():.4f}\n")
            except WorkerGone:
                worker_id = None
            except httpx.HTTPError as error:
                print(f"{name}: {error}", file=sys.stderr, flush=True)
                time.sleep(0.2)
    client.close()


def start_workers(broker: str, token: str, folder: Path, count: int, poll_s: float = 0.05,
                  prefix: str = "w") -> list[subprocess.Popen[bytes]]:
    """``count`` queue workers as separate processes, each recording to ``folder/<name>.txt``."""
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO), str(REPO / "web" / "py"), os.environ.get("PYTHONPATH", "")]))
    processes = []
    for i in range(count):
        name = f"{prefix}{i}"
        log = open(folder / f"{name}.log", "ab")  # noqa: SIM115 (the child keeps it)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "bench.queue_bench", "drain", "--broker", broker,
             "--token", token, "--name", name, "--out", str(folder / f"{name}.txt"),
             "--poll", str(poll_s)],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT))
        log.close()
    return processes


def stop_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def records(folder: Path) -> list[tuple[str, int, float, float, str]]:
    """Every completed run the workers recorded: (job id, attempt, claimed, done, worker)."""
    found = []
    for path in sorted(folder.glob("*.txt")):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 4:
                found.append((parts[0], int(parts[1]), float(parts[2]), float(parts[3]),
                              path.stem))
    return found


# ---- the broker ----------------------------------------------------------------------------

class QueueBroker:
    """A real broker (uvicorn on loopback) on ``database_url`` that can be stopped and
    started again on the same port and database, as a restart would."""

    USER = "queue-user-token-0123456789"
    WORKER = "queue-worker-token-0123456789"

    def __init__(self, root: Path, database_url: str, lease_seconds: float = 30) -> None:
        from server_worker.broker.local_server import free_port
        from server_worker.settings import Settings

        self.root = root
        self.port = free_port()
        self.settings = Settings(
            data_dir=root / "data", user_token=self.USER, worker_token=self.WORKER,
            port=self.port, database_url=database_url, embedded_worker=False,
            extra={"lease_seconds": lease_seconds, "heartbeat_seconds": 5},
        ).with_tokens()
        self.server: Any = None
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=120,
                                 headers={"Authorization": f"Bearer {self.USER}"})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> QueueBroker:
        from server_worker.app import create_app
        from server_worker.broker.local_server import LocalServer

        self.server = LocalServer(create_app(self.settings), self.port).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def restart(self, down_seconds: float = 1.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def close(self) -> None:
        self.stop()
        self.http.close()

    def store_tiny_nwb(self) -> str:
        """Upload a small real NWB file (the broker checks each input at submission)."""
        from server_worker.jobs.synthetic import write_ground_truth_nwb

        path = self.root / "tiny.nwb"
        write_ground_truth_nwb(path, num_channels=4, num_units=2, duration_s=1.0, seed=7)
        answer = self.http.put("/api/store", params={"label": path.name},
                               content=path.read_bytes())
        answer.raise_for_status()
        return answer.json()["uri"]

    def wait_workers(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            workers = self.http.get("/api/workers").json()["workers"]
            if sum(w["online"] for w in workers) >= count:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(workers)} of {count} workers registered")
            time.sleep(0.2)

    def submit(self, uri: str, count: int, **parameters: float) -> list[str]:
        """Queue ``count`` queue jobs on ``uri`` (batches of at most 1000, the API's limit)."""
        ids: list[str] = []
        while len(ids) < count:
            batch = min(1000, count - len(ids))
            answer = self.http.post("/api/jobs", json={
                "processor": QUEUE_PROCESSOR, "inputs": [uri] * batch, "force": True,
                "parameters": parameters})
            answer.raise_for_status()
            ids += [job["id"] for job in answer.json()["jobs"]]
        return ids


@contextmanager
def database(kind: str, root: Path) -> Iterator[str]:
    """A fresh database URL of ``kind`` (``sqlite`` or ``postgresql``, the latter a
    throwaway server from ``tests/pg_service.py``)."""
    if kind == "sqlite":
        yield f"sqlite:///{root / 'queue.sqlite'}"
        return
    sys.path.insert(0, str(REPO))
    from tests import pg_service

    reason = pg_service.unavailable_reason()
    if reason:
        raise RuntimeError(f"PostgreSQL: {reason}")
    with pg_service.PostgresServer() as server:
        yield server.new_database()


def wait_done(folder: Path, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(records(folder)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(records(folder))} of {count} jobs done")
        time.sleep(0.1)


def measure(kind: str, workers: int, jobs: int, root: Path) -> dict[str, Any]:
    """Jobs per second from the first claim to the last completion, ``workers`` at once."""
    root.mkdir(parents=True, exist_ok=True)
    with database(kind, root) as url:
        broker = QueueBroker(root, url).start()
        processes: list[subprocess.Popen[bytes]] = []
        try:
            uri = broker.store_tiny_nwb()
            processes = start_workers(broker.url, broker.WORKER, root / "workers", workers)
            broker.wait_workers(workers)
            submitted = time.time()
            broker.submit(uri, jobs)
            wait_done(root / "workers", jobs, timeout=600)
            done = records(root / "workers")
        finally:
            stop_workers(processes)
            broker.close()
    first = min(r[2] for r in done)
    last = max(r[3] for r in done)
    per_job = sorted(r[3] - r[2] for r in done)
    return {"database": kind, "workers": workers, "jobs": jobs,
            "jobs_per_s": round(jobs / (last - first), 1),
            "submit_to_last_s": round(last - submitted, 2),
            "claim_to_done_median_ms": round(1000 * per_job[len(per_job) // 2], 1),
            "runs": len(done), "distinct": len({r[0] for r in done}),
            "rerun_after_lease_expiry": sum(r[1] > 1 for r in done)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["drain"]:
        p = argparse.ArgumentParser(prog="queue_bench drain")
        p.add_argument("--broker", required=True)
        p.add_argument("--token", required=True)
        p.add_argument("--name", required=True)
        p.add_argument("--out", type=Path, required=True)
        p.add_argument("--poll", type=float, default=0.05)
        a = p.parse_args(argv[1:])
        drain(a.broker, a.token, a.name, a.out, a.poll)
        return 0
    p = argparse.ArgumentParser(prog="queue_bench", description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=500)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    p.add_argument("--json", type=Path, help="also write the figures here")
    a = p.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="queue-bench-") as tmp:
        for kind in a.databases:
            for count in a.workers:
                row = measure(kind, count, a.jobs, Path(tmp) / f"{kind}-{count}")
                print(json.dumps(row), flush=True)
                results.append(row)
    print(f"load average after: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
