"""What every view of one TimeSeries shares: its ``SeriesTime``, read once, and its span.

Why a base class: traces, trajectory and spectrogram all place the same samples in time; the
time base (with its odd-file warnings) is read on first use and kept, and the extent the
panel opens on and the timeline shows is the samples' own, plus one sample period.
"""

from __future__ import annotations

from typing import Any

from .base import View
from .data.series import SeriesTime, read_series_time


class SeriesView(View):
    """A view whose object is a TimeSeries group (``self.path``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._series: SeriesTime | None = None
        super().__init__(*args, **kwargs)

    @property
    def series(self) -> SeriesTime:
        if self._series is None:
            self._series = read_series_time(self.nwb.group(self.path))
        return self._series

    def span(self) -> tuple[float, float] | None:
        series = self.series
        if series.n_samples == 0:
            return None
        end = series.stop + (1.0 / series.rate if series.rate else 0.0)
        return (series.start, max(end, series.start + 1e-9))
