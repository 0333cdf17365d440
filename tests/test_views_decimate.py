"""``views.data.decimate``: exact per-pixel min/max, progressive reading, bounded output and
I/O, on both engines.

The reference reads the whole dataset with h5py itself and bins it with a plain loop over
the pixel columns (column k is ``[start + k*dt, start + (k+1)*dt)``, the documented rule).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest

from nwbscope import open as open_file
from nwbscope.errors import ParameterError
from nwbscope.views.data.decimate import (
    BLOCK_BYTES,
    decimate,
    iter_decimate,
    plan_steps,
)
from nwbscope.views.data.series import SeriesTime, read_series_time
from nwbscope.views.window import TimeWindow
from tests.fixtures import view_series_files as vf


@pytest.fixture(scope="module")
def files(nwb_dir: Path) -> tuple[Path, Path]:
    return vf.ensure_files(nwb_dir)


def _where(name: str, files: tuple[Path, Path]) -> tuple[Path, str]:
    if name in vf.EPHYS:
        return files[0], vf.EPHYS[name]["path"]
    return files[1], vf.ODD[name]["path"]


def _stored(path: Path, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """times, data (rows x channels), per-channel scale and offset, read with h5py."""
    with h5py.File(path, "r") as raw:
        group = raw[where]
        data = group["data"][:]
        if "timestamps" in group:
            times = group["timestamps"][:]
        else:
            start = float(np.asarray(group["starting_time"][()]).reshape(-1)[0])
            rate = float(group["starting_time"].attrs["rate"])
            times = start + np.arange(data.shape[0], dtype=np.float64) / rate
        data = data.reshape(data.shape[0], -1)
        scale = np.full(data.shape[1], float(group["data"].attrs.get("conversion", 1.0)))
        if "channel_conversion" in group:
            scale = scale * group["channel_conversion"][:].astype(np.float64)
        offset = float(group["data"].attrs.get("offset", 0.0))
    n = min(times.size, data.shape[0])
    return times[:n], data[:n], scale, offset


def _reference(stored, window: TimeWindow, channels, median: bool = False,
               rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-column min and max by brute force (NaN where a column has no sample); ``rows``
    limits the samples to a boolean mask (what a partial result has read)."""
    times, data, scale, offset = stored
    chans = np.arange(data.shape[1]) if channels is None else np.asarray(channels)
    values = data[:, chans].astype(np.float64) * scale[chans] + offset
    if median:
        values = values - np.median(values, axis=1, keepdims=True)
    width = window.width_px
    edges = window.start + np.arange(width + 1) * (window.duration / width)
    edges[-1] = window.end
    lo = np.full((chans.size, width), np.nan)
    hi = np.full((chans.size, width), np.nan)
    for k in range(width):
        mask = (times >= edges[k]) & (times < edges[k + 1])
        if rows is not None:
            mask &= rows
        if mask.any():
            lo[:, k] = values[mask].min(axis=0)
            hi[:, k] = values[mask].max(axis=0)
    return lo.astype(np.float32), hi.astype(np.float32)


def _window(times: np.ndarray, zoom: str, width: int) -> TimeWindow:
    span = times[-1] - times[0]
    if zoom == "whole":
        return TimeWindow(float(times[0]), float(times[-1] + 1e-6), width)
    if zoom == "tenth":
        a = times[0] + 0.43 * span
        return TimeWindow(float(a), float(a + span / 10), width)
    rate = (times.size - 1) / span
    a = times[0] + 0.61 * span
    return TimeWindow(float(a), float(a + 1.5 * width / rate), width)


