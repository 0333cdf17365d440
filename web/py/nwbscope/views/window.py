"""The visible time window every time-based view shares, and the pixel width it is drawn at.

Why one record: all panels follow one time range and one cursor; the page sends this record
with every request, and each data step sizes its output from ``width_px`` (min/max
decimation, binning), never from the number of samples in the window. ``cursor`` is the
shared cursor's time (None: not set): views that show one moment (a frame of an imaging
series, a pose) draw the moment at the cursor, and the page asks them for a new frame when
the cursor moves (``ViewSpec.follows_cursor``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..errors import ParameterError

DEFAULT_WIDTH_PX = 1000
MAX_WIDTH_PX = 8192


@dataclass(frozen=True)
class TimeWindow:
    """``[start, end)`` in seconds of session time, drawn ``width_px`` pixels wide."""

    start: float
    end: float
    width_px: int = DEFAULT_WIDTH_PX
    cursor: float | None = None  # the shared cursor's time, in session seconds

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)):
            raise ParameterError("t", f"the time window must be finite, got {self.start}, "
                                 f"{self.end}")
        if self.end <= self.start:
            raise ParameterError("t", f"the time window must end after it starts, got "
                                 f"{self.start} to {self.end} s")
        if not 1 <= int(self.width_px) <= MAX_WIDTH_PX:
            raise ParameterError("width", f"the plot width must be 1 to {MAX_WIDTH_PX} pixels, "
                                 f"got {self.width_px}")
        if self.cursor is not None and not math.isfinite(self.cursor):
            raise ParameterError("cursor", f"the cursor must be a finite time, got "
                                 f"{self.cursor}")

    @property
    def moment(self) -> float:
        """The time a one-moment view shows: the cursor, or the window's start when the
        cursor is unset."""
        return self.start if self.cursor is None else self.cursor

    @property
    def duration(self) -> float:
        return self.end - self.start

    def clipped(self, start: float | None, end: float | None) -> TimeWindow:
        """The part of this window inside ``[start, end]`` (None: unbounded); the window
        itself when they do not overlap (the view then shows nothing and says so)."""
        lo = self.start if start is None else max(self.start, start)
        hi = self.end if end is None else min(self.end, end)
        if hi <= lo:
            return self
        return replace(self, start=lo, end=hi)
