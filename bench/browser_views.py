"""Views in headless Debian Chromium: first ElectricalSeries view, pans, zoomed-out, raster.

Same servers as ``browser_cold_start.py`` (``range_server.py`` child processes: the site, and
``bench/data`` with ``--delays`` ms added to every data request). Each case starts a fresh
Chromium (cold cache), opens the file and waits until the tree is shown and Bokeh is loaded
(``#views-state[data-state=ready]``), then measures in the page (``performance.now()``):

- **first view**: click on the ElectricalSeries row → its first complete frame painted (all 64
  channels; the view opens on 1 s of them), and the bytes the data server sent for it;
- **pan**: the shared x range moved by one window (as a drag ends) → the new window's complete
  frame painted, and bytes per pan (median of ``--pans``);
- **zoomed out**: the window set to the whole 10 minutes → first paint (the coarse frame) and
  complete (exact min/max of every sample), against ``bytes read / bandwidth``, the
  bandwidth measured by the page itself in the same run (one ranged fetch of 256 MiB);
- **raster**: the 500-unit × 1 h file opened at ``t=0,3600``, click on /units → raster drawn.

A frame counts as painted after two animation frames following its arrival. Figures are
medians of ``--runs`` runs (each a fresh browser).

    python3 bench/browser_views.py [--delays 0 30] [--runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import common  # noqa: E402
from bench.make_units_nwb import make as make_units  # noqa: E402
from bench.make_view_files import DENSE64, make  # noqa: E402
from bench.range_server import ServerProcess  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SITE = common.ROOT / "dist" / "site"
SERIES = "/acquisition/ElectricalSeries"
BANDWIDTH_BYTES = 256 * 1024 * 1024

_LOGGER = """() => {
  window.__frames = [];
  document.addEventListener('nwbscope-frame', (e) => {
    const d = e.detail, arrived = performance.now();
    requestAnimationFrame(() => requestAnimationFrame(() => window.__frames.push(
      {panel: d.panel, seq: d.seq, complete: d.complete, arrived, painted: performance.now()})));
  });
}"""
_WAIT_COMPLETE = """([panel, after]) => window.__frames.some(
  (f) => f.panel === panel && f.complete && f.arrived > after)"""
_FRAMES_AFTER = """([panel, after]) => window.__frames.filter(
  (f) => f.panel === panel && f.arrived > after)"""
_MOVE = """([panel, start, end]) => {
  const t = performance.now();
  window.nwbscopeViews.model(panel, 'x_range').setv({start, end});
  return t;
}"""
_CLICK_ROW = """(path) => {
  const row = document.querySelector('#tree li[data-path="' + CSS.escape(path) + '"] > .row');
  const t = performance.now();
  row.querySelector('.name').click();
  return t;
}"""
_EXPAND = """(path) => document.querySelector(
  '#tree li[data-path="' + CSS.escape(path) + '"] > .row > .toggle').click()"""
_LOADED = """(path) => { const li = document.querySelector('#tree li[data-path="'
  + CSS.escape(path) + '"]'); return !!(li && li.getAttribute('data-loaded')
  && li.querySelector(':scope > ul.children').childElementCount); }"""
_BANDWIDTH = """async ([url, n]) => {
  const t = performance.now();
  const r = await fetch(url, {headers: {Range: 'bytes=0-' + (n - 1)}, cache: 'no-store'});
  const b = await r.arrayBuffer();
  return {bytes: b.byteLength, seconds: (performance.now() - t) / 1000};
}"""
_WORKER_SECONDS = """(panel) => { const d = document.querySelector('#panel-' + panel).dataset;
  return [parseFloat(d.workerSeconds), parseFloat(d.postSeconds)]; }"""
_READY = ("document.body.dataset.state === 'ready' && "
          "document.querySelector('#views-state').dataset.state === 'ready'")


def open_file(page, url: str, timeout_ms: float) -> float:
    page.goto(url, wait_until="commit")
    page.wait_for_function(_READY, timeout=timeout_ms, polling=100)
    page.evaluate(_LOGGER)
    marks = page.evaluate("""() => Object.fromEntries(performance.getEntriesByType('mark')
      .map((m) => [m.name, m.startTime]))""")
    return marks.get("nwbscope:tree-shown", float("nan")) / 1000


def timed_frames(page, panel: str, t0: float, timeout_ms: float) -> dict[str, float]:
    page.wait_for_function(_WAIT_COMPLETE, arg=[panel, t0], timeout=timeout_ms, polling=20)
    frames = page.evaluate(_FRAMES_AFTER, [panel, t0])
    complete = next(f for f in frames if f["complete"])
    return {"first_paint_s": (frames[0]["painted"] - t0) / 1000,
            "complete_s": (complete["painted"] - t0) / 1000, "frames": len(frames)}


def series_case(pw, site: ServerProcess, data: ServerProcess, info: dict, pans: int,
                timeout_ms: float) -> dict[str, Any]:
    """One fresh browser on the 64-channel file: first view, pans, zoomed out."""
    with fresh_page(pw) as page:
        file_url = data.url(Path(info["path"]).name)
        row: dict[str, Any] = {"tree_s": open_file(page, site.url(f"index.html?url={file_url}"),
                                                   timeout_ms)}
        page.evaluate(_EXPAND, "/acquisition")
        page.wait_for_function(_LOADED, arg="/acquisition", timeout=timeout_ms)
        data.reset()
        t0 = page.evaluate(_CLICK_ROW, SERIES)
        first = timed_frames(page, "p1", t0, timeout_ms)
        row.update({"view_" + k: v for k, v in first.items()})
        row["view_bytes"], row["view_requests"] = _served(data)
        row["view_open_worker_s"] = page.evaluate(
            "parseFloat(document.querySelector('#panel-p1').dataset.openSeconds)")
        row["channels"] = page.evaluate("window.nwbscopeViews.model('p1','traces').data.ys"
                                        ".length")
        x = page.evaluate("(() => { const r = window.nwbscopeViews.model('p1','x_range');"
                          " return [r.start, r.end]; })()")
        width = x[1] - x[0]
        times, sizes, worker = [], [], []
        for i in range(1, pans + 1):
            data.reset()
            t0 = page.evaluate(_MOVE, ["p1", x[0] + i * width, x[1] + i * width])
            times.append(timed_frames(page, "p1", t0, timeout_ms)["complete_s"])
            sizes.append(_served(data)[0])
            page.wait_for_timeout(300)  # the worker's answer follows its last frame
            worker.append(page.evaluate(_WORKER_SECONDS, "p1"))
        row["pan_s"], row["pan_bytes"] = statistics.median(times), statistics.median(sizes)
        row["pan_worker_s"] = statistics.median(w[0] for w in worker)
        row["pan_post_s"] = statistics.median(w[1] for w in worker)
        bandwidth = page.evaluate(_BANDWIDTH, [file_url, BANDWIDTH_BYTES])
        row["bandwidth_MBps"] = bandwidth["bytes"] / bandwidth["seconds"] / 1e6
        data.reset()
        t0 = page.evaluate(_MOVE, ["p1", 0.0, float(info["recipe"]["seconds"])])
        zoomed = timed_frames(page, "p1", t0, timeout_ms * 5)
        row.update({"zoomed_" + k: v for k, v in zoomed.items()})
        row["zoomed_bytes"], row["zoomed_requests"] = _served(data)
        ideal = row["zoomed_bytes"] / (row["bandwidth_MBps"] * 1e6)
        row["zoomed_ideal_s"] = ideal
        row["zoomed_ratio"] = row["zoomed_complete_s"] / ideal if ideal else None
        return row


def raster_case(pw, site: ServerProcess, data: ServerProcess, info: dict,
                timeout_ms: float) -> dict[str, Any]:
    with fresh_page(pw) as page:
        file_url = data.url(Path(info["path"]).name)
        url = site.url(f"index.html?url={file_url}&t=0,{info['seconds']:g}")
        row: dict[str, Any] = {"tree_s": open_file(page, url, timeout_ms)}
        data.reset()
        t0 = page.evaluate(_CLICK_ROW, "/units")
        row.update({"raster_" + k: v for k, v in timed_frames(page, "p1", t0,
                                                               timeout_ms).items()})
        row["raster_bytes"], _ = _served(data)
        row["raster_status"] = page.evaluate("window.nwbscopeViews.model('p1','status').text")
        return row


@contextlib.contextmanager
def fresh_page(pw) -> Iterator[Any]:
    """A page in a Chromium with a new profile: nothing cached from an earlier run."""
    profile = tempfile.mkdtemp(prefix="nwbscope-views-")
    browser = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM,
                                                    args=ARGS, headless=True,
                                                    viewport={"width": 1400, "height": 900})
    try:
        yield browser.new_page()
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)


def _guarded(case, *args: Any) -> dict[str, Any]:
    """One run; a failure is recorded with its message (the other measures still run)."""
    try:
        return case(*args)
    except Exception as exc:  # noqa: BLE001 - reported in the results
        return {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}


def _served(data: ServerProcess) -> tuple[int, int]:
    stats = data.stats()
    return int(stats["bytes"]), int(stats["requests"])


def _median_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = {k for r in rows for k, v in r.items() if isinstance(v, int | float)}
    return {k: statistics.median([r[k] for r in rows if isinstance(r.get(k), int | float)])
            for k in sorted(keys)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delays", type=float, nargs="+", default=[0.0, 30.0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pans", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=180.0, help="s per step")
    parser.add_argument("--site", type=Path, default=SITE)
    parser.add_argument("--seconds", type=float, default=None,
                        help="shorter files (smoke test): series and raster length in s")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file() or not Path(CHROMIUM).is_file():
        print("views benchmark skipped: no built site or no Chromium")
        common.write_result("views", {"skipped": "no built site or no Chromium"})
        return 0
    from playwright.sync_api import sync_playwright

    recipe = DENSE64 if args.seconds is None else DENSE64.scaled(args.seconds, "dense64_small")
    series = make(recipe)
    units = make_units() if args.seconds is None else make_units(50, args.seconds)
    cases = []
    with ServerProcess(args.site) as site, ServerProcess(common.DATA) as data, \
            sync_playwright() as pw:
        for delay in args.delays:
            data.set_delay(delay)
            timeout_ms = args.timeout * 1000
            rows = [_guarded(series_case, pw, site, data, series, args.pans, timeout_ms)
                    for _ in range(args.runs)]
            print("series runs:", rows, flush=True)
            rasters = [_guarded(raster_case, pw, site, data, units, timeout_ms)
                       for _ in range(args.runs)]
            case = {"delay_ms": delay, "series": _median_rows(rows), "raster":
                    _median_rows(rasters), "runs": rows + rasters}
            cases.append(case)
            print(_line(case), flush=True)
    common.write_result("views", {"files": {"series": series, "units": units},
                                  "cases": cases})
    return 0


def _line(case: dict[str, Any]) -> str:
    s, r = case["series"], case["raster"]
    nan = float("nan")
    s = {k: s.get(k, nan) for k in ("view_complete_s", "view_bytes", "channels", "pan_s",
                                    "pan_bytes", "zoomed_first_paint_s", "zoomed_complete_s",
                                    "zoomed_ratio", "zoomed_bytes", "bandwidth_MBps", "tree_s")}
    r = {"raster_complete_s": r.get("raster_complete_s", nan)}
    return (f"{case['delay_ms']:>3g} ms: first view {s['view_complete_s']:.2f} s "
            f"({s['view_bytes'] / 1e6:.1f} MB, {s['channels']:.0f} ch); pan "
            f"{s['pan_s'] * 1000:.0f} ms ({s['pan_bytes'] / 1e6:.1f} MB); zoomed out first "
            f"{s['zoomed_first_paint_s']:.2f} s, complete {s['zoomed_complete_s']:.1f} s = "
            f"{s['zoomed_ratio']:.2f} x bytes/bandwidth ({s['zoomed_bytes'] / 1e9:.2f} GB at "
            f"{s['bandwidth_MBps']:.0f} MB/s); raster {r['raster_complete_s']:.2f} s; tree "
            f"{s['tree_s']:.2f} s")


if __name__ == "__main__":
    raise SystemExit(main())
