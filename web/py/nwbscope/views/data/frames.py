"""The frames of an ImageSeries (and its subtypes): which frame a time shows, one frame read,
and mean/max projections over a sample of frames.

Why one frame per read: a two-photon movie is gigabytes, and a step of the slider needs one
frame; ``data[i]`` (or ``data[i, :, :, plane]``) reads only the chunks of that frame. The
projections read a bounded sample (``MAX_SAMPLE`` frames spread evenly over the series) and
say so, so their cost does not grow with the recording.

Layouts (NWB's ``ImageSeries.data`` is ``(frame, x, y[, z])``, colour ``(frame, x, y, 3|4)``):
``gray`` (3-D), ``color`` (4-D whose last axis is 3 or 4, except for microscopy series) and
``volume`` (any other 4-D: one plane ``z`` is drawn at a time). Frame times come from
``read_series_time`` run on the first axis only (it refuses image-shaped data, which traces
cannot draw).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ...errors import ParameterError, ViewError
from .series import SeriesTime, read_series_time

MAX_SAMPLE = 100  # frames a projection reads at most
Layout = Literal["gray", "color", "volume"]


@dataclass(frozen=True, eq=False)
class FrameSeries:
    """An ImageSeries as the frames view reads it."""

    path: str
    time: SeriesTime  # frame times (its ``data`` is only the first axis' stand-in)
    data: Any = field(repr=False)  # the facade dataset
    layout: Layout
    shape: tuple[int, ...]  # of ``data``

    @property
    def n_frames(self) -> int:
        return self.time.n_samples

    @property
    def size_xy(self) -> tuple[int, int]:
        return int(self.shape[1]), int(self.shape[2])

    @property
    def n_planes(self) -> int:
        return int(self.shape[3]) if self.layout == "volume" else 1

    @property
    def frame_bytes(self) -> int:
        """Bytes of one frame (one plane of a volume) as stored, uncompressed."""
        per = self.shape[3] if self.layout == "color" else 1
        return int(self.shape[1] * self.shape[2] * per * np.dtype(self.data.dtype).itemsize)


class FirstAxis:
    """A TimeSeries group seen through its ``data``'s first axis (what times need);
    ``length`` stands for that axis when the frames are elsewhere (external files)."""

    def __init__(self, group: Any, length: int | None = None) -> None:
        self._group = group
        self._length = length
        self.path = getattr(group, "path", "?")

    def __contains__(self, name: str) -> bool:
        return name in self._group

    def __getitem__(self, name: str) -> Any:
        node = self._group[name]
        return _AxisData(node, self._length) if name == "data" else node


class _AxisData:
    def __init__(self, data: Any, length: int | None) -> None:
        self._data = data
        self.kind = "dataset"
        self.shape = tuple(data.shape[:1]) if length is None else (int(length),)
        self.dtype = data.dtype
        self.attrs = data.attrs
        self.storage = data.storage


def read_frame_series(group: Any, colour: bool = True) -> FrameSeries:
    """The frames of an ImageSeries group; ``ViewError`` saying why it cannot be drawn.
    ``colour``: a 4-D series whose last axis is 3 or 4 is colour (False: planes, as in a
    TwoPhotonSeries, which the schema gives (frame, x, y, z) only)."""
    path = str(getattr(group, "path", "?"))
    if "data" not in group or group["data"].kind != "dataset":
        raise ViewError(f"{path} has no 'data' dataset, so there are no frames to show.")
    data = group["data"]
    shape = tuple(int(n) for n in data.shape)
    if np.dtype(data.dtype).kind not in "biuf":
        raise ViewError(f"The frames of {path} are of type {data.dtype}, not numbers.")
    if len(shape) not in (3, 4):
        raise ViewError(f"The data of {path} has shape {shape}; frames are (frame, x, y), "
                        "(frame, x, y, z) or colour (frame, x, y, 3|4).")
    if shape[0] == 0 or 0 in shape[1:]:
        raise ViewError(f"{path} has no frames (its data has shape {shape}).")
    layout: Layout = "gray"
    if len(shape) == 4:
        layout = "color" if colour and shape[3] in (3, 4) else "volume"
    time = read_series_time(FirstAxis(group))
    if time.n_samples == 0:
        raise ViewError(f"{path} has no frames with a time.")
    return FrameSeries(path=path, time=time, data=data, layout=layout, shape=shape)


def frame_index_at(time: SeriesTime, t: float) -> int:
    """The frame shown at time ``t``: the last one whose time is ``<= t`` (the first frame
    before the series starts, the last one after it ends)."""
    after = time.index_at(math.nextafter(t, math.inf))  # first frame later than t
    return max(0, min(time.n_samples - 1, after - 1))


def read_frame(series: FrameSeries, index: int, plane: int = 0) -> np.ndarray:
    """Frame ``index`` as stored: (x, y), or (x, y, 3|4) for colour; one plane of a volume.
    Reads only that frame (``data[i]``)."""
    if not 0 <= index < series.n_frames:
        raise ParameterError("frame", f"{series.path} has frames 0 to {series.n_frames - 1}; "
                             f"there is no frame {index}")
    if series.layout == "volume":
        _check_plane(series, plane)
        return np.asarray(series.data[int(index), :, :, int(plane)])
    return np.asarray(series.data[int(index)])


def sample_indices(n_frames: int, limit: int = MAX_SAMPLE) -> np.ndarray:
    """At most ``limit`` frame indices spread evenly from the first to the last frame."""
    if n_frames <= limit:
        return np.arange(n_frames, dtype=np.int64)
    return np.unique(np.round(np.linspace(0, n_frames - 1, limit)).astype(np.int64))


def projection(series: FrameSeries, kind: str, plane: int = 0,
               limit: int = MAX_SAMPLE) -> tuple[np.ndarray, int]:
    """The mean or max (``kind``) of a sample of frames, float64, and how many were read."""
    if kind not in ("mean", "max"):
        raise ParameterError("show", f"a projection is 'mean' or 'max', not {kind!r}")
    indices = sample_indices(series.n_frames, limit)
    total: np.ndarray | None = None
    for i in indices:
        frame = read_frame(series, int(i), plane).astype(np.float64)
        if total is None:
            total = frame
        elif kind == "mean":
            total += frame
        else:
            np.maximum(total, frame, out=total)
    assert total is not None  # a FrameSeries has at least one frame
    if kind == "mean":
        total /= indices.size
    return total, int(indices.size)


def _check_plane(series: FrameSeries, plane: int) -> None:
    if not 0 <= plane < series.n_planes:
        raise ParameterError("plane", f"{series.path} has planes 0 to {series.n_planes - 1}; "
                             f"there is no plane {plane}")
