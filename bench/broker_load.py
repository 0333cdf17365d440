"""Broker load: many clients submitting and reading jobs at once, on SQLite and PostgreSQL.

    python3 bench/broker_load.py [--seconds 10] [--clients 1 8 16] [--databases sqlite postgres]

A real ``nwbscope serve --no-worker`` process per database (its own data dir; PostgreSQL from
Debian's package, started here as the tests do). One worker registration offers the sorters'
real schemas, and one small NWB file is put in the store; then each client, a separate process
with its own keep-alive connection (so the clients' own Python does not share one GIL), loops
for ``--seconds``: submit a job (a new ``seed`` each time, so none is answered by reuse), read
it back, and every fourth turn (``--list-every``) list the newest 100 jobs. Figures:
submissions per second for all clients together, and the median and 95th percentile latency
of each kind of call.

Goal (issue #11): >= 200 submissions/s with 16 clients on SQLite; more on PostgreSQL. The
clients run on the same machine as the server, so on a small machine they take CPU from it:
the load average is recorded beside the figures.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import common  # noqa: E402

PROCESSOR = "spykingcircus2"


def start_server(data_dir: Path, database: str | None) -> tuple[subprocess.Popen, str, str]:
    """``nwbscope serve --no-worker`` on a free port; (process, base URL, user token)."""
    port = common.free_port()
    command = [sys.executable, "-m", "server_worker.cli", "serve", "--no-worker",
               "--port", str(port), "--data-dir", str(data_dir),
               "--site", str(common.ROOT / "dist" / "site")]
    if database:
        command += ["--database", database]
    log = open(data_dir.parent / f"server-{port}.log", "wb")  # noqa: SIM115 (lives with proc)
    proc = subprocess.Popen(command, cwd=common.ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "NWBSCOPE_RUNTIME_DIR": str(data_dir.parent)})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}); see {log.name}")
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("the server did not answer /api/health in 120 s")
        time.sleep(0.2)
    from server_worker.settings import load_tokens

    tokens = load_tokens(data_dir)
    return proc, base, tokens


def prepare(base: str, tokens: dict[str, str], nwb: Path) -> str:
    """Register one worker with the real processor schemas; store ``nwb``; its URI."""
    from server_worker.worker.capabilities import capabilities

    answer = httpx.post(f"{base}/api/workers/register", timeout=60,
                        headers={"Authorization": f"Bearer {tokens['worker_token']}"},
                        json={"name": "bench", "capabilities": capabilities(1, "host")})
    answer.raise_for_status()
    stored = httpx.put(f"{base}/api/store", content=nwb.read_bytes(), timeout=60,
                       params={"label": nwb.name},
                       headers={"Authorization": f"Bearer {tokens['user_token']}"})
    stored.raise_for_status()
    return stored.json()["uri"]


def client(base: str, token: str, uri: str, index: int, start_at: float, seconds: float,
           list_every: int, out: Any) -> None:
    """One client's loop; puts ``[(kind, seconds, status), ...]`` on ``out``."""
    calls: list[tuple[str, float, int]] = []
    with httpx.Client(base_url=base, timeout=60,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        time.sleep(max(0.0, start_at - time.time()))
        end = start_at + seconds
        turn = 0
        while time.time() < end:
            seed = index * 10_000_000 + turn
            t0 = time.perf_counter()
            answer = http.post("/api/jobs", json={"processor": PROCESSOR, "input": uri,
                                                  "parameters": {"seed": seed}})
            calls.append(("submit", time.perf_counter() - t0, answer.status_code))
            if answer.status_code in (200, 201):
                job_id = answer.json()["id"]
                t0 = time.perf_counter()
                got = http.get(f"/api/jobs/{job_id}")
                calls.append(("read", time.perf_counter() - t0, got.status_code))
            if list_every and turn % list_every == list_every - 1:
                t0 = time.perf_counter()
                got = http.get("/api/jobs", params={"limit": 100})
                calls.append(("list", time.perf_counter() - t0, got.status_code))
            turn += 1
    out.put(calls)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(base: str, token: str, uri: str, clients: int, seconds: float,
             list_every: int = 4, server_pid: int | None = None) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    start_at = time.time() + 1.0 + 0.05 * clients  # all clients start together
    load_before = os.getloadavg()[0]
    procs = [ctx.Process(target=client,
                         args=(base, token, uri, i, start_at, seconds, list_every, queue))
             for i in range(clients)]
    for proc in procs:
        proc.start()
    time.sleep(max(0.0, start_at - time.time()))
    cpu_before = cpu_seconds(server_pid) if server_pid else None
    calls = [call for _ in procs for call in queue.get(timeout=seconds + 180)]
    cpu_used = cpu_seconds(server_pid) - cpu_before if cpu_before is not None else None
    for proc in procs:
        proc.join(30)
    row: dict[str, Any] = {"clients": clients, "seconds": seconds, "list_every": list_every,
                           "load_before": load_before, "load_after": os.getloadavg()[0],
                           "server_cpu_s": cpu_used,
                           # the server's CPU per call of any kind: what bounds the rate
                           "server_cpu_ms_per_call": (1000 * cpu_used / len(calls)
                                                      if cpu_used is not None and calls
                                                      else None)}
    for kind in ("submit", "read", "list"):
        mine = [c for c in calls if c[0] == kind]
        ok = sorted(c[1] for c in mine if c[2] in (200, 201))
        row[kind] = {
            "count": len(mine), "errors": len(mine) - len(ok),
            "per_s": len(ok) / seconds,
            "p50_ms": 1000 * statistics.median(ok) if ok else None,
            "p95_ms": 1000 * ok[int(0.95 * (len(ok) - 1))] if ok else None,
            "statuses": sorted({c[2] for c in mine}),
        }
    return row


def bench_database(kind: str, clients: list[int], seconds: float, nwb: Path,
                   list_every: int) -> list[dict]:
    work = Path(tempfile.mkdtemp(prefix=f"nwbscope-load-{kind}-"))
    pg = None
    try:
        database = None
        if kind == "postgres":
            sys.path.insert(0, str(common.ROOT))
            from tests.pg_service import PostgresServer

            pg = PostgresServer().start()
            database = pg.new_database()
        proc, base, tokens = start_server(work / "data", database)
        try:
            uri = prepare(base, tokens, nwb)
            rows = []
            for n in clients:
                row = run_load(base, tokens["user_token"], uri, n, seconds, list_every, proc.pid)
                row["database"] = kind
                print(f"{kind:8s} {n:2d} clients: {row['submit']['per_s']:6.1f} submissions/s, "
                      f"p50 {row['submit']['p50_ms']:.0f} ms, p95 {row['submit']['p95_ms']:.0f}"
                      f" ms; reads p50 {row['read']['p50_ms']:.0f} ms; server CPU "
                      f"{row['server_cpu_ms_per_call']:.1f} ms/call; errors "
                      f"{row['submit']['errors']}+{row['read']['errors']}", flush=True)
                rows.append(row)
            return rows
        finally:
            proc.terminate()
            proc.wait(30)
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)


