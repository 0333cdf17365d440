"""The "where the time and the bytes go" part of docs/performance.md, computed from the figures.

Sentences are built from this run's numbers (never typed in), so the analysis cannot drift
from the tables above it. Each function returns Markdown bullet lines, or none when the
figures it needs are missing.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

NAN = float("nan")


def layout(path: Path, tail_mb: float = 12.0) -> dict[str, Any]:
    """Where the object headers of a file sit, and where the big dataset's chunks are."""
    import h5py

    addrs: list[int] = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda _name, obj: addrs.append(h5py.h5o.get_info(obj.id).addr))
        addrs.append(h5py.h5o.get_info(f.id).addr)
        data = f["acquisition/ElectricalSeries/data"]
        n = data.id.get_num_chunks()
        offsets = [data.id.get_chunk_info(i).byte_offset for i in range(n)]
        sizes = [data.id.get_chunk_info(i).size for i in range(n)]
    size = path.stat().st_size
    last = max(range(n), key=lambda i: offsets[i])
    return {"headers": len(addrs), "tail_mb": tail_mb, "touched": metadata_touched(path),
            "in_tail": sum(a >= size - tail_mb * 1e6 for a in addrs),
            "in_head": sum(a < 1e6 for a in addrs),
            "data_start": min(offsets), "data_stop": offsets[last] + sizes[last]}


class _RecordingFile(io.RawIOBase):
    """A local file that remembers every byte range a reader asked for."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._fh = path.open("rb")
        self.reads: list[tuple[int, int]] = []

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def readinto(self, buffer) -> int:  # type: ignore[override]
        start = self._fh.tell()
        n = self._fh.readinto(buffer)
        if n:
            self.reads.append((start, start + n))
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def _merge(ranges: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(ranges):
        if merged and start - merged[-1][1] <= gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def metadata_touched(path: Path) -> dict[str, Any]:
    """What a full metadata walk (h5py, local file) really reads: the floor for any reader."""
    import h5py

    from bench.walkers import walk_full

    rec = _RecordingFile(path)
    with h5py.File(rec, "r") as f:
        walk_full(f)
    places = _merge(rec.reads, 0)
    out: dict[str, Any] = {"bytes": sum(b - a for a, b in places), "places": len(places)}
    for gap in (64 * 1024, 1024 * 1024):
        runs = _merge(rec.reads, gap)
        out[f"runs_{gap // 1024}k"] = len(runs)
        out[f"bytes_{gap // 1024}k"] = sum(b - a for a, b in runs)
    rec.close()
    return out


def _file_part(cold: dict) -> float:
    return (cold.get("open_s") or 0.0) + (cold.get("tree_step_s") or 0.0)


def _packages(cold: dict) -> str:
    """The worker's own split of the packages step, when the page reports it."""
    if "packages_load_s" not in cold:
        return ""
    return (f": manifest {cold.get('packages_manifest_s', NAN):.2f} s, loading numpy and the "
            f"wheels {cold['packages_load_s']:.2f} s, imports "
            f"{cold.get('packages_import_s', NAN):.2f} s")


def _browser(res: dict | None) -> list[str]:
    if not res or res.get("skipped"):
        return []
    out = []
    ok = {(c["file"], c["delay_ms"]): c for c in res["cases"] if c["cold"].get("ok")}
    c0 = ok.get(("big", 0.0), {}).get("cold")
    if c0 and c0.get("tree_s"):
        start = c0["tree_s"] - _file_part(c0)
        out.append(
            f"- Browser, big, loopback: {start:.2f} s of the {c0['tree_s']:.2f} s "
            f"({start / c0['tree_s']:.0%}) go to the page, Pyodide and the packages "
            f"(Pyodide alone {c0.get('pyodide_s', NAN):.2f} s, packages "
            f"{c0.get('packages_s', NAN):.2f} s{_packages(c0)}), {_file_part(c0):.2f} s to "
            "opening the file "
            f"and showing its tree. The app is {c0.get('app_bytes', 0) / 1e6:.1f} MB in "
            f"{c0.get('app_requests', 0):.0f} files from the site server; on 2 shared cores "
            "starting Pyodide in the worker (its WebAssembly fetched over loopback, compiled, "
            "Python's start-up) is most of the wait.")
    s0 = ok.get(("small", 0.0), {}).get("cold")
    if c0 and s0:
        out.append(
            f"- The file itself: {_file_part(s0):.2f} s and {s0.get('requests', 0):.0f} "
            f"requests ({s0.get('bytes', 0) / 1e6:.2f} MB) for small, {_file_part(c0):.2f} s "
            f"and {c0.get('requests', 0):.0f} requests ({c0.get('bytes', 0) / 1e6:.2f} MB) "
            "for big; differences in the total beyond that are the start-up's run-to-run "
            "variation on a shared machine.")
    c30 = ok.get(("big", 30.0), {}).get("cold")
    if c0 and c30:
        extra = _file_part(c30) - _file_part(c0)
        reqs = c30.get("requests", 0)
        out.append(
            f"- 30 ms per data request: opening big and showing its tree takes "
            f"{_file_part(c30):.2f} s instead of {_file_part(c0):.2f} s ({extra:+.2f} s for "
            f"{reqs:.0f} requests, {reqs * 0.03:.2f} s if each waited 30 ms in turn). The "
            "worker reads synchronously, one request at a time, so on a real network the "
            "number of requests, not the bytes, sets this part.")
    w0 = ok.get(("big", 0.0), {}).get("warm")
    if w0 and w0.get("tree_s") is not None:
        reqs = w0.get("requests", 0)
        out.append(
            f"- Warm start (same browser, second visit): {w0['tree_s']:.2f} s, Pyodide "
            f"{w0.get('pyodide_s', NAN):.2f} s of it: the app comes from the HTTP cache but "
            f"Pyodide starts again in a new worker. The unchanged file took {reqs:.0f} data "
            f"request{'s' if reqs != 1 else ''} ({w0.get('bytes', 0) / 1e6:.2f} MB) against "
            f"{c0.get('requests', 0):.0f} cold." if c0 else "")
    return out