CASES = [  # name, zoom, width, channels, median
    ("small_chunks", "whole", 37, None, False),  # a gzip chunk (1000 rows) < a column
    ("small_chunks", "tenth", 200, [6, 1, 3], False),  # a chunk spans many columns
    ("small_chunks", "raw", 300, [7, 0], False),
    ("small_chunks", "raw", 300, [7, 0, 3], True),
    ("wide_chunks", "whole", 150, None, False),
    ("wide_chunks", "tenth", 97, [63, 0, 31, 32, 5], False),
    ("wide_chunks", "tenth", 97, [63, 0, 31, 32, 5], True),
    ("wide_chunks", "raw", 1200, [10, 12], False),
    ("contiguous", "whole", 64, [15, 3, 8], False),  # conversion, offset, channel factors
    ("contiguous", "tenth", 250, None, True),
    ("contiguous", "raw", 2000, None, False),
    ("converted", "whole", 80, None, False),  # a negative channel factor, odd chunks
    ("converted", "tenth", 33, [2, 5, 0], False),
    ("irregular_2d", "whole", 120, [2, 0], False),  # timestamps, chunked
    ("irregular_2d", "tenth", 50, None, True),
    ("irregular", "whole", 500, None, False),  # 1-D, a pause leaves columns empty
]


@pytest.mark.parametrize(("name", "zoom", "width", "channels", "median"), CASES)
def test_minmax_equals_brute_force(files, engine: str, name: str, zoom: str, width: int,
                                   channels, median: bool) -> None:
    path, where = _where(name, files)
    stored = _stored(path, where)
    window = _window(stored[0], zoom, width)
    with open_file(path, engine=engine) as f:
        st = read_series_time(f[where])
        block = decimate(st, window, channels, reference="median" if median else "none",
                         block_bytes=40_000)
    n_chan = stored[1].shape[1] if channels is None else len(channels)
    assert block.complete and block.lo.dtype == np.float32 and block.lo.shape[0] == n_chan
    assert block.channels == tuple(range(n_chan) if channels is None else channels)
    if zoom == "raw":
        times = stored[0]
        inside = np.flatnonzero((times >= window.start) & (times < window.end))
        a, b = max(0, inside[0] - 1), min(times.size, inside[-1] + 2)
        assert block.mode == "raw" and block.index_range == (inside[0], inside[-1] + 1)
        every = np.ones(times.size, dtype=bool)
        chans = np.arange(n_chan) if channels is None else np.asarray(channels)
        values = stored[1][:, chans].astype(np.float64) * stored[2][chans] + stored[3]
        if median:
            values = values - np.median(values, axis=1, keepdims=True)
        np.testing.assert_array_equal(block.times, times[a:b])
        np.testing.assert_array_equal(block.lo, values[a:b].T.astype(np.float32))
        assert block.hi is block.lo and every.any()
        return
    lo, hi = _reference(stored, window, channels, median)
    assert block.mode == "minmax" and block.times.shape == (width,)
    np.testing.assert_array_equal(block.lo, lo)
    np.testing.assert_array_equal(block.hi, hi)
    if name == "irregular":
        assert np.isnan(block.lo).any()  # the pause: columns with no sample stay empty


def test_samples_on_column_edges(files, engine: str) -> None:
    """Three samples per column, column edges exactly on sample times (1024 Hz, and the
    window edges on timestamps): each edge sample belongs to the column it opens."""
    spec = vf.ODD["dyadic"]
    start = spec["start"] + 64 / spec["rate"]
    window = TimeWindow(start, start + 3 * 200 / spec["rate"], 200)
    stamps = vf.irregular_times("irregular_2d")
    uneven = TimeWindow(float(stamps[100]), float(stamps[400]), 100)
    for name, win in (("dyadic", window), ("irregular_2d", uneven)):
        path, where = _where(name, files)
        stored = _stored(path, where)
        with open_file(path, engine=engine) as f:
            block = decimate(read_series_time(f[where]), win, [2, 0])
        lo, hi = _reference(stored, win, [2, 0])
        assert block.mode == "minmax"
        np.testing.assert_array_equal(block.lo, lo)
        np.testing.assert_array_equal(block.hi, hi)
    edges = start + np.arange(201) * (3 / spec["rate"])
    assert np.isin(edges, _stored(*_where("dyadic", files))[0]).all()  # edges on samples