def markdown(rows: list[dict]) -> str:
    """The table ``docs/performance.md`` shows (``bench/report.py`` puts it there)."""
    lines = ["| database | clients | lists | submissions/s | submit p50 / p95 (ms) | read p50 "
             "(ms) | server CPU per call (ms) | load before |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['database']} | failed: {row['error'][:120]} |||||||")
            continue
        sub, read = row["submit"], row["read"]
        lists = f"every {row['list_every']}" if row["list_every"] else "none"
        lines.append(f"| {row['database']} | {row['clients']} | {lists} | {sub['per_s']:.0f} | "
                     f"{sub['p50_ms']:.0f} / {sub['p95_ms']:.0f} | {read['p50_ms']:.0f} | "
                     f"{row['server_cpu_ms_per_call']:.1f} | {row['load_before']:.2f} |")
    return "\n".join(lines) + ("\n\nGoal: >= 200 submissions/s with 16 clients on SQLite; "
                               "more on PostgreSQL.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 16])
    parser.add_argument("--databases", nargs="+", choices=("sqlite", "postgres"),
                        default=["sqlite", "postgres"])
    parser.add_argument("--list-every", type=int, default=4,
                        help="each client lists the newest 100 jobs every N turns (0: never)")
    args = parser.parse_args(argv)
    from server_worker.jobs.synthetic import write_ground_truth_nwb

    nwb = common.DATA / "load_input.nwb"
    if not nwb.is_file():
        nwb.parent.mkdir(parents=True, exist_ok=True)
        write_ground_truth_nwb(nwb, num_channels=4, num_units=2, duration_s=1)
    rows = []
    for kind in args.databases:
        try:
            rows += bench_database(kind, args.clients, args.seconds, nwb, args.list_every)
        except Exception as exc:  # noqa: BLE001 (one database failing still reports the other)
            print(f"{kind}: failed: {exc!r}", flush=True)
            rows.append({"database": kind, "error": repr(exc)})
    common.write_result("broker_load", {"machine": common.machine(), "rows": rows,
                                        "processor": PROCESSOR, "markdown": markdown(rows)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
