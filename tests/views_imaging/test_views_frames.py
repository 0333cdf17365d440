"""The frames view's data step against pynwb's reading of the same file (both engines): the
frame chosen for a cursor time (rate and timestamps), the frame's values and orientation,
planes of a volume, projections, IndexSeries, one frame read per step, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

import nwbscope
from nwbscope.errors import ParameterError, ViewError
from nwbscope.views.data.frames import (
    frame_index_at,
    read_frame_series,
    sample_indices,
)
from nwbscope.views.panels import PanelSet
from nwbscope.views.window import TimeWindow
from tests.bokeh_docs import models
from tests.fixtures import view_imaging_files as vi

FRAME_SERIES = ("two_photon", "image_ts", "color", "one_photon", "volume", "optical")


def ref_times(ref_series) -> np.ndarray:
    """Frame times as pynwb gives them."""
    if ref_series.timestamps is not None:
        return np.asarray(ref_series.timestamps[:], dtype=np.float64)
    n = ref_series.data.shape[0]
    return ref_series.starting_time + np.arange(n) / ref_series.rate


def expected_index(times: np.ndarray, t: float) -> int:
    """The last frame whose time is <= t (the first before the start)."""
    return int(np.clip(np.searchsorted(times, t, side="right") - 1, 0, times.size - 1))


def cursor_times(times: np.ndarray) -> list[float]:
    """Times around and on every frame: before the start, exactly on, just before, after."""
    out = [times[0] - 5.0, times[-1] + 5.0]
    for t in times[:: max(1, times.size // 5)]:
        out += [float(t), float(np.nextafter(t, -np.inf)), float(t) + 1e-3]
    return out


def view_of(nwb, path: str, **options):
    panels = PanelSet(nwb)
    doc = panels.open(path, options=options or None)
    return panels, doc, panels.get(doc.panel_id)


@pytest.mark.parametrize("name", FRAME_SERIES)
def test_frame_at_cursor_equals_pynwb(nwb, ref, name: str) -> None:
    ref_series = (ref.stimulus if name == "optical" else ref.acquisition)[name]
    times = ref_times(ref_series)
    _, _, view = view_of(nwb, vi.SERIES[name]["path"])
    for t in cursor_times(times):
        picture, index, _ = view.picture_at(t)
        assert index == expected_index(times, t), t
        stored = np.asarray(ref_series.data[index])
        if name == "volume":
            stored = stored[:, :, 0]
        np.testing.assert_array_equal(picture, stored)
        assert view.time.time_of(index) == pytest.approx(times[index], abs=1e-12)


def test_frame_index_on_boundaries(nwb) -> None:
    """A time exactly on a frame shows that frame; one ulp before shows the previous one."""
    for name in ("two_photon", "image_ts"):
        time = read_frame_series(nwb[vi.SERIES[name]["path"]]).time
        for i in range(1, time.n_samples):
            t = time.time_of(i)
            assert frame_index_at(time, t) == i
            assert frame_index_at(time, float(np.nextafter(t, -np.inf))) == i - 1


def test_planes_of_a_volume(nwb, ref) -> None:
    data = np.asarray(ref.acquisition["volume"].data[:])
    panels, doc, view = view_of(nwb, vi.SERIES["volume"]["path"], plane="3")
    assert [c for c, _ in next(o for o in view.options_cached() if o.name == "plane").choices] \
        == [str(z) for z in range(data.shape[3])]
    picture, index, _ = view.picture_at(1.0)
    assert index == 2
    np.testing.assert_array_equal(picture, data[2, :, :, 3])
    frame = list(panels.frames(doc.panel_id, TimeWindow(0, 3, cursor=1.0)))[-1]
    assert "plane z = 3" in frame.status
    with pytest.raises(ParameterError):
        view.set_option("plane", "9")


@pytest.mark.parametrize("kind", ["mean", "max"])
def test_projections_equal_numpy_over_the_sample(nwb, ref, kind: str) -> None:
    for name in ("two_photon", "volume"):
        data = np.asarray(ref.acquisition[name].data[:], dtype=np.float64)
        if name == "volume":
            data = data[..., 1]
        _, _, view = view_of(nwb, vi.SERIES[name]["path"], show=kind,
                             **({"plane": "1"} if name == "volume" else {}))
        picture, _, stored = view.picture_at(0.0)
        expected = data.mean(axis=0) if kind == "mean" else data.max(axis=0)
        np.testing.assert_allclose(picture, expected, rtol=1e-12)
        assert f"{kind} of {data.shape[0]} of {data.shape[0]} frames" in stored
        again, _, _ = view.picture_at(1.5)
        assert again is picture  # cached: a cursor move does not read the sample again


def test_colour_or_planes(nwb) -> None:
    """A 4-D series with 3 values on its last axis is colour, unless asked for planes (a
    TwoPhotonSeries, whose 4-D data is (frame, x, y, z) in the schema)."""
    group = nwb[vi.SERIES["color"]["path"]]
    assert read_frame_series(group).layout == "color"
    planes = read_frame_series(group, colour=False)
    assert (planes.layout, planes.n_planes) == ("volume", 3)
    assert read_frame_series(nwb[vi.SERIES["volume"]["path"]]).layout == "volume"


def test_sample_is_bounded_and_spread() -> None:
    indices = sample_indices(10_000)
    assert indices.size == 100 and indices[0] == 0 and indices[-1] == 9_999
    assert np.all(np.diff(indices) > 0)
    assert np.ptp(np.diff(indices)) <= 1  # evenly spread
    np.testing.assert_array_equal(sample_indices(7), np.arange(7))


def test_index_series_shows_the_indexed_image(nwb, ref) -> None:
    index_series = ref.stimulus["stim_index"]
    order = index_series.indexed_images.order_of_images.data[:]
    times = np.asarray(index_series.timestamps[:])
    _, _, view = view_of(nwb, vi.SERIES["index"]["path"])
    assert view.is_index
    for t in cursor_times(times):
        picture, i, label = view.picture_at(t)
        assert i == expected_index(times, t)
        image = order[int(index_series.data[i])]
        assert image.name in label
        np.testing.assert_array_equal(picture, np.asarray(image.data[:]))


def test_frame_columns_orientation_and_index(nwb, ref) -> None:
    """The glyph's rows are screen rows: image[r][c] is data[i, x=c, y=r]."""
    panels, doc, _ = view_of(nwb, vi.SERIES["two_photon"]["path"])
    frame = list(panels.frames(doc.panel_id, TimeWindow(0, 5, cursor=1.75)))[-1]
    columns = frame.sources["picture"]
    expected = np.asarray(ref.acquisition["two_photon"].data[7])
    rows = np.array(columns["image"][0])
    nx, ny = expected.shape
    assert rows.shape == (ny, nx)
    np.testing.assert_array_equal(rows, expected.T)
    assert (columns["dw"][0], columns["dh"][0]) == (nx, ny)
    assert columns["index"][0] == 7 and columns["t"][0] == pytest.approx(1.7)
    assert frame.ranges == {"image_x": (0.0, nx), "image_y": (ny, 0.0)}
    low, high = np.percentile(expected.astype(np.float32), [0.5, 99.5])
    assert columns["low"][0] == pytest.approx(low) and columns["high"][0] == pytest.approx(high)
    assert len(frame.sources["picture_rgba"]["image"]) == 0
    assert "frame 7 of 20" in frame.status and "cursor 1.75 s" in frame.status