def _walk(res: dict | None, layout: dict | None) -> list[str]:
    if not res:
        return []
    rows = {(r["reader"], r["walk"], r["delay_ms"]): r for r in res["rows"] if "requests" in r}
    out = []
    touched = (layout or {}).get("touched")
    if touched:
        out.append(
            f"- A full walk needs {touched['bytes'] / 1e6:.2f} MB of metadata in "
            f"{touched['places']} places. Every reader trades requests against bytes around "
            "that floor; on a real network (tens of ms per request, tens of MB/s) a few large "
            "reads beat many small ones.")
    size = res.get("file", {}).get("bytes")
    fs = rows.get(("h5py-fsspec", "full", 0.0))
    if fs and size:
        out.append(
            f"- fsspec reads in 5 MB blocks with read-ahead: {fs['bytes'] / 1e6:.0f} MB in "
            f"{fs['requests']:.0f} requests to walk the metadata of a {size / 1e6:.0f} MB file "
            f"({fs['bytes'] / size:.1f}× the file): its metadata reads hop between clusters "
            "and each miss pulls (and may discard) a whole block.")
    for key in ("h5py-remfile", "h5py-fsspec"):
        r0, r30 = rows.get((key, "full", 0.0)), rows.get((key, "full", 30.0))
        if r0 and r30:
            out.append(f"- {r0['label']}: {r0['requests']:.0f} requests, "
                       f"{r0['bytes'] / 1e6:.1f} MB, {r0['seconds']:.2f} s; with 30 ms per "
                       f"request {r30['seconds']:.2f} s.")
    for key in ("nwbscope-model-pyfive", "nwbscope-pyfive", "pyfive-cache"):
        walk = "model" if key.startswith("nwbscope-model") else "full"
        ours, ours30 = rows.get((key, walk, 0.0)), rows.get((key, walk, 30.0))
        if not ours:
            continue
        line = (f"- {ours['label']} (the browser's engine): {ours['requests']:.0f} requests, "
                f"{ours['bytes'] / 1e6:.1f} MB, {ours['seconds']:.2f} s")
        if ours30:
            line += (f"; with 30 ms per request {ours30['seconds']:.2f} s, "
                     f"{ours30['requests'] * 0.03:.2f} s of it the added latency")
        out.append(line + ". Its read-ahead grows while misses fall close together, so the "
                   "metadata clusters at the end of the file arrive in a few large reads.")
        break
    return out


def _store(res: dict | None) -> list[str]:
    if not res or "med" not in res:
        return []
    m = res["med"]
    cps = [r["cp_mb_s"] for r in res.get("all", []) if "cp_mb_s" in r]
    spread = f" ({min(cps):.0f}–{max(cps):.0f} across runs)" if len(cps) > 1 else ""
    return [
        f"- Store: `cp` lets the kernel copy (copy_file_range, no user-space pass) at "
        f"{m['cp_mb_s']:.0f} MB/s{spread}; a 1 MiB read/write loop manages "
        f"{m['loop_mb_s']:.0f} MB/s and SHA-256 alone {m['hash_mb_s']:.0f} MB/s on this CPU. "
        "An upload crosses the loopback socket, the ASGI server (uvicorn, in Python), the "
        "hash and a write, on 2 shared cores, so the best client reaches "
        f"{m['up_mb_s']:.0f} MB/s up and {m['down_mb_s']:.0f} MB/s down."
        + _clients(m)]


def _clients(m: dict) -> str:
    """Which client was faster each way (a slow client must not pass for a slow server)."""
    if "curl_up_mb_s" not in m:
        return ""
    parts = []
    for way in ("up", "down"):
        py, curl = m[f"py_{way}_mb_s"], m[f"curl_{way}_mb_s"]
        faster = "curl" if curl > py else "http.client"
        parts.append(f"{way} {faster} ({max(py, curl):.0f} against {min(py, curl):.0f} MB/s)")
    return " Faster client: " + ", ".join(parts) + "."


def analysis(results: dict[str, Any]) -> list[str]:
    lines = (_browser(results.get("browser")) + _walk(results.get("walk"), results.get("layout"))
             + _store(results.get("store")))
    return lines or ["No figures to analyse in this run."]
