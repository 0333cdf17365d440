"""Write docs/performance.md from the figures in bench/results/*.json (one run_all.py run).

Nothing here measures; it only lays the figures beside the goals of performance-goals.md and
issues 2-3, and says plainly where a goal is missed or a benchmark failed or was skipped.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import common, report_scale, report_views2  # noqa: E402
from bench.fmt import against, mb, num, sec, verdict  # noqa: E402
from bench.report_browser import browser_full_walk, browser_section  # noqa: E402
from bench.report_views import engines_section, views_section  # noqa: E402

DOC = common.ROOT / "docs" / "performance.md"


def machine_section(m: dict, parts: dict) -> list[str]:
    v = m["versions"]
    loads = "; ".join(f"{name} {p['load_before']:.1f} → {p['load_after']:.1f} "
                      f"({p['seconds']:.0f} s, exit {p['returncode']})"
                      for name, p in parts.items() if "load_before" in p)
    return [
        "## Machine and versions", "",
        f"- measured {m['date_utc']} on {m['nproc']} cores ({m['cpu']}), "
        f"{m['mem_gib']} GiB memory, {m['os']}",
        f"- Python {m['python']}; {m['chromium']}",
        _site_line(m.get("site") or {}),
        "- " + ", ".join(f"{k} {val}" for k, val in v.items()),
        "- the machine is shared with other work while the benchmarks run: timings vary by "
        "tens of percent between runs; requests and bytes do not. 1-minute load average "
        f"at the start of the run {m.get('load_1min', float('nan')):.1f}"
        + (f"; per part, before → after: {loads}" if loads else "") + ".", "",
    ]


def _duration(results: dict) -> str:
    parts = results.get("parts") or {}
    total = sum(p.get("seconds", 0) for p in parts.values())
    if not total:
        return ""
    kind = "with `--quick`" if results.get("quick") else "in full"
    return f" (this run, {kind}, took {total / 60:.0f} minutes)"


def _site_line(site: dict) -> str:
    if not site.get("built"):
        return "- no built site (`dist/site`): no browser figures"
    where = site.get("path", "dist/site")
    line = f"- site `{where}` built {site['built']}"
    if site.get("built_here") is False:
        line += (" (**building a fresh one failed**, so the existing dist/site was measured: "
                 f"{site.get('build_error', '')[:200]})")
    elif site.get("built_here"):
        line += " by run_all.py with `build/build_site.py` from the current sources"
    stale = site.get("stale_files")
    if stale is None:
        return line
    if stale:
        return (line + f"; **its nwbscope wheel differs from web/py in {len(stale)} files** "
                f"({', '.join(stale[:4])}): the browser figures are for that older build")
    return line + "; its nwbscope wheel matches the sources in web/py"


def files_section(results: dict) -> list[str]:
    out = ["## The files", "", "| file | size | HDF5 objects | what is in it |",
           "|---|---|---|---|"]
    text = {
        "small": "32-channel ElectricalSeries (4 MB), 20 units, 50 trials",
        "big": "64 ch × 80 s int16 ElectricalSeries in 30000×64 chunks written first, then "
               "40 TimeSeries, 60 SpatialSeries (processing/behavior), 500 trials, 80 units",
    }
    for name in ("small", "big"):
        info = results.get(f"file_{name}")
        if info:
            out.append(f"| {name} | {mb(info['bytes'])} | {info['objects']} | {text[name]} |")
    out += ["", "Both written by `bench/make_big_nwb.py` with pynwb and cached in `bench/data/`.",
            ""]
    layout = results.get("layout")
    if layout:
        out += [f"Layout of big: {layout['headers']} object headers; "
                f"{layout['in_tail']} of them lie in the last {layout['tail_mb']:.0f} MB of the "
                f"file, {layout['in_head']} in the first MB (free space reused by the append); "
                f"the ElectricalSeries chunks fill bytes {layout['data_start'] / 1e6:.1f}-"
                f"{layout['data_stop'] / 1e6:.1f} MB.", ""]
        t = layout.get("touched")
        if t:
            out += [f"A full metadata walk (h5py, local file, every read recorded) touches "
                    f"{t['bytes'] / 1e6:.2f} MB in {t['places']} separate places; merging reads "
                    f"less than 64 KiB apart gives {t['runs_64k']} reads of "
                    f"{t['bytes_64k'] / 1e6:.2f} MB, less than 1 MiB apart {t['runs_1024k']} "
                    f"reads of {t['bytes_1024k'] / 1e6:.2f} MB: the floor any HTTP reader "
                    "trades requests against bytes along.", ""]
    return out


def walk_section(res: dict | None, browser: dict | None = None) -> list[str]:
    out = ["## CPython: walking every object's metadata of big over HTTP", ""]
    if not res:
        return out + ["Not run.", ""]
    out += [
        "`full`: every object reachable by hard links, all attributes, dataset shape/dtype/"
        "chunks, no values. `tree`: what the page shows first (root, its children and "
        "theirs, with attributes). Requests and bytes counted by the range server; seconds are "
        f"medians of {res['runs']} fresh opens.", "",
        "| reader | walk | objects | requests | bytes | s (0 ms) | s (30 ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = res["rows"]
    keyed = {(r["reader"], r["walk"], r["delay_ms"]): r for r in rows}
    seen = []
    for r in rows:
        key = (r["reader"], r["walk"])
        if key in seen:
            continue
        seen.append(key)
        r0 = keyed.get((*key, 0.0), r)
        r30 = keyed.get((*key, 30.0), {})
        if "requests" not in r0:
            out.append(f"| {r['label']} | {r['walk']} | **failed**: {r0.get('error', '')} "
                       "| | | | |")
            continue
        errs = f" ({r0['errors']} failed: {r0['first_error']})" if r0.get("errors") else ""
        out.append(f"| {r['label']} | {r['walk']} | {r0['visited']}{errs} | "
                   f"{num(r0['requests'])} | {mb(r0['bytes'])} | {sec(r0['seconds'])} | "
                   f"{sec(r30.get('seconds'))} |")
    refs = [r for r in rows if r["reader"] in ("h5py-remfile", "h5py-fsspec")
            and r["walk"] == "full" and r["delay_ms"] == 0.0 and "requests" in r]
    out += [""]
    if refs:
        best_req = min(r["requests"] for r in refs)
        best_bytes = min(r["bytes"] for r in refs)
        out += [f"Goal (issue 2): our walk needs no more requests and bytes than the best "
                f"CPython reference: ≤ {best_req:.0f} requests and ≤ {mb(best_bytes)} "
                "(the best of each, from either reference).", "",
                "| ours | requests | bytes | goal |", "|---|---|---|---|"]
        for r in rows:
            if (r["reader"].startswith(("nwbscope", "pyfive-cache", "h5py-cache"))
                    and r["walk"] in ("full", "model") and r["delay_ms"] == 0.0):
                if "requests" not in r:
                    out.append(f"| {r['label']} | – | – | not measured ({r.get('error', '')}) |")
                    continue
                out.append(f"| {r['label']} ({r['walk']}) | {num(r['requests'])} | "
                           f"{mb(r['bytes'])} | {against(r, best_req, best_bytes)} |")
        page = browser_full_walk(browser)
        if page:
            out.append(f"| the page in Chromium (tree + walk, above) | {num(page['requests'])} "
                       f"| {mb(page['bytes'])} | {against(page, best_req, best_bytes)} |")
        out.append("")
    views = [r for r in rows if r["walk"] == "view" and r["delay_ms"] == 0.0]
    if views:
        out += ["The page's calls before the tree shows (`view`: summary, the root's rows, "
                "the rows of each root group), against the browser goal for big "
                "(≤ 15 requests, ≤ 11 MB):", "",
                "| ours | requests | bytes | goal |", "|---|---|---|---|"]
        for r in views:
            if "requests" not in r:
                out.append(f"| {r['label']} | – | – | not measured ({r.get('error', '')}) |")
                continue
            ok = r["requests"] <= 15 and r["bytes"] <= 11e6
            out.append(f"| {r['label']} | {num(r['requests'])} | {mb(r['bytes'])} | "
                       f"{verdict(ok)} |")
        out.append("")
    return out


def store_section(res: dict | None) -> list[str]:
    out = ["## Store throughput (loopback)", ""]
    if not res:
        return out + ["Not run.", ""]
    size = f"{res['size_bytes'] / 2**20:.0f} MiB"
    if res.get("error"):
        return out + [f"**Failed** ({size}): {res['error']}", ""]
    m = res["med"]

    runs = res.get("all") or []

    def row(label: str, key: str) -> str:
        if f"{key}_s" not in m:
            return f"| {label} | – | – | – | – | – |"
        speed = m[f"{key}_mb_s"]
        each = [r[f"{key}_mb_s"] for r in runs if f"{key}_mb_s" in r]
        spread = f"{min(each):.0f}–{max(each):.0f}" if len(each) > 1 else "–"
        return (f"| {label} | {sec(m[f'{key}_s'])} | {speed:.0f} | {spread} "
                f"| {speed / m['cp_mb_s']:.0%} | {speed / m['loop_mb_s']:.0%} |")

    out += [
        f"A {size} file of random bytes sent up with `PUT /api/store` and back with "
        "`GET /api/store/<hex>` to disk, against a real `nwbscope serve --no-worker` process, "
        "with two clients (Python's http.client in 1 MiB blocks, and curl); in the same run "
        "`cp` of the same file and a 1 MiB read/write loop. Medians of "
        f"{res['runs']} runs; every upload is new content (no deduplication short cut), "
        "every download is checked against its SHA-256, and dirty pages are written back "
        "(sync) before each timed step. Goal (issue 3): ≥ 50 % of the copy's speed, judged "
        "with the better client against the faster of the two copies (`cp`'s speed on this "
        "virtual disk varies most from run to run; the faster copy avoids a lucky pass).", "",
        "| | seconds | MB/s | slowest–fastest run | share of `cp` | share of read/write loop |",
        "|---|---|---|---|---|---|",
        row("`cp` (kernel copy)", "cp"),
        row("read/write loop, 1 MiB blocks", "loop"),
        row("SHA-256 of the file alone", "hash"),
        row("upload, http.client", "py_up"),
        row("upload, curl", "curl_up"),
        row("download, http.client", "py_down"),
        row("download, curl", "curl_down"),
        "",
        f"Against the faster plain copy ({m['copy_mb_s']:.0f} MB/s): best upload "
        f"{m['up_mb_s']:.0f} MB/s = {m['up_ratio']:.0%} ({verdict(m['up_ratio'] >= 0.5)}), "
        f"best download {m['down_mb_s']:.0f} MB/s = {m['down_ratio']:.0%} "
        f"({verdict(m['down_ratio'] >= 0.5)}).", "",
    ]
    return out


def job_section(res: dict | None) -> list[str]:
    out = ["## Job overhead", ""]
    if not res:
        return out + ["Not measured in this run (`bench/bench_job_overhead.py` missing or it "
                      "wrote no `bench/results/job_overhead.json`).", ""]
    if res.get("markdown"):
        return out + [res["markdown"], ""]
    body = {k: v for k, v in res.items() if k not in ("benchmark", "measured_utc")}
    return out + ["Figures as `bench/bench_job_overhead.py` reported them:", "", "```",
                  *(f"{k}: {v}" for k, v in body.items()), "```", ""]


def sort_section(res: dict | None) -> list[str]:
    out = ["## Sorting from the page", ""]
    if not res or not res.get("markdown"):
        return out + ["Not measured in this run (`bench/sort_page.py` wrote no "
                      "`bench/results/sort_page.json`).", ""]
    return out + [res["markdown"], ""]


def load_section(res: dict | None) -> list[str]:
    out = ["## Broker under load (16 clients)", ""]
    if not res or not res.get("markdown"):
        return out + ["Not measured in this run (`bench/broker_load.py` wrote no "
                      "`bench/results/broker_load.json`).", ""]
    return out + [res["markdown"], ""]


METHOD = [
    "## How it is measured", "",
    "- `bench/range_server.py` serves the files: Python's threading HTTP server with "
    "keep-alive and `TCP_NODELAY` (without it, a keep-alive client's delayed ACK adds ~40 ms "
    "to each response and passes for latency), single-range `Range` support, CORS, and the "
    "delay added before every answer (preflights included). It counts requests, plain GETs, "
    "preflights and body bytes sent; the browser and CPython figures are its counts.",
    "- Every CPython run opens the file afresh with the library's defaults (remfile and "
    "fsspec as installed, nwbscope's block cache at its defaults). `performance-goals.md` "
    "quotes h5py over remfile at 65 requests / 332 MB and over fsspec at 34 / 141 MB on its "
    "own big file; the tables give what they do on this file with these versions.",
    "- The browser runs use Debian's Chromium through Python Playwright (never `playwright "
    "install`), flags `--no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync`, and a fresh user-data-dir per run.",
    "- The store benchmark writes to the same disk as the copy; neither side calls fsync, so "
    "both mostly measure the page cache.", "",
]


BROWSER_HEADINGS = ("## Browser: start-up to the visible tree",
                    "## Browser: cold start to the visible tree")  # now, and before #14


def splice_browser(browser: dict[str, Any] | None, path: Path = DOC) -> Path:
    """Replace only the browser start-up section of an existing doc (from its heading to the
    next ``## ``) with one from ``browser``, leaving every other section as it was: for a
    run of the browser part alone, whose other parts' figures are not on this machine."""
    lines = path.read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(BROWSER_HEADINGS)), None)
    if start is None:
        raise ValueError(f"{path} has no browser start-up section to replace")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    new = browser_section(browser)
    while new and not new[-1]:
        new.pop()
    path.write_text("\n".join([*lines[:start], *new, "", *lines[end:]]).rstrip() + "\n")
    return path


