"""S3-compatible object storage for tests: SeaweedFS, a bucket a browser may range-read, and an
nwbscope broker whose store is in that bucket.

SeaweedFS is the one ``weed server -s3`` of ``tests.services`` (free loopback ports, data in a
temporary folder, shared by every module of a test run). What this adds is what a deployment
must do too: the bucket's CORS lets any page read ranges of a presigned URL (after the broker's
cross-origin redirect the browser sends ``Origin: null``, so the rule allows any origin), and
exposes the headers the viewer reads (``Content-Range``, ``ETag`` ...).

Used by ``tests/test_store_s3_real.py``, ``playwright/test_store_s3.py`` and
``bench/store_s3.py``; a machine without ``weed`` raises ``ServiceUnavailable`` (a skip).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.services import NwbscopeServer, SeaweedFS, ServiceUnavailable, shared

BUCKET = "nwbscope-s3-real"
READ_CORS = {
    "CORSRules": [{
        "AllowedOrigins": ["*"],
        "AllowedMethods": ["GET", "HEAD"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["Content-Range", "Content-Length", "ETag", "Last-Modified",
                          "Accept-Ranges"],
        "MaxAgeSeconds": 3600,
    }]
}


def seaweedfs() -> SeaweedFS:
    """The test run's SeaweedFS, started on first use (ServiceUnavailable if it cannot)."""
    return shared("seaweedfs", SeaweedFS)


def readable_bucket(s3: SeaweedFS, bucket: str = BUCKET) -> str:
    """Make ``bucket`` (if needed) and set its CORS for the browser's range reads."""
    from botocore.exceptions import ClientError

    client = s3.client()
    try:
        client.create_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou",
                                                            "BucketAlreadyExists"):
            raise
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration=READ_CORS)
    return bucket


def store_url(s3: SeaweedFS, bucket: str, prefix: str) -> str:
    """The ``--store`` value for a broker keeping its objects under ``bucket/prefix``."""
    return f"s3://{bucket}/{prefix}?endpoint_url={s3.endpoint_url}"


def s3_broker(s3: SeaweedFS, workdir: Path, *, site: Path | None = None,
              token: str = "s3-test-token-0123456789", prefix: str | None = None,
              extra_args: list[str] | None = None) -> tuple[NwbscopeServer, str]:
    """A started ``nwbscope serve --store s3://...`` (a real process) and its prefix."""
    prefix = prefix or f"p-{uuid.uuid4().hex[:10]}"
    bucket = readable_bucket(s3)
    if site is None:
        site = workdir / "site"
        site.mkdir(parents=True, exist_ok=True)
        (site / "index.html").write_text("<!doctype html><title>nwbscope test</title>")
    server = NwbscopeServer(
        workdir, site=site, token=token, env=s3.env(),
        extra_args=["--store", store_url(s3, bucket, prefix), *(extra_args or [])],
    )
    return server.start(), prefix  # type: ignore[return-value]


def keys_under(s3: SeaweedFS, prefix: str, bucket: str = BUCKET) -> list[str]:
    """Every object key under ``prefix/`` (to check that nothing was left behind)."""
    client = s3.client()
    found: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                  Prefix=prefix + "/"):
        found += [o["Key"].removeprefix(prefix + "/") for o in page.get("Contents", [])]
    return sorted(found)


def open_uploads(s3: SeaweedFS, prefix: str, bucket: str = BUCKET) -> list[dict[str, Any]]:
    """Multipart uploads not completed nor aborted under ``prefix/`` (should be none)."""
    answer = s3.client().list_multipart_uploads(Bucket=bucket, Prefix=prefix + "/")
    return list(answer.get("Uploads", []))


@pytest.fixture(scope="module")
def s3() -> SeaweedFS:
    """The test run's SeaweedFS for a module's tests (skipped, with the reason, where it
    cannot start)."""
    try:
        return seaweedfs()
    except ServiceUnavailable as exc:
        pytest.skip(f"S3 store not tested: {exc}")

