"""The views parts of docs/performance.md: views in the browser, and view reads per engine.

``views_section`` lays ``bench/results/views.json`` (``browser_views.py``) beside the goals of
the views issue and Neurosift's figures quoted there; ``engines_section`` lays out
``bench/results/bench_engines.json`` (``bench_engines.py``), with the reader's figures from
before its speed-ups beside them when such a result file is still there. Both must survive a
run that failed half-way: a missing figure reads "failed: <error>" or "not run", never a crash.
"""

from __future__ import annotations

from typing import Any

from bench import common
from bench.fmt import le, mb, num, sec, verdict

# The big file's cold start to the tree before the views issue: docs/performance.md of commit
# 4c1d7c2 (29 Nov), the last full run before the views work. Kept here because run_all.py
# removes every old result before it measures, so no earlier figure survives in the results.
TREE_BEFORE_S = {0.0: 2.91, 30.0: 3.53}
TREE_NOISE = 1.10  # "no slower": within 10 %, the run-to-run spread of that figure here
BEFORE_FILES = ("engines_old", "bench_engines_before")  # the first one present is used
# browser_cold_start.py's result for the site as it was before the views issue (commit
# ffcd0d0), measured beside the current one: the same machine and load, so it is the
# reference of "no slower" when present (run_all.py keeps it, like BEFORE_FILES).
TREE_REFERENCE = "browser_before_views"
KEPT_RESULTS = (*BEFORE_FILES, TREE_REFERENCE)


def read_before() -> dict | None:
    """The engine figures of the reader before its speed-ups, if a result file holds them."""
    for name in BEFORE_FILES:
        res = common.read_result(name)
        if res and res.get("rows"):
            return res
    return None


