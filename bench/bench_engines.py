"""Time-series view reads with each HDF5 engine: seconds, requests and bytes per workload.

The views read through the facade with plain slicing, so these are the reads they make:

- ``a_first``: a cold open of the sparse 384-channel series (about 4600 chunks), then one
  sample at its start, middle and end: what the chunk index (B-tree) costs a first view.
- ``a_index``: the whole chunk index (every chunk's address), as a full-series overview needs.
- ``b_window``: 1 s x 384 channels (cold), the same second again, the next second, and 1 s of
  4 channels spread over the probe.
- ``c_stream``: the dense 64-channel series, 10 min streamed chunk by chunk (min/max of each
  block, as a zoomed-out view decimates; "reads" is the CPU time of the reads alone), then its
  last second again.

Readers: ``pyfive`` and ``h5py`` through ``nwbscope.open`` (both read through nwbscope's
cached byte source, so their requests/bytes compare), and ``h5py-native`` (``h5py.File`` on
the path: libhdf5's own I/O, the floor). Every reader's values are checked against h5py's.
Figures are medians of ``--runs``; the OS page cache is warm (the file was just written or
read). The ratio to h5py is of CPU seconds, steadier than wall time on a shared machine.

    python3 bench/bench_engines.py                # 3 runs, full-size files (~2.5 GB)
    python3 bench/bench_engines.py --quick        # 1 run, 2-minute dense file
    python3 bench/bench_engines.py --profile      # cProfile's top functions for pyfive
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import common  # noqa: E402
from bench.make_view_files import DENSE64, RATE, SERIES, SPARSE384, make  # noqa: E402

READERS = ("pyfive", "h5py", "h5py-native")
FIGURES = ["seconds", "cpu_s", "read_cpu_s", "requests", "bytes"]
SECOND = int(RATE)


class Opened:
    """One reader's view of one file: the series data set and the I/O counters."""

    def __init__(self, reader: str, path: Path, chunk_cache_bytes: int | None) -> None:
        self.reader = reader
        if reader == "h5py-native":
            import h5py

            self._file: Any = h5py.File(path, "r")
            self.ds = self._file[SERIES]
            self._stats = None
        else:
            import nwbscope

            options = {} if chunk_cache_bytes is None else {
                "chunk_cache_bytes": chunk_cache_bytes}
            self._file = nwbscope.open(path, engine=reader, **options)
            self.ds = self._file[SERIES]
            self._stats = self._file.h5.stats
        self.ds.shape  # noqa: B018 - the data set's header is read before any timing

    def counters(self) -> tuple[int, int]:
        if self._stats is None:
            return 0, 0
        snap = self._stats.snapshot()  # "bytes" (older trees: "bytes_fetched")
        return snap["requests"], snap.get("bytes", snap.get("bytes_fetched", 0))

    def load_index(self) -> int:
        """Every chunk's address: libhdf5's chunk iteration, or pyfive's whole index."""
        handle = getattr(self.ds, "_handle", self.ds)
        if hasattr(handle, "id"):
            seen: list[int] = []
            handle.id.chunk_iter(lambda info: seen.append(info.byte_offset))
            return len(seen)
        reader = handle.reader
        if hasattr(reader, "chunk_index"):
            return reader.chunk_index.load_all()
        return len(reader._chunk_index())  # the reader before the chunk index existed

    def close(self) -> None:
        self._file.close()


def timed(opened: Opened, fn: Callable[[], Any], extra: dict | None = None) -> dict[str, Any]:
    """Seconds, requests and bytes of one call, and a checksum of what it returned; ``extra``
    (filled by ``fn``) adds figures of its own."""
    req0, bytes0 = opened.counters()
    t0, c0 = time.perf_counter(), time.process_time()
    value = fn()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    req1, bytes1 = opened.counters()
    return {"seconds": seconds, "cpu_s": cpu, "requests": req1 - req0, "bytes": bytes1 - bytes0,
            "check": _checksum(value), **(extra or {})}


def _checksum(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_checksum(v) for v in value)
    if isinstance(value, np.ndarray):
        return f"{value.shape}:{int(value.astype(np.int64).sum())}"
    return str(value)


