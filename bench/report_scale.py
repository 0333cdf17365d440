"""The scale-out parts of the benchmarks (issue #13): queue, store on S3, Slurm submission.

Three parts ``bench/run_all.py`` runs like the others (``--parts queue store_s3 slurm``),
each script writing its figures as JSON; ``collect`` wraps them with when, where and under
what load they were measured (the figures vary with load, so each section says its own), and
``sections`` turns them into the doc's three sections. ``splice`` replaces only those
sections of an existing ``docs/performance.md`` (or inserts them before the analysis), as
``report.splice_browser`` does for start-up: the other parts' figures are not rerun.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import common, doc_sections  # noqa: E402

DOC = common.ROOT / "docs" / "performance.md"
PARTS = ("queue", "store_s3", "slurm")
HEADINGS = {"queue": "## Scale out: the job queue with many workers",
            "store_s3": "## Scale out: the store on S3 (SeaweedFS)",
            "slurm": "## Scale out: Slurm, submit to running"}
BEFORE = doc_sections.BEFORE
STORE_GOAL = 0.70


def raw_path(name: str) -> Path:
    """Where the part's script writes its own JSON (``--json``)."""
    return common.RESULTS / f"{name}_raw.json"


def commands(quick: bool) -> dict[str, tuple[list[str], int]]:
    """Each scale part's command line and time limit in seconds (small sizes with
    ``quick``: a few minutes each)."""
    py = sys.executable
    bench = common.BENCH
    return {
        "queue": ([py, "-m", "bench.queue_bench", "--jobs", "200" if quick else "500",
                   "--json", str(raw_path("queue"))], 900),
        "store_s3": ([py, str(bench / "store_s3.py"), "--size-mb", "64" if quick else "256",
                      "--runs", "1" if quick else "3", "--json", str(raw_path("store_s3"))],
                     900),
        "slurm": ([py, str(bench / "slurm_submit.py"), "--runs", "5" if quick else "10",
                   "--json", str(raw_path("slurm"))], 600),
    }


def collect(name: str, run: dict[str, Any]) -> None:
    """Store part ``name``'s figures with its context (``run``: how ``run_all.run_part``
    says it ended); a part that wrote nothing is stored as its failure."""
    path = raw_path(name)
    data: Any = json.loads(path.read_text()) if path.exists() else None
    payload = {"machine": common.machine(), "data": data,
               **{k: run.get(k) for k in ("returncode", "seconds", "load_before",
                                          "load_after")}}
    if data is None:
        tail = (run.get("output_tail") or "").strip().splitlines()[-3:]
        payload["error"] = f"ended with {run.get('returncode')}: " + " / ".join(tail)
    common.write_result(f"scale_{name}", payload)


def read_results() -> dict[str, dict[str, Any] | None]:
    return {name: common.read_result(f"scale_{name}") for name in PARTS}


def _context(result: dict[str, Any]) -> str:
    m = result["machine"]
    return (f"Measured {m['date_utc']} on {m['nproc']} cores ({m['cpu']}), shared with other "
            f"work: 1-minute load average {result.get('load_before') or 0:.1f} before, "
            f"{result.get('load_after') or 0:.1f} after ({result.get('seconds') or 0:.0f} s).")


def queue_section(result: dict[str, Any] | None) -> list[str]:
    lines = [HEADINGS["queue"], "",
             "`bench/queue_bench.py`: each worker a separate process speaking the worker "
             "protocol over HTTP (register, claim, upload a small output, complete); each job "
             "sleeps briefly, so this is the queue's rate, not a sorter's. Every job must be "
             "completed exactly once.", ""]
    if not result or not result.get("data"):
        return [*lines, f"Not run{': ' + result['error'] if result else ''}.", ""]
    lines += [_context(result), "",
              "| database | workers | jobs | jobs/s | submit → last done | claim → done "
              "(median) | runs / distinct |", "|---|---:|---:|---:|---:|---:|---|"]
    for row in result["data"]:
        lines.append(f"| {row['database']} | {row['workers']} | {row['jobs']} | "
                     f"{row['jobs_per_s']:.1f} | {row['submit_to_last_s']:.1f} s | "
                     f"{row['claim_to_done_median_ms']:.0f} ms | "
                     f"{row['runs']} / {row['distinct']} |")
    return [*lines, ""]


