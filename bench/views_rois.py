"""The ROI view on a 512 x 512 plane of 2,000 ROIs: time to draw every ROI.

Files (``bench/data``, made once): ``rois_pixel_2000.nwb`` (a PlaneSegmentation of 2,000
pixel masks, blobs of ~80 pixels, written with pynwb) and ``rois_image_2000.nwb`` (the same
ROIs as 2,000 image masks of 512 x 512 float32, 2 GB raw, chunked one mask per chunk and
gzip-compressed, written with h5py: pynwb would need the 2 GB in memory).

Measured:
- **CPython** (``data + figure``): open the file, build the view's document (``figure``) and
  its first frame (masks read, outlines, sources), as the worker does, on both engines; for
  image masks the view reads one page of ROIs (``PlaneMasks.page_rows``), never the 2 GB;
- **Chromium** over loopback (``--browser``, needs a built site): the file's tree shown, then
  ``window.nwbscopeViews.openView(path)`` → the panel's complete frame painted (two
  animation frames after it arrived; image masks also paint partial frames while a page is
  read: "first paint"), and a tap on a ROI → its trace painted. Each run is a
  fresh browser; figures are medians of ``--runs``. The open is split into its steps: the
  worker's open and frame (``data-*`` of the panel; posting = converting and posting the
  frame's arrays), when the document reached the page, its embed, the complete frame put
  into the sources (BokehJS sets its glyphs' data there) and the paint after it.

    python3 bench/views_rois.py [--quick] [--only pixel|image] [--browser --site /tmp/site]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import common  # noqa: E402

PLANE = (512, 512)
N_ROIS = 2000
NT = 600
PATH = "/processing/ophys/ImageSegmentation/PlaneSegmentation"


def blobs(n: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per ROI the x, y and weights of a ~80-pixel elliptic blob inside the plane."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        cx, cy = rng.uniform(8, PLANE[0] - 8), rng.uniform(8, PLANE[1] - 8)
        rx, ry = rng.uniform(3, 7), rng.uniform(3, 7)
        x, y = np.meshgrid(np.arange(int(cx - rx), int(cx + rx) + 1),
                           np.arange(int(cy - ry), int(cy + ry) + 1), indexing="ij")
        d = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2
        keep = d <= 1
        out.append((x[keep], y[keep], (1 - 0.5 * d[keep]).astype(np.float32)))
    return out


def _write_pixel(path: Path, n: int) -> dict[str, Any]:
    from pynwb import NWBFile
    from pynwb.ophys import ImageSegmentation, OpticalChannel

    from tests.fixtures.nwb_files import SESSION_START, _write_nwb

    nwb = NWBFile(session_description="rois bench", identifier="rois-bench",
                  session_start_time=SESSION_START)
    device = nwb.create_device(name="Microscope")
    plane = nwb.create_imaging_plane(
        name="ImagingPlane", optical_channel=OpticalChannel(name="g", description="g",
                                                            emission_lambda=510.0),
        description="plane", device=device, excitation_lambda=920.0, imaging_rate=30.0,
        indicator="GCaMP", location="V1")
    module = nwb.create_processing_module(name="ophys", description="ophys")
    segmentation = ImageSegmentation(name="ImageSegmentation")
    module.add(segmentation)
    table = segmentation.create_plane_segmentation(name="PlaneSegmentation",
                                                   description="bench", imaging_plane=plane)
    table.add_column("quality", "label")
    for k, (x, y, w) in enumerate(blobs(n)):
        table.add_roi(pixel_mask=[(int(a), int(b), float(c)) for a, b, c in zip(x, y, w,
                                                                                 strict=True)],
                      quality="good" if k % 2 else "fair")
    rng = np.random.default_rng(1)
    module.add(__import__("pynwb").ophys.Fluorescence(name="Fluorescence"))
    module["Fluorescence"].create_roi_response_series(
        name="RoiResponseSeries", data=rng.standard_normal((NT, n)).astype(np.float32),
        unit="a.u.", rate=30.0, rois=table.create_roi_table_region("all", list(range(n))))
    _write_nwb(nwb, path)
    return {"rois": n, "plane": list(PLANE), "kind": "pixel_mask"}


def _write_image(path: Path, n: int) -> dict[str, Any]:
    """The pixel file's layout with image masks instead, by h5py (chunked, compressed)."""
    import h5py

    pixel = common.DATA / f"rois_pixel_{n}.nwb"
    path.write_bytes(pixel.read_bytes())
    with h5py.File(path, "a") as f:
        table = f[PATH]
        for name in ("pixel_mask", "pixel_mask_index"):
            del table[name]
        masks = table.create_dataset("image_mask", shape=(n, *PLANE), dtype="f4",
                                     chunks=(1, *PLANE), compression="gzip")
        masks.attrs.update({"neurodata_type": "VectorData", "namespace": "hdmf-common",
                            "description": "image masks"})
        one = np.zeros(PLANE, dtype=np.float32)
        for k, (x, y, w) in enumerate(blobs(n)):
            one[x, y] = w
            masks[k] = one
            one[x, y] = 0
        names = [c.decode() if isinstance(c, bytes) else c for c in table.attrs["colnames"]]
        table.attrs["colnames"] = np.array(["image_mask" if c == "pixel_mask" else c
                                            for c in names], dtype=h5py.string_dtype())
    return {"rois": n, "plane": list(PLANE), "kind": "image_mask", "raw_bytes":
            n * PLANE[0] * PLANE[1] * 4}


