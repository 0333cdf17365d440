"""Neurosift v1's start-up on the big file, measured the way issue #14 measures ours.

"CPU seconds of all browser processes, from navigation until the tree is on screen": the same
Debian Chromium, the same flags as ``browser_cold_start.py``, a fresh profile per run, the NWB
file from a loopback ``range_server`` that counts what it sends, CPU from ``browser_cpu``.

- Site: ``neurosift_site.neurosift_dist()`` (Neurosift v1 built from source), served by a second
  ``ServerProcess``. Neurosift v1 opens a remote file as ``/?p=/nwb&url=<url>`` (its
  ``useRoute.tsx``); a non-DANDI URL is read directly with h5wasm in a worker (range requests).
- The browser has no internet here: ``--host-resolver-rules`` makes every name but 127.0.0.1
  fail at once (DANDI API, annotations, analytics), so no run waits on a timeout and no run
  depends on the network; Neurosift shows "DANDI API appears to be down" and carries on.
- "Tree on screen": Neurosift's main panel lists one heading per top-level object
  (``acquisition (41)``, ``intervals (1)``, ``processing/behavior (1)``, ``units (80 units)``...).
  The run ends when every heading Neurosift's own rules (``DefaultNwbFileView.tsx``) give for
  this file (``expected_headings``, read with h5py) is drawn *with its count* (not ``-`` or
  ``...``) and ``loading processing...`` is gone. The page is polled every 50 ms.
- After that Neurosift keeps reading (it walks the file for its left panel); ``settled_s`` and
  ``settled_cpu_s`` are taken when its status bar shows no pending request and its counters
  have not moved for ``SETTLE_QUIET_S``: a second figure, not the issue's.
- ``--load N`` runs N busy-loop processes beside the browser during each run (``cpu_load``),
  for "wall time under load".

    python3 bench/neurosift_start.py [--runs 3] [--load 2] [--delay-ms 0] [--file big]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import common  # noqa: E402
from bench.browser_cold_start import ARGS, CHROMIUM  # noqa: E402
from bench.browser_cpu import BrowserCpu  # noqa: E402
from bench.make_big_nwb import RECIPES, make  # noqa: E402
from bench.range_server import ServerProcess  # noqa: E402

OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
POLL_S = 0.05
SETTLE_QUIET_S = 1.0
SETTLE_MAX_S = 60.0
LOADING_PROCESSING = "loading processing..."
KEYS = ["tree_s", "wall_s", "cpu_s", "settled_s", "settled_cpu_s", "requests",
        "range_requests", "bytes", "full_gets", "preflights", "settled_requests",
        "settled_bytes", "app_requests", "app_bytes"]

# The top-level headings and Neurosift's status bar (``NwbPage.tsx``), read in the page.
_READ = """() => {
  const heads = [...document.querySelectorAll(
    'div[style*="user-select: none"] > div[style*="cursor: pointer"]')];
  const span = (t) => {
    const el = document.querySelector('span[title="' + t + '"]');
    return el ? el.textContent.trim() : null;
  };
  return {
    now_ms: performance.now(),
    headings: heads.map((d) => (d.innerText || d.textContent || '').replace(/\\u00a0/g, ' ')),
    stats: ['Number of groups fetched', 'Number of datasets fetched',
            'Number of datasets data fetched', 'Number of pending requests'].map(span),
    error: ((document.body && /Problem loading file[^\\n]*/.exec(document.body.innerText))
            || [''])[0],
  };
}"""

_HEADING = re.compile(r"^(?P<label>.*?)\s+(?:\((?P<count>\d+)(?: units)?\)|-|\.\.\.)$")


def parse_heading(text: str) -> tuple[str, int | None]:
    """``"► units (80 units)"`` -> ``("units", 80)``; a count still loading (``-``/``...``)
    gives None."""
    text = text.replace("\u00a0", " ").strip().lstrip("►▼").strip()
    match = _HEADING.match(text)
    if not match:
        return text, None
    count = match.group("count")
    return match.group("label"), int(count) if count is not None else None


def tree_shown(texts: list[str], expected: list[str]) -> bool:
    """Every expected heading is drawn with its count, and processing is no longer loading."""
    seen = dict(parse_heading(t) for t in texts)
    if LOADING_PROCESSING in seen:
        return False
    return bool(expected) and all(seen.get(name) is not None for name in expected)


def expected_headings(path: Path) -> list[str]:
    """The headings Neurosift v1 lists for ``path``, by the rules of its
    ``DefaultNwbFileView.tsx``: acquisition, each processing module, units when it holds
    something, every other root group but general/specifications (stimulus only when one of
    its subgroups is not empty); sorted by name."""
    import h5py

    def non_empty_subgroup(group: h5py.Group) -> bool:
        return any(isinstance(g, h5py.Group) and len(g) > 0 for g in group.values())

    with h5py.File(path, "r") as f:
        names = {"acquisition"}
        if isinstance(f.get("processing"), h5py.Group):
            names.update(f"processing/{k}" for k, v in f["processing"].items()
                         if isinstance(v, h5py.Group))
        units = f.get("units")
        if isinstance(units, h5py.Group) and (
                any(isinstance(v, h5py.Dataset) for v in units.values())
                or non_empty_subgroup(units)):
            names.add("units")
        for key, value in f.items():
            if not isinstance(value, h5py.Group):
                continue
            if key in ("processing", "specifications", "general", "units"):
                continue
            if key == "stimulus" and not non_empty_subgroup(value):
                continue
            names.add(key)
    return sorted(names)


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None


@contextmanager
def cpu_load(n: int) -> Iterator[list[int]]:
    """``n`` processes that spin on a CPU each while the block runs (a fixed background load);
    yields their pids. Child processes, not threads, so the measured process's interpreter
    lock is never involved; each is ended by its own pid on the way out."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
             for _ in range(max(0, n))]
    try:
        yield [p.pid for p in procs]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _settle(page, data: ServerProcess, meter: BrowserCpu, t0: float,
            deadline: float) -> dict[str, Any]:
    """Wait until Neurosift's status bar shows no pending request and its counters stay put
    for ``SETTLE_QUIET_S``; the figures are those of the last change."""
    last_stats: list | None = None
    changed = time.perf_counter()
    cpu = meter.seconds()
    while time.perf_counter() < deadline:
        seen = page.evaluate(_READ)
        now = time.perf_counter()
        if seen["stats"] != last_stats:
            last_stats, changed, cpu = seen["stats"], now, meter.seconds()
        elif _int(seen["stats"][3]) == 0 and now - changed >= SETTLE_QUIET_S:
            served = data.stats()
            return {"settled_s": changed - t0, "settled_cpu_s": cpu,
                    "settled_requests": served["requests"], "settled_bytes": served["bytes"],
                    "status_counts": last_stats}
        time.sleep(POLL_S)
    return {"settle": "timeout"}


