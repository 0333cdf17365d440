"""An ImageSeries whose frames are in external files (a video next to the NWB file): the
files' addresses and, for a time, which file and which time inside it show that frame.

Why relative to the NWB file's address: ``external_file`` names are paths relative to the
NWB file (the schema says so), and the page can play a video only from a URL. The address
is the one the file was opened from (``origin_url`` of a redirected source: a presigned
final URL would not resolve relative names); a file opened from a path gets ``file://``
addresses (CPython), a dropped file none (its names are shown instead).

Frame ``i`` lies in file ``k``, the last whose ``starting_frame[k] <= i``; inside that file it
is at ``time(i) - time(starting_frame[k])`` seconds (the video runs at the series' rate, or
in real time of its timestamps), plus a quarter of a frame period so a seek lands inside
that frame rather than on its edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import numpy as np

from ...errors import ViewError
from ...nwb.values import text, text_list
from .frames import FirstAxis, frame_index_at
from .series import SeriesTime, read_series_time

UNBOUNDED = 2**40  # frames of a rate series that does not say how many it has


@dataclass(frozen=True, eq=False)
class ExternalVideo:
    """The external files of one ImageSeries and its frame times."""

    path: str
    files: tuple[str, ...]
    starting_frame: tuple[int, ...]
    time: SeriesTime
    counted: bool  # the number of frames is known (num_samples or timestamps)
    urls: tuple[str, ...] | None  # each file's address; None: the NWB file has none
    warnings: tuple[str, ...] = field(default=())

    def position(self, t: float) -> tuple[int, int, float]:
        """(frame index, file index, seconds into that file) of the frame shown at ``t``."""
        index = frame_index_at(self.time, t)
        k = int(np.searchsorted(np.asarray(self.starting_frame), index, side="right") - 1)
        k = max(0, k)
        period = 1.0 / self.time.mean_rate if self.time.mean_rate else 0.0
        inside = self.time.time_of(index) - self.time.time_of(self.starting_frame[k])
        return index, k, max(0.0, inside) + period / 4


def external_files(group: Any) -> list[str]:
    """The ``external_file`` names of an ImageSeries ([] when its frames are inside)."""
    if "external_file" not in group:
        return []
    return [name for name in text_list(group["external_file"][()]) if name]


def has_external_frames(group: Any) -> bool:
    """External files named and no frames stored in ``data``."""
    data = group["data"] if "data" in group else None
    stored = data is not None and data.kind == "dataset" and bool(data.shape) and \
        int(data.shape[0]) > 0
    return not stored and bool(external_files(group))


def nwb_address(nwb: Any) -> str | None:
    """The address the NWB file was opened from (http(s) or file://); None for a dropped
    file or bytes."""
    source = getattr(getattr(getattr(nwb, "h5", None), "io", None), "source", None)
    for attr in ("origin_url", "url"):
        value = getattr(source, attr, None)
        if isinstance(value, str) and value:
            return value
    path = getattr(source, "path", None)
    return Path(path).resolve().as_uri() if path is not None else None


def read_external(nwb: Any, group: Any) -> ExternalVideo:
    """The external files of ``group`` and where each frame is; ``ViewError`` when they
    cannot be placed in time."""
    where = str(group.path)
    files = tuple(external_files(group))
    if not files:
        raise ViewError(f"{where} names no external files.")
    warnings: list[str] = []
    node = group["external_file"]
    starts = node.attrs.get("starting_frame")
    starting = [int(v) for v in np.asarray(starts).reshape(-1)] if starts is not None else []
    if len(starting) != len(files):
        if len(files) > 1:
            warnings.append(f"{where} gives {len(starting)} starting_frame values for "
                            f"{len(files)} files; all frames are looked for in the first.")
        starting = [0] + [UNBOUNDED] * (len(files) - 1)
    counted, length = _frame_count(group)
    time = read_series_time(FirstAxis(group, length))
    if time.kind == "rate" and not counted:
        stop = time.start + (length - 1) / float(time.rate or 1.0)
        time = replace(time, stop=stop)
    return ExternalVideo(path=where, files=files, starting_frame=tuple(starting), time=time,
                         counted=counted, urls=_addresses(nwb, files), warnings=tuple(
                             warnings + list(time.warnings)))


def describe(video: ExternalVideo, group: Any) -> str:
    """A note naming the files (and saying when the page cannot reach them)."""
    fmt = text(group["format"][()]) if "format" in group else None
    how = f" (format {fmt})" if fmt else ""
    note = (f"The frames of {video.path} are stored outside the NWB file{how}, in: "
            f"{', '.join(video.files)}.")
    if video.urls is None:
        note += " This file was not opened from an address, so they cannot be played here."
    return note


def _frame_count(group: Any) -> tuple[bool, int]:
    if "timestamps" in group:
        return True, int(group["timestamps"].shape[0])
    if "num_samples" in group:
        value = np.asarray(group["num_samples"][()]).reshape(-1)
        if value.size and int(value[0]) > 0:
            return True, int(value[0])
    return False, UNBOUNDED


def _addresses(nwb: Any, files: tuple[str, ...]) -> tuple[str, ...] | None:
    base = nwb_address(nwb)
    if base is None:
        return None
    names = (name.replace("\\", "/") for name in files)
    return tuple(name if "://" in name else urljoin(base, quote(name)) for name in names)