def make(n: int) -> dict[str, dict[str, Any]]:
    pixel = common.cached_file(common.DATA / f"rois_pixel_{n}.nwb", lambda p: _write_pixel(p, n))
    image = common.cached_file(common.DATA / f"rois_image_{n}.nwb", lambda p: _write_image(p, n))
    return {"pixel": pixel, "image": image}


def cpython_case(path: str, engine: str) -> dict[str, Any]:
    """Open, document and first frame, as the worker does it (seconds of each)."""
    import json

    import nwbscope
    from nwbscope.views.bokeh_kit import document_json
    from nwbscope.views.panels import PanelSet
    from nwbscope.views.window import TimeWindow

    t0 = time.perf_counter()
    with nwbscope.open(path, engine=engine) as nwb:
        panels = PanelSet(nwb)
        t1 = time.perf_counter()
        doc = panels.open(PATH)
        t2 = time.perf_counter()
        frame = list(panels.frames(doc.panel_id, TimeWindow(0.0, 1.0)))[-1]
        t3 = time.perf_counter()
        view = panels.panels[doc.panel_id]
        json.dumps(document_json(view.figure(TimeWindow(0.0, 1.0))))
        rois = frame.sources["rois"]
        return {"open_s": t1 - t0, "figure_s": t2 - t1, "frame_s": t3 - t2,
                "total_s": t3 - t0, "rois_drawn": len(rois["row"]),
                "points": int(sum(len(x) for x in rois["xs"]) +
                              sum(len(x) for x in frame.sources["outlines"]["xs"])),
                "mask_rows_read": view.masks.rows_read, "status": frame.status}


# the page's steps, timed by wrapping ``nwbscopeViews.embed`` and ``.apply`` (one object):
# embed (document → BokehJS views), apply (a frame's arrays into the sources: BokehJS sets
# its glyphs' data there), then the paint (two animation frames)
_LOGGER = """() => { window.__frames = []; window.__steps = {};
  const V = window.nwbscopeViews, embed = V.embed, apply = V.apply, steps = window.__steps;
  V.embed = async (...a) => { steps.embed0 = performance.now(); const r = await embed(...a);
    steps.embed1 = performance.now(); return r; };
  V.apply = (m) => { const t = performance.now(); apply(m);
    if (m.complete) { steps.apply0 = t; steps.apply1 = performance.now(); } };
  document.addEventListener('nwbscope-frame', (e) => { const d = e.detail, at = performance.now();
    requestAnimationFrame(() => requestAnimationFrame(() => window.__frames.push(
      {panel: d.panel, complete: d.complete, arrived: at, painted: performance.now()}))); }); }"""
_DONE = """([panel, after]) => window.__frames.some(
  (f) => f.panel === panel && f.complete && f.arrived > after)"""
_READY = """() => { const v = document.querySelector('#views-state');
  return !!(document.body && document.body.dataset.state === 'ready' && v
            && v.dataset.state === 'ready'); }"""
_PAINTED = """([panel, after]) => window.__frames.find(
  (f) => f.panel === panel && f.complete && f.arrived > after).painted"""


