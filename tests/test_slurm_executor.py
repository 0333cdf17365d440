"""The Slurm executor: what it asks sbatch for, and jobs through a real one-node cluster.

The first tests need no cluster (the sbatch argument list, the batch script, the state
table). The others start Debian's Slurm (``tests/slurm_service.py``; skipped with the reason
where it cannot start) and, for those through the broker, a real uvicorn broker and worker
daemons as separate processes started with ``--executor slurm``. A job is held in Slurm's
queue with ``--sbatch-arg=--begin=now+N`` where a test needs it to stay a while (cancel,
restart); the time-limit test runs a job stuck on its input (a FIFO) past ``--time=1``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from server_worker.jobs.folder import JobFolder
from server_worker.jobs.spec import JobSpec
from server_worker.processors.base import Resources
from server_worker.worker.__main__ import build_parser, executor_options
from server_worker.worker.executors import EXECUTORS, JobHandle, build_executor
from server_worker.worker.slurm import (
    RECORD,
    SlurmConfig,
    SlurmExecutor,
    SlurmState,
    advertised_from_sinfo,
    batch_script,
    parse_scontrol,
    sbatch_command,
)
from tests.slurm_service import SlurmCluster, unavailable_reason

USER = "user-token-slurm-0123456789"
WORKER = "worker-token-slurm-0123456789"
FINAL = ("completed", "failed", "cancelled")


def folder_for(tmp_path: Path, name: str = "a" * 32) -> JobFolder:
    return JobFolder(tmp_path / name).create(JobSpec(
        job_id=name, processor="spykingcircus2", parameters={"detect_threshold": "$(rm -rf /)"},
        input_uri=f"sha256://{'b' * 64}?label=x.nwb"))


# ---- no cluster needed ---------------------------------------------------------------------

def test_resources_become_sbatch_arguments_and_worker_arguments_come_last(tmp_path: Path
                                                                         ) -> None:
    folder = folder_for(tmp_path)
    config = SlurmConfig(partition="gpu", account="lab", time_limit="2:00:00",
                         extra_args=("--qos=long", "--mem=64G"))
    command = sbatch_command(folder, Resources(cpus=8, memory_gb=12.5, gpu="required"), config)
    assert command[:3] == ["sbatch", "--parsable", "--no-requeue"]
    for expected in ("--cpus-per-task=8", "--mem=12800M", "--gres=gpu:1", "--partition=gpu",
                     "--account=lab", "--time=2:00:00", f"--output={folder.log_file}",
                     f"--chdir={folder.path}"):
        assert expected in command
    assert command[-3:] == ["--qos=long", "--mem=64G", str(folder.path / "slurm_job.py")]
    plain = sbatch_command(folder, Resources(), SlurmConfig())
    assert not any(a.startswith(("--gres", "--partition", "--account", "--time"))
                   for a in plain)
    assert "--gres=gpu:1" not in sbatch_command(folder, Resources(gpu="optional"), config)
    # a job's own options (JobSpec.resources): its time limit wins over the worker's
    asked = sbatch_command(folder, Resources(gpu="required", gpus=2, time_limit_minutes=30),
                           config)
    assert "--gres=gpu:2" in asked and "--time=30" in asked and "--time=2:00:00" not in asked


def test_the_batch_script_is_python_with_no_parameter_in_it(tmp_path: Path) -> None:
    folder = folder_for(tmp_path, "c" * 32)
    script = batch_script(folder)
    assert script.startswith(f"#!{sys.executable}\n")
    compile(script, "slurm_job.py", "exec")  # valid Python: no shell reads it
    assert "rm -rf" not in script and "detect_threshold" not in script
    assert repr(str(folder.path)) in script


def test_slurm_states_map_to_outcomes_with_a_reason() -> None:
    assert SlurmState("PENDING", "Priority").active and SlurmState("RUNNING").active
    done = SlurmState("COMPLETED")
    assert done.code() == 0 and done.message("7") is None
    timeout = SlurmState("TIMEOUT", "TimeLimit", 0, "00:01:00")
    assert timeout.code() != 0 and "TIMEOUT" in timeout.message("7")
    assert "00:01:00" in timeout.message("7")
    assert "OUT_OF_MEMORY" in SlurmState("OUT_OF_MEMORY", memory="4G").message("7")
    assert "scancel" in SlurmState("CANCELLED").message("7")
    assert SlurmState("FAILED", "NonZeroExitCode", 3).code() == 3
    for cluster_fault in ("NODE_FAIL", "PREEMPTED"):
        assert "back to the queue" in SlurmState(cluster_fault).message("7")
    fields = parse_scontrol("JobId=7 JobState=TIMEOUT Reason=TimeLimit ExitCode=0:15 "
                            "TimeLimit=00:01:00")
    assert fields["JobState"] == "TIMEOUT" and fields["ExitCode"] == "0:15"


def test_a_slurm_worker_advertises_the_partition_not_its_host() -> None:
    found = advertised_from_sinfo("16|64000|(null)\n64|512000|gpu:a100:4(S:0-1)\n")
    assert found == {"cpus": 64, "memory_bytes": 512000 << 20,
                     "gpus": [f"GPU {i}: Slurm gres" for i in range(4)]}
    assert advertised_from_sinfo("") is None


def test_one_table_of_executors_for_the_daemon_and_the_command_line(tmp_path: Path) -> None:
    assert set(EXECUTORS) == {"host", "process", "slurm"}
    args = build_parser().parse_args([
        "--broker", "http://x", "--executor", "slurm", "--partition", "P", "--account", "A",
        "--sbatch-arg=--qos=long", "--sbatch-arg=--constraint=avx2", "--time-limit", "30",
        "--work-dir", str(tmp_path)])
    executor = build_executor(args.executor, executor_options(args, tmp_path / "numba"))
    assert isinstance(executor, SlurmExecutor) and executor.detached
    assert executor.config.extra_args == ("--qos=long", "--constraint=avx2")
    assert (executor.config.partition, executor.config.account) == ("P", "A")
    for name in ("host", "process"):
        local = build_executor(name, executor_options(
            build_parser().parse_args(["--broker", "x", "--executor", name]), tmp_path))
        assert local.name == name and not local.detached


# ---- a real one-node cluster ---------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster() -> Iterator[SlurmCluster]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    try:
        started = SlurmCluster().start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        pytest.skip(f"the one-node Slurm cluster did not start: {error}")
    yield started
    started.stop()


def wait_code(handle: JobHandle, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while (code := handle.poll()) is None:
        assert time.monotonic() < deadline, "the Slurm job did not end"
        time.sleep(0.5)
    return code


def stuck_folder(tmp_path: Path, name: str) -> JobFolder:
    folder = folder_for(tmp_path, name)
    os.mkfifo(folder.input_file)  # opening it blocks: a job that runs until stopped
    return folder


def test_a_job_over_its_time_limit_ends_as_timeout(cluster: SlurmCluster, tmp_path: Path
                                                  ) -> None:
    executor = SlurmExecutor(SlurmConfig(time_limit="1", poll_seconds=1.0, env=cluster.env))
    folder = stuck_folder(tmp_path, "d" * 32)
    started = time.monotonic()
    handle = executor.submit(folder, Resources(cpus=1, memory_gb=0.5))
    slurm_id = handle.slurm_job_id  # type: ignore[attr-defined]
    assert (folder.path / RECORD).is_file()
    code = wait_code(handle, 240)
    took = time.monotonic() - started
    assert code != 0 and handle.last.state == "TIMEOUT"  # type: ignore[attr-defined]
    reason = handle.failure_reason()
    assert reason is not None and "TIMEOUT" in reason and "time limit" in reason
    assert not handle.put_back()
    shown = parse_scontrol(cluster.run("scontrol", "show", "job", "-o", slurm_id))
    assert shown["MinMemoryNode"] == "512M" and "cpu=1" in shown["TRES"]
    notes = "".join(handle.notes())
    assert f"Slurm job {slurm_id}: RUNNING" in notes and "TIMEOUT" in notes
    print(f"TIMEOUT after {took:.0f} s with --time=1 (Slurm's smallest limit)")


def test_a_failed_node_puts_the_job_back(cluster: SlurmCluster, tmp_path: Path) -> None:
    executor = SlurmExecutor(SlurmConfig(poll_seconds=0.5, env=cluster.env))
    handle = executor.submit(stuck_folder(tmp_path, "e" * 32), Resources(memory_gb=0.5))
    deadline = time.monotonic() + 30
    while handle.poll() is None and (handle.last is None  # type: ignore[attr-defined]
                                     or handle.last.state != "RUNNING"):  # type: ignore
        assert time.monotonic() < deadline
        time.sleep(0.5)
    try:
        cluster.run("scontrol", "update", f"nodename={cluster.host}", "state=down",
                    "reason=nwbscope-test")
        assert wait_code(handle, 60) != 0
        assert handle.last.state == "NODE_FAIL"  # type: ignore[attr-defined]
        assert handle.put_back() and "back to the queue" in (handle.failure_reason() or "")
    finally:  # ReturnToService=2 may have brought it back already: resume can be refused
        subprocess.run(["scontrol", "update", f"nodename={cluster.host}", "state=resume"],
                       env=cluster.env, capture_output=True, timeout=30)
        deadline = time.monotonic() + 60
        while not cluster.node_state().startswith("idle") and time.monotonic() < deadline:
            time.sleep(0.5)
    assert cluster.node_state().startswith("idle"), cluster.node_state()


# ---- through the broker: worker daemons with --executor slurm --------------------------------

class Broker:
    """A real broker; ``store_url`` puts its store elsewhere (S3: the sort's output then
    lands in SeaweedFS, as a cluster's would in the lab's object storage)."""

    def __init__(self, root: Path, store_url: str = "") -> None:
        from server_worker.app import create_app
        from server_worker.broker.local_server import LocalServer, free_port
        from server_worker.settings import Settings

        port = free_port()
        self.root = root
        self.store_url = store_url
        settings = Settings(
            data_dir=root / "data", user_token=USER, worker_token=WORKER, port=port,
            store_url=store_url,
            embedded_worker=False, extra={"lease_seconds": 40, "heartbeat_seconds": 0.5},
        ).with_tokens()
        self.server = LocalServer(create_app(settings), port).start()
        self.http = httpx.Client(base_url=self.server.url, timeout=60,
                                 headers={"Authorization": f"Bearer {USER}"})

    def store(self, path: Path) -> str:
        answer = self.http.put("/api/store", params={"label": path.name},
                               content=path.read_bytes())
        answer.raise_for_status()
        return answer.json()["uri"]

    def submit(self, uri: str, **body: Any) -> dict[str, Any]:
        answer = self.http.post("/api/jobs", json={"processor": "spykingcircus2", "input": uri,
                                                   **body})
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def job(self, job_id: str) -> dict[str, Any]:
        return self.http.get(f"/api/jobs/{job_id}").json()

    def log(self, job_id: str) -> str:
        return self.http.get(f"/api/jobs/{job_id}/log").json()["text"]

    def wait(self, job_id: str, until: Callable[[dict[str, Any]], bool], timeout: float
             ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not until(job := self.job(job_id)):
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} stuck at {job['status']}:\n"
                                     f"{self.log(job_id)[-3000:]}")
            time.sleep(0.3)
        return job

    def close(self) -> None:
        self.http.close()
        self.server.stop()


@pytest.fixture(scope="module")
def s3() -> Any:
    """The test run's SeaweedFS, or None where it cannot start (the store is then local)."""
    from tests.s3_service import seaweedfs
    from tests.services import ServiceUnavailable

    try:
        return seaweedfs()
    except ServiceUnavailable:
        return None


