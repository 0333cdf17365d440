"""``views.data.spatial``: SpatialSeries paths and the cursor position, against the values
the fixture wrote (``position_xy``, ``linear_position`` and their times)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nwbscope import open as open_file
from nwbscope.errors import ParameterError, ViewError
from nwbscope.views.data.series import read_series_time
from nwbscope.views.data.spatial import (
    position_at,
    reference_frame,
    spatial_dims,
    spatial_track,
)
from nwbscope.views.window import TimeWindow
from tests.fixtures import view_series_files as vf

POS = vf.EPHYS["position"]


@pytest.fixture(scope="module")
def files(nwb_dir: Path) -> tuple[Path, Path]:
    return vf.ensure_files(nwb_dir)


def _xy() -> tuple[np.ndarray, np.ndarray]:
    xy = vf.position_xy()
    return POS["start"] + np.arange(xy.shape[0]) / POS["rate"], xy


def _inside(times: np.ndarray, window: TimeWindow) -> np.ndarray:
    return np.flatnonzero((times >= window.start) & (times < window.end))


def test_every_sample_when_few(files, engine: str) -> None:
    times, xy = _xy()
    window = TimeWindow(10.0, 20.0, 400)
    rows = _inside(times, window)
    with open_file(files[0], engine=engine) as f:
        st = read_series_time(f[POS["path"]])
        track = spatial_track(st, window)
        assert reference_frame(f[POS["path"]]) == POS["reference_frame"]
    assert (track.step, track.dims, track.unit) == (1, ("x", "y"), "m")
    np.testing.assert_allclose(track.times, times[rows], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(track.values, xy[rows])


@pytest.mark.parametrize("limit", [7, 100, 999])
def test_stride_keeps_actual_samples(files, engine: str, limit: int) -> None:
    times, xy = _xy()
    window = TimeWindow(0.0, 200.0, 500)
    rows = _inside(times, window)
    with open_file(files[0], engine=engine) as f:
        track = spatial_track(read_series_time(f[POS["path"]]), window, max_points=limit)
    step = track.step
    assert track.values.shape[0] <= limit and step == int(np.ceil(rows.size / limit))
    np.testing.assert_array_equal(track.values, xy[rows[::step]])
    np.testing.assert_allclose(track.times, times[rows[::step]], atol=1e-12)


def test_mean_of_runs_ignores_lost_samples(files, engine: str) -> None:
    times, xy = _xy()
    window = TimeWindow(20.0, 60.0, 500)
    rows = _inside(times, window)
    with open_file(files[0], engine=engine) as f:
        track = spatial_track(read_series_time(f[POS["path"]]), window, max_points=50,
                              method="mean")
    step = track.step
    want = [np.nanmean(xy[rows[k : k + step]], axis=0) for k in range(0, rows.size, step)]
    want_t = [times[rows[k : k + step]].mean() for k in range(0, rows.size, step)]
    assert track.values.shape == (len(want), 2) and len(want) <= 50
    assert np.isnan(xy[rows]).any() and not np.isnan(track.values).any()
    np.testing.assert_allclose(track.values, np.array(want), rtol=1e-12)
    np.testing.assert_allclose(track.times, np.array(want_t), rtol=1e-12)


def test_linear_track_with_timestamps(files, engine: str) -> None:
    times, pos = vf.linear_times(), vf.linear_position()
    window = TimeWindow(5.0, 15.0, 100)
    rows = _inside(times, window)
    with open_file(files[0], engine=engine) as f:
        st = read_series_time(f[vf.EPHYS["linear"]["path"]])
        track = spatial_track(st, window)
        assert spatial_dims(st) == ("x",)
    assert track.step == int(np.ceil(rows.size / 200))
    np.testing.assert_array_equal(track.times, times[rows[:: track.step]])
    np.testing.assert_array_equal(track.values[:, 0], pos[rows[:: track.step]])


def test_position_at(files, engine: str) -> None:
    times, xy = _xy()
    lin_t, lin = vf.linear_times(), vf.linear_position()
    rng = np.random.default_rng(8)
    with open_file(files[0], engine=engine) as f:
        st = read_series_time(f[POS["path"]])
        linear = read_series_time(f[vf.EPHYS["linear"]["path"]])
        for t in rng.uniform(times[0], times[999], 10):
            here = position_at(st, float(t))
            j = int(np.searchsorted(times, t)) - 1
            w = (t - times[j]) / (times[j + 1] - times[j])
            np.testing.assert_allclose(here.values, xy[j] + w * (xy[j + 1] - xy[j]),
                                       rtol=1e-9)
            nearest = position_at(st, float(t), method="nearest")
            k = int(np.argmin(np.abs(times - t)))
            assert nearest.index == k and nearest.values == tuple(xy[k])
        for t in rng.uniform(lin_t[0], lin_t[-1], 10):
            np.testing.assert_allclose(position_at(linear, float(t)).values[0],
                                       np.interp(t, lin_t, lin), rtol=1e-9)
        on = position_at(linear, float(lin_t[17]))
        assert on.index == 17 and on.values == (lin[17],)
        assert position_at(st, times[0] - 1) is None and position_at(st, times[-1] + 1) is None


def test_not_a_position(files, engine: str) -> None:
    with open_file(files[1], engine=engine) as f:
        st = read_series_time(f[vf.ODD["converted"]["path"]])  # 6 columns
        with pytest.raises(ViewError, match="6 columns"):
            spatial_track(st, TimeWindow(0.0, 1.0))
    with open_file(files[0], engine=engine) as f:
        st = read_series_time(f[POS["path"]])
        with pytest.raises(ParameterError):
            spatial_track(st, TimeWindow(0.0, 1.0), method="median")  # type: ignore[arg-type]
