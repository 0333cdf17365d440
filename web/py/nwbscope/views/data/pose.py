"""Pose estimation (ndx-pose): keypoints, their skeleton, and where each was at a time.

Why read by type from the file and not through ndx-pose: the browser has no ndx-pose, and
the file says all that is needed. A ``PoseEstimation`` group holds one
``PoseEstimationSeries`` per keypoint (a SpatialSeries: x, y[, z] per frame) and names its
skeleton: a linked ``Skeleton`` group (``nodes``, ``edges``) in ndx-pose 0.2+, or its own
``nodes``/``edges`` datasets in 0.1. Edges are pairs of rows of ``nodes``; a keypoint is
matched to its series by name.

Why the nearest sample and not an interpolation: a keypoint at the cursor is what the
tracker said for one video frame; a position between two frames would be drawn nowhere in
the video. A NaN row (tracking lost) stays NaN: that keypoint is not drawn, and its edges
neither.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ViewError
from ...nwb.values import text, text_list
from ..window import TimeWindow
from .series import SeriesTime, read_series_time
from .spatial import Track, position_at, spatial_track

PIXEL_UNITS = ("pixels", "pixel", "px")


@dataclass(frozen=True)
class PoseLayout:
    """The keypoints of one PoseEstimation (or one series alone) and how they connect."""

    path: str
    nodes: tuple[str, ...]  # keypoint names, the skeleton's order first
    series: tuple[str | None, ...]  # each node's PoseEstimationSeries path (None: absent)
    edges: tuple[tuple[int, int], ...]  # pairs of indices into ``nodes``
    unit: str
    videos: tuple[str, ...]  # video file names, as the file gives them
    dimensions: tuple[float, float] | None  # width, height of the video (pixels)
    warnings: tuple[str, ...]
    video_path: str | None = None  # the source video's ImageSeries (ndx-pose 0.4)

    @property
    def pixels(self) -> bool:
        """Image coordinates: y grows downwards."""
        return self.unit.strip().lower() in PIXEL_UNITS


@dataclass(frozen=True)
class Keypoints:
    """Every keypoint at one time: ``x``/``y`` NaN where it was not tracked or has no
    sample there; ``index`` the sample drawn (-1: none)."""

    t: float
    names: tuple[str, ...]
    x: np.ndarray
    y: np.ndarray
    index: np.ndarray  # int64
    times: np.ndarray  # float64: the time of each drawn sample (NaN: none)


def _type(nwb: Any, node: Any) -> str:
    return nwb.neurodata_type(node)[0] or ""


def _is(nwb: Any, node: Any, base: str) -> bool:
    return node.kind == "group" and (_type(nwb, node) == base or nwb.is_a(node, base))


def read_pose(nwb: Any, path: str) -> PoseLayout:
    """The layout of a PoseEstimation, or of a PoseEstimationSeries as a single keypoint."""
    group = nwb.group(path)
    if _is(nwb, group, "PoseEstimationSeries"):
        unit = text(group["data"].attrs.get("unit")) if "data" in group else ""
        return PoseLayout(path, (posixpath.basename(path),), (path,), (), unit or "", (),
                          None, ())
    warnings: list[str] = []
    series: dict[str, str] = {}
    skeleton = video = None
    for name in group.keys():
        node = group[name]
        if _is(nwb, node, "PoseEstimationSeries"):
            series[name] = node.path
        elif _is(nwb, node, "Skeleton"):
            skeleton = node
        elif _is(nwb, node, "ImageSeries") and (video is None or name == "source_video"):
            video = node
    if not series:
        raise ViewError(f"{path} holds no PoseEstimationSeries: there are no keypoints to "
                        "draw.")
    holder = skeleton if skeleton is not None else group  # ndx-pose 0.1: on the group
    nodes = text_list(holder["nodes"][:]) if "nodes" in holder else []
    edges = _edges(holder, len(nodes), path, warnings)
    missing = [n for n in nodes if n not in series]
    if missing:
        warnings.append(f"The skeleton's keypoints {', '.join(missing)} have no series in "
                        f"{path}; they are not drawn.")
    names = tuple(nodes) + tuple(n for n in series if n not in nodes)
    first = next(iter(series.values()))
    unit = text(nwb.group(first)["data"].attrs.get("unit")) or ""
    videos, dimensions = _video(group, video)
    return PoseLayout(path, names, tuple(series.get(n) for n in names), edges, unit, videos,
                      dimensions, tuple(warnings), _target(group, video))


def _edges(holder: Any, n_nodes: int, path: str,
           warnings: list[str]) -> tuple[tuple[int, int], ...]:
    if "edges" not in holder:
        return ()
    raw = np.asarray(holder["edges"][:])
    if raw.size == 0:
        return ()
    if raw.ndim != 2 or raw.shape[1] != 2 or raw.dtype.kind not in "iu":
        warnings.append(f"The skeleton edges of {path} have shape {list(raw.shape)} "
                        f"({raw.dtype}); pairs of keypoint indices are expected. No edges "
                        "are drawn.")
        return ()
    pairs = raw.astype(np.int64)
    bad = (pairs < 0) | (pairs >= n_nodes)
    if bad.any():
        warnings.append(f"{int(bad.any(axis=1).sum())} skeleton edges of {path} point past "
                        f"its {n_nodes} keypoints; they are not drawn.")
    return tuple((int(a), int(b)) for a, b in pairs[~bad.any(axis=1)])


def _target(group: Any, node: Any) -> str | None:
    """Where a linked member lives (``/acquisition/video``, not ``.../source_video``)."""
    if node is None:
        return None
    link = group.links().get(posixpath.basename(node.path))
    return link.target if link is not None and link.kind == "soft" and link.target else \
        node.path


def _video(group: Any, video: Any) -> tuple[tuple[str, ...], tuple[float, float] | None]:
    """Video file names and frame size: the linked source ImageSeries' ``external_file``
    and ``dimension`` (ndx-pose 0.4), else ``original_videos``/``dimensions`` (0.1-0.3)."""
    names: tuple[str, ...] = ()
    size = None
    for holder, files, dims in ((video, "external_file", "dimension"),
                                (group, "original_videos", "dimensions")):
        if holder is None:
            continue
        if not names and files in holder:
            names = tuple(text_list(holder[files][:]))
        if size is None and dims in holder:
            values = np.asarray(holder[dims][:], dtype=np.float64).reshape(-1)
            size = (float(values[0]), float(values[1])) if values.size >= 2 else None
    return names, size


def keypoint_series(nwb: Any, layout: PoseLayout) -> list[SeriesTime | None]:
    """Each node's series (None: absent); a series that cannot be read is a ViewError."""
    return [None if p is None else read_series_time(nwb.group(p)) for p in layout.series]


def keypoints_at(layout: PoseLayout, series: list[SeriesTime | None], t: float) -> Keypoints:
    """Each keypoint at its sample nearest to ``t`` (NaN outside its samples' span)."""
    n = len(layout.nodes)
    x, y = np.full(n, np.nan), np.full(n, np.nan)
    index, times = np.full(n, -1, dtype=np.int64), np.full(n, np.nan)
    for k, s in enumerate(series):
        if s is None:
            continue
        at = position_at(s, t, method="nearest")
        if at is None:
            continue
        x[k], y[k] = at.values[0], at.values[1] if len(at.values) > 1 else np.nan
        index[k], times[k] = at.index, s.time_of(at.index)
    return Keypoints(t, layout.nodes, x, y, index, times)


def trajectories(series: list[SeriesTime | None], window: TimeWindow,
                 max_points: int) -> list[Track | None]:
    """Each keypoint's path over ``window``, at most ``max_points`` points each (stride:
    actual tracked positions)."""
    return [None if s is None else spatial_track(s, window, max_points=max_points)
            for s in series]
