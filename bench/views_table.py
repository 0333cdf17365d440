"""The table view on a 1-million-row DynamicTable: first page, next pages, a sorted first page.

The file (``bench/data/table_1m.nwb``, written once with pynwb and kept): one DynamicTable of
``--rows`` rows (default 1,000,000) with three numeric columns (float64, float32, int32), a
text column and a ragged int32 column (0-5 values a row), every dataset in chunks of
``CHUNK`` rows, uncompressed: a page reads one chunk of each column, a sorted page one chunk
per row shown, a sort its key column whole (once).

Two measures, both over loopback HTTP from ``range_server.py`` child processes:

- **chromium**: the built site in headless Debian Chromium (``--site``, a build made with
  ``nwbscope build --out``); each run is a fresh browser. Open the file, then the table view
  (``nwbscopeViews.openView``) → its first complete frame painted; page changes (the page
  control's value set, as typing does) → frame painted; sort by ``x`` → first sorted page
  painted (the sort reads ``x`` whole), then a sorted page change; the bytes and requests
  the data server saw for each, and the first page's split (``first_*_s``: the worker's
  open, the reply's arrival, BokehJS's embed, the worker's first frame). Skipped without a
  site or Chromium.
- **cpython**: the same data step in CPython through ``nwbscope.open(url)`` (pyfive engine):
  ``TablePages(...).page(...)`` timed directly, without Bokeh or a browser.

    python3 bench/views_table.py [--quick] [--site /tmp/site_x] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import common  # noqa: E402
from bench.range_server import ServerProcess  # noqa: E402

CHUNK = 4096
TABLE = "/processing/bench/big_table"
PAGES = (2, 3, 500, 20_000)  # page numbers visited after the first (page size 25)
CHROMIUM = "/usr/bin/chromium"

_OPEN = """([path, view]) => { const t = performance.now();
  window.nwbscopeViews.openView(path, view, null, null); return t; }"""
_FIRST_PANEL = "() => { const p = document.querySelector('#views section.panel[data-panel]');" \
               " return p ? p.dataset.panel : null; }"
_TIME_EMBED = """() => { const V = window.nwbscopeViews, embed = V.embed.bind(V);
  window.__embeds = [];
  V.embed = async (...args) => { const start = performance.now(); const r = await embed(...args);
    window.__embeds.push({start, end: performance.now()}); return r; }; }"""
_SPLIT = """([panel, t0]) => { const e = window.__embeds[0];
  const d = document.querySelector('#panel-' + panel).dataset;
  return {reply: (e.start - t0) / 1000, embed: (e.end - e.start) / 1000,
          open_worker: parseFloat(d.openSeconds), update_worker: parseFloat(d.workerSeconds)}; }"""
_SET = """([panel, name, value]) => { const m = window.nwbscopeViews.model(panel, 'option:' + name);
  const t = performance.now(); if (typeof m.active === 'boolean') m.active = !!value;
  else m.value = value; return t; }"""


def write_table(path: Path, rows: int) -> dict[str, Any]:
    """The benchmark file: pynwb writes the table with every dataset chunked."""
    import numpy as np
    from hdmf.backends.hdf5 import H5DataIO
    from hdmf.common import DynamicTable, VectorData, VectorIndex
    from pynwb import NWBHDF5IO, NWBFile

    from tests.fixtures.nwb_files import FILE_CREATE, SESSION_START

    rng = np.random.default_rng(7)
    chunk = {"chunks": (min(CHUNK, rows),)}
    counts = rng.integers(0, 6, rows)
    hits = VectorData(name="hits", description="ragged int32",
                      data=H5DataIO(rng.integers(0, 1000, int(counts.sum())).astype(np.int32),
                                    chunks=(min(CHUNK * 3, max(int(counts.sum()), 1)),)))
    labels = np.array([f"item-{v:07d}" for v in rng.integers(0, 10_000_000, rows)],
                      dtype=object)
    columns = [
        VectorData(name="x", description="float64", data=H5DataIO(rng.normal(0, 1, rows),
                                                                  **chunk)),
        VectorData(name="y", description="float32",
                   data=H5DataIO(rng.normal(0, 1, rows).astype(np.float32), **chunk)),
        VectorData(name="count", description="int32",
                   data=H5DataIO(rng.integers(0, 100, rows).astype(np.int32), **chunk)),
        VectorData(name="label", description="text", data=H5DataIO(labels, **chunk)),
        hits, VectorIndex(name="hits_index", target=hits,
                          data=H5DataIO(np.cumsum(counts).astype(np.int64), **chunk)),
    ]
    table = DynamicTable(name="big_table", description=f"{rows} rows",
                         id=H5DataIO(np.arange(rows), **chunk), columns=columns)
    nwbfile = NWBFile(session_description="table benchmark", identifier="bench-table-1m",
                      session_start_time=SESSION_START, file_create_date=[FILE_CREATE])
    nwbfile.create_processing_module("bench", "a big table").add(table)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return {"rows": rows, "chunk_rows": CHUNK, "table": TABLE}


def cpython_case(url: str, runs: int) -> dict[str, Any]:
    """The data step alone, in CPython over HTTP (pyfive): seconds per step."""
    import nwbscope
    from nwbscope.views.data.table_page import Query, TablePages

    found: dict[str, list[float]] = {"first_page_s": [], "page_s": [], "sorted_first_s": [],
                                     "sorted_page_s": []}
    for _ in range(runs):
        t0 = time.perf_counter()
        f = nwbscope.open(url, engine="pyfive")
        pages = TablePages(f.table(TABLE))
        pages.page(Query(page=1, page_size=25))
        found["first_page_s"].append(time.perf_counter() - t0)
        per = []
        for number in PAGES:
            t0 = time.perf_counter()
            pages.page(Query(page=number, page_size=25))
            per.append(time.perf_counter() - t0)
        found["page_s"].append(statistics.median(per))
        t0 = time.perf_counter()
        pages.page(Query(page=1, page_size=25, sort_by="x"))
        found["sorted_first_s"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pages.page(Query(page=2, page_size=25, sort_by="x"))
        found["sorted_page_s"].append(time.perf_counter() - t0)
        f.close()
    return {k: statistics.median(v) for k, v in found.items()}


def chromium_case(pw, site: ServerProcess, data: ServerProcess, name: str,
                  timeout_ms: float) -> dict[str, Any]:
    from bench.browser_views import _served, fresh_page, open_file, timed_frames

    with fresh_page(pw) as page:
        row: dict[str, Any] = {"tree_s": open_file(
            page, site.url(f"index.html?url={data.url(name)}"), timeout_ms)}
        page.evaluate(_TIME_EMBED)
        data.reset()
        t0 = page.evaluate(_OPEN, [TABLE, "table"])
        page.wait_for_function(_FIRST_PANEL, timeout=timeout_ms)
        panel = page.evaluate(_FIRST_PANEL)
        row["first_page_s"] = timed_frames(page, panel, t0, timeout_ms)["complete_s"]
        row["first_page_bytes"], row["first_page_requests"] = _served(data)
        page.wait_for_function(  # (the worker's answer follows its last frame)
            "id => document.querySelector('#panel-' + id).dataset.workerSeconds", arg=panel,
            timeout=timeout_ms)
        split = page.evaluate(_SPLIT, [panel, t0])
        # of which: the worker's open (the document built), the document's reply arriving,
        # BokehJS embedding it, the worker's first frame (the page read); the rest is
        # messages, the grid's redraw and painting
        row.update({f"first_{k}_s": v for k, v in split.items()})
        per, sizes, counts = [], [], []
        for number in PAGES:
            data.reset()
            t0 = page.evaluate(_SET, [panel, "page", number])
            per.append(timed_frames(page, panel, t0, timeout_ms)["complete_s"])
            sizes.append(_served(data)[0])
            counts.append(_served(data)[1])
        row["page_s"], row["page_bytes"] = statistics.median(per), statistics.median(sizes)
        row["page_requests"] = statistics.median(counts)
        row["status"] = page.evaluate("id => window.nwbscopeViews.model(id, 'status').text",
                                      panel)
        data.reset()
        t0 = page.evaluate(_SET, [panel, "sort_by", "x"])
        row["sorted_first_s"] = timed_frames(page, panel, t0, timeout_ms)["complete_s"]
        row["sorted_first_bytes"], row["sorted_first_requests"] = _served(data)
        data.reset()
        t0 = page.evaluate(_SET, [panel, "page", 2])
        row["sorted_page_s"] = timed_frames(page, panel, t0, timeout_ms)["complete_s"]
        row["sorted_page_bytes"], row["sorted_page_requests"] = _served(data)
        return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows, one run")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--site", type=Path, default=common.ROOT / "dist" / "site")
    parser.add_argument("--timeout", type=float, default=180.0, help="s per step")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args(argv)
    rows, runs = (100_000, 1) if args.quick else (args.rows, args.runs)
    target = common.DATA / f"table_{rows // 1000}k.nwb"
    info = common.cached_file(target, lambda tmp: write_table(tmp, rows))
    result: dict[str, Any] = {"machine": common.machine(), "file": info}
    with ServerProcess(common.DATA) as data:
        result["cpython"] = cpython_case(data.url(target.name), runs)
        browser = not args.no_browser and (args.site / "index.html").is_file() and Path(
            CHROMIUM).is_file()
        if browser:
            from playwright.sync_api import sync_playwright

            from bench.browser_views import _guarded, _median_rows

            with ServerProcess(args.site) as site, sync_playwright() as pw:
                found = [_guarded(chromium_case, pw, site, data, target.name,
                                  args.timeout * 1000) for _ in range(runs)]
            result["chromium"] = {**_median_rows(found), "runs": found}
        else:
            result["chromium"] = {"skipped": "no built site or Chromium (or --no-browser)"}
    common.write_result("views_table", result)
    print(report(result))
    return 0


def report(result: dict[str, Any]) -> str:
    """A short markdown table of the figures (ms), with the machine and its load."""
    m = result["machine"]
    lines = [f"Table view, {result['file']['rows']:,} rows ({m['date_utc']}, {m['cpu']}, "
             f"{m['nproc']} CPUs, load {m['load_1min']:.1f})", "",
             "| step | Chromium (ms) | CPython data step (ms) | Chromium: data read |",
             "|---|---:|---:|---:|"]
    chromium, cpython = result["chromium"], result["cpython"]
    for key, label in (("first_page_s", "first page (open + read)"),
                       ("page_s", "another page (median)"), ("sorted_first_s",
                                                             "sorted by x, first page"),
                       ("sorted_page_s", "sorted, next page")):
        got = chromium.get(key)
        lines.append(f"| {label} | {got * 1000:.0f} |" if isinstance(got, float) else
                     f"| {label} | {chromium.get('skipped', chromium.get('error', '-'))} |")
        lines[-1] += f" {cpython[key] * 1000:.0f} |"
        stem = key[:-2]
        read = chromium.get(stem + "_bytes")
        lines[-1] += (f" {read / 1e6:.1f} MB, {chromium.get(stem + '_requests', 0):.0f} "
                      "requests |" if isinstance(read, int | float) else " - |")
    if isinstance(chromium.get("first_embed_s"), float):
        lines += ["", "First page in Chromium, of which (ms): " + ", ".join(
            f"{label} {chromium[key] * 1000:.0f}" for key, label in (
                ("first_open_worker_s", "worker's open (document built)"),
                ("first_reply_s", "its reply arrived"), ("first_embed_s", "BokehJS embed"),
                ("first_update_worker_s", "worker's first frame (its page read ahead "
                                          "during the embed)"))
            if isinstance(chromium.get(key), float))]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