def test_block_size_does_not_change_the_result(files, engine: str) -> None:
    path, where = _where("small_chunks", files)
    window = _window(_stored(path, where)[0], "tenth", 120)
    with open_file(path, engine=engine) as f:
        st = read_series_time(f[where])
        big = decimate(st, window, [0, 5])
        small = decimate(st, window, [0, 5], block_bytes=1)
    np.testing.assert_array_equal(big.lo, small.lo)
    np.testing.assert_array_equal(big.hi, small.hi)


def test_progressive_blocks(files, engine: str) -> None:
    """Coarse first; each partial block is exact for the rows it has read; the last one is
    the one-shot result; stopping early reads less."""
    path, where = _where("small_chunks", files)
    stored = _stored(path, where)
    window = _window(stored[0], "whole", 90)
    with open_file(path, engine=engine) as f:
        st = read_series_time(f[where])
        blocks = list(iter_decimate(st, window, [3, 4], block_bytes=8_000,
                                    batch_bytes=30_000))
        whole = decimate(st, window, [3, 4])
    # a partial block after each coarse pass (3) and after 30 kB, 60 kB, 120 kB, ... read
    total = sum(b - a for a, b in blocks[-1].rows_read) * 2 * st.dtype.itemsize
    doublings = int(np.log2(max(1, total / 30_000))) + 1
    assert 4 <= len(blocks) <= 3 + doublings + 1 and blocks[-1].complete
    assert not any(b.complete for b in blocks[:-1])
    np.testing.assert_array_equal(blocks[-1].lo, whole.lo)
    np.testing.assert_array_equal(blocks[-1].hi, whole.hi)
    first = blocks[0]
    i0, i1 = first.index_range
    assert first.fraction_read <= 0.2
    assert first.rows_read[0][0] == i0 and first.rows_read[-1][1] >= i0 + 0.75 * (i1 - i0)
    fractions = [b.fraction_read for b in blocks]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    for block in blocks[:-1:3]:
        rows = np.zeros(stored[0].size, dtype=bool)
        for a, b in block.rows_read:
            rows[a:b] = True
        lo, hi = _reference(stored, window, [3, 4], rows=rows)
        np.testing.assert_array_equal(block.lo, lo)
        np.testing.assert_array_equal(block.hi, hi)
        assert np.isnan(block.lo).any()  # columns not read yet are empty, not guessed


def test_cancelling_reads_less(files, engine: str) -> None:
    path, where = _where("wide_chunks", files)
    window = _window(_stored(path, where)[0], "whole", 100)
    with open_file(path, engine=engine, cache_bytes=1 << 20) as f:
        st = read_series_time(f[where])
        before = f.stats["bytes"]
        stream = iter_decimate(st, window, block_bytes=1, batch_bytes=1)
        next(stream)
        stream.close()
        partial = f.stats["bytes"] - before
    assert partial < 0.3 * st.data.size * 2


@pytest.mark.parametrize("width", [1, 3, 50, 333])
def test_output_is_bounded(files, engine: str, width: int) -> None:
    path, where = _where("small_chunks", files)
    times = _stored(path, where)[0]
    rng = np.random.default_rng(width)
    with open_file(path, engine=engine) as f:
        st = read_series_time(f[where])
        for _ in range(6):
            a, b = np.sort(rng.uniform(times[0] - 0.2, times[-1] + 0.2, 2))
            block = decimate(st, TimeWindow(float(a), float(b) + 1e-4, width), [1])
            assert block.lo.shape[1] <= 2 * width + 2 and block.n_points <= 2 * width + 2
            x, y = block.polyline(0)
            assert x.size == y.size == block.n_points


@pytest.mark.parametrize(("lo_row", "hi_row"), [(10_500, 11_500), (6_100, 14_900)])
def test_reads_only_the_chunks_needed(files, engine: str, lo_row: int, hi_row: int) -> None:
    spec = vf.EPHYS["wide_chunks"]
    rows, cols = spec["chunks"]
    chunk_bytes = rows * cols * 2
    needed = (hi_row - 1) // rows - lo_row // rows + 1
    window = TimeWindow(lo_row / spec["rate"], hi_row / spec["rate"], 100)
    with open_file(files[0], engine=engine, block_size=4096, readahead_max=4096) as f:
        st = read_series_time(f[spec["path"]])
        before = f.stats["bytes"]
        block = decimate(st, window, [0, 40])
        fetched = f.stats["bytes"] - before
    assert block.mode == "minmax"
    assert needed * chunk_bytes <= fetched <= needed * chunk_bytes + 64 * 1024, fetched


