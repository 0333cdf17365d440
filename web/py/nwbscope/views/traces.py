"""Traces of a TimeSeries or an ElectricalSeries: every channel stacked, at any zoom.

Why stacked in "channel units": channel ``k`` is drawn around ``y = k`` with one gain for all
(set from the data of the first frame, then kept, so panning never makes traces jump), and
the y axis is labelled with channel names; the amplitude scale control multiplies the gain.
Each line's source row keeps ``offset``, ``gain`` and ``baseline``, so a value in the unit is
``(y - offset) / gain + baseline`` (tests read values back this way). Min/max decimation
(``data.decimate``) keeps each channel at most ~2 points per pixel column whatever the
window, and its coarse-first reading gives the first frames of a long window.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ViewError
from .base import Frame, Option
from .data.decimate import TraceBlock, iter_decimate
from .data.electrodes import ElectrodeLabels, read_electrodes
from .series_view import SeriesView
from .window import TimeWindow

TRACE_SOURCE = "traces"
INITIAL_BYTES = 4_000_000
COLORS = ("#1f77b4", "#2f4f4f")  # alternating, so neighbours stay apart


class TimeSeriesView(SeriesView):
    """A TimeSeries: one line (1-D) or stacked channels (2-D), with conversion applied."""

    height = 300

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._gain: float | None = None
        self._baseline: np.ndarray | None = None
        super().__init__(*args, **kwargs)

    @property
    def stacked(self) -> bool:
        return len(self.series.shape) == 2

    def labels(self) -> list[str]:
        return [f"ch {c}" for c in range(self.series.n_channels)]

    def options(self) -> list[Option]:
        options = [Option("scale", "Amplitude ×", "number", 1.0, low=0.01, high=1000.0,
                          step=0.5, help="Multiplies the traces' height")]
        return options

    def channels(self) -> list[int]:
        return list(range(self.series.n_channels))

    def reference(self) -> str:
        return "none"

    def set_option(self, name: str, value: Any) -> bool:
        self._gain = self._baseline = None  # new scale, channels or reference: measure again
        return super().set_option(name, value)

    def initial_duration(self) -> float:
        """About 4 MB of samples (1 s of 64 channels at 30 kHz), between 0.5 and 10 s: a
        first look that reads little, whatever the rate and channel count."""
        series = self.series
        per_second = (series.mean_rate or 1.0) * series.n_channels * series.dtype.itemsize
        return float(min(10.0, max(0.5, INITIAL_BYTES / per_second)))


    # -- drawing ----------------------------------------------------------------------------
    def figure(self, window: TimeWindow) -> Any:
        from bokeh.models import ColumnDataSource, FixedTicker, Range1d

        from .bokeh_kit import assemble, time_figure

        series = self.series
        chans = self.channels()
        if not chans:
            raise ViewError("No channel is selected; choose channels to show.")
        source = ColumnDataSource(name=TRACE_SOURCE, data={
            "xs": [], "ys": [], "channel": [], "label": [], "offset": [], "gain": [],
            "baseline": [], "color": []})
        if self.stacked:
            height = int(min(900, max(self.height, 16 * len(chans) + 60)))
            plot = time_figure(self, window, "channel", height=height,
                               y_range=Range1d(-1, len(chans), name="y_range"))
            names = self.labels()
            plot.yaxis.ticker = FixedTicker(ticks=list(range(len(chans))))
            plot.yaxis.major_label_overrides = {i: names[c] for i, c in enumerate(chans)}
        else:
            plot = time_figure(self, window, series.unit or "value")
        plot.multi_line(xs="xs", ys="ys", source=source, line_color="color", line_width=1)
        return assemble(self, plot)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        blocks = iter_decimate(self.series, window, self.channels(),
                               reference=self.reference())
        try:
            for block in blocks:
                yield self.frame(block)
        finally:
            blocks.close()

    def frame(self, block: TraceBlock) -> Frame:
        """The block as one multi-line source: a line per channel."""
        n = len(block.channels)
        if self.stacked:
            self._measure(block)
            gain, baseline = self._gain or 1.0, self._baseline
            offsets = np.arange(n, dtype=np.float64)
        else:
            gain, baseline, offsets = 1.0, np.zeros(1), np.zeros(1)
        xs, ys = [], []
        x_shared = None
        for row in range(n):
            x, y = block.polyline(row)
            if x_shared is None:
                x_shared = x  # one array for all lines: sent once
            ys.append(((y - baseline[row]) * gain + offsets[row]).astype(np.float32))
            xs.append(x_shared)
        names = self.labels()
        status = ("samples" if block.mode == "raw" else
                  f"min/max per pixel of {block.index_range[1] - block.index_range[0]} samples")
        if not block.complete:
            status = f"refining: {block.fraction_read:.0%} read · " + status
        return Frame(
            sources={TRACE_SOURCE: {
                "xs": xs, "ys": ys, "channel": np.asarray(block.channels, dtype=np.int32),
                "label": np.array([names[c] for c in block.channels], dtype=object),
                "offset": offsets, "gain": np.full(n, gain), "baseline": baseline[:n],
                "color": np.array([COLORS[i % 2] for i in range(n)], dtype=object)}},
            complete=block.complete, status=status, notes=block.warnings)

    def _measure(self, block: TraceBlock) -> None:
        """Gain and per-channel baselines from the first block with data (then kept)."""
        if self._gain is not None:
            return
        lo, hi = block.lo.astype(np.float64), block.hi.astype(np.float64)
        if not np.isfinite(lo).any():
            return
        with np.errstate(all="ignore"):
            baseline = np.nanmedian((lo + hi) / 2, axis=1)
            spread = np.nanpercentile(hi, 99, axis=1) - np.nanpercentile(lo, 1, axis=1)
        spread = spread[np.isfinite(spread) & (spread > 0)]
        typical = float(np.median(spread)) if spread.size else 1.0
        self._gain = float(self.values.get("scale", 1.0)) / (typical or 1.0)
        self._baseline = np.nan_to_num(baseline)


class ElectricalSeriesView(TimeSeriesView):
    """An ElectricalSeries: channels named from the electrodes table, chosen by any of its
    columns, with an optional common-median reference for display."""

    height = 420

    @property
    def electrodes(self) -> ElectrodeLabels:
        if not hasattr(self, "_electrodes"):
            self._electrodes = read_electrodes(self.nwb, self.nwb.group(self.path),
                                               self.series.n_channels)
        return self._electrodes

    def labels(self) -> list[str]:
        return list(self.electrodes.labels)

    def options(self) -> list[Option]:
        choices = tuple((key, key) for key in self.electrodes.choices)
        return [
            *super().options(),
            Option("show", "Channels (empty: all)", "multiselect", [], choices=choices,
                   rebuild=True, help="Channels by electrode column (location, group, ...) "
                   "or one by one"),
            Option("reference", "Common median reference", "toggle", False,
                   help="Subtract the median of the shown channels, sample by sample"),
        ]

    def channels(self) -> list[int]:
        return self.electrodes.select(self.values.get("show") or [])

    def reference(self) -> str:
        return "median" if self.values.get("reference") else "none"

    def select_rows(self, table: str, rows: list[int]) -> str:
        """Electrodes chosen elsewhere (a probe's box): show the channels recorded on those
        rows of this series' own electrodes table, as channel choices the control shows;
        "" when it is another table or none of the rows is a channel here. An empty choice
        (the probe's selection cleared) shows every channel again."""
        electrodes = self.electrodes
        if electrodes.table is None or table.strip("/") != electrodes.table.strip("/"):
            return ""
        if not rows:
            if not self.values.get("show"):
                return ""
            self.set_option("show", [])
            return "rebuild"
        wanted = {int(r) for r in rows}
        channels = [c for c, row in enumerate(electrodes.rows) if row in wanted]
        if not channels:
            return ""
        self.set_option("show", [electrodes.channel_key(c) for c in channels])
        return "rebuild"
