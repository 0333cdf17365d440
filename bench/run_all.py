"""Run every benchmark in one go and rewrite docs/performance.md with the figures.

    python3 bench/run_all.py            # medians of 3 runs, 1 GiB store file (~10 min)
    python3 bench/run_all.py --quick    # 1 run each, 128 MiB store file (~3 min)
    python3 bench/run_all.py --parts walk store   # some parts only (the doc shows the rest
                                                   # as not run)
    python3 bench/run_all.py --report-only        # rewrite the doc from bench/results/
    python3 bench/run_all.py --parts browser --splice-browser   # the start-up part alone:
                                   # replaces only its section of the doc, keeps the rest
    python3 bench/run_all.py --quick --parts queue store_s3 slurm --splice-scale
                                   # the scale-out parts (issue #13) alone, their sections only
    python3 bench/run_all.py --parts views_imaging views_rois views_table --splice-views2
                                   # the Views II parts (issue #12) alone, their sections only

Each part runs in its own process with a time limit, so one that fails or hangs is reported
in the doc as such and the others still run. Old figures are removed first: the doc only ever
shows one run's numbers.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import (  # noqa: E402
    analysis,
    common,
    report,
    report_scale,
    report_views,
    report_views2,
)
from bench.make_big_nwb import RECIPES, make, path_of  # noqa: E402

PARTS = ["walk", "browser", "store", "jobs", "engines", "views", "sort", "load",
         *report_scale.PARTS, *report_views2.PARTS]
# parts that read none of the big NWB files (the scale-out and Views II parts make their own)
OWN_FILES = {*report_scale.PARTS, *report_views2.PARTS}


def build_site() -> dict:
    """A fresh site from the current sources into bench/data/site (dist/site is left to its
    owners), so the browser figures are for the code as it is now; dist/site if that fails."""
    out = common.DATA / "site"
    t0 = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, str(common.ROOT / "build" / "build_site.py"),
                               "--out", str(out), "--quiet"], cwd=common.ROOT,
                              capture_output=True, text=True, timeout=900)
        ok = done.returncode == 0 and (out / "index.html").is_file()
        why = (done.stdout + done.stderr).strip()[-400:]
    except (OSError, subprocess.TimeoutExpired) as exc:
        ok, why = False, str(exc)
    site = out if ok else common.ROOT / "dist" / "site"
    info = {"path": str(site.relative_to(common.ROOT)), "built_here": ok,
            "build_s": time.perf_counter() - t0, **common.site_info(site)}
    if not ok:
        info["build_error"] = why
    print(f"site for the browser: {info['path']} (built now: {ok})", flush=True)
    return info


def commands(quick: bool, site: str) -> dict[str, tuple[list[str], int]]:
    """Each part's command line and time limit in seconds."""
    runs = "1" if quick else "3"
    py = sys.executable
    bench = common.BENCH
    cmds = {
        "walk": ([py, str(bench / "walk_cpython.py"), "--runs", runs], 1200),
        # quiet and under 2 busy processes, Neurosift v1 beside ours (skipped with its
        # reason when it is not built): rounds of ours + Neurosift at each load
        "browser": ([py, str(bench / "browser_cold_start.py"), "--runs", runs,
                     "--load", "0", "2", "--site", site], 3600),
        "store": ([py, str(bench / "bench_store.py"), "--runs", runs,
                   "--size-mb", "128" if quick else "1024"], 1200),
        "engines": ([py, str(bench / "bench_engines.py"), "--runs", runs,
                     *(["--quick"] if quick else [])], 1800),
        "views": ([py, str(bench / "browser_views.py"), "--runs", runs, "--site", site,
                   *(["--delays", "0"] if quick else [])], 2400),
        "sort": ([py, str(bench / "sort_page.py"), "--runs", "1" if quick else "3",
                  *(["--duration", "30"] if quick else [])], 2400),
        "load": ([py, str(bench / "broker_load.py"), "--seconds", "5" if quick else "10"], 900),
    }
    jobs = bench / "bench_job_overhead.py"
    if jobs.exists():
        cmd = [py, str(jobs)]
        text = jobs.read_text()
        if quick and "--quick" in text:
            cmd.append("--quick")
        elif quick and "--duration" in text:
            cmd += ["--duration", "30"]
        cmds["jobs"] = (cmd, 1800)
    cmds.update(report_scale.commands(quick))
    cmds.update(report_views2.commands(quick, site))
    return cmds


