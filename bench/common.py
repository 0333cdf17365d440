"""Shared helpers for the benchmarks: paths, the machine description, medians, result files.

Every benchmark script writes one JSON file under ``bench/results/`` (git-ignored) so that
``run_all.py`` can assemble ``docs/performance.md`` from figures measured in the same run,
and so that a single script can be rerun alone without losing the others' figures.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
DATA = BENCH / "data"
RESULTS = BENCH / "results"
WEB_PY = ROOT / "web" / "py"

# Make ``import nwbscope`` (web/py) and ``import server_worker`` work without installing.
for _path in (str(WEB_PY), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Block until something accepts connections on ``port`` (a server we started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server process exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listened on port {port} after {timeout:.0f} s")


def cached_file(target: Path, write: Callable[[Path], dict[str, Any]],
                force: bool = False) -> dict[str, Any]:
    """A benchmark file made once: ``write(tmp)`` writes it under a temporary name (and
    returns what it holds), then it is renamed into place and its info is kept beside it as
    ``<name>.json``; later calls return that info without writing (``force`` rewrites)."""
    info_path = target.with_suffix(".json")
    if target.exists() and info_path.exists() and not force:
        return json.loads(info_path.read_text())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.stem + ".tmp.nwb")  # (pynwb warns on other suffixes)
    t0 = time.perf_counter()
    held = write(tmp)
    tmp.replace(target)
    info = {"name": target.stem, "path": str(target), "bytes": target.stat().st_size,
            **held, "seconds_to_write": time.perf_counter() - t0}
    info_path.write_text(json.dumps(info, indent=2))
    return info


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def repeat(fn: Callable[[], dict[str, Any]], runs: int) -> list[dict[str, Any]]:
    """Run ``fn`` ``runs`` times and keep every result (medians are taken by the caller)."""
    return [fn() for _ in range(runs)]


def medians(results: Sequence[dict[str, Any]], keys: Sequence[str]) -> dict[str, float]:
    """Median of each numeric key over the runs that have it."""
    out: dict[str, float] = {}
    for key in keys:
        vals = [r[key] for r in results if isinstance(r.get(key), int | float)]
        if vals:
            out[key] = median(vals)
    return out


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return float("nan")


def _chromium_version() -> str:
    try:
        out = subprocess.run(
            ["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=20
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"


def site_info(site: Path = ROOT / "dist" / "site") -> dict[str, Any]:
    """When the measured site was built, and whether its nwbscope wheel still matches the
    sources in web/py (a stale build would make the browser figures describe old code)."""
    import zipfile

    manifest = site / "manifest.json"
    if not manifest.is_file():
        return {"built": None}
    info: dict[str, Any] = {
        "built": datetime.fromtimestamp(manifest.stat().st_mtime, UTC).strftime("%H:%M UTC")}
    try:
        wheels = json.loads(manifest.read_text())["wheels"]["core"]
        wheel = next(w for w in wheels if "nwbscope-" in w)
    except (KeyError, StopIteration, ValueError):
        return info
    info["wheel"] = wheel
    differ = []
    with zipfile.ZipFile(site / wheel) as zf:
        for name in zf.namelist():
            if name.startswith("nwbscope/") and name.endswith(".py"):
                source = WEB_PY / name
                if not source.is_file() or source.read_bytes() != zf.read(name):
                    differ.append(name)
    info["stale_files"] = differ
    return info


def machine() -> dict[str, Any]:
    """What the figures were measured on; printed at the top of docs/performance.md."""
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "load_1min": os.getloadavg()[0],
        "cpu": _cpu_model(),
        "mem_gib": round(_mem_total_gib(), 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "chromium": _chromium_version(),
        "site": site_info(),
        "versions": {
            name: _version(name)
            for name in ("h5py", "pyfive", "numpy", "pynwb", "remfile", "fsspec", "aiohttp",
                         "playwright", "uvicorn", "starlette")
        },
    }


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Store one benchmark's figures as ``bench/results/<name>.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "measured_utc": datetime.now(UTC).isoformat(), **payload}
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path


def read_result(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())
