"""Start-up of the viewer in headless Debian Chromium, to the visible tree of an NWB file:
wall time and CPU seconds per step, cold and warm, quiet and under a fixed CPU load, beside
Neurosift v1 measured in the same run (issue #14).

Two loopback servers, both ``range_server.py`` in child processes so they count what they send:
the site (``dist/site``, never delayed: that is the app's own download) and the data
(``bench/data``, with ``--delays`` ms added to every request). Each run launches Chromium with a
fresh user-data-dir (cold HTTP cache) and starts a ``BrowserCpu`` meter on its process tree at
once; then it opens ``index.html?url=<data>/<file>.nwb`` (a cold visit) and polls the page every
``POLL_S``: whenever a new ``nwbscope:`` performance mark appears it reads the meter, so every
mark gets its wall time (since navigation, as the harness sees it), its in-page time and the CPU
seconds of the whole browser since navigation. The steps between the marks:

- page: navigation → ``worker-created`` (the page's own MicroPython start);
- Python: → ``python-ready``, Pyodide booted (``document.body.dataset.boot == "booted"``, a
  snapshot is kept) or restored from the snapshot of an earlier visit (``"restored"``);
- packages: → ``packages-ready`` (``window.nwbscopeStartup`` splits it: manifest, load, import);
- file open: → ``file-open``; tree: → ``tree-shown``.

The counters of both servers are read when ``tree-shown`` is first seen (the page goes on to
load the views' packages after it). After the cold visit every group of the tree is opened
through the page's own toggles (the browser's walk of all metadata), and the bench waits until
the kept tree entry (Cache API ``nwbscope-tree-v1``) holds the details of ``/acquisition``
(read ahead after the first tree). Then the same URL is opened again in the same browser (a
warm visit): as soon as ``kept-tree-shown`` appears the bench clicks that row of the kept tree,
and times ``nwbscope:kept-details-shown`` against the click event's own time stamp.

``--load N...`` repeats everything while ``cpu_load(N)`` busy processes run beside the browser
(0 = quiet). With ``--neurosift`` (default) ``neurosift_start.measure`` starts Neurosift v1 on
the same file, delay and load right after ours, so the report can give the ratio ours/Neurosift
(it says "not measured: <reason>" when Neurosift is not built). Figures are medians of
``--runs`` runs. Never ``playwright install``: Debian's chromium is used.

    python3 bench/browser_cold_start.py [--files small big] [--delays 0 30] [--runs 3]
                                        [--load 0 2] [--no-neurosift]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import common  # noqa: E402
from bench.browser_cpu import BrowserCpu  # noqa: E402
from bench.make_big_nwb import RECIPES, make  # noqa: E402
from bench.range_server import ServerProcess  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
MARKS = ["python-ready", "packages-ready", "file-open", "tree-shown"]
SITE = common.ROOT / "dist" / "site"
POLL_S = 0.05
KEPT_ROW = '#tree li[data-path="/acquisition"] > .row'
KEPT_PATH = "/acquisition"
DETAILS_WAIT_S = 5.0  # after the click, for kept-details-shown
KEPT_WAIT_S = 20.0  # after the cold visit's walk, for the kept details of /acquisition
# (key, first mark or None = navigation, last mark): the steps between the page's marks
STEPS = [("page", None, "worker-created"), ("python", "worker-created", "python-ready"),
         ("packages", "python-ready", "packages-ready"), ("open", "packages-ready", "file-open"),
         ("tree_step", "file-open", "tree-shown")]
WALL_KEYS = {"page": "page_s", "python": "pyodide_s", "packages": "packages_s",
             "open": "open_s", "tree_step": "tree_step_s"}  # the wall keys' older names

_POLL = """() => {
  const marks = {};
  for (const m of performance.getEntriesByType('mark')) {
    if (m.name.startsWith('nwbscope:')) marks[m.name.slice(9)] = m.startTime;
  }
  const b = document.body;
  return {marks, state: b ? (b.dataset.state || null) : null};
}"""
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
    boot: document.body ? (document.body.dataset.boot || null) : null,
    marks,
    click_ms: window.__nwbBenchClick ?? null,
    io: {requests: d.requests ?? null, bytes: d.bytes ?? null, hits: d.hits ?? null},
    startup: window.nwbscopeStartup || null,
    boot_info: window.nwbscopeBoot || null,
    error_text: text('#error'),
    status_text: text('#status'),
  };
}"""
# The click's own time stamp (the input event's time, on the page's performance.now() clock).
_ARM_CLICK = """() => document.addEventListener('click', (e) => {
  window.__nwbBenchClick = e.timeStamp; }, {capture: true, once: true})"""