@pytest.fixture(scope="module")
def broker(cluster: SlurmCluster, s3: Any, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Broker]:
    store = ""
    saved = dict(os.environ)
    if s3 is not None:
        from tests.s3_service import readable_bucket, store_url

        os.environ.update(s3.env())  # the broker runs in this process
        store = store_url(s3, readable_bucket(s3), f"slurm-{os.getpid()}")
    made = Broker(tmp_path_factory.mktemp("slurm-broker"), store)
    yield made
    made.close()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def recording(broker: Broker) -> tuple[Any, str]:
    from server_worker.jobs.synthetic import write_ground_truth_nwb

    truth = write_ground_truth_nwb(broker.root / "ground_truth.nwb", num_channels=16,
                                   num_units=10, duration_s=40.0, seed=2205)
    return truth, broker.store(truth.path)


@pytest.fixture
def workers(broker: Broker, cluster: SlurmCluster
            ) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, *extra: str) -> subprocess.Popen[bytes]:
        env = {**cluster.env, "NWBSCOPE_WORKER_TOKEN": WORKER}
        with open(broker.root / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "server_worker.worker", "--broker", broker.server.url,
                 "--work-dir", str(broker.root / name), "--name", name, "--poll", "0.2",
                 "--numba-cache", str(broker.root / "numba"), "--executor", "slurm",
                 "--partition", cluster.partition, "--slurm-poll", "0.5", "--lock-wait", "10",
                 *extra],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        started.append(process)
        deadline = time.monotonic() + 90
        while not broker.http.get("/api/processors").json()["processors"]:
            assert process.poll() is None, (broker.root / f"{name}.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no worker registered"
            time.sleep(0.2)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.wait(20)
    for line in cluster.run("squeue", "-h", "-o", "%i %j").splitlines():
        if " nwbscope-" in line:  # what a test left in Slurm
            cluster.run("scancel", line.split()[0])


def slurm_jobs(cluster: SlurmCluster, job_id: str) -> list[dict[str, str]]:
    """Slurm's records (``scontrol show job``) of the jobs submitted for ``job_id``."""
    name = f"nwbscope-{job_id[:12]}"
    text = cluster.run("scontrol", "show", "job", "-o")
    return [f for f in map(parse_scontrol, text.splitlines()) if f.get("JobName") == name]


def wait_slurm(cluster: SlurmCluster, job_id: str, state: str, timeout: float = 90
               ) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        found = slurm_jobs(cluster, job_id)
        if found and found[-1]["JobState"] == state:
            return found[-1]
        assert time.monotonic() < deadline, f"no Slurm job in {state}: {found}"
        time.sleep(0.3)


def test_a_sort_runs_as_a_slurm_job_and_finds_the_ground_truth(
    broker: Broker, cluster: SlurmCluster, recording: tuple[Any, str], workers: Callable,
    s3: Any,
) -> None:
    from pynwb import NWBHDF5IO
    from spikeinterface.comparison import compare_sorter_to_ground_truth
    from spikeinterface.core import NumpySorting

    truth, uri = recording
    workers("sorter")
    listed = broker.http.get("/api/workers").json()["workers"]
    sorter = next(w for w in listed if w["name"] == "sorter")
    assert sorter["executor"] == "slurm"  # the node's resources, from sinfo:
    assert (sorter["cpus"], sorter["memory_bytes"]) == (cluster.cpus, cluster.memory_mb << 20)
    submitted = time.monotonic()
    job = broker.submit(uri)
    running = wait_slurm(cluster, job["id"], "RUNNING", 120)
    to_running = time.monotonic() - submitted
    assert running["MinMemoryNode"] == "4G" and "cpu=1" in running["TRES"]
    done = broker.wait(job["id"], lambda j: j["status"] in FINAL, 600)
    assert done["status"] == "completed", done["error"]
    assert done["attempts"] == 1
    assert slurm_jobs(cluster, job["id"])[-1]["JobState"] == "COMPLETED"
    log = broker.log(job["id"])
    assert "units found" in log and ": RUNNING" in log and ": COMPLETED" in log

    nwb_path = broker.root / "units.nwb"
    hexdigest = done["outputs"]["nwb"].removeprefix("sha256://").split("?")[0]
    nwb_path.write_bytes(broker.http.get(f"/api/store/{hexdigest}",
                                         follow_redirects=True).content)
    if s3 is not None:  # the output is an object in SeaweedFS, under its hash
        from tests.s3_service import BUCKET

        key = f"slurm-{os.getpid()}/sha256/{hexdigest[:2]}/{hexdigest[2:4]}/{hexdigest}"
        assert s3.client().head_object(Bucket=BUCKET, Key=key)["ContentLength"] == \
            nwb_path.stat().st_size
    with NWBHDF5IO(str(nwb_path), "r") as io:
        units = io.read().units.to_dataframe()
    fs = truth.sampling_frequency
    found = NumpySorting.from_unit_dict(
        {i: np.round(np.asarray(t) * fs).astype("int64") for i, t in
         enumerate(units["spike_times"])}, fs)
    performance = compare_sorter_to_ground_truth(truth.sorting, found).get_performance()
    well_found = int((performance["accuracy"] >= 0.9).sum())
    print(f"submit -> Slurm RUNNING {to_running:.1f} s; {well_found}/10 units at >= 0.9; "
          f"total {time.monotonic() - submitted:.0f} s")
    assert well_found >= 8, performance


def test_our_cancel_scancels_and_an_outside_scancel_fails_with_the_reason(
    broker: Broker, cluster: SlurmCluster, recording: tuple[Any, str], workers: Callable
) -> None:
    _truth, uri = recording
    workers("held", "--slots", "2", "--sbatch-arg=--begin=now+300")
    ours = broker.submit(uri, force=True)
    outside = broker.submit(uri, force=True)
    for job in (ours, outside):
        wait_slurm(cluster, job["id"], "PENDING")
    assert broker.http.post(f"/api/jobs/{ours['id']}/cancel").status_code == 200
    cancelled = broker.wait(ours["id"], lambda j: j["status"] in FINAL, 30)
    assert cancelled["status"] == "cancelled"
    assert slurm_jobs(cluster, ours["id"])[-1]["JobState"] == "CANCELLED"

    slurm_id = slurm_jobs(cluster, outside["id"])[-1]["JobId"]
    cluster.run("scancel", slurm_id)
    failed = broker.wait(outside["id"], lambda j: j["status"] in FINAL, 30)
    assert failed["status"] == "failed"
    assert f"Slurm job {slurm_id} was cancelled in Slurm" in failed["error"]
    assert "scancel" in failed["error"]
    assert "(BeginTime)" in broker.log(outside["id"])  # why it waited, as Slurm said


def test_a_restarted_worker_reattaches_to_its_slurm_job(
    broker: Broker, cluster: SlurmCluster, recording: tuple[Any, str], workers: Callable
) -> None:
    _truth, uri = recording
    first = workers("restarted", "--sbatch-arg=--begin=now+15")
    job = broker.submit(uri, force=True, recording={"time_range": [0, 8]})
    wait_slurm(cluster, job["id"], "PENDING")
    worker_before = broker.job(job["id"])["worker"]
    os.killpg(first.pid, signal.SIGKILL)  # no goodbye: the Slurm job stays queued
    first.wait()
    workers("restarted", "--sbatch-arg=--begin=now+15")
    done = broker.wait(job["id"], lambda j: j["status"] in FINAL, 300)
    assert done["status"] == "completed", done["error"]
    assert done["attempts"] == 1 and done["worker"] == worker_before
    assert len(slurm_jobs(cluster, job["id"])) == 1  # followed, not submitted again
    assert "units found" in broker.log(job["id"])


def test_a_job_whose_node_failed_goes_back_to_the_queue_and_runs_again(
    broker: Broker, cluster: SlurmCluster, recording: tuple[Any, str], workers: Callable
) -> None:
    _truth, uri = recording
    workers("unlucky")
    job = broker.submit(uri, force=True, recording={"time_range": [0, 8]})
    first = wait_slurm(cluster, job["id"], "RUNNING")
    try:
        cluster.run("scontrol", "update", f"nodename={cluster.host}", "state=down",
                    "reason=nwbscope-test")
        wait_slurm(cluster, job["id"], "NODE_FAIL", 60)
    finally:
        subprocess.run(["scontrol", "update", f"nodename={cluster.host}", "state=resume"],
                       env=cluster.env, capture_output=True, timeout=30)
    # not reported: the lease (40 s here) runs out and the broker queues it again
    done = broker.wait(job["id"], lambda j: j["status"] in FINAL, 400)
    assert done["status"] == "completed", done["error"]
    assert done["attempts"] == 2
    assert [a["outcome"] for a in done["attempt_history"]] == ["lease expired", "completed"]
    log = broker.log(job["id"])
    assert f"Slurm job {first['JobId']}: NODE_FAIL" in log and "back to the queue" in log
    assert len(slurm_jobs(cluster, job["id"])) == 2  # submitted again for attempt 2