def one_run(pw, url: str, expected: list[str], site: ServerProcess, data: ServerProcess,
            timeout_s: float, settle: bool, screenshot: Path | None) -> dict[str, Any]:
    """A fresh profile, one navigation, measured until the headings are drawn."""
    profile = Path(tempfile.mkdtemp(prefix="neurosift-bench-profile-"))
    try:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=[*ARGS, OFFLINE])
        meter = BrowserCpu(profile).start()
        try:
            page = context.new_page()
            site.reset()
            data.reset()
            t0 = time.perf_counter()
            page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
            row: dict[str, Any] = {"state": "timeout"}
            seen: dict[str, Any] = {}
            while time.perf_counter() - t0 < timeout_s:
                seen = page.evaluate(_READ)
                if tree_shown(seen["headings"], expected):
                    wall, cpu = time.perf_counter() - t0, meter.seconds()
                    served, app = data.stats(), site.stats()
                    row = {"state": "ready", "tree_s": seen["now_ms"] / 1000, "wall_s": wall,
                           "cpu_s": cpu, "requests": served["requests"],
                           "range_requests": served["range_requests"],
                           "bytes": served["bytes"], "full_gets": served["full_gets"],
                           "preflights": served["options"], "app_requests": app["requests"],
                           "app_bytes": app["bytes"]}
                    break
                if seen["error"]:
                    row = {"state": "error", "error": seen["error"][:300]}
                    break
                time.sleep(POLL_S)
            row["headings"] = [" ".join(t.split()) for t in seen.get("headings", [])]
            if row["state"] == "ready" and not row["requests"]:
                row["state"] = "no-data-requests"  # it showed something it did not read here
            if screenshot is not None:
                page.screenshot(path=str(screenshot))
            if row["state"] == "ready" and settle:
                row.update(_settle(page, data, meter, t0, t0 + SETTLE_MAX_S))
        finally:
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return row


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rows if r.get("state") == "ready"]
    out: dict[str, Any] = {"runs": len(rows), "ok": len(ok), "medians": common.medians(ok, KEYS)}
    for key in ("cpu_s", "wall_s"):
        vals = [r[key] for r in ok if isinstance(r.get(key), float)]
        if vals:
            out[f"{key}_range"] = [min(vals), max(vals)]
    bad = [r for r in rows if r.get("state") != "ready"]
    if bad:
        out["failure"] = f"{bad[0]['state']}: {bad[0].get('error', '')}"[:300]
    return out