_KEPT_DETAILS = """async ([url, path]) => {
  try {
    const found = await (await caches.open('nwbscope-tree-v1')).match(url);
    if (!found) return false;
    const entry = await found.json();
    return !!(entry.browse && entry.browse.details && entry.browse.details[path]);
  } catch (e) { return false; }
}"""


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _poll(page, script: str = _POLL) -> dict | None:
    """The page's marks and state; None while a navigation swaps the document."""
    try:
        return page.evaluate(script)
    except Exception:  # noqa: BLE001 - "execution context was destroyed" and the like
        return None


def _click_kept(page) -> dict[str, Any]:
    """Click the kept tree's ``/acquisition`` row the way a user would (Playwright's mouse)."""
    t = time.perf_counter()
    try:
        page.evaluate(_ARM_CLICK)
        page.click(KEPT_ROW, timeout=DETAILS_WAIT_S * 1000)
    except Exception as exc:  # noqa: BLE001 - reported in the row
        return {"at": t, "error": f"click failed: {exc}"[:200]}
    return {"at": t}


def step_figures(marks: dict[str, float], seen: dict[str, tuple[float, float | None]],
                 cpu_total: float | None) -> dict[str, float]:
    """Wall (in-page marks, s) and CPU (meter read when the mark was first seen) per step, and
    each step's share of the CPU to the tree; a step whose marks are missing is left out."""
    out: dict[str, float] = {}
    for key, first, last in STEPS:
        if key == "python" and first not in marks:  # no worker-created: from navigation
            first = None
        if last not in marks or (first is not None and first not in marks):
            continue
        out[WALL_KEYS[key]] = (marks[last] - (marks[first] if first else 0.0)) / 1000
        cpu_last = seen.get(last, (0.0, None))[1]
        cpu_first = seen.get(first, (0.0, 0.0))[1] if first else 0.0
        if cpu_last is not None and cpu_first is not None:
            out[f"cpu_{key}_s"] = cpu_last - cpu_first
            if cpu_total:
                out[f"cpu_{key}_share"] = (cpu_last - cpu_first) / cpu_total
    return out


PACKAGE_PARTS = ("manifest", "load", "import", "import_numpy", "import_pyfive",
                 "import_nwbscope")


def _json_dict(raw: Any) -> dict:
    try:
        parsed = json.loads(raw or "{}") if isinstance(raw, str | bytes | None) else raw
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def packages_split(startup: Any) -> dict[str, float]:
    """The worker's own split of the packages step (``window.nwbscopeStartup``: JSON with
    manifest, load, import and each import, in s); what is missing or malformed is left out."""
    parsed = _json_dict(startup)
    return {f"packages_{part}_s": float(parsed[part]) for part in PACKAGE_PARTS
            if _is_num(parsed.get(part))}


def boot_split(boot: Any) -> dict[str, float]:
    """``boot.mjs``'s own times of the Python step (``window.nwbscopeBoot``, its boot message:
    ``ms`` in all and ``wasm_ms`` compiling and instantiating the interpreter's wasm), in s."""
    parsed = _json_dict(boot)
    out = {}
    if _is_num(parsed.get("ms")):
        out["boot_s"] = parsed["ms"] / 1000
    if _is_num(parsed.get("wasm_ms")):
        out["wasm_s"] = parsed["wasm_ms"] / 1000
    return out


