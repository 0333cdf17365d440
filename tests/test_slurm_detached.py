"""Slurm without a shared file system: the job fetches, streams and reports by itself.

Through the real one-node cluster (``tests/slurm_service.py``) and a real broker. The job
works in a folder under ``node_dir``, which is not the daemon's work dir: the test watches the
daemon's job folder while the job runs and finds no log, input or result there ever, so the
daemon cannot have read them; the log reaches the broker and the outputs the store anyway.
A job stuck on its input (a URL that trickles one byte a second) past ``--time=1`` is killed
by Slurm, reports nothing, and the daemon fails it with Slurm's reason.

The daemon is the real ``nwbscope worker --executor slurm --no-shared-fs --node-dir DIR``.
"""

from __future__ import annotations

import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from server_worker.jobs.folder import JobFolder
from server_worker.jobs.spec import JobSpec
from server_worker.processors.base import Resources
from server_worker.worker.log_tail import LogTail
from server_worker.worker.slurm import SlurmConfig
from server_worker.worker.slurm_detached import detached_command, detached_script
from tests.slurm_service import SlurmCluster
from tests.test_slurm_executor import (  # noqa: F401  (fixtures)
    FINAL,
    USER,
    WORKER,
    Broker,
    cluster,
    s3,
    slurm_jobs,
    wait_slurm,
)


def test_the_script_carries_the_job_and_no_login_node_path(tmp_path: Path) -> None:
    folder = JobFolder(tmp_path / ("a" * 32)).create(JobSpec(
        job_id="a" * 32, processor="spykingcircus2",
        parameters={"detect_threshold": "$(rm -rf /)'\"\\"},
        input_uri=f"sha256://{'b' * 64}?label=x.nwb"))
    settings = {"spec": folder.read_spec().model_dump(mode="json"), "credential": "w1.x.y"}
    script = detached_script(settings)
    compile(script, "slurm_job.py", "exec")
    command = detached_command(folder, Resources(), SlurmConfig(node_dir="/scratch"))
    assert "--output=/dev/null" in command and "--chdir=/scratch" in command
    assert not any("w1.x.y" in arg for arg in command)  # the credential is in the script only
    assert not any(str(folder.path) in arg for arg in command[:-1])


def test_the_log_tail_keeps_a_piece_whose_send_failed_and_whole_characters(tmp_path: Path
                                                                            ) -> None:
    path = tmp_path / "log.txt"
    path.write_bytes("é".encode()[:1])  # half a character: nothing to send yet
    tail, sent = LogTail(path), []
    assert tail.forward(sent.append) and sent == [] and tail.offset == 1
    with open(path, "ab") as f:
        f.write("é".encode()[1:] + b" ok\n")

    def refuse(text: str) -> None:
        raise OSError("broker away")

    with pytest.raises(OSError):
        tail.forward(refuse)
    assert tail.forward(sent.append) and sent == ["é ok\n"]
    assert not tail.forward(sent.append)  # nothing new


class DetachedBroker(Broker):
    """The module's broker, allowing loopback URLs (the trickling input server)."""

    def __init__(self, root: Path) -> None:
        import httpx

        from server_worker.app import create_app
        from server_worker.broker.local_server import LocalServer, free_port
        from server_worker.settings import Settings

        port = free_port()
        self.root = root
        settings = Settings(
            data_dir=root / "data", user_token=USER, worker_token=WORKER, port=port,
            embedded_worker=False, allow_private_urls=True,
            extra={"lease_seconds": 40, "heartbeat_seconds": 0.5},
        ).with_tokens()
        self.server = LocalServer(create_app(settings), port).start()
        self.http = httpx.Client(base_url=self.server.url, timeout=60,
                                 headers={"Authorization": f"Bearer {USER}"})