def not_ready() -> tuple[Path | None, str | None]:
    """The Neurosift site, or None and why it cannot be measured (one line)."""
    from bench.neurosift_site import neurosift_dist

    if not Path(CHROMIUM).exists():
        return None, f"{CHROMIUM} is missing"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return None, "Python playwright is not installed"
    dist, why = neurosift_dist()
    return dist, None if dist is not None else why


def measure(runs: int = 3, delay_ms: float = 0.0, load: int = 0, file: str = "big",
            timeout_s: float = 120.0, settle: bool = True,
            screenshot: str | None = "/tmp/neurosift-{load}-{run}.png") -> dict[str, Any]:
    """``runs`` fresh-browser starts of Neurosift on ``file``: per-run rows and medians, or
    ``{"measured": False, "reason": ...}`` when Neurosift or the browser is not here."""
    dist, reason = not_ready()
    if dist is None:
        return {"measured": False, "reason": reason}
    from playwright.sync_api import sync_playwright

    info = make(RECIPES[file])
    path = Path(info["path"])
    expected = expected_headings(path)
    rows = []
    load_before = os.getloadavg()
    with ServerProcess(dist) as site, ServerProcess(path.parent, delay_ms) as data, \
            sync_playwright() as pw:
        url = site.url(f"?p=/nwb&url={data.url(path.name)}")
        for run in range(runs):
            shot = Path(screenshot.format(load=load, run=run)) if screenshot else None
            with cpu_load(load):
                row = one_run(pw, url, expected, site, data, timeout_s, settle, shot)
            row["run"] = run
            rows.append(row)
            if row["state"] != "ready":
                break  # a page that fails fails the same way again
    return {"measured": True, "file": file, "bytes": info["bytes"], "delay_ms": delay_ms,
            "load": load, "url": url, "expected_headings": expected,
            "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
            **summarize(rows), "rows": rows}


def _line(case: dict[str, Any]) -> str:
    if not case.get("measured"):
        return f"Neurosift not measured: {case.get('reason')}"
    if not case["ok"]:
        return f"Neurosift FAILED: {case.get('failure')}"
    m = case["medians"]
    nan = float("nan")
    return (f"Neurosift v1, {case['file']} file, load {case['load']}, delay "
            f"{case['delay_ms']:g} ms, {case['ok']}/{case['runs']} runs: tree on screen "
            f"{m.get('wall_s', nan):.2f} s wall (in page {m.get('tree_s', nan):.2f}), "
            f"CPU {m.get('cpu_s', nan):.2f} s, {m.get('requests', nan):.0f} req "
            f"{m.get('bytes', nan) / 1e6:.2f} MB; settled {m.get('settled_s', nan):.2f} s, "
            f"CPU {m.get('settled_cpu_s', nan):.2f} s, {m.get('settled_requests', nan):.0f} req "
            f"{m.get('settled_bytes', nan) / 1e6:.2f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--load", type=int, default=0, help="busy-loop processes beside it")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="added to each data request")
    parser.add_argument("--file", default="big", choices=sorted(RECIPES))
    parser.add_argument("--timeout", type=float, default=120.0, help="s per start")
    parser.add_argument("--no-settle", action="store_true", help="stop at the tree")
    args = parser.parse_args(argv)
    case = measure(args.runs, args.delay_ms, args.load, args.file, args.timeout,
                   settle=not args.no_settle)
    for row in case.get("rows", []):
        print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()
               if k != "headings"})
    print(_line(case), flush=True)
    # One result file; each (file, load, delay) case replaces only its own entry.
    key = f"{args.file}_load{args.load}_delay{args.delay_ms:g}"
    kept = (common.read_result("neurosift") or {}).get("cases", {})
    build = common.DATA / "neurosift" / "build.json"
    common.write_result("neurosift", {
        "cases": {**kept, key: case}, "machine": common.machine(),
        "build": json.loads(build.read_text()) if build.is_file() else None})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
