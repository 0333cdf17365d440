"""The cache wrapper: the pure planner alone, then counting, coalescing, read-ahead, LRU."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pytest

from nwbscope.sources import MemorySource
from nwbscope.sources.cache import (
    AdaptiveReadAhead,
    CachedSource,
    coalesce_ranges,
    plan_block_runs,
)

DATA = bytes(i % 251 for i in range(100_000))


class RecordingSource(MemorySource):
    """A memory source that remembers every batch of ranges asked of it."""

    def __init__(self, data: bytes = DATA) -> None:
        super().__init__(data, name="rec")
        self.batches: list[list[tuple[int, int]]] = []

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        self.batches.append(list(ranges))
        return super().read_ranges(ranges)


# ---- the planner, no I/O -----------------------------------------------------------------
def test_coalesce_ranges() -> None:
    assert coalesce_ranges([(10, 20), (0, 5), (20, 30), (40, 50)]) == [(0, 5), (10, 30), (40, 50)]
    assert coalesce_ranges([(0, 5), (8, 10)], max_gap=3) == [(0, 10)]
    assert coalesce_ranges([(0, 5), (9, 10)], max_gap=3) == [(0, 5), (9, 10)]
    assert coalesce_ranges([(0, 10), (2, 4), (5, 5)]) == [(0, 10)]
    assert coalesce_ranges([]) == []


def test_plan_skips_cached_and_merges_neighbours() -> None:
    assert plan_block_runs([1, 2, 3, 5, 6], cached={2}) == [(1, 2), (3, 4), (5, 7)]
    assert plan_block_runs([4, 3, 3], cached=set()) == [(3, 5)]
    assert plan_block_runs([1, 2], cached={1, 2}) == []


def test_plan_read_ahead_and_behind_stop_at_cache_and_ends() -> None:
    assert plan_block_runs([3], cached=set(), ahead=4, n_blocks=100) == [(3, 8)]
    assert plan_block_runs([3], cached={6}, ahead=4, n_blocks=100) == [(3, 6)]
    assert plan_block_runs([3], cached=set(), ahead=4, n_blocks=5) == [(3, 5)]
    assert plan_block_runs([3], cached=set(), behind=2) == [(1, 4)]
    assert plan_block_runs([3], cached={1}, behind=5) == [(2, 4)]
    assert plan_block_runs([1], cached=set(), behind=5) == [(0, 2)]


def test_adaptive_read_ahead_grows_near_and_resets_far() -> None:
    policy = AdaptiveReadAhead(block_size=1000, maximum=8000, near=5000, initial=1000)
    assert policy.on_miss(0, 10) == (0, 0)  # nothing known yet
    policy.fetched(0, 1000)
    assert policy.on_miss(1500, 1510) == (500, 1000)  # (behind, ahead)
    policy.fetched(1000, 3000)
    assert policy.on_miss(3000, 3010) == (1000, 2000)
    policy.fetched(3000, 6000)
    assert policy.on_miss(6000, 6010) == (2000, 4000)
    policy.fetched(6000, 11000)
    assert policy.on_miss(11000, 11010) == (4000, 8000)
    policy.fetched(11000, 20000)
    assert policy.on_miss(20000, 20010) == (4000, 8000)  # capped at the maximum
    policy.fetched(20000, 29000)
    assert policy.on_miss(15000, 15010) == (8000, 4000)  # just before: mostly backwards
    policy.fetched(7000, 15000)
    assert policy.on_miss(90000, 90010) == (500, 1000)  # far away: start over
    assert policy.size == 1000


# ---- the wrapper -------------------------------------------------------------------------
def test_hits_and_misses_and_never_twice() -> None:
    src = RecordingSource()
    cache = CachedSource(src, block_size=1000, readahead_max=0)
    assert cache.read_range(1500, 2500) == DATA[1500:2500]
    assert cache.stats.snapshot() == {
        "requests": 1, "bytes": 2000, "hits": 0, "misses": 2, "reads": 1}
    assert cache.read_range(1000, 3000) == DATA[1000:3000]
    assert cache.stats.requests == 1 and cache.stats.hits == 2
    assert cache.read_range(2900, 3100) == DATA[2900:3100]  # block 2 hit, block 3 miss
    assert src.batches[-1] == [(3000, 4000)]
    assert cache.stats.snapshot()["bytes"] == 3000


def test_probe_is_counted_once_and_serves_the_first_blocks() -> None:
    """The opening probe (read before the cache existed) is one request; its full blocks are
    then hits, and read-ahead goes on from it as from any fetch."""
    src = RecordingSource()
    cache = CachedSource(src, block_size=1000, readahead_max=4000, readahead_near=3000,
                         readahead_initial=1000)
    cache.add_probe(DATA[:2500])  # two whole blocks, and half a block not kept
    assert cache.stats.snapshot() == {
        "requests": 1, "bytes": 2500, "hits": 0, "misses": 0, "reads": 0}
    assert cache.read_range(0, 2000) == DATA[:2000] and src.batches == []
    assert cache.read_range(2000, 2100) == DATA[2000:2100]
    assert src.batches == [[(2000, 4000)]]  # block 2 again, read-ahead on from the probe
    assert (cache.stats.requests, cache.stats.hits, cache.stats.misses) == (2, 2, 1)


def test_probe_of_a_whole_small_file_keeps_its_short_last_block() -> None:
    src = RecordingSource(DATA[:1500])
    cache = CachedSource(src, block_size=1000)
    cache.add_probe(DATA[:1500])
    assert cache.read_range(0, 1500) == DATA[:1500] and src.batches == []
    assert cache.stats.requests == 1


def test_coalescing_counts_requests() -> None:
    src = RecordingSource()
    cache = CachedSource(src, block_size=1000, readahead_max=0)
    cache.read_range(3000, 3100)  # block 3 cached
    out = cache.read_ranges([(0, 10), (1500, 1600), (2000, 2100), (3000, 3010), (4500, 4600)])
    assert out == [DATA[0:10], DATA[1500:1600], DATA[2000:2100], DATA[3000:3010],
                   DATA[4500:4600]]
    assert src.batches[-1] == [(0, 3000), (4000, 5000)]  # blocks 0-2 in one run
    assert cache.stats.requests == 3


def test_read_ahead_grows_for_close_small_reads() -> None:
    src = RecordingSource()
    cache = CachedSource(src, block_size=1000, readahead_max=4000, readahead_near=3000,
                         readahead_initial=1000)
    for start in (0, 1000, 3000, 6000, 11000):
        assert cache.read_range(start, start + 100) == DATA[start : start + 100]
    assert src.batches == [
        [(0, 1000)], [(1000, 3000)], [(3000, 6000)], [(6000, 11000)], [(11000, 16000)]]
    cache.read_range(15_500, 15_600)  # inside the last read-ahead: no request
    assert cache.stats.requests == 5
    cache.read_range(60_000, 60_100)  # far: start over with the initial read-ahead
    assert src.batches[-1] == [(60_000, 62_000)]


def test_big_reads_get_no_read_ahead() -> None:
    src = RecordingSource()
    cache = CachedSource(src, block_size=1000, readahead_max=8000)
    cache.read_range(0, 10)
    cache.read_range(1000, 5000)
    assert src.batches[-1] == [(1000, 5000)]


def test_lru_eviction_respects_max_bytes() -> None:
    src = RecordingSource()
    cache = CachedSource(src, block_size=1000, cache_bytes=3000, readahead_max=0)
    for start in (0, 1000, 2000, 3000):
        cache.read_range(start, start + 10)
        assert cache.cached_bytes <= 3000
    assert cache.cached_bytes == 3000
    cache.read_range(1000, 1010)  # still cached: a hit, and now the most recent
    assert len(src.batches) == 4
    cache.read_range(4000, 4010)  # evicts block 2 (least recently used), not block 1
    cache.read_range(1000, 1010)
    assert len(src.batches) == 5
    cache.read_range(2000, 2010)
    assert src.batches[-1] == [(2000, 3000)]


def test_read_larger_than_the_cache() -> None:
    src = RecordingSource()
    cache = CachedSource(src, block_size=1000, cache_bytes=2000, readahead_max=0)
    assert cache.read_range(0, 10_000) == DATA[:10_000]
    assert cache.cached_bytes <= 2000


def test_end_of_file_is_short_and_remembered() -> None:
    cache = CachedSource(MemorySource(DATA[:2500]), block_size=1000)
    assert cache.read_range(2000, 3000) == DATA[2000:2500]
    assert cache.past_eof == 3000
    assert cache.read_range(2600, 2700) == b""


def test_export_and_preload_make_a_warm_reopen_free() -> None:
    first = CachedSource(RecordingSource(), block_size=1000, readahead_max=0)
    first.read_range(500, 2500)
    size, blocks = first.export_blocks()
    assert size == 1000 and sorted(blocks) == [0, 1, 2]
    src = RecordingSource()
    again = CachedSource(src, block_size=1000)
    again.preload(size, blocks)
    assert again.read_range(0, 3000) == DATA[:3000]
    assert src.batches == [] and again.stats.requests == 0 and again.stats.hits == 3
    with pytest.raises(ValueError):
        again.preload(4096, blocks)


def test_file_object() -> None:
    cache = CachedSource(MemorySource(DATA[:5000]), block_size=1000)
    f = cache.open()
    assert f.readable() and f.seekable()
    assert f.seek(100) == 100 and f.read(5) == DATA[100:105] and f.tell() == 105
    assert f.seek(-10, io.SEEK_END) == 4990 and f.read() == DATA[4990:5000]
    f.seek(10)
    assert f.seek(5, io.SEEK_CUR) == 15
    buf = bytearray(8)
    assert f.readinto(buf) == 8 and bytes(buf) == DATA[15:23]
    with pytest.raises(OSError):
        f.fileno()  # no descriptor: pyfive must not memory-map it
    assert not hasattr(f, "fs") and not hasattr(f, "path")
    f.close()
    with pytest.raises(ValueError):
        f.read(1)
