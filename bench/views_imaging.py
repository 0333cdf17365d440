"""The frames view on a big TwoPhotonSeries: first frame on screen, then one slider step.

The file: 512 x 512 pixel frames of uint8, one frame per HDF5 chunk (256 KiB), 10,000
frames (2.6 GB; ``--quick``: 1,000), written once under ``bench/data/`` with pynwb from a
generator (never the whole movie in memory). Served by ``range_server.py`` over loopback
(``--delay`` ms added to each data request), like ``browser_views.py``:

- **browser** (headless Chromium, a fresh profile): the file opened, the TwoPhotonSeries row
  clicked → its first complete frame painted (two animation frames after it arrived); then
  ``--steps`` slider steps to random frames (the ``frame_slider`` model's value set, as a
  drag does) → that frame painted, and the bytes the data server sent for each step;
- **cpython**: the same file through ``nwbscope.open(url)`` over HTTP, the view's data step
  alone (``PanelSet.frames`` at the frame's time) per step: what the worker does, without
  Pyodide, the transfer to the page and drawing; and the mean projection (a sample of 100
  frames) once.

Figures are medians over the steps. Goal: <= 150 ms per step on loopback.

    python3 bench/views_imaging.py [--quick] [--steps 15] [--site dist/site]
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

SIZE = 512
FULL_FRAMES = 10_000
QUICK_FRAMES = 1_000
RATE = 30.0
SERIES = "/acquisition/TwoPhotonSeries"
SITE = common.ROOT / "dist" / "site"
_STEP = """([panel, value]) => { const t = performance.now();
  window.nwbscopeViews.model(panel, 'frame_slider').value = value; return t; }"""


def frame(i: int) -> Any:
    """Frame ``i`` of the movie: a gradient moved by ``i`` plus a bright square."""
    import numpy as np

    x = np.arange(SIZE, dtype=np.uint16)
    picture = ((x[:, None] + x[None, :] + 3 * i) % 256).astype(np.uint8)
    j = (7 * i) % (SIZE - 32)
    picture[j:j + 32, j:j + 32] = 255
    return picture


def write_movie(path: Path, n_frames: int) -> dict[str, Any]:
    from datetime import UTC, datetime

    import numpy as np
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from hdmf.data_utils import DataChunkIterator
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ophys import OpticalChannel, TwoPhotonSeries

    nwb = NWBFile(session_description="frames benchmark", identifier=path.stem,
                  session_start_time=datetime(2024, 1, 1, tzinfo=UTC))
    device = nwb.create_device(name="scope")
    plane = nwb.create_imaging_plane(
        name="plane", optical_channel=OpticalChannel(name="g", description="g",
                                                     emission_lambda=520.0),
        imaging_rate=RATE, description="plane", device=device, excitation_lambda=920.0,
        indicator="GCaMP", location="V1")
    frames = DataChunkIterator(data=(frame(i) for i in range(n_frames)), buffer_size=50,
                               maxshape=(n_frames, SIZE, SIZE), dtype=np.dtype("uint8"))
    nwb.add_acquisition(TwoPhotonSeries(
        name="TwoPhotonSeries", imaging_plane=plane, unit="a.u.", rate=RATE,
        starting_time=0.0, data=H5DataIO(frames, chunks=(1, SIZE, SIZE))))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return {"frames": n_frames, "frame_shape": [SIZE, SIZE], "dtype": "uint8",
            "chunk": [1, SIZE, SIZE], "rate": RATE}


def step_targets(n_frames: int, steps: int) -> list[int]:
    """Frames far apart (no step is served from the block cache of the one before)."""
    import numpy as np

    rng = np.random.default_rng(5)
    return [int(i) for i in rng.choice(np.arange(1, n_frames), size=steps, replace=False)]


def cpython_case(url: str, info: dict, steps: int) -> dict[str, Any]:
    """The data step alone over HTTP: nwbscope.open(url), one frame per step."""
    import nwbscope
    from nwbscope.views.panels import PanelSet
    from nwbscope.views.window import TimeWindow

    t0 = time.perf_counter()
    with nwbscope.open(url) as f:
        panels = PanelSet(f)
        doc = panels.open(SERIES)
        list(panels.frames(doc.panel_id, TimeWindow(0.0, 10.0, cursor=0.0)))
        first = time.perf_counter() - t0
        times, sizes = [], []
        for i in step_targets(info["frames"], steps):
            before = f.stats["bytes"]
            t1 = time.perf_counter()
            list(panels.frames(doc.panel_id, TimeWindow(0.0, 10.0, cursor=i / RATE)))
            times.append(time.perf_counter() - t1)
            sizes.append(f.stats["bytes"] - before)
        panels.set_option(doc.panel_id, "show", "mean")
        before, t1 = f.stats["bytes"], time.perf_counter()
        frame = list(panels.frames(doc.panel_id, TimeWindow(0.0, 10.0, cursor=0.0)))[-1]
        mean_s, mean_bytes = time.perf_counter() - t1, f.stats["bytes"] - before
    return {"first_frame_s": first, "step_s": statistics.median(times),
            "step_max_s": max(times), "step_bytes": statistics.median(sizes),
            "mean_projection_s": mean_s, "mean_projection_bytes": mean_bytes,
            "mean_projection_status": frame.status}


def browser_case(pw, site: ServerProcess, data: ServerProcess, info: dict, steps: int,
                 timeout_ms: float) -> dict[str, Any]:
    from bench.browser_views import (
        _CLICK_ROW,
        _EXPAND,
        _LOADED,
        fresh_page,
        open_file,
        timed_frames,
    )

    with fresh_page(pw) as page:
        file_url = data.url(Path(info["path"]).name)
        row: dict[str, Any] = {"tree_s": open_file(page, site.url(f"index.html?url={file_url}"),
                                                   timeout_ms)}
        page.evaluate(_EXPAND, "/acquisition")
        page.wait_for_function(_LOADED, arg="/acquisition", timeout=timeout_ms)
        data.reset()
        t0 = page.evaluate(_CLICK_ROW, SERIES)
        row["first_frame_s"] = timed_frames(page, "p1", t0, timeout_ms)["complete_s"]
        row["first_frame_bytes"] = data.stats()["bytes"]
        times, sizes = [], []
        for i in step_targets(info["frames"], steps):
            data.reset()
            t0 = page.evaluate(_STEP, ["p1", i])
            times.append(timed_frames(page, "p1", t0, timeout_ms)["complete_s"])
            sizes.append(data.stats()["bytes"])
            shown = page.evaluate("window.nwbscopeViews.model('p1', 'picture').data.index[0]")
            if int(shown) != i:
                raise AssertionError(f"the slider asked frame {i}, the panel shows {shown}")
        row.update({"step_s": statistics.median(times), "step_max_s": max(times),
                    "step_bytes": statistics.median(sizes)})
        return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_FRAMES} frames")
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--delay", type=float, default=0.0, help="ms per data request")
    parser.add_argument("--timeout", type=float, default=180.0, help="s per step")
    parser.add_argument("--site", type=Path, default=SITE)
    parser.add_argument("--no-browser", action="store_true", help="the CPython case only")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(common.WEB_PY))
    n_frames = QUICK_FRAMES if args.quick else FULL_FRAMES
    target = common.DATA / f"imaging_{SIZE}px_{n_frames}.nwb"
    info = common.cached_file(target, lambda p: write_movie(p, n_frames))
    result: dict[str, Any] = {"file": info, "machine": common.machine(), "delay_ms": args.delay,
                              "steps": args.steps}
    browser = not args.no_browser and (args.site / "index.html").is_file() \
        and Path("/usr/bin/chromium").is_file()
    with ServerProcess(common.DATA) as data:
        data.set_delay(args.delay)
        result["cpython"] = cpython_case(data.url(target.name), info, args.steps)
        if browser:
            from playwright.sync_api import sync_playwright

            with ServerProcess(args.site) as site, sync_playwright() as pw:
                try:
                    result["browser"] = browser_case(pw, site, data, info, args.steps,
                                                     args.timeout * 1000)
                except Exception as exc:  # noqa: BLE001 - reported in the results
                    result["browser"] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
        else:
            result["browser"] = {"skipped": "no built site or no Chromium (or --no-browser)"}
    common.write_result("views_imaging", result)
    print(table(result))
    return 0


def table(result: dict[str, Any]) -> str:
    m, f = result["machine"], result["file"]
    lines = [f"views_imaging: {f['frames']} frames of {SIZE}x{SIZE} uint8 "
             f"({f['bytes'] / 1e9:.2f} GB), {result['delay_ms']:g} ms per request; "
             f"{m['date_utc']}, {m['nproc']} CPUs, load {m['load_1min']:.2f}", "",
             "| case | first frame (s) | step median (ms) | step max (ms) | bytes per step |",
             "|---|---|---|---|---|"]
    for case in ("cpython", "browser"):
        row = result.get(case, {})
        if "step_s" not in row:
            lines.append(f"| {case} | {row.get('error') or row.get('skipped')} | | | |")
            continue
        lines.append(f"| {case} | {row['first_frame_s']:.2f} | {row['step_s'] * 1000:.0f} | "
                     f"{row['step_max_s'] * 1000:.0f} | {row['step_bytes'] / 1e3:.0f} kB |")
    cpython = result.get("cpython", {})
    if "mean_projection_s" in cpython:
        lines += ["", f"mean projection (cpython, 100 frames): "
                  f"{cpython['mean_projection_s']:.2f} s, "
                  f"{cpython['mean_projection_bytes'] / 1e6:.1f} MB read"]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
