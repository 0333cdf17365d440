"""Slurm: time from submit to the job running, our executor vs a bare ``sbatch``.

Why: a Slurm worker adds its own steps before Slurm sees a job (the batch script and the
``slurm.json`` record written into the job folder, the environment built, ``sbatch`` run
through ``Slurm.submit``) and learns that a job runs only by polling ``squeue``. This
measures what that costs over typing ``sbatch`` by hand, on the one-node cluster of
``tests/slurm_service.py`` (munged + slurmctld + slurmd on loopback).

Each round, one after the other so no job waits for another's CPUs:

- ours: ``SlurmExecutor.submit(folder, resources)``, the worker's own call;
- bare: ``sbatch`` run with the very argument list ours used (``sbatch_command``), on the
  same batch script (``batch_script``), with ``subprocess.run``.

For both, one observer polls ``squeue`` every ``--observe-ms`` and takes the first look that
says RUNNING (or that the job already left the queue) as "running": the same observer, so the
difference is ours. Also shown: how long the submit call itself took, and when our executor's
own handle (polling every ``SlurmConfig.poll_seconds``, as the daemon does) first reported the
job running, which is what a user waits for. Each job is cancelled once seen running.

    python3 bench/slurm_submit.py [--runs 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from server_worker.jobs.folder import JobFolder  # noqa: E402
from server_worker.jobs.spec import JobSpec  # noqa: E402
from server_worker.processors.base import Resources  # noqa: E402
from server_worker.worker import slurm  # noqa: E402
from tests.slurm_service import SlurmCluster, unavailable_reason  # noqa: E402

#: What each benchmark job asks: small, so the node always has room at once.
RESOURCES = Resources(cpus=1, memory_gb=0.25, time_limit_minutes=5)


def job_folder(root: Path, name: str) -> JobFolder:
    """A job folder laid out as the daemon lays one out (the run itself fails soon: its
    input does not exist; only the time until it starts counts)."""
    folder = JobFolder(root / name)
    folder.path.mkdir(parents=True)
    return folder.create(JobSpec(job_id=name, processor="bench", input_uri="file:///missing"))


def squeue_state(job_id: str, env: dict[str, str]) -> str:
    answer = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True,
                            text=True, env=env, timeout=30)
    return answer.stdout.strip() or "GONE"


def until_running(job_id: str, env: dict[str, str], t0: float, observe_s: float,
                  handle: Any = None, timeout: float = 60.0) -> dict[str, float | None]:
    """Seconds from ``t0`` until ``squeue`` shows the job running (or gone), and, when
    ``handle`` is given, until our executor's handle noticed it."""
    seen: float | None = None
    ours: float | None = None
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline and (seen is None or (handle and ours is None)):
        if seen is None:
            state = squeue_state(job_id, env)
            if state not in ("PENDING", "CONFIGURING"):
                seen = time.perf_counter() - t0
        if handle is not None and ours is None:
            handle.poll()
            last = handle.last
            if last is not None and last.state not in ("PENDING", "CONFIGURING"):
                ours = time.perf_counter() - t0
        time.sleep(observe_s)
    return {"running_s": seen, "executor_saw_s": ours}


def finish(job_id: str, env: dict[str, str]) -> None:
    """Cancel the job and wait until it has left the queue (the next round starts empty)."""
    subprocess.run(["scancel", job_id], capture_output=True, env=env, timeout=30)
    for _ in range(300):
        if squeue_state(job_id, env) == "GONE":
            return
        time.sleep(0.05)


def one_round(cluster: SlurmCluster, root: Path, index: int, observe_s: float
              ) -> dict[str, Any]:
    """Ours then bare on even rounds, bare then ours on odd ones (neither always follows
    the other's cancelled job)."""
    steps = (ours_round, bare_round) if index % 2 == 0 else (bare_round, ours_round)
    return {k: v for step in steps for k, v in step(cluster, root, index, observe_s).items()}


def ours_round(cluster: SlurmCluster, root: Path, index: int, observe_s: float
               ) -> dict[str, Any]:
    env = cluster.env
    config = slurm.SlurmConfig(partition=cluster.partition, env=env)
    executor = slurm.SlurmExecutor(config)
    ours_folder = job_folder(root, f"ours-{index}")
    t0 = time.perf_counter()
    handle = executor.submit(ours_folder, RESOURCES)
    submit_s = time.perf_counter() - t0
    ours = until_running(handle.slurm_job_id, env, t0, observe_s, handle)
    finish(handle.slurm_job_id, env)
    return {"ours_submit_s": submit_s, "ours_running_s": ours["running_s"],
            "ours_executor_saw_s": ours["executor_saw_s"]}


def bare_round(cluster: SlurmCluster, root: Path, index: int, observe_s: float
               ) -> dict[str, Any]:
    env = cluster.env
    config = slurm.SlurmConfig(partition=cluster.partition, env=env)
    bare_folder = job_folder(root, f"bare-{index}")
    script = bare_folder.path / slurm.SCRIPT
    script.write_text(slurm.batch_script(bare_folder))
    script.chmod(0o700)
    command = slurm.sbatch_command(bare_folder, RESOURCES, config)
    t0 = time.perf_counter()
    answer = subprocess.run(command, capture_output=True, text=True, env=env, timeout=30,
                            check=True)
    bare_submit_s = time.perf_counter() - t0
    job_id = answer.stdout.strip().split(";")[0]
    bare = until_running(job_id, env, t0, observe_s)
    finish(job_id, env)
    return {"bare_submit_s": bare_submit_s, "bare_running_s": bare["running_s"]}


def run(runs: int, observe_ms: float) -> dict[str, Any]:
    reason = unavailable_reason()
    if reason is not None:
        return {"skipped": reason}
    cluster = SlurmCluster().start()
    try:
        with tempfile.TemporaryDirectory(prefix="nwbscope-slurm-bench-") as folder:
            rounds = [one_round(cluster, Path(folder), i, observe_ms / 1000)
                      for i in range(runs)]
    finally:
        cluster.stop()
    keys = rounds[0].keys()
    medians = {k: statistics.median(r[k] for r in rounds if r[k] is not None) for k in keys
               if any(r[k] is not None for r in rounds)}
    return {"runs": runs, "observe_ms": observe_ms, "cpus": cluster.cpus,
            "poll_seconds": slurm.SlurmConfig().poll_seconds,
            "sbatch_args": slurm.sbatch_command(JobFolder(Path("/job")), RESOURCES,
                                                slurm.SlurmConfig(partition="debug"))[1:-1],
            "median": medians, "rounds": rounds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--observe-ms", type=float, default=20.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    result = run(args.runs, args.observe_ms)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
