"""The viewer on a file stored in S3 (SeaweedFS): one redirect, then every byte from the bucket.

A broker of its own (``nwbscope serve --store s3://...``, ``tests/s3_service.py``) serves the
site and redirects ``GET /api/store/<hex>`` to a presigned URL. The page opens the stored NWB by
the broker's URL; what is checked is what #13 promises: the tree shows, the broker sent no file
bytes (its answers are 307s with empty bodies), the bucket served the ranges, and a second
visit (a new presigned URL) finds the kept metadata under the same, signature-free key instead
of piling up a second entry.

The site is ``NWBSCOPE_TEST_SITE`` when set (a site built from this tree), else ``dist/site``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from viewer_helpers import goto, new_watched_page, tree_row

from tests.fixtures.nwb_files import write_rich
from tests.s3_service import s3_broker
from tests.services import NwbscopeServer, SeaweedFS, ServiceUnavailable

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("NWBSCOPE_TEST_SITE") or ROOT / "dist" / "site")
TOKEN = "s3-viewer-token-0123456789"
METADATA_KEYS = """() => caches.open('nwbscope-metadata-v1').then(c => c.keys())
  .then(k => k.map(r => r.url))"""


@pytest.fixture(scope="module")
def s3_server(s3: SeaweedFS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        NwbscopeServer]:
    try:
        server, _ = s3_broker(s3, tmp_path_factory.mktemp("s3-viewer"), site=SITE, token=TOKEN)
    except ServiceUnavailable as exc:
        pytest.skip(f"broker on S3 did not start: {exc}")
    yield server
    server.stop()


@pytest.fixture
def watched(browser) -> Iterator[tuple]:
    """A fresh context (empty caches) and every response it saw: (url, status, body bytes)."""
    ctx = browser.new_context()
    seen: list[tuple[str, int, int]] = []

    def finished(request) -> None:
        response = request.response()
        if response is not None:
            seen.append((request.url, response.status, request.sizes()["responseBodySize"]))

    ctx.on("requestfinished", finished)
    page = new_watched_page(ctx)
    yield page, seen
    ctx.close()


def test_viewer_reads_a_stored_file_from_the_bucket(s3_server, s3, watched, tmp_path) -> None:
    page, seen = watched
    path = write_rich(tmp_path / "rich.nwb")
    with httpx.Client(base_url=s3_server.url, timeout=60) as http:
        put = http.put("/api/store", params={"label": "rich.nwb"}, content=path.read_bytes(),
                       headers={"Authorization": f"Bearer {TOKEN}"})
    assert put.status_code == 201, put.text
    digest = put.json()["sha256"]
    url = f"{s3_server.url}/api/store/{digest}?label={quote('rich.nwb')}"
    site = s3_server.url + "/index.html"

    assert goto(page, site, url=url) == "ready", page.inner_text("body")[:500]
    assert tree_row(page, "/acquisition").is_visible()
    broker = [s for s in seen if s[0].startswith(f"{s3_server.url}/api/store/{digest}")]
    bucket = [s for s in seen if s[0].startswith(s3.endpoint_url)]
    assert broker and all(status == 307 for _, status, _ in broker), broker
    broker_bytes = sum(size for _, _, size in broker)
    bucket_bytes = sum(size for _, _, size in bucket)
    print(f"first visit: broker {len(broker)} responses / {broker_bytes} B, "
          f"bucket {len(bucket)} responses / {bucket_bytes} B")
    assert broker_bytes == 0
    assert bucket and all(status == 206 for _, status, _ in bucket)
    assert bucket_bytes > 0
    keys = page.evaluate(METADATA_KEYS)
    print(f"kept metadata keys: {keys}")
    assert len(keys) == 1 and "?" not in keys[0] and keys[0].endswith(digest), keys

    first = len(seen)
    assert goto(page, site, url=url) == "ready"  # a second visit: another presigned URL
    again = [s for s in seen[first:] if s[0].startswith(s3.endpoint_url)]
    print(f"second visit: bucket {len(again)} responses / {sum(s[2] for s in again)} B")
    assert page.evaluate(METADATA_KEYS) == keys  # found again, not piled up
    assert len(again) == 1  # the probe only: the tree came from the kept metadata
    assert page.page_errors == []