def visit(page, url: str, site: ServerProcess, data: ServerProcess, timeout_s: float,
          meter: BrowserCpu | None = None, click: bool = False) -> dict:
    """Open ``url`` in ``page`` and measure one start (the servers' counters reset first).

    ``click``: on a warm visit, click the kept tree's row as soon as it is drawn and wait for
    its kept details too."""
    site.reset()
    data.reset()
    cpu0 = meter.seconds() if meter else None
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
    seen: dict[str, tuple[float, float | None]] = {}  # mark -> (wall s, CPU s) first seen
    served = app = app_at_tree = None
    clicked: dict[str, Any] | None = None
    state = None
    while True:
        poll = _poll(page)
        now = time.perf_counter()
        if poll:
            marks, state = poll["marks"], poll["state"]
            new = [m for m in marks if m not in seen]
            if "packages-ready" in new:  # the app is loaded; the views' packages load later
                app = site.stats()
            if "tree-shown" in new:
                served, app_at_tree = data.stats(), site.stats()
            if new:
                cpu = meter.seconds() if meter else None
                for m in new:
                    seen[m] = (now - t0, cpu - cpu0 if cpu is not None and cpu0 is not None
                               else None)
            if click and clicked is None and "kept-tree-shown" in marks:
                clicked = _click_kept(page)
            waiting = (clicked is not None and "error" not in clicked
                       and "kept-details-shown" not in marks
                       and time.perf_counter() - clicked["at"] < DETAILS_WAIT_S)
            if state in ("ready", "error") and not waiting:
                break
        if now - t0 > timeout_s:
            state = "timeout"
            break
        time.sleep(POLL_S)
    final = _poll(page, _READ_PAGE) or {"marks": {}, "io": {}, "state": state}
    marks = final["marks"]
    if served is None:  # no tree: what was served until the end
        served, app_at_tree = data.stats(), site.stats()
    app = app or app_at_tree  # no packages-ready mark: the app as served until the tree
    tree_wall, cpu_tree = seen.get("tree-shown", (None, None))
    row: dict[str, Any] = {
        "state": "timeout" if state == "timeout" else final["state"],
        "boot": final.get("boot"), "marks_ms": marks,
        "seen": {m: [round(w, 4), None if c is None else round(c, 3)] for m, (w, c) in
                 seen.items()},
        "wall_s": tree_wall, "cpu_s": cpu_tree,
        "cpu_launch_s": None if cpu_tree is None or cpu0 is None else cpu_tree + cpu0,
        "tree_s": marks["tree-shown"] / 1000 if "tree-shown" in marks else None,
        # a warm visit draws the tree kept from the last visit before Python is up
        "kept_tree_s": marks["kept-tree-shown"] / 1000 if "kept-tree-shown" in marks else None,
        "cpu_kept_tree_s": seen.get("kept-tree-shown", (None, None))[1],
        "requests": served["requests"], "range_requests": served["range_requests"],
        "bytes": served["bytes"], "full_gets": served["full_gets"],
        "preflights": served["options"],
        "page_requests": _num(final["io"].get("requests")),
        "page_bytes": _num(final["io"].get("bytes")), "page_hits": _num(final["io"].get("hits")),
        "app_requests": app["requests"], "app_bytes": app["bytes"],
        "app_bytes_at_tree": app_at_tree["bytes"],
    }
    if meter is None or meter.root is None:
        row["cpu_error"] = "the browser process was not found in /proc"
    row.update(step_figures(marks, seen, cpu_tree))
    row.update(packages_split(final.get("startup")))
    row.update(boot_split(final.get("boot_info")))
    if click:
        row.update(details_after_click(marks, final.get("click_ms"), clicked))
    if row["state"] != "ready":
        row["error"] = final.get("error_text") or f"status line: {final.get('status_text')!r}"
    return row


def details_after_click(marks: dict[str, float], click_ms: float | None,
                        clicked: dict[str, Any] | None) -> dict[str, Any]:
    """Seconds from the click on the kept row to ``kept-details-shown`` (both in-page times),
    or why there is none."""
    if clicked is None:
        return {"details_error": "no kept tree was drawn, so there was nothing to click"}
    if clicked.get("error"):
        return {"details_error": clicked["error"]}
    if click_ms is None:
        return {"details_error": "the click event never reached the page"}
    out: dict[str, Any] = {"click_s": click_ms / 1000}
    if "packages-ready" in marks and marks["packages-ready"] <= click_ms:
        out["clicked_after_python"] = True  # Python answered it: not the kept details
    if "kept-details-shown" not in marks:
        out["details_error"] = (f"no kept-details-shown within {DETAILS_WAIT_S:g} s of the "
                                "click")
        return out
    out["details_after_click_s"] = max(0.0, (marks["kept-details-shown"] - click_ms) / 1000)
    return out


