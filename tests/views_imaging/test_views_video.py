"""A real video beside the NWB file (``tests.fixtures.view_video_files``): the frames view's
and the pose view's data steps say which file and which time in it hold the frame, checked
against pynwb's reading (``starting_time``, ``rate``, ``external_file``) with both engines.
The pixels themselves are decoded only by the browser (``playwright/test_views_video.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nwbscope import open as open_file
from nwbscope.views.panels import PanelSet
from nwbscope.views.window import TimeWindow
from tests.bokeh_docs import models

vv = pytest.importorskip("tests.fixtures.view_video_files")
pytest.importorskip("imageio_ffmpeg", reason="imageio-ffmpeg writes the fixture video")
VIDEO = vv.VIDEO


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    return vv.ensure_files(tmp_path_factory.mktemp("video"))


@pytest.fixture(scope="module")
def camera(files):
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(files[vv.NWB_FILE]), "r") as io:
        series = io.read().acquisition["camera"]
        yield {"files": list(series.external_file[:]), "start": series.starting_time,
               "rate": series.rate, "starting_frame": list(series.starting_frame)}


def expected(camera: dict, t: float) -> tuple[int, float]:
    """pynwb's frame at ``t`` (the last at or before it) and where the seek lands in it."""
    n = VIDEO["frames"]
    index = int(np.clip(np.floor((t - camera["start"]) * camera["rate"] + 1e-9), 0, n - 1))
    return index, (index - camera["starting_frame"][0] + 0.25) / camera["rate"]


def test_frames_view_points_at_the_video(files, camera, engine: str) -> None:
    with open_file(files[vv.NWB_FILE], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open(VIDEO["path"], window=TimeWindow(0.0, 5.0, 400))
        named = models(doc.doc)
        assert {"video", "video_frame", "frame_slider", "video_play"} <= set(named)
        callbacks = dict(named["video_play"]["attributes"]["js_event_callbacks"]["entries"])
        (play,) = callbacks["button_click"]  # PLAY_JS, with each file's start (series time)
        assert dict(play["attributes"]["args"]["entries"])["starts"] == [camera["start"]]
        want = (files[VIDEO["file"]].resolve().as_uri(),)
        assert camera["files"] == [VIDEO["file"]]
        for t in (2.0, 2.35, 3.0, 3.99, 9.0):
            frame = list(panels.frames(doc.panel_id, TimeWindow(0.0, 5.0, 400, t)))[-1]
            columns = frame.sources["video_frame"]
            index, inside = expected(camera, t)
            assert int(columns["index"][0]) == index and int(columns["file"][0]) == 0
            assert columns["video_t"][0] == pytest.approx(inside, abs=1e-9)
        assert panels.get(doc.panel_id).video.urls == want


def test_pose_view_draws_over_the_video(files, camera, engine: str) -> None:
    pytest.importorskip("ndx_pose")
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(files[vv.POSE_FILE]), "r") as io:
        pose = io.read().processing["behavior"]["pose"]
        bar = np.asarray(pose.pose_estimation_series["bar"].data[:])
        assert pose.source_video.external_file[:] == [VIDEO["file"]]
    with open_file(files[vv.POSE_FILE], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open(vv.POSE["path"], window=TimeWindow(0.0, 5.0, 400))
        named = models(doc.doc)
        assert {"pose_video", "pose_video_image", "pose_video_note",
                "pose_video_frame"} <= set(named)
        for t in (2.0, 2.34, 2.36, 3.5):
            frame = list(panels.frames(doc.panel_id, TimeWindow(0.0, 5.0, 400, t)))[-1]
            sample = int(np.argmin(np.abs(camera["start"] + np.arange(len(bar)) /
                                          camera["rate"] - t)))  # the keypoints' sample
            columns = frame.sources["pose_video"]
            assert int(columns["index"][0]) == sample  # the same moment as the keypoints
            index, inside = expected(camera, camera["start"] + sample / camera["rate"])
            assert index == sample
            assert columns["video_t"][0] == pytest.approx(inside, abs=1e-9)
            points = frame.sources["pose_points"]
            assert points["x"][list(points["name"]).index("bar")] == bar[sample][0]
            assert f"video frame {sample} " in frame.status
            assert any("drawn under the keypoints" in n for n in frame.notes)