def test_empty_window_and_bad_parameters(files, engine: str) -> None:
    path, where = _where("small_chunks", files)
    with open_file(path, engine=engine) as f:
        st = read_series_time(f[where])
        block = decimate(st, TimeWindow(-10.0, -5.0, 100))
        assert block.index_range == (0, 0) and block.mode == "raw"
        assert any("no samples" in w for w in block.warnings)
        with pytest.raises(ParameterError):
            decimate(st, TimeWindow(0.0, 1.0), [99])
        with pytest.raises(ParameterError):
            decimate(st, TimeWindow(0.0, 1.0), reference="mean")  # type: ignore[arg-type]


def test_plan_for_ten_minutes_of_64_channels_is_bounded() -> None:
    n = 10 * 60 * 30_000
    for chunks in (None, (30_000, 64), (1_000, 4)):
        st = _fake_series(n, chunks, data=None)
        steps = plan_steps(st, 1234, n - 99, row_bytes=64 * 2)
        assert steps[0][0] == 1234 and steps[-1][1] == n - 99
        assert all(b0 == a1 for (_, b0), (a1, _) in zip(steps, steps[1:], strict=False))
        sizes = np.array([b - a for a, b in steps])
        if chunks is None:
            assert sizes.max() * 64 * 2 <= BLOCK_BYTES
        else:  # whole chunks, as many as fit (at least one)
            assert all(b % chunks[0] == 0 for _, b in steps[:-1])
            assert sizes.max() * 64 * 2 <= max(BLOCK_BYTES, chunks[0] * 64 * 2)


class _FakeData:
    """A virtual int16 dataset: zeros with one spike per channel; records the reads."""

    def __init__(self, n: int, spikes: dict[int, int]) -> None:
        self.shape, self.dtype, self.spikes, self.reads = (n, 64), np.dtype("i2"), spikes, []

    def __getitem__(self, sel):
        rows, cols = sel
        self.reads.append((rows.start, rows.stop, cols.start, cols.stop))
        out = np.zeros((rows.stop - rows.start, cols.stop - cols.start), dtype=self.dtype)
        for row, col in self.spikes.items():
            if rows.start <= row < rows.stop and cols.start <= col < cols.stop:
                out[row - rows.start, col - cols.start] = 30_000
        return out


def _fake_series(n: int, chunks, data) -> SeriesTime:
    return SeriesTime(path="/fake", kind="rate", n_samples=n, start=0.0,
                      stop=(n - 1) / 30_000, rate=30_000.0, shape=(n, 64),
                      dtype=np.dtype("i2"), chunks=chunks, conversion=1.0, offset=0.0,
                      channel_conversion=None, unit="V", warnings=(), data=data)


def test_long_window_streams_in_bounded_memory() -> None:
    """A minute of 64 channels at 30 kHz (230 MB of int16) through a virtual dataset."""
    n = 60 * 30_000
    spikes = {123_457: 5, 1_700_001: 60}
    data = _FakeData(n, spikes)
    st = _fake_series(n, None, data)
    window = TimeWindow(0.0, 60.0, 600)
    tracemalloc.start()
    try:
        block = decimate(st, window)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40e6, peak
    assert max((b - a) * (d - c) * 2 for a, b, c, d in data.reads) <= BLOCK_BYTES
    assert sum(b - a for a, b, _, _ in data.reads) == n  # every row once
    for row, col in spikes.items():
        column = int(row / 30_000 / (60.0 / 600))
        assert block.hi[col, column] == 30_000
        assert np.count_nonzero(block.hi[col]) == 1
