"""The parts of opening a remote file that need no browser: the probe and how its answer is
read (``sources/probe.py``, which the page's MicroPython loads too), the file stamp check that
guards kept metadata, and the kept-metadata blob. (The rest runs only in Pyodide and is covered
by the Playwright tests.)"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from nwbscope.sources import probe
from nwbscope.sources.browser import pack_metadata, unpack_metadata
from nwbscope.sources.probe import content_range_total, read_answer, same_file
from tests import micropython

PROBE_PY = micropython.REPO / "web" / "py" / "nwbscope" / "sources" / "probe.py"


@pytest.mark.parametrize(
    ("header", "total"),
    [("bytes 0-99/1000", 1000), ("bytes */4096", 4096), ("bytes 0-99/*", None), (None, None),
     ("garbage", None), ("bytes  0-99/1000 ", 1000), ("items 0-9/10", None),
     ("bytes 0-x/10", None), ("bytes 5/10", None), ("bytes 0-9/10/2", None), ("x/100", None)],
)
def test_total_from_content_range(header: str | None, total: int | None) -> None:
    assert content_range_total(header) == total


def answer(status: int, **headers: str):
    names = {key.replace("_", "-").lower(): value for key, value in headers.items()}
    return read_answer(status, lambda name: names.get(name.lower()))


def test_the_probe_asks_for_the_first_64_kib() -> None:
    assert probe.fetch_init() == {"headers": {"Range": "bytes=0-65535"}}
    assert probe.range_header(10) == "bytes=0-9"


def test_reading_the_probe_answer() -> None:
    ranged = answer(206, content_range="bytes 0-65535/1000000", etag='"v1"')
    assert ranged == (probe.RANGED, 1_000_000,
                      {"size": 1_000_000, "etag": '"v1"', "last_modified": None})
    assert answer(206) == (probe.NO_SIZE, None, None)  # Content-Range not exposed (CORS)
    assert answer(416, content_range="bytes */0") == (probe.EMPTY, 0, None)
    assert answer(200, content_length="123") == (probe.WHOLE, 123, None)
    assert answer(200) == (probe.WHOLE, None, None)
    assert answer(404) == (probe.FAILED, None, None)


def test_handover_keeps_the_stamp() -> None:
    stamp = probe.make_stamp(100, '"a"', "Sat, 28 Nov 2026 10:00:00 GMT")
    record = json.loads(json.dumps(probe.handover("https://x/f.nwb", stamp)))
    assert record["final_url"] == "https://x/f.nwb"
    assert probe.handover_stamp(record) == stamp


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


def test_probe_module_stays_micropython_safe() -> None:
    """The page's MicroPython loads probe.py as it is: no imports, dataclasses, annotations or
    f-strings (some of them MicroPython lacks, and the page must not fail to start)."""
    tree = ast.parse(PROBE_PY.read_text())
    for node in ast.walk(tree):
        assert not isinstance(node, ast.Import | ast.ImportFrom), ast.dump(node)
        assert not isinstance(node, ast.JoinedStr | ast.ClassDef), ast.dump(node)
        if isinstance(node, ast.FunctionDef):
            assert node.returns is None and all(a.annotation is None for a in node.args.args)


@micropython.needs_micropython
def test_probe_module_runs_in_micropython(tmp_path: Path) -> None:
    """The very MicroPython the page runs gives what CPython gives above."""
    code = (
        "import probe, json\n"
        "h = {'Content-Range': 'bytes 0-65535/1000000', 'ETag': '\"v1\"'}\n"
        "print(json.dumps([probe.fetch_init(), probe.parse_content_range('bytes 0-99/1000'),"
        " probe.content_range_total('garbage'), probe.read_answer(206, h.get),"
        " probe.same_file(probe.make_stamp(1, 'a'), probe.make_stamp(1, 'a'))]))\n"
    )
    out = micropython.run({"probe.py": PROBE_PY}, code, tmp_path)
    got = json.loads(out.strip().splitlines()[-1])
    stamp = {"size": 1_000_000, "etag": '"v1"', "last_modified": None}
    assert got == [probe.fetch_init(), [0, 100, 1000], None, ["ranged", 1_000_000, stamp], True]
