"""The visible time window every time-based view shares, and the pixel width it is drawn at.

Why one record: all panels follow one time range and one cursor; the page sends this record
with every request, and each data step sizes its output from ``width_px`` (min/max
decimation, binning), never from the number of samples in the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ParameterError

DEFAULT_WIDTH_PX = 1000
MAX_WIDTH_PX = 8192


@dataclass(frozen=True)
class TimeWindow:
    """``[start, end)`` in seconds of session time, drawn ``width_px`` pixels wide."""

    start: float
    end: float
    width_px: int = DEFAULT_WIDTH_PX

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
        return TimeWindow(lo, hi, self.width_px)
