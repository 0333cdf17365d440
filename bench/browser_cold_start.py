"""Cold start of the viewer in headless Debian Chromium, to the visible tree of an NWB file.

Two loopback servers, both ``range_server.py`` in child processes so they count what they send:
the site (``dist/site``, never delayed: that is the app's own download) and the data
(``bench/data``, with ``--delay`` ms added to every request). Each run launches Chromium with a
fresh user-data-dir (cold HTTP cache), opens ``index.html?url=<data>/<file>.nwb`` and waits
for ``document.body.dataset.state`` to become ``ready`` (or ``error``). Then it reads:

- the page's performance marks ``nwbscope:python-ready``, ``packages-ready``, ``file-open``,
  ``tree-shown`` (ms since navigation start) for the breakdown, and ``worker-created`` where
  the page sets it (it splits the page's own start from Pyodide's);
- the page's own counters (``#io-stats`` data-requests, data-bytes, data-hits);
- both servers' counters (requests, bytes, plain GETs, preflights).

After a cold start every group of the tree is opened through the page's own toggles, one at a
time (the worker lists every object: the browser's walk of all metadata), counted at the data
server. Then the same URL is opened again in the same browser (a warm start) and measured the
same way.
Figures are medians of ``--runs`` runs. Never ``playwright install``: Debian's chromium is used.

    python3 bench/browser_cold_start.py [--files small big] [--delays 0 30] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import common  # noqa: E402
from bench.make_big_nwb import RECIPES, make  # noqa: E402
from bench.range_server import ServerProcess  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
MARKS = ["python-ready", "packages-ready", "file-open", "tree-shown"]
SITE = common.ROOT / "dist" / "site"

_READ_PAGE = """() => {
  const marks = {};
  for (const m of performance.getEntriesByType('mark')) {
    if (m.name.startsWith('nwbscope:')) marks[m.name.slice(9)] = m.startTime;
  }
  const io = document.querySelector('#io-stats');
  const d = io ? io.dataset : {};
  const text = (sel) => {
    const el = document.querySelector(sel);
    return el ? (el.innerText || el.textContent || '').trim().slice(0, 400) : '';
  };
  return {
    state: document.body ? document.body.dataset.state : null,
    marks,
    io: {requests: d.requests ?? null, bytes: d.bytes ?? null, hits: d.hits ?? null},
    startup: window.nwbscopeStartup || null,
    error_text: text('#error'),
    status_text: text('#status'),
  };
}"""
_DONE = "() => document.body && ['ready', 'error'].includes(document.body.dataset.state)"


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def visit(page, url: str, site: ServerProcess, data: ServerProcess, timeout_s: float) -> dict:
    """Open ``url`` in ``page`` and measure one start (the servers' counters reset first)."""
    site.reset()
    data.reset()
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
    try:
        page.wait_for_function(_DONE, timeout=timeout_s * 1000, polling=50)
        timed_out = False
    except Exception:  # noqa: BLE001 - playwright's TimeoutError: reported below
        timed_out = True
    wall = time.perf_counter() - t0
    seen = page.evaluate(_READ_PAGE)
    marks = seen["marks"]
    served, app = data.stats(), site.stats()
    row: dict[str, Any] = {
        "state": "timeout" if timed_out else seen["state"], "wall_s": wall,
        "marks_ms": marks,
        "tree_s": marks["tree-shown"] / 1000 if "tree-shown" in marks else None,
        # a warm visit draws the tree kept from the last visit before Python is up
        "kept_tree_s": marks["kept-tree-shown"] / 1000 if "kept-tree-shown" in marks else None,
        "requests": served["requests"], "range_requests": served["range_requests"],
        "bytes": served["bytes"], "full_gets": served["full_gets"],
        "preflights": served["options"],
        "page_requests": _num(seen["io"]["requests"]), "page_bytes": _num(seen["io"]["bytes"]),
        "page_hits": _num(seen["io"]["hits"]),
        "app_requests": app["requests"], "app_bytes": app["bytes"],
    }
    # "worker-created" (optional) splits the page's own start from Pyodide's
    started = "worker-created" if "worker-created" in marks else None
    steps = [("page_s", None, started), ("pyodide_s", started, "python-ready"),
             ("packages_s", "python-ready", "packages-ready"),
             ("open_s", "packages-ready", "file-open"), ("tree_step_s", "file-open", "tree-shown")]
    for key, first, last in steps:
        if last is None:
            continue
        if last in marks and (first is None or first in marks):
            row[key] = (marks[last] - (marks[first] if first else 0.0)) / 1000
    try:  # the worker's own split of the packages step (manifest, load, import), in s
        startup = json.loads(seen["startup"] or "{}")
    except (TypeError, ValueError):
        startup = {}
    for part in ("manifest", "load", "import"):
        if isinstance(startup.get(part), int | float):
            row[f"packages_{part}_s"] = float(startup[part])
    if row["state"] != "ready":
        row["error"] = seen["error_text"] or f"status line: {seen['status_text']!r}"
    return row


_NEXT_GROUP = """() => {
  const li = document.querySelector('#tree li.expandable:not([data-loaded])');
  if (!li) return null;
  li.querySelector(':scope > .row > .toggle').click();
  return li.dataset.path;
}"""
_LOADED = """(path) => {
  if (document.body.dataset.state === 'error') return true;
  const li = document.querySelector('#tree li[data-path="' + CSS.escape(path) + '"]');
  const kids = li && li.querySelector(':scope > ul.children');
  return !!(kids && kids.childElementCount > 0);
}"""


def walk_in_page(page, data: ServerProcess, timeout_s: float) -> dict[str, Any]:
    """Open every group of the tree through the page's own UI (the toggle of each row), one
    at a time, so the worker lists every object: the browser's walk of all metadata."""
    data.reset()
    t0 = time.perf_counter()
    clicked: set[str] = set()
    error = None
    while time.perf_counter() - t0 < timeout_s:
        path = page.evaluate(_NEXT_GROUP)
        if path is None:
            break
        if path in clicked:  # its children call failed and the page let it be retried
            error = f"the children of {path} did not load"
            break
        clicked.add(path)
        try:
            page.wait_for_function(_LOADED, arg=path, timeout=30_000, polling=20)
        except Exception:  # noqa: BLE001 - playwright's TimeoutError
            error = f"the children of {path} did not show within 30 s"
            break
    else:
        error = f"the walk did not finish in {timeout_s:.0f} s"
    seconds = time.perf_counter() - t0
    served = data.stats()
    rows = page.evaluate("() => document.querySelectorAll('#tree li[data-path]').length")
    if page.evaluate("() => document.body.dataset.state") == "error":
        error = error or page.evaluate("() => document.querySelector('#error').innerText")
    out = {"walk_s": seconds, "walk_requests": served["requests"], "walk_bytes": served["bytes"],
           "walk_groups": len(clicked), "walk_rows": rows}
    if error:
        out["walk_error"] = str(error)[:300]
    return out


def one_run(pw, url: str, site: ServerProcess, data: ServerProcess, timeout_s: float,
            console: list[str]) -> tuple[dict, dict]:
    """A fresh browser profile: a cold start, then a warm one in the same browser."""
    profile = Path(tempfile.mkdtemp(prefix="nwbscope-bench-profile-"))
    try:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = context.new_page()
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"[:300])
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"[:300]))
            cold = visit(page, url, site, data, timeout_s)
            if cold["state"] == "ready":
                cold.update(walk_in_page(page, data, timeout_s))
            warm = visit(page, url, site, data, timeout_s) if cold["state"] == "ready" else {}
        finally:
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return cold, warm


KEYS = ["tree_s", "kept_tree_s", "wall_s", "page_s", "pyodide_s", "packages_s", "open_s",
        "tree_step_s",
        "requests", "range_requests", "bytes", "full_gets", "preflights", "page_requests",
        "page_bytes", "page_hits", "app_requests", "app_bytes", "walk_s", "walk_requests",
        "walk_bytes", "walk_groups", "walk_rows", "packages_manifest_s", "packages_load_s",
        "packages_import_s"]


def summarize(rows: list[dict]) -> dict:
    ok = [r for r in rows if r.get("state") == "ready"]
    out: dict[str, Any] = {"runs": len(rows), "ok": len(ok)}
    out.update(common.medians(ok, KEYS))
    trees = [r["tree_s"] for r in ok if isinstance(r.get("tree_s"), float)]
    if trees:
        out["tree_s_range"] = [min(trees), max(trees)]
    walk_errors = [r["walk_error"] for r in ok if r.get("walk_error")]
    if walk_errors:
        out["walk_error"] = walk_errors[0]
    failures = [r for r in rows if r.get("state") != "ready"]
    if failures:
        out["failure"] = f"{failures[0]['state']}: {failures[0].get('error', '')}"[:400]
    out["all"] = rows
    return out


def site_ready(site: Path) -> str | None:
    """Why the site cannot be measured yet, or None when it can."""
    if not (site / "index.html").is_file():
        return f"{site}/index.html does not exist (run python3 build/build_site.py)"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python playwright is not installed"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="+", default=["small", "big"], choices=sorted(RECIPES))
    parser.add_argument("--delays", type=float, nargs="+", default=[0.0, 30.0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0, help="s per page load")
    parser.add_argument("--site", type=Path, default=SITE, help="the built static site")
    args = parser.parse_args(argv)

    reason = site_ready(args.site)
    if reason:
        print(f"browser benchmark skipped: {reason}")
        common.write_result("browser", {"skipped": reason})
        return 0
    from playwright.sync_api import sync_playwright

    cases = []
    console: list[str] = []
    dead: str | None = None  # the page never reached a file: later cases would fail alike
    with ServerProcess(args.site) as site, ServerProcess(common.DATA) as data, \
            sync_playwright() as pw:
        for name in args.files:
            info = make(RECIPES[name])
            for delay in args.delays:
                data.set_delay(delay)
                url = site.url(f"index.html?url={data.url(Path(info['path']).name)}")
                colds, warms = [], []
                if dead:
                    colds.append({"state": "not attempted", "error": dead})
                for _ in range(0 if dead else args.runs):
                    cold, warm = one_run(pw, url, site, data, args.timeout, console)
                    colds.append(cold)
                    if warm:
                        warms.append(warm)
                    if cold.get("state") != "ready":
                        if cold.get("state") == "timeout" and not cold.get("requests"):
                            dead = (f"the page did not start in an earlier case ({name}, "
                                    f"{delay:g} ms): {cold.get('error', '')}"[:300])
                        break  # a page that fails fails the same way again: save the time
                case = {"file": name, "bytes": info["bytes"], "objects": info["objects"],
                        "delay_ms": delay, "cold": summarize(colds), "warm": summarize(warms)}
                cases.append(case)
                print(_line(case), flush=True)
    common.write_result("browser", {"runs": args.runs, "cases": cases,
                                    "console": console[-40:]})
    if console:
        print("browser console (last errors):", *console[-5:], sep="\n  ")
    return 0


def _line(case: dict) -> str:
    cold = case["cold"]
    if not cold.get("ok"):
        return f"{case['file']:<5} {case['delay_ms']:>3g} ms  FAILED {cold.get('failure', '')}"
    nan = float("nan")
    parts = ", ".join(f"{k.removesuffix('_s')} {cold.get(k, nan):.2f}"
                      for k in ("page_s", "pyodide_s", "packages_s", "open_s", "tree_step_s"))
    return (f"{case['file']:<5} {case['delay_ms']:>3g} ms  tree {cold.get('tree_s', nan):.2f} s "
            f"({parts}); {cold['requests']:.0f} req {cold['bytes'] / 1e6:.2f} MB; "
            f"warm {case['warm'].get('tree_s', nan):.2f} s; walk {cold.get('walk_s', nan):.2f} s "
            f"{cold.get('walk_requests', nan):.0f} req {cold.get('walk_bytes', nan) / 1e6:.2f} MB "
            f"{cold.get('walk_rows', nan):.0f} rows" + (f" ({cold['walk_error']})"
                                                         if cold.get("walk_error") else ""))


if __name__ == "__main__":
    raise SystemExit(main())
