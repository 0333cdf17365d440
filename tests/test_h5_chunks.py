"""Chunked reading in the pyfive engine: values as h5py reads them, the chunk index, the cache.

Every data set below is read with many selections through ``open_h5(engine="pyfive")`` and
compared with h5py on the same file (h5py's own selection where h5py accepts it, else numpy
on h5py's full read). The cache tests count what reaches the byte source and the decoder.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from nwbscope.errors import CorruptFileError, TruncatedFileError
from nwbscope.h5 import open_h5
from nwbscope.h5.chunk_cache import ChunkCache
from nwbscope.h5.chunk_io import ChunkIO, plan_runs, unshuffle_array
from nwbscope.h5.chunk_plan import axis_parts
from nwbscope.sources import CachedSource, MemorySource

RNG = np.random.default_rng(3)
SPECS = {  # name: (data or (shape, dtype), create_dataset options)
    "d1_edge": (np.arange(50, dtype="<i4"), {"chunks": (7,)}),
    "d2_gzip_shuffle": (RNG.integers(-900, 900, (100, 37)).astype("<i2"),
                        {"chunks": (16, 8), "compression": "gzip", "shuffle": True}),
    "d2_fletcher": (RNG.normal(size=(30, 25)), {"chunks": (10, 10), "fletcher32": True,
                                               "compression": "gzip", "shuffle": True}),
    "d2_big_endian": (RNG.normal(size=(40, 9)).astype(">f8"),
                      {"chunks": (6, 4), "compression": "gzip"}),
    "d3_uint8": (RNG.integers(0, 255, (9, 10, 11)).astype("u1"),
                 {"chunks": (4, 3, 5), "shuffle": True}),
    "d3_float32": (RNG.normal(size=(20, 6, 7)).astype("<f4"), {"chunks": (7, 4, 3)}),
    "many_chunks": (RNG.integers(0, 100, 6000).astype("<i8"), {"chunks": (1,)}),
}


def selections(shape: tuple[int, ...]) -> list[object]:
    """Slices, steps (also larger than a chunk, and negative), integers, index lists (also
    unsorted, repeated) and masks, scaled to ``shape``."""
    n = shape[0]
    if len(shape) == 1:
        return [(), slice(None), slice(3, n - 7), slice(5, n - 3, 3), slice(None, None, 10), 4,
                -1, slice(n - 8, 3, -2), [0, 5, 6, n - 1], [n // 2, 2, 2, n - 3],
                np.arange(n) % 3 == 0]
    m = shape[1]
    if len(shape) == 2:
        return [(), (slice(None), [0, m // 2, m - 1]), (slice(n // 4, n - 1), slice(1, m - 1)),
                (5, slice(None)), (slice(None), m - 2), (slice(0, n, 17), slice(None, None, 3)),
                (-1, -1), ([n - 2, 1, n - 2], slice(1, m)), (slice(None), slice(None, None, -3)),
                (Ellipsis, m // 2)]
    return [(), (0, slice(None), [1, 2]), (slice(1, 8), 2, slice(None)),
            (Ellipsis, slice(2, 6)), (slice(None, None, 4), slice(None, None, 5),
                                      slice(None, None, 6)), (1, 2, 3),
            (slice(None), [0, 5], slice(1, 6))]


def _write(path: Path) -> Path:
    with h5py.File(path, "w") as f:
        for name, (data, options) in SPECS.items():
            f.create_dataset(name, data=data, **options)
        partial = f.create_dataset("partial", shape=(30, 20), dtype="<i4", chunks=(8, 8),
                                   fillvalue=-7, compression="gzip")
        partial[0:8, 0:8] = 1
        partial[20:30, 8:20] = 2  # edge chunks; the other chunks are never written
        f.create_dataset("never_written", shape=(12, 5), dtype="<f4", chunks=(5, 5),
                         fillvalue=3.5)
        f.create_dataset("big", data=np.arange(300_000, dtype="<i4").reshape(3000, 100),
                         chunks=(1000, 100))  # 400 kB chunks: read under the block cache
    return path


@pytest.fixture(scope="module")
def chunk_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("chunks") / "chunks.h5")


def _expected(ds: h5py.Dataset, selection: object) -> np.ndarray:
    try:
        return np.asarray(ds[selection])
    except (TypeError, ValueError, IndexError):  # h5py refuses it: numpy on the full values
        return np.asarray(ds[()][selection])


@pytest.mark.parametrize("name", [*SPECS, "partial", "never_written", "big"])
def test_values_match_h5py(chunk_file: Path, name: str) -> None:
    with h5py.File(chunk_file, "r") as ref, open_h5(chunk_file, engine="pyfive") as f:
        expected_ds, ds = ref[name], f[name]
        for selection in selections(expected_ds.shape):
            want = _expected(expected_ds, selection)
            got = ds[selection]
            assert np.asarray(got).shape == want.shape, (name, selection)
            assert np.asarray(got).dtype == want.dtype, (name, selection)
            np.testing.assert_array_equal(got, want, err_msg=f"{name}[{selection!r}]")


def test_memory_source_reads_the_same(chunk_file: Path) -> None:
    data = chunk_file.read_bytes()
    with h5py.File(chunk_file, "r") as ref, open_h5(data, engine="pyfive") as f:
        for name in ("d2_gzip_shuffle", "partial", "big"):
            np.testing.assert_array_equal(f[name][()], ref[name][()])


def test_user_block_offsets_big_chunks(tmp_path: Path) -> None:
    path = tmp_path / "ub.h5"
    values = np.arange(400_000, dtype="<i4").reshape(4000, 100)
    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset("x", data=values, chunks=(1000, 100))
    with open_h5(path, engine="pyfive") as f:
        np.testing.assert_array_equal(f["x"][500:3500:7, 3:90], values[500:3500:7, 3:90])


def test_a_repeated_read_requests_and_decodes_nothing(chunk_file: Path) -> None:
    with h5py.File(chunk_file, "r") as ref, open_h5(chunk_file, engine="pyfive") as f:
        ds = f["d2_gzip_shuffle"]
        first = ds[10:60, 3:30]
        requests, decoded = f.stats.requests, f.chunk_cache.stats.decoded
        assert decoded == 4 * 4  # chunk rows 0-3 x chunk columns 0-3
        first[...] = 0  # the caller's array is its own: the cache must not change
        again = ds[10:60, 3:30]
        assert f.stats.requests == requests
        assert f.chunk_cache.stats.decoded == decoded
        assert f.chunk_cache.stats.hits >= 16
        np.testing.assert_array_equal(again, ref["d2_gzip_shuffle"][10:60, 3:30])


def test_cache_budget_and_lru_eviction(chunk_file: Path) -> None:
    chunk = 1000 * 100 * 4
    with open_h5(chunk_file, engine="pyfive", chunk_cache_bytes=2 * chunk + 10) as f:
        ds, cache = f["big"], f.chunk_cache
        assert cache.budget == 2 * chunk + 10
        ds[0:10], ds[1000:1010], ds[2000:2010]  # three chunks: the first is dropped
        assert len(cache) == 2 and cache.cached_bytes <= cache.budget
        assert cache.stats.evicted == 1
        decoded = cache.stats.decoded
        ds[2000:2001]  # still cached
        assert cache.stats.decoded == decoded
        ds[0:1]  # evicted: read and decoded again
        assert cache.stats.decoded == decoded + 1
        cache.budget = 0  # turning it off drops everything and keeps nothing new
        assert len(cache) == 0
        ds[0:1]
        assert len(cache) == 0 and cache.stats.decoded == decoded + 2


def test_nwbscope_open_passes_the_budget(chunk_file: Path) -> None:
    import nwbscope

    with nwbscope.open(chunk_file, engine="pyfive", chunk_cache_bytes=12345) as f:
        assert f.h5.chunk_cache.budget == 12345


def test_chunk_cache_unit() -> None:
    cache = ChunkCache(250)
    for address in (1, 2, 3):
        cache.put(address, np.zeros(100, dtype="u1"))
    assert 1 not in cache and 2 in cache and 3 in cache  # least recently used went first
    assert cache.get(2) is not None  # 2 is now the most recent
    cache.put(4, np.zeros(100, dtype="u1"))
    assert 3 not in cache and 2 in cache
    cache.put(5, np.zeros(300, dtype="u1"))  # larger than the budget: not kept
    assert 5 not in cache and len(cache) == 2
    assert not cache.get(2).flags.writeable
    assert cache.stats.hits == 2 and cache.stats.evicted == 2
    with pytest.raises(ValueError):
        ChunkCache(-1)


def test_chunk_index_reads_only_the_nodes_a_read_needs(chunk_file: Path) -> None:
    with h5py.File(chunk_file, "r") as ref:
        written = ref["many_chunks"].id.get_num_chunks()
    with open_h5(chunk_file, engine="pyfive") as f:
        ds = f["many_chunks"]
        assert ds[4321] == ds[4321:4322][0]
        index = ds._handle.reader.chunk_index
        assert not index.complete and index.nodes_read <= 4
        assert index.load_all() == written == 6000
        assert index.complete
        requests = f.stats.requests
        np.testing.assert_array_equal(ds[::97], SPECS["many_chunks"][0][::97])
        assert f.stats.requests > requests  # chunks, but no index node, were read


def test_big_runs_bypass_the_block_cache_and_are_counted(chunk_file: Path) -> None:
    with open_h5(chunk_file, engine="pyfive") as f:
        ds = f["big"]
        ds.shape  # noqa: B018 - the header is read first
        blocks, fetched = f.io.cached_bytes, f.stats.bytes
        ds[0:3000]
        assert f.stats.bytes - fetched >= 3 * 400_000
        assert f.io.cached_bytes - blocks < 400_000


def test_axis_parts_cover_each_index_once() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        n, chunk = int(rng.integers(1, 60)), int(rng.integers(1, 9))
        lo = int(rng.integers(0, n))
        hi = int(rng.integers(lo + 1, n + 1))
        if rng.random() < 0.5:
            step = int(rng.choice([1, 2, 3, 7, 11, -1, -2, -5]))
            item = slice(None, None, step)
            wanted = np.arange(lo, hi)[item]
        else:
            wanted = rng.integers(lo, hi, size=int(rng.integers(1, 10)))
            item = wanted - lo
        parts, length = axis_parts(item, lo, hi, chunk)
        got = np.full(length, -1)
        for p in parts:
            got[p.out] = p.chunk * chunk + np.arange(chunk)[p.src]
        np.testing.assert_array_equal(got, wanted)


def test_plan_runs_merge_neighbours_only() -> None:
    runs = plan_runs([(100, 200), (0, 50), (60, 90), (1000, 1100)], max_gap=10, max_run=150)
    assert [(a, b) for a, b, _ in runs] == [(0, 90), (100, 200), (1000, 1100)]
    assert [m for _, _, m in runs] == [[1, 2], [0], [3]]


def test_reads_are_split_into_bounded_batches() -> None:
    from nwbscope.h5.pyfive_read import BATCH_BYTES, _batches

    half = BATCH_BYTES // 2
    todo = [((), address, size, 0) for address, size in
            enumerate([half, half, 1, 3 * BATCH_BYTES, 5, 6])]
    assert [[item[1] for item in b] for b in _batches(todo)] == [[0, 1], [2], [3], [4, 5]]
    assert _batches([]) == []


def test_truncated_and_damaged_chunks() -> None:
    io = ChunkIO(CachedSource(MemorySource(b"x" * 1000)))
    with pytest.raises(TruncatedFileError):
        io.read([(900, 1100)])
    planes = np.arange(10, dtype="<i4").view("u1").reshape(-1, 4).T.tobytes()
    assert unshuffle_array(planes, 4).view("<i4").tolist() == list(range(10))


def test_damaged_gzip_and_checksum_say_so(tmp_path: Path) -> None:
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("z", data=np.arange(64, dtype="<i4"), chunks=(64,), compression="gzip")
        f.create_dataset("f", data=np.arange(64, dtype="<i4"), chunks=(64,), fletcher32=True)
    with h5py.File(path, "r") as f:
        spots = {n: f[n].id.get_chunk_info(0) for n in ("z", "f")}
    data = bytearray(path.read_bytes())
    z, fl = spots["z"], spots["f"]
    data[z.byte_offset : z.byte_offset + z.size] = b"\x13" * z.size  # no zlib header
    data[fl.byte_offset + 3] ^= 0xFF
    short = bytearray(data)  # a whole zlib stream, but of too few bytes
    packed = zlib.compress(b"short")
    short[z.byte_offset : z.byte_offset + len(packed)] = packed
    with open_h5(bytes(data), engine="pyfive") as f:
        with pytest.raises(CorruptFileError, match="gzip"):
            f["z"][()]
    with open_h5(bytes(short), engine="pyfive") as f:
        with pytest.raises(CorruptFileError, match="too few bytes"):
            f["z"][()]
        with pytest.raises(CorruptFileError, match="Fletcher-32"):
            f["f"][()]