def run_part(name: str, cmd: list[str], limit: int) -> dict:
    """Run one part, echoing its output; return how it ended."""
    print(f"\n== {name}: {' '.join(Path(c).name if '/' in c else c for c in cmd)}", flush=True)
    t0 = time.perf_counter()
    load = os.getloadavg()[0]
    try:
        proc = subprocess.run(cmd, cwd=common.ROOT, capture_output=True, text=True,
                              timeout=limit)
        out, err, code = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out, err = _text(exc.stdout), _text(exc.stderr)
        code = "timeout"
    print(out.rstrip()[-4000:], flush=True)
    if code != 0:
        print(err.rstrip()[-2000:], flush=True)
    return {"returncode": code, "seconds": time.perf_counter() - t0, "load_before": load,
            "load_after": os.getloadavg()[0],
            "stdout_tail": out[-3000:], "output_tail": (out + err)[-3000:]}


def _text(data: bytes | str | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 run each, smaller store file")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=PARTS)
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the doc from the figures already in bench/results/")
    parser.add_argument("--splice-browser", action="store_true",
                        help="replace only the browser start-up section of the doc")
    parser.add_argument("--splice-scale", action="store_true",
                        help="replace only the scale-out sections (queue, store_s3, slurm)")
    parser.add_argument("--splice-views2", action="store_true",
                        help="replace only the Views II sections (frames, ROIs, tables)")
    args = parser.parse_args(argv)
    if not args.report_only:
        measure(args.parts, args.quick)
    if args.splice_browser:
        path = report.splice_browser(common.read_result("browser"))
    elif args.splice_scale:
        path = report_scale.splice(report_scale.read_results())
    elif args.splice_views2:
        path = report_views2.splice(report_views2.read_results())
    else:
        path = report.write(*assemble())
    print(f"\nwrote {path.relative_to(common.ROOT)}")
    return 0


def measure(parts: list[str], quick: bool) -> None:
    """Run the parts; every figure, failure and the run's context lands in bench/results/."""
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    from bench.report_views import KEPT_RESULTS

    produced = {"walk": ["walk_cpython_big"], "browser": ["browser"], "store": ["store"],
                "jobs": ["job_overhead"], "engines": ["bench_engines"], "views": ["views"],
                "sort": ["sort_page"], "load": ["broker_load"],
                **{name: [f"scale_{name}", f"{name}_raw"] for name in report_scale.PARTS},
                **{name: [name] for name in report_views2.PARTS}}
    stale = {stem for part in parts for stem in produced[part]}
    for old in common.RESULTS.glob("*.json"):  # only the parts run now: the others' stay
        if old.stem in stale and old.stem not in KEPT_RESULTS:
            old.unlink()
    context: dict = {"machine": common.machine(), "quick": quick}
    if not set(parts) - OWN_FILES:  # keep the files and layout of the last run
        context = {**(common.read_result("run_all") or {}), **context}
    # the scale and Views II parts read none of these NWB files: run alone, they make none
    for name in RECIPES if set(parts) - OWN_FILES else ():
        info = context[f"file_{name}"] = make(RECIPES[name])
        print(f"{name}: {info['bytes'] / 1e6:.1f} MB, {info['objects']} objects", flush=True)
    if set(parts) - OWN_FILES:
        context["layout"] = analysis.layout(path_of("big"))
    in_browser = {"browser", "views", *report_views2.PARTS}
    site = build_site() if in_browser & set(parts) else {"path": "dist/site"}
    context["machine"]["site"] = site
    cmds = commands(quick, str(common.ROOT / site["path"]))
    runs = {name: run_part(name, *cmds[name]) for name in parts if name in cmds}
    earlier = (common.read_result("run_all") or {}).get("parts") or {}
    context["parts"] = {**{k: v for k, v in earlier.items() if k not in runs},
                        **{name: {k: v for k, v in run.items() if not k.endswith("_tail")}
                           for name, run in runs.items()}}
    common.write_result("run_all", context)
    for name in report_scale.PARTS:
        if name in runs:
            report_scale.collect(name, runs[name])
    for name in report_views2.PARTS:
        if name in runs:
            report_views2.collect(name, runs[name])
    for name, key, what in (("walk", "walk_cpython_big", "walk_cpython.py"),
                            ("browser", "browser", "browser_cold_start.py"),
                            ("store", "store", "bench_store.py")):
        if name in runs and common.read_result(key) is None:
            tail = runs[name]["output_tail"].strip().splitlines()[-3:]
            common.write_result(key, _failed(name, what, runs[name]["returncode"], tail))
    if "engines" in runs and common.read_result("bench_engines") is None:
        tail = runs["engines"]["output_tail"].strip().splitlines()[-3:]
        common.write_result("bench_engines", {"markdown": "`bench/bench_engines.py` ended with "
                                              f"{runs['engines']['returncode']}: "
                                              + " / ".join(tail)})
    if "views" in runs and common.read_result("views") is None:
        tail = runs["views"]["output_tail"].strip().splitlines()[-3:]
        common.write_result("views", {"error": "`bench/browser_views.py` ended with "
                                      f"{runs['views']['returncode']}: " + " / ".join(tail)})
    if "sort" in runs and common.read_result("sort_page") is None:
        tail = runs["sort"]["output_tail"].strip().splitlines()[-3:]
        common.write_result("sort_page", {"markdown": "`bench/sort_page.py` ended with "
                                          f"{runs['sort']['returncode']}: " + " / ".join(tail)})
    if "jobs" in runs and common.read_result("job_overhead") is None:
        jobs = runs["jobs"]
        shown = jobs["stdout_tail"] if jobs["returncode"] == 0 else jobs["output_tail"]
        common.write_result("job_overhead", {
            "markdown": "`bench/bench_job_overhead.py` (run by run_all.py, exit "
                        f"{jobs['returncode']}) printed:\n\n```\n" + shown.strip()[-1500:]
                        + "\n```"})


def assemble() -> tuple[dict, list[str]]:
    """All figures of the last run, and the analysis computed from them."""
    context = common.read_result("run_all") or {"machine": common.machine()}
    results = {**context,
               "walk": common.read_result("walk_cpython_big"),
               "browser": common.read_result("browser"),
               "store": common.read_result("store"),
               "job_overhead": common.read_result("job_overhead"),
               "sort_page": common.read_result("sort_page"),
               "broker_load": common.read_result("broker_load"),
               "engines": common.read_result("bench_engines"),
               "engines_before": report_views.read_before(),
               "views": common.read_result("views"),
               "browser_reference": common.read_result(report_views.TREE_REFERENCE),
               "scale": report_scale.read_results(),
               "views2": report_views2.read_results()}
    return results, analysis.analysis(results)


def _failed(key: str, script: str, code: object, tail: list[str]) -> dict:
    """A result that says the part failed, shaped so the report shows it as a failure."""
    why = f"{script} ended with {code}: " + " / ".join(tail)
    if key == "browser":
        return {"skipped": f"failed: {why}"}
    if key == "store":
        return {"size_bytes": 0, "error": why}
    return {"runs": 0, "rows": [{"reader": "all", "label": "all readers", "walk": "full",
                                 "delay_ms": 0.0, "error": why}]}


if __name__ == "__main__":
    raise SystemExit(main())