def _clean(text: Any) -> str:
    """An error message made safe for one table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")[:200]


def _ms(value: Any) -> str:
    return "–" if not isinstance(value, int | float) else f"{value * 1000:.0f} ms"


def _span(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "?"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _split_runs(runs: list[dict]) -> tuple[list[dict], list[dict]]:
    """Series runs and raster runs: browser_views.py stores ``rows + rasters``, as many of
    each, and a failed run keeps only its ``error``, so the halves are the only sure split."""
    half = len(runs) // 2
    return runs[:half], runs[half:]


def _why_missing(runs: list[dict]) -> str:
    """What a cell shows for a figure the medians lack: the error itself is given once,
    under the table (``_failures``), not in every cell of a failed run."""
    if not runs:
        return "not run"
    return "**failed**" if all(r.get("error") for r in runs) else "–"


def _failures(kind: str, runs: list[dict]) -> list[str]:
    errors = [r["error"] for r in runs if r.get("error")]
    if not errors:
        return []
    return [f"{kind} runs: {len(errors)} of {len(runs)} failed: "
            f"{_clean(errors[0]).rstrip('.')}."]


def views_section(res: dict | None, browser: dict | None = None,
                  reference: dict | None = None) -> list[str]:
    """One table per delay: each view measure, its goal, Neurosift's figure, ours, verdict.

    ``browser`` (browser_cold_start.py's result) gives the big file's tree time for the
    "no slower than before" row; the views run only opens its own, different files."""
    out = ["## Browser: views (first ElectricalSeries view, pans, zoomed out, raster)", ""]
    if not res:
        return out + ["Not run.", ""]
    if res.get("skipped"):
        return out + [f"**Not measured**: {_clean(res['skipped'])}.", ""]
    if res.get("error"):
        return out + [f"**Failed**: {_clean(res['error'])}", ""]
    files = res.get("files") or {}
    series, units = files.get("series") or {}, files.get("units") or {}
    recipe = series.get("recipe") or {}
    channels, span = recipe.get("channels"), recipe.get("seconds")
    cases = res.get("cases") or []
    runs = max((len(_split_runs(c.get("runs") or [])[0]) for c in cases), default=0)
    out += [
        "`bench/browser_views.py`: headless Debian Chromium, a fresh profile per run, the same "
        "two loopback servers as the cold start (the data server adds the delay to every "
        "request). Times are measured in the page, from the action (click, or the x range set "
        "as a drag ends) to the frame painted (two animation frames after it arrived); bytes "
        f"are the data server's counts. Medians of {runs} run(s) per delay, each a fresh "
        f"browser. Series file `{series.get('name', '?')}`: {num(channels)} ch × "
        f"{_span(span)} int16 at 30 kHz, {mb(series.get('bytes'))}; raster file "
        f"`{units.get('name', '?')}`: {num(units.get('units'))} units × "
        f"{_span(units.get('seconds'))}, {num(units.get('spikes'))} spikes.", "",
    ]
    if (isinstance(span, int | float) and span < 600) or (
            isinstance(units.get("seconds"), int | float) and units["seconds"] < 3600):
        out += ["**A smoke run**: the files are shorter than the goals' (10 min series, "
                "500 units × 1 h), so the zoomed-out and raster rows do not judge those goals.",
                ""]
    if not cases:
        return out + ["No case was measured.", ""]
    for case in cases:
        out += _case_table(case, channels, span, units, browser, reference)
    out += ["Neurosift's figures are quoted from the views issue (measured on the same kind of "
            "machine), not measured in this run.", ""]
    return out


def _case_table(case: dict, channels: Any, span: Any, units: dict,
                browser: dict | None, reference: dict | None = None) -> list[str]:
    """The goals table of one delay, and which runs failed (with their error)."""
    delay = case.get("delay_ms", 0.0)
    s, r = case.get("series") or {}, case.get("raster") or {}
    s_runs, r_runs = _split_runs(case.get("runs") or [])
    s_why, r_why = _why_missing(s_runs), _why_missing(r_runs)

    def has(med: dict, key: str) -> bool:
        return isinstance(med.get(key), int | float)

    def cell(med: dict, key: str, fmt: Any, why: str) -> str:
        return fmt(med[key]) if has(med, key) else why

    def also(med: dict, key: str, text: str) -> str:
        """A remark on a figure, left out when the figure itself is missing."""
        return text if has(med, key) else ""

    drawn = s.get("channels")
    all_drawn = None if drawn is None or channels is None else drawn >= channels
    first = le(s.get("view_complete_s"), 1.0)
    first_ok = None if first is None else first and all_drawn is not False
    view = cell(s, "view_complete_s", sec, s_why) + also(
        s, "view_complete_s",
        f" (first paint {sec(s.get('view_first_paint_s'))}, {num(drawn)} channels drawn)")
    view_bytes = cell(s, "view_bytes", mb, s_why) + also(
        s, "view_requests", f" ({num(s.get('view_requests'))} requests)")
    worker = cell(s, "pan_worker_s", _ms, s_why)
    if has(s, "pan_worker_s") and s.get("pan_s"):
        worker += f" ({s['pan_worker_s'] / s['pan_s']:.0%} of the pan)"
    worker += also(s, "pan_post_s", f", of which converting and posting frames "
                                    f"{_ms(s.get('pan_post_s'))}")
    ratio = s.get("zoomed_ratio")
    zoomed = (f"{sec(s.get('zoomed_complete_s'))} = {ratio:.2f} × ({mb(s.get('zoomed_bytes'))}"
              f" / {s.get('bandwidth_MBps', float('nan')):.0f} MB/s = "
              f"{sec(s.get('zoomed_ideal_s'))})" if has(s, "zoomed_ratio")
              else cell(s, "zoomed_complete_s", sec, s_why))
    status = next((x["raster_status"] for x in r_runs if x.get("raster_status")), "")
    raster = cell(r, "raster_complete_s", sec, r_why) + also(
        r, "raster_complete_s", f" (status: {_clean(status)})" if status else "")
    tree, tree_ok = _tree_row(delay, s, browser, s_why, reference)
    out = [f"### Views, {delay:g} ms per request", "",
           "| measure | goal | Neurosift | measured | |", "|---|---|---|---|---|",
           f"| click → first ElectricalSeries view drawn (all {num(channels)} channels, 1 s) "
           f"| ≤ 1 s | 6.1 s | {view} | {verdict(first_ok)} |",
           f"| … bytes read for it | ≤ 10 MB | 310 MB | {view_bytes} "
           f"| {verdict(le(s.get('view_bytes'), 10e6))} |",
           f"| redraw after a pan of 1 s × {num(channels)} ch at 30 kHz | ≤ 300 ms "
           f"| not measured | {cell(s, 'pan_s', _ms, s_why)} "
           f"| {verdict(le(s.get('pan_s'), 0.3))} |",
           f"| … bytes read per pan | – | – | {cell(s, 'pan_bytes', mb, s_why)} | |",
           f"| … the worker's time in a pan (reading, min/max, frames) | – | – | {worker} | |",
           f"| bandwidth the page measured (one 256 MiB ranged fetch) | – | – "
           f"| {cell(s, 'bandwidth_MBps', lambda v: f'{v:.0f} MB/s', s_why)} | |",
           f"| zoomed-out {_span(span)} × {num(channels)} ch, exact min/max: first paint "
           f"| ≤ 1 s | refuses (> 5e5 points) | {cell(s, 'zoomed_first_paint_s', sec, s_why)} "
           f"| {verdict(le(s.get('zoomed_first_paint_s'), 1.0))} |",
           f"| … complete, against bytes read / measured bandwidth | ≤ 1.2 × | refuses "
           f"| {zoomed} | {verdict(le(ratio, 1.2))} |",
           f"| raster of {num(units.get('units'))} units × {_span(units.get('seconds'))} "
           f"| ≤ 2 s | 4 units per view | {raster} "
           f"| {verdict(le(r.get('raster_complete_s'), 2.0))} |",
           f"| … bytes read for it | – | – | {cell(r, 'raster_bytes', mb, r_why)} | |",
           f"| tree shown, big file | no slower than before this issue | – | {tree} "
           f"| {verdict(tree_ok)} |", ""]
    fails = _failures("Series", s_runs) + _failures("Raster", r_runs)
    return out + ([" ".join(fails), ""] if fails else [])


def _tree_row(delay: float, s: dict, browser: dict | None, s_why: str,
              reference: dict | None = None) -> tuple[str, bool | None]:
    """The big file's tree time (browser part) against its figure before this issue; the
    views run's own tree time is for its series file, a different file, so it gets no
    verdict, only a mention."""
    own = (f"; the views run's series file (a different file, no earlier figure): "
           f"{sec(s['tree_s'])}" if isinstance(s.get("tree_s"), int | float)
           else f"; the views run's series file: {s_why}")
    big, why = _big_tree(browser, delay)
    measured, _ = _big_tree(reference, delay) if reference else (None, "")
    if big is not None and measured is not None:
        text = (f"big (browser part, cold start): {sec(big)} against {sec(measured)} for the "
                f"site before this issue (commit ffcd0d0) measured beside it on this machine "
                f"(within 10 % counts as no slower){own}")
        return text, big <= measured * TREE_NOISE
    before = TREE_BEFORE_S.get(delay)
    if big is None:
        return f"big (browser part): {why}{own}", None
    if before is None:
        return f"big (browser part): {sec(big)}, no earlier figure at {delay:g} ms{own}", None
    text = (f"big (browser part, cold start): {sec(big)} against {sec(before)} before "
            f"(commit 4c1d7c2; within 10 % counts as no slower){own}")
    return text, big <= before * TREE_NOISE


def _big_tree(browser: dict | None, delay: float) -> tuple[float | None, str]:
    """The browser part's cold start to the tree of big at ``delay``, or why there is none."""
    if not browser:
        return None, "not run"
    if browser.get("skipped"):
        return None, _clean(browser["skipped"])
    for case in browser.get("cases") or []:
        cold = case.get("cold") or {}
        if case.get("file") == "big" and case.get("delay_ms") == delay:
            if cold.get("ok") and isinstance(cold.get("tree_s"), int | float):
                return cold["tree_s"], ""
            return None, f"failed: {_clean(cold.get('failure') or 'no tree time')}"
    return None, f"not run at {delay:g} ms"


def engines_section(res: dict | None, before: dict | None = None) -> list[str]:
    """Each reader's figures per workload step; "before → after" where ``before`` (the reader
    before its speed-ups, measured by the same script) has the same step and reader."""
    out = ["## CPython: time-series view reads with each HDF5 engine", ""]
    if not res:
        return out + ["Not run.", ""]
    rows = res.get("rows")
    if not rows:
        return out + [_clean(res.get("markdown") or res.get("error") or "no figures"), ""]
    old = {(r.get("workload"), r.get("step"), r.get("reader")): r
           for r in (before or {}).get("rows") or []}
    out += [
        "`bench/bench_engines.py` reads the view benchmark files (`make_view_files.py`) as the "
        "views do: `a_first` a cold open of the sparse 384-channel series (about 4600 chunks) "
        "and one sample at its start, middle and end (what the chunk index costs a first view); "
        "`a_index` that whole chunk index; `b_window` 1 s × 384 channels, again, the next "
        "second, 1 s of 4 channels; `c_stream` the dense 64-channel series, 10 min read chunk "
        "by chunk with min/max of each block, as a zoomed-out view decimates (\"reads\": the "
        "CPU time of the reads alone). Readers: `pyfive` (the browser's engine) and `h5py` "
        "through `nwbscope.open` (the same cached byte source, so their requests and bytes "
        "compare: nwbscope's counters), and `h5py-native` (`h5py.File` on the path, "
        "libhdf5's own I/O, no counts: the floor). × h5py is the ratio of CPU seconds to "
        "h5py through the facade, steadier than wall time on a shared machine. Medians of "
        f"{res.get('runs', '?')} runs, page cache warm; every reader's values are checked "
        "against h5py's.", "",
    ]
    if before:
        out += [_before_note(before, res), ""]
    out += ["| workload | step | reader | CPU s | × h5py (CPU) | seconds | requests | MB "
            "| values |", "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        b = old.get((r.get("workload"), r.get("step"), r.get("reader")), {})
        ratio = r.get("vs_h5py")
        agrees = {True: "same", False: "**DIFFER**"}.get(r.get("agrees"), "")
        out.append(f"| {r.get('workload', '?')} | {r.get('step', '?')} | {r.get('reader', '?')} "
                   f"| {_cpu(r, b)} | {f'{ratio:.2f}' if isinstance(ratio, float) else ''} "
                   f"| {_pair(r, b, 'seconds', '{:.3f}')} | {_pair(r, b, 'requests', '{:.0f}')} "
                   f"| {_pair(r, b, 'bytes', '{:.1f}', 1e6)} | {agrees} |")
    out += [""] + _engine_summary(rows, old)
    differ = [f"{r['workload']} {r['step']} ({r['reader']})" for r in rows
              if r.get("agrees") is False]
    if differ:
        out += [f"**Values differ from h5py's** in {', '.join(differ)}: those rows' figures "
                "are of wrong reads.", ""]
    return out


def _before_note(before: dict, res: dict) -> str:
    when = str(before.get("measured_utc", "?"))[:16].replace("T", " ")
    note = (f"Before → after: the reader before its speed-ups, from "
            f"`bench/results/{before.get('benchmark', '?')}.json` (measured {when} UTC by the "
            "same script), where it has the same step and reader.")
    if not any("cpu_s" in r for r in before.get("rows") or []):
        note += " That file has wall seconds only, no CPU seconds."
    if before.get("files") and before.get("files") != res.get("files"):
        note += " **It read other files** (" + ", ".join(before["files"]) + ")."
    return note


def _pair(row: dict, old: dict, key: str, form: str, scale: float = 1.0) -> str:
    """``after``, or ``before → after`` when the before figure exists."""
    if not isinstance(row.get(key), int | float):
        return "–"
    after = form.format(row[key] / scale)
    if isinstance(old.get(key), int | float):
        return f"{form.format(old[key] / scale)} → {after}"
    return after


def _cpu(row: dict, old: dict) -> str:
    text = _pair(row, old, "cpu_s", "{:.3f}")
    if isinstance(row.get("read_cpu_s"), int | float):
        text += f" (reads {_pair(row, old, 'read_cpu_s', '{:.3f}')})"
    return text


def _engine_summary(rows: list[dict], old: dict) -> list[str]:
    """pyfive against h5py per step, and against itself before, in one line each."""
    mine = [r for r in rows if r.get("reader") == "pyfive"]
    vs = [f"{r.get('workload')} {r.get('step')} {r['vs_h5py']:.2f}×" for r in mine
          if isinstance(r.get("vs_h5py"), float)]
    out = [f"- pyfive's CPU time against h5py through the facade: {'; '.join(vs)}."] if vs else []
    faster = []
    for r in mine:
        b = old.get((r.get("workload"), r.get("step"), "pyfive"), {})
        key = "cpu_s" if "cpu_s" in b and "cpu_s" in r else "seconds"
        if isinstance(b.get(key), int | float) and r.get(key):
            faster.append(f"{r.get('workload')} {r.get('step')} {b[key] / r[key]:.1f}×")
    if faster:
        out.append("- pyfive before ÷ after its speed-ups (CPU seconds where both have them, "
                   f"else wall; above 1: faster now): {'; '.join(faster)}.")
    return out + ([""] if out else [])
