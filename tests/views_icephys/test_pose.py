"""``views.data.pose`` and the pose view against pynwb + ndx-pose's reading of the file.

Keypoints at a time are pynwb's ``data`` at the nearest sample's index; the skeleton is
ndx-pose's ``Skeleton.nodes``/``edges`` (and the same, h5py-written, in the 0.1 layout).
Skipped when ndx-pose is not installed (it writes the file); the view itself never needs it.
"""

from __future__ import annotations

import numpy as np
import pytest

from nwbscope import open as open_file
from nwbscope.errors import ViewError
from nwbscope.views.data.pose import keypoint_series, keypoints_at, read_pose, trajectories
from nwbscope.views.panels import PanelSet
from nwbscope.views.pose import EDGES_SOURCE, POINTS_SOURCE, TIME_SOURCE, TRACKS_SOURCE
from nwbscope.views.window import TimeWindow
from tests.bokeh_docs import models
from tests.fixtures import view_icephys_files as vi

pytest.importorskip("ndx_pose", reason="ndx-pose writes the pose fixture file")
POSE = vi.POSE
LAYOUTS = ("view_pose.nwb", "view_pose_old.nwb")


@pytest.fixture(scope="module")
def pose_ref(files):
    from pynwb import NWBHDF5IO

    io = NWBHDF5IO(str(files["view_pose.nwb"]), "r")
    nwbfile = io.read()
    yield nwbfile.processing["behavior"][POSE["path"].rsplit("/", 1)[1]]
    io.close()


def nearest(series, t: float) -> int:
    times = series.starting_time + np.arange(len(series.data)) / series.rate
    return int(np.argmin(np.abs(times - t)))


@pytest.mark.parametrize("name", LAYOUTS)
def test_skeleton_equals_ndx_pose(files, pose_ref, engine: str, name: str) -> None:
    skeleton = pose_ref.skeleton
    with open_file(files[name], engine=engine) as f:
        layout = read_pose(f, POSE["path"])
    assert layout.nodes == tuple(skeleton.nodes[:])
    assert layout.edges == tuple((int(a), int(b)) for a, b in skeleton.edges[:])
    assert layout.series == tuple(f"{POSE['path']}/{n}" for n in skeleton.nodes[:])
    assert layout.pixels and layout.dimensions == (640.0, 480.0)
    assert layout.videos == POSE["videos"]
    assert layout.warnings == ()
    # ndx-pose 0.4 links its source video (an external ImageSeries); 0.1 names the files
    assert layout.video_path == ("/acquisition/behavior_video" if name == "view_pose.nwb"
                                 else None)


@pytest.mark.parametrize("t", [0.5, 3.0, 3.0 + 0.4 / 30, 4.0, 20.4, 25.0])
def test_keypoints_at_equal_pynwb(files, pose_ref, engine: str, t: float) -> None:
    with open_file(files["view_pose.nwb"], engine=engine) as f:
        layout = read_pose(f, POSE["path"])
        at = keypoints_at(layout, keypoint_series(f, layout), t)
    for k, node in enumerate(layout.nodes):
        series = pose_ref.pose_estimation_series[node]
        last = series.starting_time + (len(series.data) - 1) / series.rate
        if t > last:
            assert at.index[k] == -1 and np.isnan(at.x[k])
            continue
        i = nearest(series, t)
        assert at.index[k] == i
        want = np.asarray(series.data[i], dtype=np.float64) * series.conversion
        np.testing.assert_array_equal([at.x[k], at.y[k]], want)  # NaN where tracking lost


def test_trajectories_bounded_and_equal_pynwb(files, pose_ref, engine: str) -> None:
    window = TimeWindow(2.0, 12.0, 100)
    with open_file(files["view_pose.nwb"], engine=engine) as f:
        layout = read_pose(f, POSE["path"])
        tracks = trajectories(keypoint_series(f, layout), window, max_points=60)
    for node, track in zip(layout.nodes, tracks, strict=True):
        series = pose_ref.pose_estimation_series[node]
        times = series.starting_time + np.arange(len(series.data)) / series.rate
        rows = np.flatnonzero((times >= window.start) & (times < window.end))
        assert track.times.size <= 60
        picked = rows[::track.step]
        np.testing.assert_allclose(track.times, times[picked], atol=1e-9)
        np.testing.assert_array_equal(track.values, np.asarray(series.data[:])[picked])


