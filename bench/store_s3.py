"""The store on S3 (SeaweedFS): throughput through the broker vs boto3 straight to the bucket.

Why this comparison: with ``--store s3://...`` an upload streams through the broker (hashed on
the way, sent on as multipart parts) and a download is a 307 to a presigned URL, so both should
cost little over talking to the object storage directly. Same run, same SeaweedFS, same bytes:

- upload: ``PUT /api/store?sha256=`` (httpx, streamed from memory) vs boto3 ``upload_fileobj``
  (its default multipart transfer, 10 threads);
- ranged download: the whole object in 8 MiB ``Range`` reads, through ``GET /api/store/<hex>``
  (one redirect, then the final URL reused, as the viewer does; read with urllib3, boto3's own
  HTTP library, so the clients do not differ) vs boto3 ``get_object(Range=)``;
- bytes the broker sent for the ranged download (goal 0 after the redirect: only headers).

Goal: each ratio (broker / direct) at least 70 %. Each upload changes the first bytes, so the
store never short-cuts a duplicate.

    python3 bench/store_s3.py [--size-mb 256] [--runs 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import httpx  # noqa: E402
import urllib3  # noqa: E402

from tests.s3_service import BUCKET, s3_broker, seaweedfs  # noqa: E402

MB = 1 << 20
PIECE = 8 * MB
TOKEN = "bench-s3-token-0123456789abcdef"


def pieces(data: bytes, size: int = 4 * MB) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), size):
        yield bytes(view[start:start + size])


def timed(fn) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def run(size_mb: int, runs: int) -> dict[str, Any]:
    import numpy as np

    s3 = seaweedfs()
    client = s3.client()
    base = bytearray(np.random.default_rng(0).bytes(size_mb * MB))
    workdir = Path(tempfile.mkdtemp(prefix="nwbscope-bench-s3-"))
    server, prefix = s3_broker(s3, workdir, token=TOKEN)
    http = httpx.Client(base_url=server.url, timeout=600,
                        headers={"Authorization": f"Bearer {TOKEN}"})
    rows: dict[str, list[float]] = {k: [] for k in ("up_broker", "up_direct", "down_broker",
                                                    "down_direct")}
    broker_bytes = []
    try:
        for run_no in range(runs):
            base[:16] = uuid.uuid4().bytes  # new bytes: no duplicate short-cut
            data = bytes(base)
            digest = hashlib.sha256(data).hexdigest()
            seconds, answer = timed(lambda d=data, h=digest: http.put(
                "/api/store", params={"sha256": h}, content=pieces(d)))
            assert answer.status_code == 201, answer.text
            rows["up_broker"].append(seconds)
            key = f"bench-direct/{run_no}-{uuid.uuid4().hex}"
            seconds, _ = timed(lambda d=data, k=key: client.upload_fileobj(
                io.BytesIO(d), BUCKET, k))
            rows["up_direct"].append(seconds)
            seconds, sent = timed(lambda h=digest, d=data: read_via_broker(http, h, len(d)))
            rows["down_broker"].append(seconds)
            broker_bytes.append(sent)
            seconds, _ = timed(lambda k=key, d=data: read_direct(client, k, len(d)))
            rows["down_direct"].append(seconds)
            client.delete_object(Bucket=BUCKET, Key=key)
    finally:
        http.close()
        server.stop()
    mbps = {k: size_mb / statistics.median(v) for k, v in rows.items()}
    return {
        "size_mb": size_mb, "runs": runs, "prefix": prefix,
        "MB_per_s": {k: round(v, 1) for k, v in mbps.items()},
        "ratio_upload": round(mbps["up_broker"] / mbps["up_direct"], 3),
        "ratio_download": round(mbps["down_broker"] / mbps["down_direct"], 3),
        "broker_body_bytes_per_download": max(broker_bytes),
    }


def read_via_broker(http: httpx.Client, hexdigest: str, size: int) -> int:
    """Read the object in ranges as the viewer does: the first through the broker (one 307),
    the rest from the final URL. Returns the body bytes the broker itself sent."""
    first = http.get(f"/api/store/{hexdigest}", headers={"Range": f"bytes=0-{PIECE - 1}"})
    assert first.status_code == 307, first.status_code
    from_broker = len(first.content)
    final = first.headers["Location"]
    pool = urllib3.PoolManager()  # boto3's own HTTP library: compare the path, not clients
    for start in range(0, size, PIECE):
        stop = min(start + PIECE, size)
        got = pool.request("GET", final, headers={"Range": f"bytes={start}-{stop - 1}"})
        assert got.status == 206 and len(got.data) == stop - start
    pool.clear()
    return from_broker


def read_direct(client: Any, key: str, size: int) -> None:
    for start in range(0, size, PIECE):
        stop = min(start + PIECE, size)
        body = client.get_object(Bucket=BUCKET, Key=key, Range=f"bytes={start}-{stop - 1}")
        assert len(body["Body"].read()) == stop - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    result = run(args.size_mb, args.runs)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