def test_colour_frames_packed_as_rgba(nwb, ref) -> None:
    panels, doc, _ = view_of(nwb, vi.SERIES["color"]["path"])
    frame = list(panels.frames(doc.panel_id, TimeWindow(0, 2, cursor=0.45)))[-1]
    packed = np.array(frame.sources["picture_rgba"]["image"][0], dtype=np.uint32)
    expected = np.asarray(ref.acquisition["color"].data[2])  # (x, y, 3)
    as_bytes = packed.view(np.uint8).reshape(*packed.shape, 4)
    np.testing.assert_array_equal(as_bytes[..., :3], np.transpose(expected, (1, 0, 2)))
    assert np.all(as_bytes[..., 3] == 255)
    assert len(frame.sources["picture"]["image"]) == 0


def test_a_step_reads_one_frame(path, engine: str) -> None:
    block = 1024
    with nwbscope.open(path, engine=engine, block_size=block, readahead_max=block) as f:
        panels, doc, view = view_of(f, vi.SERIES["two_photon"]["path"])
        list(panels.frames(doc.panel_id, TimeWindow(0, 5, cursor=1.0)))
        before = f.stats
        list(panels.frames(doc.panel_id, TimeWindow(0, 5, cursor=2.5)))
        after = f.stats
        frame_bytes = view.series.frame_bytes
        series_bytes = frame_bytes * view.series.n_frames
    read = after["bytes"] - before["bytes"]
    assert frame_bytes <= read <= frame_bytes + 2 * block, read
    assert read < series_bytes / 4
    assert after["requests"] - before["requests"] <= 2