def test_view_follows_the_cursor(files, pose_ref, engine: str) -> None:
    with open_file(files["view_pose.nwb"], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open(POSE["path"], window=TimeWindow(0.5, 10.5, 400))
        assert doc.view == "pose"
        named = models(doc.doc)
        for name in (POINTS_SOURCE, EDGES_SOURCE, TRACKS_SOURCE, TIME_SOURCE, "x_range",
                     "cursor", "pose_y_range", "pose_frame", "status"):
            assert name in named
        assert named["pose_y_range"]["attributes"]["flipped"] is True  # pixels: y down
        assert "flipped" not in named["pose_x_range"]["attributes"]
        outline = dict(named["pose_frame"]["attributes"]["data_source"]["attributes"]["data"]
                       ["entries"])  # the video frame, as the source video's dimension says
        assert outline == {"left": [0.0], "right": [640.0], "bottom": [0.0], "top": [480.0]}
        for t in (2.0, 7.5):
            frame = list(panels.frames(doc.panel_id, TimeWindow(0.5, 10.5, 400, t)))[-1]
            points = frame.sources[POINTS_SOURCE]
            assert list(points["name"]) == list(pose_ref.skeleton.nodes[:])
            for k, node in enumerate(points["name"]):
                series = pose_ref.pose_estimation_series[node]
                i = nearest(series, t)
                assert (points["x"][k], points["y"][k]) == tuple(series.data[i])
            assert len(frame.sources[EDGES_SOURCE]["x0"]) == len(pose_ref.skeleton.edges)
            assert f"at {t:g} s" in frame.status
            assert any("behavior_cam.mp4" in n and "/acquisition/behavior_video" in n
                       for n in frame.notes)


def test_lost_tracking_drops_the_keypoint_and_its_edges(files, pose_ref, engine: str) -> None:
    a, b = POSE["lost"]
    t = POSE["start"] + (a + b) / 2 / POSE["rate"]
    nodes = list(pose_ref.skeleton.nodes[:])
    tail = nodes.index("tail")
    with open_file(files["view_pose.nwb"], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open(POSE["path"], window=TimeWindow(0.5, 10.5, 400))
        frame = list(panels.frames(doc.panel_id, TimeWindow(0.5, 10.5, 400, t)))[-1]
    assert "tail" not in list(frame.sources[POINTS_SOURCE]["name"])
    kept = [e for e in pose_ref.skeleton.edges[:] if tail not in e]
    assert len(frame.sources[EDGES_SOURCE]["x0"]) == len(kept)
    assert all(np.isfinite(frame.sources[EDGES_SOURCE][c]).all() for c in ("x0", "y1"))
    assert any("Not tracked" in n and "tail" in n for n in frame.notes)
    track = list(frame.sources[TRACKS_SOURCE]["name"]).index("tail")
    assert np.isnan(frame.sources[TRACKS_SOURCE]["xs"][track]).any()  # a gap, not a jump


def test_one_series_alone(files, pose_ref, engine: str) -> None:
    path = f"{POSE['path']}/nose"
    series = pose_ref.pose_estimation_series["nose"]
    with open_file(files["view_pose.nwb"], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open(path, window=TimeWindow(0.5, 10.5, 400))
        assert doc.view == "pose"
        frame = list(panels.frames(doc.panel_id, TimeWindow(0.5, 10.5, 400, 3.0)))[-1]
    assert list(frame.sources[POINTS_SOURCE]["name"]) == ["nose"]
    assert tuple(frame.sources[POINTS_SOURCE]["x"]) == (series.data[nearest(series, 3.0)][0],)
    assert len(frame.sources[EDGES_SOURCE]["x0"]) == 0


def test_no_keypoints_is_a_clear_error(files, engine: str) -> None:
    with open_file(files["view_icephys.nwb"], engine=engine) as f:
        with pytest.raises(ViewError, match="no PoseEstimationSeries"):
            read_pose(f, "/general/intracellular_ephys/elec0")
