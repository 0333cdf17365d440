"""Byte sources: one suite every source passes, then what is particular to HTTP.

The HTTP tests run against a real Range server on 127.0.0.1 (``tests.range_server``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from nwbscope.errors import FetchError, NoRangeSupportError, SourceClosedError, SourceError
from nwbscope.h5 import open_h5
from nwbscope.sources import ByteSource, MemorySource, open_source
from nwbscope.sources.http import HttpSource, parse_content_range
from nwbscope.sources.local import LocalFileSource
from tests.fixtures import odd_h5
from tests.range_server import RangeServer, serve

DATA = bytes(range(256)) * 40 + b"tail"  # 10244 bytes, every offset recognisable


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("served")
    (root / "data.bin").write_bytes(DATA)
    odd_h5.make_layouts(root / "layouts.h5")
    return root


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[RangeServer]:
    with serve(folder) as state:
        yield state


@pytest.fixture(scope="module")
def plain_server(folder: Path) -> Iterator[RangeServer]:
    with serve(folder, ranges=False) as state:
        yield state


@pytest.fixture(params=["memory", "local", "http", "http_no_range"])
def source(request: pytest.FixtureRequest, folder: Path) -> Iterator[ByteSource]:
    kind = request.param
    if kind == "memory":
        made: ByteSource = MemorySource(DATA, name="data.bin")
    elif kind == "local":
        made = LocalFileSource(folder / "data.bin")
    else:
        state = request.getfixturevalue("server" if kind == "http" else "plain_server")
        made = HttpSource(state.url("data.bin"))
    yield made
    made.close()


# ---- the suite every source passes -------------------------------------------------------
def test_is_a_byte_source(source: ByteSource) -> None:
    assert isinstance(source, ByteSource)
    assert source.name == "data.bin"


def test_size(source: ByteSource) -> None:
    assert source.size == len(DATA)


def test_read_range(source: ByteSource) -> None:
    assert source.read_range(0, 8) == DATA[:8]
    assert source.read_range(1000, 1300) == DATA[1000:1300]
    assert source.read_range(5, 5) == b""


def test_short_only_at_end(source: ByteSource) -> None:
    assert source.read_range(len(DATA) - 3, len(DATA) + 100) == b"ail"
    assert source.read_range(len(DATA) + 10, len(DATA) + 20) == b""


def test_read_ranges(source: ByteSource) -> None:
    assert source.read_ranges([(10, 20), (0, 4), (10240, 10244)]) == [
        DATA[10:20], DATA[:4], b"tail"]


def test_closed(source: ByteSource) -> None:
    source.close()
    with pytest.raises(SourceClosedError):
        source.read_range(0, 1)


# ---- HTTP --------------------------------------------------------------------------------
def test_content_range_parsing() -> None:
    assert parse_content_range("bytes 0-99/1000") == (0, 100, 1000)
    assert parse_content_range("bytes */512") == (None, None, 512)
    assert parse_content_range("bytes 5-9/*") == (5, 10, None)
    assert parse_content_range(None) == (None, None, None)


def test_size_comes_from_the_first_ranged_read(server: RangeServer) -> None:
    source = HttpSource(server.url("data.bin"))
    before = len(server.log)
    assert source.read_range(100, 164) == DATA[100:164]
    assert source.size == len(DATA)  # no second request for the size
    entries = server.log[before:]
    assert [(e[0], e[2], e[3]) for e in entries] == [("GET", "bytes=100-163", 206)]


def test_every_request_is_ranged(server: RangeServer, folder: Path) -> None:
    before = len(server.log)
    with open_h5(server.url("layouts.h5"), engine="pyfive") as f:
        np.testing.assert_array_equal(f["gzip_shuffle"][:, 3], odd_h5.BIG[:, 3])
        requests = f.stats.requests
    entries = server.log[before:]
    assert len(entries) == requests
    assert all(method == "GET" and rng and status == 206 for method, _, rng, status, _ in entries)


def test_short_answers_are_completed(folder: Path) -> None:
    with serve(folder, max_range=1000) as capped:
        source = HttpSource(capped.url("data.bin"))
        assert source.read_range(100, 2600) == DATA[100:2600]
        assert [e[2] for e in capped.log] == ["bytes=100-2599", "bytes=1100-2599",
                                              "bytes=2100-2599"]
        assert source.etag == '"v1"'


def test_redirect_followed_once_then_final_url(server: RangeServer) -> None:
    source = HttpSource(server.url("redirect/data.bin"))
    before = len(server.log)
    assert source.read_range(0, 4) == DATA[:4]
    assert source.read_range(4, 8) == DATA[4:8]
    paths = [(e[1], e[3]) for e in server.log[before:]]
    assert paths == [("/redirect/data.bin", 302), ("/data.bin", 206), ("/data.bin", 206)]
    assert source.final_url == server.url("data.bin")


def test_missing_file_is_fetch_error(server: RangeServer) -> None:
    with pytest.raises(FetchError, match="HTTP 404") as info:
        HttpSource(server.url("nothing.nwb")).read_range(0, 10)
    assert info.value.status == 404


def test_unreachable_server_is_source_error() -> None:
    source = HttpSource("http://127.0.0.1:9/none.nwb", timeout=5)
    with pytest.raises(SourceError, match="Could not reach"):
        source.read_range(0, 10)


def test_no_range_support_small_file_read_whole(plain_server: RangeServer) -> None:
    source = HttpSource(plain_server.url("data.bin"))
    before = len(plain_server.log)
    assert source.read_range(10, 20) == DATA[10:20]
    assert source.read_range(5000, 5010) == DATA[5000:5010]
    assert source.size == len(DATA)
    assert len(plain_server.log) - before == 1  # read whole once, then served from memory


def test_no_range_support_big_file_refused(plain_server: RangeServer) -> None:
    source = HttpSource(plain_server.url("data.bin"), whole_file_limit=1000)
    with pytest.raises(NoRangeSupportError, match="does not support HTTP Range") as info:
        source.read_range(0, 10)
    assert info.value.size == len(DATA) and info.value.limit == 1000


def test_open_source_dispatch(folder: Path, server: RangeServer) -> None:
    for target in (folder / "data.bin", str(folder / "data.bin")):
        local = open_source(target)
        assert isinstance(local, LocalFileSource)
        local.close()
    assert isinstance(open_source(server.url("data.bin")), HttpSource)
    assert isinstance(open_source(b"abc"), MemorySource)
    mem = MemorySource(b"x")
    assert open_source(mem) is mem
    with pytest.raises(TypeError):
        open_source(42)
    with pytest.raises(SourceError):
        open_source(folder / "missing.bin")
