"""Store throughput on loopback: PUT /api/store and GET /api/store/<hex> against a file copy.

A real server process (``python3 -m server_worker.cli serve --no-worker``: the broker and
store without the embedded sorting worker) with a fresh data directory. Two clients stream
the file up and then down to disk: the standard library's http.client (1 MiB blocks) and
curl (when installed), so a slow client is not mistaken for a slow server. References in the
same run: ``cp`` of the same file (the kernel copies, no user-space pass) and a read/write
loop in 1 MiB blocks. Goal: each direction, with the better client, at least 50 % of the
faster of the two copies.
Every upload changes the file's first bytes so the store never short-cuts a duplicate; each
download is checked against the SHA-256 the server returned. Nothing is fsync'ed by either
side (the store does not fsync; neither does cp), but dirty pages are written back (sync)
before each timed step, so no step pays for the writes of the one before.

    python3 bench/bench_store.py [--size-mb 1024] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import common  # noqa: E402

BLOCK = 1 << 20
TOKEN = "bench-store-token-0123456789abcdef"


def make_source(path: Path, size: int) -> None:
    """``size`` random (incompressible) bytes, written once per benchmark run."""
    import numpy as np

    rng = np.random.default_rng()
    with path.open("wb") as fh:
        left = size
        while left > 0:
            n = min(left, 16 * BLOCK)
            fh.write(rng.bytes(n))
            left -= n


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


class StoreServer:
    """``nwbscope serve`` in a child process with its own data directory and token."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = common.free_port()
        self.proc: subprocess.Popen | None = None
        self.token = TOKEN
        self.log = data_dir / "server.log"

    def __enter__(self) -> StoreServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "NWBSCOPE_TOKEN": TOKEN,
               "PYTHONPATH": os.pathsep.join([str(common.WEB_PY), str(common.ROOT)])}
        site = self.data_dir / "site"  # a stub: the store does not need the viewer
        site.mkdir(exist_ok=True)
        (site / "index.html").write_text("<!doctype html><title>store benchmark</title>")
        cmd = [sys.executable, "-m", "server_worker.cli", "serve", "--port", str(self.port),
               "--data-dir", str(self.data_dir), "--token", TOKEN, "--site", str(site),
               "--no-worker"]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=common.ROOT, env=env, stdout=log,
                                         stderr=subprocess.STDOUT)
        try:
            common.wait_for_port(self.port, timeout=60, proc=self.proc)
        except Exception as exc:
            self.__exit__()
            tail = self.log.read_text(errors="replace")[-800:]
            raise RuntimeError(f"the store server did not start ({exc}): {tail}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600,
                                          blocksize=BLOCK)


def upload(server: StoreServer, path: Path) -> tuple[float, dict[str, Any]]:
    conn = server.connection()
    size = path.stat().st_size
    t0 = time.perf_counter()
    with path.open("rb") as body:
        conn.request("PUT", f"/api/store?label={path.name}", body=body, headers={
            "Authorization": f"Bearer {server.token}", "Content-Length": str(size),
            "Content-Type": "application/octet-stream"})
        resp = conn.getresponse()
        payload = resp.read()
    seconds = time.perf_counter() - t0
    conn.close()
    if resp.status not in (200, 201):
        raise RuntimeError(f"PUT /api/store answered {resp.status}: {payload[:300]!r}")
    return seconds, json.loads(payload)


def download(server: StoreServer, hexdigest: str, target: Path) -> float:
    conn = server.connection()
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    t0 = time.perf_counter()
    conn.request("GET", f"/api/store/{hexdigest}")
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"GET /api/store/{hexdigest} answered {resp.status}")
    with target.open("wb") as out:
        while n := resp.readinto(buf):
            out.write(view[:n])
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds


def curl_upload(server: StoreServer, path: Path) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    done = subprocess.run(
        ["curl", "-sS", "--fail-with-body", "-H", "Expect:",
         "-H", f"Authorization: Bearer {server.token}", "-H",
         "Content-Type: application/octet-stream", "-T", str(path),
         f"http://127.0.0.1:{server.port}/api/store?label={path.name}"],
        capture_output=True, timeout=600)
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise RuntimeError(f"curl PUT failed: {done.stderr[-300:]!r} {done.stdout[-300:]!r}")
    return seconds, json.loads(done.stdout)