def write(results: dict[str, Any], analysis: list[str], path: Path = DOC) -> Path:
    lines = [
        "# Performance", "",
        "Figures measured by `python3 bench/run_all.py` (all of them, in one run, on the "
        "machine below); it rewrites this file. `--quick` runs fewer repetitions and a smaller "
        "store file. Timings are reported, never tested pass/fail. Goals come from "
        "`performance-goals.md` and issues 2 and 3; a goal that is missed says so.", "",
        f"Reproduce: `python3 bench/run_all.py`{_duration(results)}. It builds a fresh site "
        "with `build/build_site.py` into `bench/data/site` for the browser figures, and needs "
        "Debian `chromium`, `curl` and the test extras (`pip install -e .[test]`). Each part "
        "also runs alone, e.g. `python3 bench/walk_cpython.py --runs 1`; "
        "`bench/README.md` lists them.", "",
    ]
    lines += machine_section(results["machine"], results.get("parts") or {})
    lines += files_section(results)
    lines += browser_section(results.get("browser"))
    lines += views_section(results.get("views"), results.get("browser"),
                           results.get("browser_reference"))
    lines += engines_section(results.get("engines"), results.get("engines_before"))
    lines += walk_section(results.get("walk"), results.get("browser"))
    lines += store_section(results.get("store"))
    lines += job_section(results.get("job_overhead"))
    lines += sort_section(results.get("sort_page"))
    lines += load_section(results.get("broker_load"))
    lines += report_scale.sections(results.get("scale") or {})
    lines += report_views2.sections(results.get("views2") or {})
    lines += ["## Where the time and the bytes go", "", *analysis, ""]
    lines += METHOD
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path