def store_section(result: dict[str, Any] | None) -> list[str]:
    lines = [HEADINGS["store_s3"], "",
             "`bench/store_s3.py`: one SeaweedFS (`weed server -s3`, loopback), the broker "
             "with `--store s3://...` in front of it; the same bytes uploaded and read back in "
             "8 MiB ranges through the broker (the read follows one redirect to a presigned "
             "URL) and with boto3 straight to the bucket. Goal: broker / direct ≥ 70 %, and "
             "no body bytes through the broker on a read.", ""]
    data = (result or {}).get("data")
    if not data:
        return [*lines, f"Not run{': ' + result['error'] if result else ''}.", ""]
    speed = data["MB_per_s"]

    def ok(ratio: float) -> str:
        return "met" if ratio >= STORE_GOAL else "**missed**"

    body = data["broker_body_bytes_per_download"]
    return [*lines, _context(result), "",
            f"{data['size_mb']} MiB object, median of {data['runs']} run(s).", "",
            "| | through the broker | boto3 direct | ratio | goal ≥ 70 % |",
            "|---|---:|---:|---:|---|",
            f"| upload | {speed['up_broker']:.0f} MB/s | {speed['up_direct']:.0f} MB/s | "
            f"{data['ratio_upload']:.0%} | {ok(data['ratio_upload'])} |",
            f"| ranged download | {speed['down_broker']:.0f} MB/s | "
            f"{speed['down_direct']:.0f} MB/s | {data['ratio_download']:.0%} | "
            f"{ok(data['ratio_download'])} |", "",
            f"Body bytes the broker sent for one whole ranged read: {body} "
            f"(goal 0: {'met' if body == 0 else '**missed**'}).", ""]


def slurm_section(result: dict[str, Any] | None) -> list[str]:
    lines = [HEADINGS["slurm"], "",
             "`bench/slurm_submit.py`, on the one-node cluster of `tests/slurm_service.py` "
             "(munged, slurmctld, slurmd on loopback, no accounting): our "
             "`SlurmExecutor.submit` vs a bare `sbatch` with the same argument list and the "
             "same batch script, one job at a time. \"Running\" is the first look of one "
             "observer polling `squeue` every 20 ms, the same for both; \"executor saw\" is "
             "when our handle, polling as the daemon does, first reported it.", ""]
    data = (result or {}).get("data")
    if not data or data.get("skipped") or not data.get("median"):
        why = (data or {}).get("skipped") or (result or {}).get("error") or "no figures"
        return [*lines, f"Not run: {why}.", ""]
    med = data["median"]

    def s(key: str) -> str:
        if key not in med:
            return "n/a"
        return f"{med[key] * 1000:.0f} ms" if med[key] < 0.1 else f"{med[key]:.2f} s"

    return [*lines, _context(result), "",
            f"Medians of {data['runs']} rounds; the executor polls every "
            f"{data['poll_seconds']:g} s.", "",
            "| | submit call | submit → running (squeue) | submit → executor saw it |",
            "|---|---:|---:|---:|",
            f"| ours (`SlurmExecutor`) | {s('ours_submit_s')} | {s('ours_running_s')} | "
            f"{s('ours_executor_saw_s')} |",
            f"| bare `sbatch` | {s('bare_submit_s')} | {s('bare_running_s')} | — |", "",
            "Each round, submit → running: ours " + _rounds(data, "ours_running_s")
            + "; bare " + _rounds(data, "bare_running_s") + " (the two alternate which "
            "goes first). Slurm starts a job at its own scheduling steps, so rounds land on "
            "a few values whoever submits: compare the spread, not one round.", "",
            "`sbatch` arguments: `" + " ".join(data.get("sbatch_args", [])) + "`.", ""]


def _rounds(data: dict[str, Any], key: str) -> str:
    values = [r.get(key) for r in data.get("rounds", [])]
    return ", ".join("n/a" if v is None else f"{v:.2f}" for v in values) + " s"


def sections(results: dict[str, dict[str, Any] | None]) -> list[str]:
    return [*queue_section(results.get("queue")), *store_section(results.get("store_s3")),
            *slurm_section(results.get("slurm"))]


def splice(results: dict[str, dict[str, Any] | None], path: Path = DOC) -> Path:
    """Replace the three scale sections of ``path``, inserting any that is missing before
    the analysis; nothing else changes."""
    makers = (("queue", queue_section), ("store_s3", store_section), ("slurm", slurm_section))
    return doc_sections.splice(path, [(HEADINGS[name], make(results.get(name)))
                                      for name, make in makers], BEFORE)