def curl_download(server: StoreServer, hexdigest: str, target: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(["curl", "-sS", "--fail", "-o", str(target),
                    f"http://127.0.0.1:{server.port}/api/store/{hexdigest}"],
                   check=True, timeout=600)
    return time.perf_counter() - t0


def user_space_copy(src: Path, dst: Path) -> None:
    """A read/write loop in 1 MiB blocks: what any program that streams bytes must do."""
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    with src.open("rb", buffering=0) as fin, dst.open("wb", buffering=0) as fout:
        while n := fin.readinto(buf):
            fout.write(view[:n])


def _settle() -> None:
    """Write back dirty pages first, so no step pays for the previous one's writes."""
    os.sync()


def _timed(fn, *args) -> float:
    _settle()
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def one_run(server: StoreServer, src: Path, work: Path, size: int,
            use_curl: bool) -> dict[str, float]:
    """Copies, then upload + download with each client; every upload is new content."""
    mb = size / 1e6
    copy = work / "copy.bin"
    out: dict[str, float] = {}
    out["cp_s"] = _timed(subprocess.run, ["cp", str(src), str(copy)])
    copy.unlink()
    out["loop_s"] = _timed(user_space_copy, src, copy)
    copy.unlink()
    clients = [("py", upload, download)]
    if use_curl:
        clients.append(("curl", curl_upload, curl_download))
    for name, up, down in clients:
        with src.open("r+b") as fh:  # new content: no deduplication short cut
            fh.write(os.urandom(32))
        t0 = time.perf_counter()
        expected = sha256_of(src)  # also the ceiling of an upload that hashes every byte
        out["hash_s"] = time.perf_counter() - t0
        _settle()
        out[f"{name}_up_s"], answer = up(server, src)
        if answer.get("sha256") != expected or answer.get("size") != size:
            raise RuntimeError(f"the store answered {answer}, expected sha256 {expected}")
        target = work / "down.bin"
        _settle()
        out[f"{name}_down_s"] = down(server, expected, target)
        got = sha256_of(target)
        target.unlink()
        if got != expected:
            raise RuntimeError(f"downloaded bytes hash to {got}, not {expected}")
    for key in list(out):
        out[key.replace("_s", "_mb_s")] = mb / out[key]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="MiB (default 1024)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    size = args.size_mb * 1024 * 1024
    use_curl = shutil.which("curl") is not None
    result: dict[str, Any] = {"size_bytes": size, "runs": args.runs}
    common.DATA.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=common.DATA, prefix="store-bench-") as tmp:
        work = Path(tmp)
        src = work / "payload.bin"
        make_source(src, size)
        try:
            with StoreServer(work / "server") as server:
                runs = [one_run(server, src, work, size, use_curl)
                        for _ in range(args.runs)]
                # the store keeps every object; free the disk between runs of the doc
                shutil.rmtree(work / "server" / "store", ignore_errors=True)
        except Exception as exc:  # noqa: BLE001 - reported as a failure in the doc
            result["error"] = f"{type(exc).__name__}: {exc}"[:600]
            runs = []
    if runs:
        med = common.medians(runs, sorted(runs[0]))
        # the goal: the better client's speed over the faster plain copy (cp's speed varies
        # a lot on this virtual disk; judging against the faster copy avoids a lucky pass)
        med["copy_mb_s"] = max(med["cp_mb_s"], med["loop_mb_s"])
        for way in ("up", "down"):
            best = max(v for k, v in med.items() if k.endswith(f"_{way}_mb_s"))
            med[f"{way}_mb_s"] = best
            med[f"{way}_ratio"] = best / med["copy_mb_s"]
        result.update(med=med, all=runs)
        print(f"{size / 2**20:.0f} MiB: cp {med['cp_mb_s']:.0f} MB/s, read/write loop "
              f"{med['loop_mb_s']:.0f} MB/s, PUT {med['up_mb_s']:.0f} MB/s "
              f"({med['up_ratio']:.0%} of the faster copy), GET {med['down_mb_s']:.0f} MB/s "
              f"({med['down_ratio']:.0%})")
    else:
        print(f"store benchmark failed: {result.get('error')}")
    common.write_result("store", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