def wait_kept_details(page, file_url: str, timeout_s: float = KEPT_WAIT_S) -> float | None:
    """Seconds until the kept entry of ``file_url`` holds the details of ``KEPT_PATH`` (what
    the warm visit's click shows), None if it did not within ``timeout_s``."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        try:
            if page.evaluate(_KEPT_DETAILS, [file_url, KEPT_PATH]):
                return time.perf_counter() - t0
        except Exception:  # noqa: BLE001 - the page is busy or gone: try again, then give up
            pass
        time.sleep(0.25)
    return None


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


def one_run(pw, url: str, file_url: str, site: ServerProcess, data: ServerProcess,
            timeout_s: float, console: list[str]) -> tuple[dict, dict]:
    """A fresh browser profile: a cold start, the walk, then a warm one in the same browser
    (which clicks the kept tree). The CPU meter starts as soon as the browser is up."""
    profile = Path(tempfile.mkdtemp(prefix="nwbscope-bench-profile-"))
    try:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=ARGS)
        meter = BrowserCpu(profile).start()
        try:
            page = context.new_page()
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"[:300])
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"[:300]))
            cold = visit(page, url, site, data, timeout_s, meter)
            warm: dict = {}
            if cold["state"] == "ready":
                cold.update(walk_in_page(page, data, timeout_s))
                cold["kept_details_wait_s"] = wait_kept_details(page, file_url)
                warm = visit(page, url, site, data, timeout_s, meter, click=True)
        finally:
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return cold, warm


STEP_KEYS = [f"cpu_{key}_{what}" for key, _, _ in STEPS for what in ("s", "share")]
KEYS = ["tree_s", "kept_tree_s", "wall_s", "cpu_s", "cpu_launch_s", "cpu_kept_tree_s",
        "page_s", "pyodide_s", "packages_s", "open_s", "tree_step_s", *STEP_KEYS,
        "requests", "range_requests", "bytes", "full_gets", "preflights", "page_requests",
        "page_bytes", "page_hits", "app_requests", "app_bytes", "walk_s", "walk_requests",
        "walk_bytes", "walk_groups", "walk_rows", *(f"packages_{p}_s" for p in PACKAGE_PARTS),
        "boot_s", "wasm_s", "details_after_click_s", "kept_details_wait_s", "click_s",
        "app_bytes_at_tree"]


def summarize(rows: list[dict]) -> dict:
    """Medians over the runs that reached the tree, the spread of CPU and wall, how Python
    came up (``boot``: "restored" or "booted", with counts when the runs differ), and the
    first failure of each kind."""
    ok = [r for r in rows if r.get("state") == "ready"]
    out: dict[str, Any] = {"runs": len(rows), "ok": len(ok)}
    out.update(common.medians(ok, KEYS))
    for key in ("tree_s", "cpu_s", "wall_s"):
        vals = [r[key] for r in ok if isinstance(r.get(key), int | float)]
        if vals:
            out[f"{key}_range"] = [min(vals), max(vals)]
    boots = Counter(str(r.get("boot") or "unknown") for r in ok)
    if boots:
        out["boot"] = (next(iter(boots)) if len(boots) == 1
                       else ", ".join(f"{k} {n}" for k, n in boots.most_common()))
    for key in ("walk_error", "details_error", "cpu_error"):
        errors = [r[key] for r in ok if r.get(key)]
        if errors:
            out[key] = f"{errors[0]} ({len(errors)} of {len(ok)} runs)"
    late = sum(1 for r in ok if r.get("clicked_after_python"))
    if late:
        out["clicked_after_python"] = late
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


def site_stamp(site: Path) -> dict[str, Any]:
    """The measured build: its ``built_at`` (a rebuild while the bench runs changes it, and
    with it the snapshot key, so a warm visit would boot instead of restoring) and whether
    its manifest has a ``precompiled`` record (.pyc files in the build)."""
    try:
        manifest = json.loads((site / "manifest.json").read_text())
    except (OSError, ValueError):
        return {"built_at": None, "precompiled": None}
    pre = manifest.get("precompiled")
    files = pre.get("files") if isinstance(pre, dict) else None
    files = files if isinstance(files, dict) else {}
    return {"built_at": manifest.get("built_at"), "precompiled": bool(pre),
            "precompiled_files": len(files),
            "precompiled_modules": sum(f.get("modules", 0) for f in files.values()
                                       if isinstance(f, dict)
                                       and isinstance(f.get("modules"), int))}


def run_ours(args: argparse.Namespace, info: dict, delay: float, load: int,
             console: list[str]) -> tuple[dict, dict]:
    """One cold + warm run of our site with ``load`` busy processes beside the browser (its
    own servers and Playwright, so that Neurosift's run can start its own in between)."""
    from playwright.sync_api import sync_playwright

    from bench.neurosift_start import cpu_load

    with ServerProcess(args.site) as site, ServerProcess(common.DATA, delay) as data, \
            sync_playwright() as pw:
        file_url = data.url(Path(info["path"]).name)
        url = site.url(f"index.html?url={file_url}")
        with cpu_load(load):
            return one_run(pw, url, file_url, site, data, args.timeout, console)


def run_neurosift(args: argparse.Namespace, name: str, delay: float, load: int) -> dict:
    """One run of Neurosift v1 on the same file, delay and load (or why it was not measured)."""
    from bench import neurosift_start

    try:
        return neurosift_start.measure(1, delay, load, name, args.timeout, settle=True,
                                       screenshot=None)
    except Exception as exc:  # noqa: BLE001 - the report says so; our figures stand
        return {"measured": False, "reason": f"failed: {type(exc).__name__}: {exc}"[:300]}


def merge_neurosift(runs: list[dict]) -> dict:
    """Neurosift's one-run results at one load as one result: every row, medians again."""
    from bench.neurosift_start import summarize as summarize_neurosift

    if not runs:
        return {"measured": False, "reason": "not run"}
    if not all(r.get("measured") for r in runs):
        return next(r for r in runs if not r.get("measured"))
    rows = [{**row, "run": i} for i, r in enumerate(runs) for row in r.get("rows", [])]
    keep = {k: v for k, v in runs[0].items() if k not in ("rows", "medians", "runs", "ok",
                                                         "failure", "loadavg_after")}
    return {**keep, "loadavg_after": runs[-1].get("loadavg_after"),
            **summarize_neurosift(rows), "rows": rows}


def measure_case(args: argparse.Namespace, name: str, delay: float, loads: list[int],
                 console: list[str], dead: str | None) -> tuple[dict, str | None]:
    """``args.runs`` rounds; each round runs ours then Neurosift at every load in turn, so a
    drift in the machine's other load touches every column alike."""
    info = make(RECIPES[name])
    rows: dict[int, dict[str, list]] = {n: {"cold": [], "warm": [], "neurosift": [],
                                            "loadavg": [], "stamps": []} for n in loads}
    if dead:
        for n in loads:
            rows[n]["cold"].append({"state": "not attempted", "error": dead})
    failed: set[int] = set()
    for _ in range(0 if dead else args.runs):
        for n in loads:
            got = rows[n]
            got["loadavg"].append(os.getloadavg())
            if n not in failed:
                got["stamps"].append(site_stamp(args.site)["built_at"])
                cold, warm = run_ours(args, info, delay, n, console)
                got["stamps"].append(site_stamp(args.site)["built_at"])
                got["cold"].append(cold)
                if warm:
                    got["warm"].append(warm)
                if cold.get("state") != "ready":
                    failed.add(n)  # a page that fails fails the same way again: save the time
                    if cold.get("state") == "timeout" and not cold.get("requests"):
                        dead = (f"the page did not start in an earlier case ({name}, "
                                f"{delay:g} ms, load {n}): {cold.get('error', '')}"[:300])
            if args.neurosift:
                got["neurosift"].append(run_neurosift(args, name, delay, n))
            got["loadavg"].append(os.getloadavg())
    case: dict[str, Any] = {"file": name, "bytes": info["bytes"], "objects": info["objects"],
                            "delay_ms": delay, "by_load": {}, "neurosift": {}}
    for n, got in rows.items():
        ours = {"load": n, "cold": summarize(got["cold"]), "warm": summarize(got["warm"]),
                "loadavg_before": list(got["loadavg"][0]) if got["loadavg"] else None,
                "loadavg_after": list(got["loadavg"][-1]) if got["loadavg"] else None,
                "loadavg_range": _range([a[0] for a in got["loadavg"]])}
        if len(set(got["stamps"])) > 1:
            ours["site_changed"] = sorted(str(s) for s in set(got["stamps"]))
        case["by_load"][str(n)] = ours
        case["neurosift"][str(n)] = (merge_neurosift(got["neurosift"]) if args.neurosift
                                     else {"measured": False, "reason": "--no-neurosift"})
    quiet = case["by_load"].get("0")  # the quiet figures, where the other parts look
    case["cold"] = quiet["cold"] if quiet else {
        "runs": 0, "ok": 0, "failure": "not run quiet (only under --load)"}
    case["warm"] = quiet["warm"] if quiet else {"runs": 0, "ok": 0}
    return case, dead


def kept_cases(last: dict | None, cases: list[dict]) -> list[dict]:
    """``cases`` after the last result's cases of other (file, delay) pairs, when that result
    has this format (CPU figures per load); the measured ones replace their own pair."""
    if not last or last.get("skipped") or "machine" not in last:
        return cases
    new = {(c["file"], c["delay_ms"]) for c in cases}
    old = [{"measured_utc": last["machine"].get("date_utc"), **c} for c in last.get("cases", [])
           if (c.get("file"), c.get("delay_ms")) not in new and "by_load" in c]
    order = {name: i for i, name in enumerate(RECIPES)}
    return sorted(old + cases, key=lambda c: (order.get(c["file"], 99), c["delay_ms"]))


def _range(values: list[float]) -> list[float] | None:
    return [min(values), max(values)] if values else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="+", default=["small", "big"], choices=sorted(RECIPES))
    parser.add_argument("--delays", type=float, nargs="+", default=[0.0, 30.0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--load", type=int, nargs="+", default=[0, 2],
                        help="busy processes beside the browser; 0 = quiet (default: 0 2)")
    parser.add_argument("--neurosift", action=argparse.BooleanOptionalAction, default=True,
                        help="measure Neurosift v1 beside ours (default: yes)")
    parser.add_argument("--timeout", type=float, default=120.0, help="s per page load")
    parser.add_argument("--site", type=Path, default=SITE, help="the built static site")
    parser.add_argument("--keep", action="store_true",
                        help="keep the last result's cases of other files and delays")
    args = parser.parse_args(argv)

    reason = site_ready(args.site)
    if reason:
        print(f"browser benchmark skipped: {reason}")
        common.write_result("browser", {"skipped": reason})
        return 0
    started = {"machine": common.machine(), "site_stamp": site_stamp(args.site)}
    cases = []
    console: list[str] = []
    dead: str | None = None  # the page never reached a file: later cases would fail alike
    loads = sorted(set(args.load))
    for name in args.files:
        for delay in args.delays:
            case, dead = measure_case(args, name, delay, loads, console, dead)
            case["measured_utc"] = common.machine()["date_utc"]
            cases.append(case)
            for n in loads:
                print(_line(case, n), flush=True)
    if args.keep:
        cases = kept_cases(common.read_result("browser"), cases)
    common.write_result("browser", {"runs": args.runs, "loads": loads, "cases": cases,
                                    **started, "site_stamp_after": site_stamp(args.site),
                                    "loadavg_after": os.getloadavg(),
                                    "console": console[-40:]})
    if console:
        print("browser console (last errors):", *console[-5:], sep="\n  ")
    return 0


def _line(case: dict, load: int) -> str:
    ours = case["by_load"][str(load)]
    cold, warm = ours["cold"], ours["warm"]
    label = f"{case['file']:<5} {case['delay_ms']:>3g} ms load {load}"
    if not cold.get("ok"):
        return f"{label}  FAILED {cold.get('failure', '')}"
    nan = float("nan")
    steps = ", ".join(f"{key} {cold.get(f'cpu_{key}_s', nan):.2f}" for key, _, _ in STEPS)
    ns = case["neurosift"].get(str(load)) or {}
    ns_m = ns.get("medians") or {}
    theirs = (f"Neurosift CPU {ns_m.get('cpu_s', nan):.2f} s wall {ns_m.get('wall_s', nan):.2f} s"
              if ns.get("measured") and ns.get("ok") else
              f"Neurosift not measured: {ns.get('reason') or ns.get('failure')}")
    return (f"{label}  cold CPU {cold.get('cpu_s', nan):.2f} s wall {cold.get('wall_s', nan):.2f}"
            f" s ({steps}; {cold.get('boot')}); {cold.get('requests', nan):.0f} req "
            f"{cold.get('bytes', nan) / 1e6:.2f} MB; warm CPU {warm.get('cpu_s', nan):.2f} s "
            f"wall {warm.get('wall_s', nan):.2f} s ({warm.get('boot')}), kept tree "
            f"{warm.get('kept_tree_s', nan):.2f} s, details after click "
            f"{warm.get('details_after_click_s', nan):.3f} s, {warm.get('requests', nan):.0f} "
            f"req; walk {cold.get('walk_s', nan):.2f} s; {theirs}")


if __name__ == "__main__":
    raise SystemExit(main())
