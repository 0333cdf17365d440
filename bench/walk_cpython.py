"""Walk the metadata of an NWB file over HTTP in CPython, several ways, counting at the server.

For each reader in ``walkers.READERS`` (h5py over remfile, h5py over fsspec, pyfive and h5py
over nwbscope's block cache, the nwbscope.h5 facade with both engines) and the NWB model as
the page uses it (``model_walk``: ``nwbscope.open`` through ``ViewerSession``, both engines),
with the range server adding 0 and 30 ms to every request: the
requests and bytes the server answered, and the seconds the walk took (median of ``--runs``).
Each run opens the file afresh (no cache shared between runs).

    python3 bench/walk_cpython.py [--file big] [--runs 3] [--delays 0 30]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import common, model_walk, walkers  # noqa: E402
from bench.make_big_nwb import RECIPES, make  # noqa: E402
from bench.range_server import ServerProcess  # noqa: E402


def run_once(server: ServerProcess, rel: str, reader: walkers.Reader, walk: str) -> dict:
    """One fresh open + walk; server counters reset first, so they cover only this run."""
    server.reset()
    t0 = time.perf_counter()
    root, close, stats = reader.open(server.url(rel))
    try:
        count = walkers.WALKS[walk](root)
        seconds = time.perf_counter() - t0
        cache = stats()
    finally:
        close()
    served = server.stats()
    return {"seconds": seconds, "requests": served["requests"], "bytes": served["bytes"],
            "full_gets": served["full_gets"], "visited": count.visited,
            "errors": count.errors, "first_error": count.first_error, "cache": cache}


def measure(server: ServerProcess, rel: str, reader: walkers.Reader, walk: str,
            runs: int) -> dict[str, Any]:
    """Median figures of ``runs`` runs, or the error that stopped the reader."""
    row: dict[str, Any] = {"reader": reader.key, "label": reader.label, "walk": walk,
                           "delay_ms": server.delay_ms}
    results = []
    for _ in range(runs):
        try:
            results.append(run_once(server, rel, reader, walk))
        except Exception as exc:  # noqa: BLE001 - reported in the doc as a failure
            row["error"] = f"{type(exc).__name__}: {exc}"[:300]
            break
    if results:
        row.update(common.medians(results, ["seconds", "requests", "bytes", "full_gets"]))
        last = results[-1]
        row.update(visited=last["visited"], errors=last["errors"],
                   first_error=last["first_error"], cache=last["cache"],
                   seconds_all=[round(r["seconds"], 3) for r in results])
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default="big", choices=sorted(RECIPES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--delays", type=float, nargs="+", default=[0.0, 30.0])
    parser.add_argument("--readers", nargs="*", help="reader keys (default: all)")
    args = parser.parse_args(argv)

    info = make(RECIPES[args.file])
    rel = Path(info["path"]).name
    readers = [r for r in walkers.READERS + model_walk.READERS
               if not args.readers or r.key in args.readers]
    rows = []
    with ServerProcess(common.DATA) as server:
        for delay in args.delays:
            server.set_delay(delay)
            for reader in readers:
                walks = ["model", "view"] if reader in model_walk.READERS else ["full", "tree"]
                for walk in walks:
                    row = measure(server, rel, reader, walk, args.runs)
                    rows.append(row)
                    print(_line(row), flush=True)
    common.write_result(f"walk_cpython_{args.file}", {
        "file": info, "runs": args.runs, "delays_ms": args.delays, "rows": rows,
    })
    return 0


def _line(row: dict) -> str:
    if "requests" not in row:
        return f"{row['delay_ms']:>4g} ms {row['label']:<36} {row['walk']:<5} FAILED {row['error']}"
    return (f"{row['delay_ms']:>4g} ms {row['label']:<36} {row['walk']:<5} "
            f"{row['requests']:>5.0f} req {row['bytes'] / 1e6:>8.2f} MB "
            f"{row['seconds']:>6.2f} s  {row['visited']} objects"
            + (f", {row['errors']} errors ({row['first_error']})" if row["errors"] else ""))


if __name__ == "__main__":
    raise SystemExit(main())