def browser_case(pw, site: Any, data: Any, name: str, timeout_ms: float) -> dict[str, Any]:
    from bench.browser_views import fresh_page

    with fresh_page(pw) as page:
        page.goto(site.url(f"index.html?url={data.url(name)}"), wait_until="commit")
        page.wait_for_function(_READY, timeout=timeout_ms, polling=100)
        page.evaluate(_LOGGER)
        t0 = page.evaluate("(p) => { const t = performance.now();"
                           " window.nwbscopeViews.openView(p, null, null, null); return t; }",
                           PATH)
        page.wait_for_function(_DONE, arg=["p1", t0], timeout=timeout_ms, polling=20)
        drawn = (page.evaluate(_PAINTED, ["p1", t0]) - t0) / 1000
        first = (page.evaluate("([p, after]) => window.__frames.find((f) => f.panel === p"
                               " && f.arrived > after).painted", ["p1", t0]) - t0) / 1000
        steps = page.evaluate("window.__steps")
        count = page.evaluate("window.nwbscopeViews.model('p1', 'rois').data.row.length")
        timing = page.evaluate("() => { const d = document.querySelector('#panel-p1').dataset;"
                               " return [parseFloat(d.openSeconds), parseFloat(d.workerSeconds),"
                               " parseFloat(d.postSeconds)]; }")
        t1 = page.evaluate("() => { const t = performance.now(); window.nwbscopeViews"
                           ".model('p1', 'rois').selected.indices = [7]; return t; }")
        page.wait_for_function(_DONE, arg=["p1", t1], timeout=timeout_ms, polling=20)
        tap = (page.evaluate(_PAINTED, ["p1", t1]) - t1) / 1000
        trace = page.evaluate("window.nwbscopeViews.model('p1', 'roi_trace').data.y.length")
        return {"draw_s": drawn, "first_paint_s": first, "rois_drawn": count,
                "tap_trace_s": tap,
                "worker_open_s": timing[0], "worker_frame_s": timing[1],
                "worker_post_s": timing[2],
                "to_embed_s": (steps["embed0"] - t0) / 1000,
                "embed_s": (steps["embed1"] - steps["embed0"]) / 1000,
                "apply_s": (steps["apply1"] - steps["apply0"]) / 1000,
                "paint_s": drawn - (steps["apply1"] - t0) / 1000,
                "trace_points": trace}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 ROIs, one run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--browser", action="store_true", help="also in Chromium")
    parser.add_argument("--site", type=Path, default=common.ROOT / "dist" / "site")
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--only", choices=("pixel", "image"), help="one kind of masks")
    args = parser.parse_args(argv)
    n = 200 if args.quick else N_ROIS
    runs = 1 if args.quick else args.runs
    files = {k: v for k, v in make(n).items() if args.only in (None, k)}
    result: dict[str, Any] = {"machine": common.machine(), "rois": n, "files": files,
                              "cpython": {}, "browser": {}}
    for kind, info in files.items():
        for engine in ("h5py", "pyfive"):
            rows = [cpython_case(info["path"], engine) for _ in range(runs)]
            result["cpython"][f"{kind}/{engine}"] = {
                **{k: statistics.median(r[k] for r in rows) for k in rows[0]
                   if isinstance(rows[0][k], int | float)}, "status": rows[0]["status"]}
    if args.browser and (args.site / "index.html").is_file():
        from playwright.sync_api import sync_playwright

        from bench.range_server import ServerProcess

        with ServerProcess(args.site) as site, ServerProcess(common.DATA) as data, \
                sync_playwright() as pw:
            for kind, info in files.items():
                rows = [browser_case(pw, site, data, Path(info["path"]).name,
                                     args.timeout * 1000) for _ in range(runs)]
                result["browser"][kind] = {k: statistics.median(r[k] for r in rows)
                                           for k in rows[0]}
    common.write_result("views_rois", result)
    m = result["machine"]
    print(f"ROI view, {n} ROIs on {PLANE[0]} x {PLANE[1]} ({m['date_utc']}, "
          f"{m['nproc']} CPUs, load {m['load_1min']:.1f})\n")
    print("| where | masks | draw all ROIs (s) | ROIs drawn | detail |")
    print("|---|---|---|---|---|")
    for key, row in result["cpython"].items():
        print(f"| CPython data + figure ({key.split('/')[1]}) | {key.split('/')[0]} | "
              f"{row['total_s']:.2f} | {row['rois_drawn']:.0f} | figure {row['figure_s']:.2f}"
              f" s, frame {row['frame_s']:.2f} s, {row['mask_rows_read']:.0f} mask rows read |")
    for kind, row in result["browser"].items():
        print(f"| Chromium (loopback) | {kind} | {row['draw_s']:.2f} | "
              f"{row['rois_drawn']:.0f} | first paint {row['first_paint_s']:.2f} s; worker: "
              f"open {row['worker_open_s']:.2f} s, frame "
              f"{row['worker_frame_s']:.2f} s (posting {row['worker_post_s']:.2f} s); page: "
              f"document at {row['to_embed_s']:.2f} s, embed {row['embed_s']:.2f} s, frame "
              f"into sources {row['apply_s']:.2f} s, paint {row['paint_s']:.2f} s; "
              f"tap → trace {row['tap_trace_s']:.2f} s |")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