@pytest.fixture(scope="module")
def broker(cluster: SlurmCluster, tmp_path_factory: pytest.TempPathFactory  # noqa: F811
           ) -> Iterator[DetachedBroker]:
    made = DetachedBroker(tmp_path_factory.mktemp("slurm-detached"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def recording(broker: DetachedBroker) -> tuple[Any, str]:
    from server_worker.jobs.synthetic import write_ground_truth_nwb

    truth = write_ground_truth_nwb(broker.root / "ground_truth.nwb", num_channels=16,
                                   num_units=10, duration_s=20.0, seed=2206)
    return truth, broker.store(truth.path)


@pytest.fixture
def worker(broker: DetachedBroker, cluster: SlurmCluster  # noqa: F811
           ) -> Iterator[Callable[..., Path]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, *extra: str) -> Path:
        node_dir = broker.root / f"{name}-node"
        node_dir.mkdir()
        env = {**cluster.env, "NWBSCOPE_WORKER_TOKEN": WORKER}
        with open(broker.root / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "server_worker.worker", "--no-shared-fs",
                 "--node-dir", str(node_dir), "--broker", broker.server.url,
                 "--work-dir", str(broker.root / name), "--name", name, "--poll", "0.2",
                 "--numba-cache", str(broker.root / "numba"), "--executor", "slurm",
                 "--partition", cluster.partition, "--slurm-poll", "0.5", *extra],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        started.append(process)
        deadline = time.monotonic() + 90
        while not any(w["name"] == name for w in
                      broker.http.get("/api/workers").json()["workers"]):
            assert process.poll() is None, (broker.root / f"{name}.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no worker registered"
            time.sleep(0.2)
        return node_dir

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.wait(20)
    for line in cluster.run("squeue", "-h", "-o", "%i %j").splitlines():
        if " nwbscope-" in line:
            cluster.run("scancel", line.split()[0])


def test_a_job_without_a_shared_file_system_reports_itself(
    broker: DetachedBroker, cluster: SlurmCluster, recording: tuple[Any, str],  # noqa: F811
    worker: Callable[..., Path]
) -> None:
    _truth, uri = recording
    node_dir = worker("detached")
    submitted = time.monotonic()
    job = broker.submit(uri, force=True, recording={"time_range": [0, 8]})
    daemon_folder = broker.root / "detached" / "jobs" / job["id"]
    seen_in_daemon: set[str] = set()
    node_folders: set[str] = set()
    script_modes: set[int] = set()
    while (done := broker.job(job["id"]))["status"] not in FINAL:
        assert time.monotonic() - submitted < 600, broker.log(job["id"])[-3000:]
        for name in ("log.txt", "result.json", "error.json", "inputs/input.nwb",
                     "outputs/units.nwb"):
            if (daemon_folder / name).exists():
                seen_in_daemon.add(name)
        try:
            script_modes.add(stat.S_IMODE((daemon_folder / "slurm_job.py").stat().st_mode))
        except FileNotFoundError:
            pass
        node_folders |= {p.name for p in node_dir.iterdir()}
        time.sleep(0.2)
    took = time.monotonic() - submitted
    assert done["status"] == "completed", done["error"]
    log = broker.log(job["id"])
    assert "reports itself" in log and "units found" in log and ": RUNNING" in log
    assert seen_in_daemon == set(), seen_in_daemon  # the daemon never had them to read
    assert any(n.startswith(f"nwbscope-{job['id'][:12]}") for n in node_folders)
    assert script_modes == {0o600}
    assert list(node_dir.iterdir()) == []  # the job removed its folder on the node
    hexdigest = done["outputs"]["nwb"].removeprefix("sha256://").split("?")[0]
    stored = broker.http.get(f"/api/store/{hexdigest}", follow_redirects=True)
    assert stored.status_code == 200 and stored.content[:8] == b"\x89HDF\r\n\x1a\n"
    record = wait_slurm(cluster, job["id"], "COMPLETED", 60)  # ended by itself, not scancel
    assert "w1." not in " ".join(f"{k}={v}" for k, v in record.items())  # not on a command line
    print(f"no shared fs: completed in {took:.1f} s, log {len(log)} chars, Slurm "
          f"{record['JobState']}")


class Trickle(BaseHTTPRequestHandler):
    """Ranged reads of ``path`` answered at once (the broker's check at submission); a whole
    download trickles one byte a second (the job's fetch: stuck until its time limit)."""

    path_served: Path
    stop: threading.Event

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        data = self.path_served.read_bytes()
        wanted = self.headers.get("Range", "")
        if wanted.startswith("bytes="):
            first, _, last = wanted[6:].partition("-")
            start, end = int(first), min(int(last or len(data) - 1), len(data) - 1)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            self.send_header("Content-Length", str(end - start + 1))
            self.end_headers()
            self.wfile.write(data[start:end + 1])
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        for i in range(len(data)):
            if self.stop.wait(1.0 if i >= 4096 else 0):
                return
            try:
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
            except OSError:
                return


@pytest.fixture
def trickling_url(recording: tuple[Any, str]) -> Iterator[str]:
    truth, _uri = recording
    stop = threading.Event()
    handler = type("Handler", (Trickle,), {"path_served": Path(truth.path), "stop": stop})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/ground_truth.nwb"
    stop.set()
    server.shutdown()
    server.server_close()


def test_a_self_reporting_job_killed_by_its_time_limit_is_failed_by_the_daemon(
    broker: DetachedBroker, cluster: SlurmCluster, worker: Callable[..., Path],  # noqa: F811
    trickling_url: str
) -> None:
    worker("limited", "--time-limit", "1", "--allow-private-urls")
    started = time.monotonic()
    job = broker.submit(trickling_url, force=True)
    done = broker.wait(job["id"], lambda j: j["status"] in FINAL, 300)
    assert done["status"] == "failed"
    assert "TIMEOUT" in done["error"] and "time limit" in done["error"], done["error"]
    log = broker.log(job["id"])
    assert "reports itself" in log and "TIMEOUT" in log
    assert slurm_jobs(cluster, job["id"])[-1]["JobState"] == "TIMEOUT"
    print(f"TIMEOUT reported by the daemon {time.monotonic() - started:.0f} s after submission")
