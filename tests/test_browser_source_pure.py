"""The parts of the browser source that need no browser: Content-Range parsing, the file stamp
check that guards kept metadata, and the kept-metadata blob. (The rest runs only in Pyodide and
is covered by the Playwright tests.)"""

from __future__ import annotations

import pytest

from nwbscope.sources.browser import (
    pack_metadata,
    total_from_content_range,
    unpack_metadata,
)
from nwbscope.sources.stamp import same_file


@pytest.mark.parametrize(
    ("header", "total"),
    [("bytes 0-99/1000", 1000), ("bytes */4096", 4096), ("bytes 0-99/*", None), (None, None),
     ("garbage", None)],
)
def test_total_from_content_range(header: str | None, total: int | None) -> None:
    assert total_from_content_range(header) == total


def stamp(size: int = 100, etag: str | None = '"a"', modified: str | None = None) -> dict:
    return {"size": size, "etag": etag, "last_modified": modified}


def test_same_file_needs_size_and_validator() -> None:
    assert same_file(stamp(), stamp())
    assert not same_file(stamp(), stamp(size=101))            # grew
    assert not same_file(stamp(), stamp(etag='"b"'))          # rewritten in place
    assert not same_file(stamp(etag=None), stamp(etag=None))  # nothing to validate with
    modified = "Sat, 28 Nov 2026 10:00:00 GMT"
    assert same_file(stamp(etag=None, modified=modified), stamp(etag=None, modified=modified))
    assert not same_file(stamp(etag=None, modified=modified),
                         stamp(etag=None, modified="Sun, 29 Nov 2026 10:00:00 GMT"))


def test_metadata_blob_round_trip_keeps_recent_blocks_within_limit() -> None:
    blocks = {0: b"a" * 10, 7: b"b" * 10, 3: b"c" * 10}  # LRU order: 3 used last
    blob = pack_metadata(stamp(), 10, blocks, limit=20)
    got_stamp, block_size, kept = unpack_metadata(blob)
    assert got_stamp == stamp() and block_size == 10
    assert kept == {3: b"c" * 10, 7: b"b" * 10}  # block 0, least recently used, left out


def test_metadata_blob_refuses_what_cannot_be_validated_or_is_damaged() -> None:
    assert pack_metadata(stamp(etag=None), 10, {0: b"x"}) is None
    blob = pack_metadata(stamp(), 10, {0: b"x" * 10})
    with pytest.raises(ValueError):
        unpack_metadata(blob[:-1])
    with pytest.raises(ValueError):
        unpack_metadata(b"\x01")