def test_image_mask_series(odd_path, engine: str) -> None:
    """ImageMaskSeries (written with h5py: pynwb 4 refuses it) is drawn as frames."""
    with nwbscope.open(odd_path, engine=engine) as f:
        _, doc, view = view_of(f, vi.SERIES["mask"]["path"])
        assert doc.view == "frames"
        times = vi.image_ts_times()
        picture, index, _ = view.picture_at(float(times[4]))
    assert index == 4
    np.testing.assert_array_equal(picture, vi.frames("mask")[4])


def test_bad_input(nwb, odd_path, engine: str) -> None:
    with pytest.raises(ViewError, match="no frames"):
        view_of(nwb, vi.SERIES["empty"]["path"])
    with nwbscope.open(odd_path, engine=engine) as f, pytest.raises(ViewError,
                                                                    match="shape"):
        view_of(f, vi.SERIES["odd"]["path"])


def test_external_video_follows_the_cursor(nwb, path) -> None:
    """Frames in video files next to the NWB file: each file's address, and for a cursor
    time the file and the time in it (starting_frame, rate), a quarter frame in."""
    ext = vi.SERIES["external"]
    panels, doc, view = view_of(nwb, ext["path"])
    assert view.external and view.video.urls == tuple(
        (path.parent / name).resolve().as_uri() for name in ext["files"])
    named = models(doc.doc)
    assert {"video", "video_frame", "frame_slider", "external_note"} <= set(named)
    assert named["frame_slider"]["attributes"]["end"] == 179  # num_samples - 1
    assert doc.span == (0.0, pytest.approx(180 / ext["rate"]))
    quarter = 0.25 / ext["rate"]
    for t, index, k in [(1.0, 30, 0), (2.99, 89, 0), (3.0, 90, 1), (4.0, 120, 1)]:
        frame = list(panels.frames(doc.panel_id, TimeWindow(0, 6, cursor=t)))[-1]
        columns = frame.sources["video_frame"]
        assert (columns["index"][0], columns["file"][0]) == (index, k), t
        inside = (index - ext["starting_frame"][k]) / ext["rate"] + quarter
        assert columns["video_t"][0] == pytest.approx(inside, abs=1e-9)
        assert columns["t"][0] == pytest.approx(index / ext["rate"])
        assert ext["files"][k] in frame.status


def test_external_files_without_an_address_are_named(path) -> None:
    """A file opened from bytes (as a dropped file is) has no address: the names only."""
    with nwbscope.open(path.read_bytes()) as f:
        panels, doc, view = view_of(f, vi.SERIES["external"]["path"])
        frame = list(panels.frames(doc.panel_id, TimeWindow(0, 5, cursor=1.0)))[-1]
    assert view.video.urls is None
    assert frame.sources == {} and "video" not in models(doc.doc)
    note = " ".join(frame.notes)
    for name in vi.SERIES["external"]["files"]:
        assert name in note and name in doc.doc