def workloads(sparse: Path, dense: Path, cache: int | None) -> dict[str, Callable]:
    """Each workload: reader name -> {step: figures}; every step starts from a fresh open
    unless it is a repeat (which is the point of repeating)."""

    def a_first(reader: str) -> dict[str, dict]:
        f = Opened(reader, sparse, cache)
        n = f.ds.shape[0]
        out = {"3 samples": timed(f, lambda: [f.ds[0:1, 0:1], f.ds[n // 2 : n // 2 + 1, 0:1],
                                             f.ds[n - 1 : n, 383:384]])}
        f.close()
        return out

    def a_index(reader: str) -> dict[str, dict]:
        f = Opened(reader, sparse, cache)
        out = {"whole index": timed(f, f.load_index)}
        f.close()
        return out

    def b_window(reader: str) -> dict[str, dict]:
        f = Opened(reader, sparse, cache)
        t0 = 2 * SECOND
        out = {
            "1 s x 384": timed(f, lambda: f.ds[t0 : t0 + SECOND, :]),
            "same again": timed(f, lambda: f.ds[t0 : t0 + SECOND, :]),
            "next second": timed(f, lambda: f.ds[t0 + SECOND : t0 + 2 * SECOND, :]),
            "1 s x 4 ch": timed(f, lambda: f.ds[5 * SECOND : 6 * SECOND, [0, 100, 200, 383]]),
        }
        f.close()
        return out

    def c_stream(reader: str) -> dict[str, dict]:
        f = Opened(reader, dense, cache)
        n, rows = f.ds.shape[0], DENSE64.chunk_rows
        extra = {"read_cpu_s": 0.0}

        def stream() -> list[np.ndarray]:
            lo = hi = None
            for i in range(0, n, rows):
                c0 = time.process_time()
                block = f.ds[i : i + rows, :]
                extra["read_cpu_s"] += time.process_time() - c0
                bmin, bmax = block.min(axis=0), block.max(axis=0)
                lo = bmin if lo is None else np.minimum(lo, bmin)
                hi = bmax if hi is None else np.maximum(hi, bmax)
            return [lo, hi]

        out = {"10 min chunk by chunk": timed(f, stream, extra),
               "last second again": timed(f, lambda: f.ds[n - SECOND : n, :])}
        f.close()
        return out

    return {"a_first": a_first, "a_index": a_index, "b_window": b_window, "c_stream": c_stream}


def measure(names: list[str], readers: list[str], runs: int, files: tuple[Path, Path],
            cache: int | None) -> list[dict[str, Any]]:
    """One row per (workload, step, reader): median seconds, requests, bytes, checksum."""
    rows = []
    table = workloads(*files, cache)
    for name in names:
        for reader in readers:
            results = [table[name](reader) for _ in range(runs)]
            for step in results[0]:
                per_run = [r[step] for r in results]
                figures = common.medians(per_run, FIGURES)
                rows.append({"workload": name, "step": step, "reader": reader, **figures,
                             "check": per_run[0]["check"]})
    for row in rows:  # the same step read by h5py through the facade is the reference
        ref = next((r for r in rows if r["reader"] == "h5py" and r["workload"] == row["workload"]
                    and r["step"] == row["step"]), None)
        if ref is not None:
            row["vs_h5py"] = row["cpu_s"] / ref["cpu_s"] if ref["cpu_s"] else None
            if row["workload"] != "a_index":
                row["agrees"] = row["check"] == ref["check"]
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| workload | step | reader | seconds | CPU s | x h5py (CPU) | requests | MB "
             "| values |", "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        ratio = f"{r['vs_h5py']:.2f}" if r.get("vs_h5py") is not None else ""
        agrees = {True: "same", False: "**DIFFER**"}.get(r.get("agrees"), "")
        cpu = f"{r['cpu_s']:.3f}" + (f" (reads {r['read_cpu_s']:.3f})" if "read_cpu_s" in r
                                     else "")
        lines.append(f"| {r['workload']} | {r['step']} | {r['reader']} | {r['seconds']:.3f} | "
                     f"{cpu} | {ratio} | {int(r.get('requests', 0))} | "
                     f"{r.get('bytes', 0) / 1e6:.1f} | {agrees} |")
    return "\n".join(lines)


def profile(names: list[str], files: tuple[Path, Path], cache: int | None, top: int) -> str:
    """cProfile's top functions (by own time) of each workload read with pyfive."""
    out = []
    table = workloads(*files, cache)
    for name in names:
        prof = cProfile.Profile()
        prof.enable()
        table[name]("pyfive")
        prof.disable()
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(top)
        body = text.getvalue()
        out.append(f"== {name} (pyfive)\n" + body[body.find("ncalls"):].rstrip())
    return "\n\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 run, 2-minute dense file")
    parser.add_argument("--workloads", nargs="+", default=["a_first", "a_index", "b_window",
                                                           "c_stream"])
    parser.add_argument("--readers", nargs="+", choices=READERS, default=list(READERS))
    parser.add_argument("--chunk-cache-mb", type=float, default=None,
                        help="pyfive's decoded-chunk cache (default: nwbscope's default)")
    parser.add_argument("--folder", type=Path, default=common.DATA)
    parser.add_argument("--seconds", type=float, default=None,
                        help="scale both files to this many seconds (tests)")
    parser.add_argument("--profile", action="store_true", help="print pyfive's profile too")
    parser.add_argument("--label", default="bench_engines", help="result file name")
    args = parser.parse_args(argv)
    dense, sparse = DENSE64, SPARSE384
    if args.quick:
        args.runs = 1
        dense = dense.scaled(120.0, "dense64-2min")
    if args.seconds is not None:
        dense, sparse = (r.scaled(args.seconds, f"{r.name}-{args.seconds:g}s")
                         for r in (dense, sparse))
    files = tuple(Path(make(r, folder=args.folder)["path"]) for r in (sparse, dense))
    cache = None if args.chunk_cache_mb is None else int(args.chunk_cache_mb * 2**20)
    rows = measure(args.workloads, args.readers, args.runs, files, cache)  # type: ignore[arg-type]
    table = markdown(rows)
    print(table)
    result: dict[str, Any] = {"runs": args.runs, "rows": rows, "markdown": table,
                              "files": [str(p) for p in files], "machine": common.machine()}
    if args.profile:
        result["profile"] = profile(args.workloads, files, cache, top=15)  # type: ignore[arg-type]
        print("\n" + result["profile"])
    common.write_result(args.label, result)
    return 0 if all(r.get("agrees", True) for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
