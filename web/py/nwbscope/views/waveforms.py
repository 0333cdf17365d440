"""Spike waveforms: a unit's mean waveform, its autocorrelogram and place on the probe; and
the snippets of a SpikeEventSeries.

Why a unit's waveforms are drawn at their electrodes: the spatial spread of a spike (which
electrodes see it, how it decays and shifts) is what tells units apart and where they sit.
A few channels nearest the peak are drawn at their probe positions, each mean with its sd
as a band; the probe beside shows every electrode small, the unit's channels and its peak
highlighted. Without positions the channels are stacked.

Every line's source row keeps ``x0``, ``y0``, ``gain`` and ``t_scale``: a drawn point is
``(x0 + t_scale * t, y0 + gain * value)``, so the value in the file's unit is
``(y - y0) / gain`` (the tests read the data back this way).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import NwbscopeError, ViewError
from .base import Frame, Option, View
from .data.electrodes import read_electrodes
from .data.probe import ProbeLayout
from .data.waveforms import EventSample, UnitWaveform, UnitWaveforms, spike_event_sample
from .probe import electrode_columns, hover, probe_figure, probe_layout
from .units import unit_choices, units_table
from .window import TimeWindow

LINES_SOURCE = "waveform_lines"
BANDS_SOURCE = "waveform_bands"
ACG_SOURCE = "waveform_acg"
LOCATION_SOURCE = "waveform_probe"
SNIPPETS_SOURCE = "spike_snippets"
MEANS_SOURCE = "spike_means"
LINE_COLOR = "#1f4e79"
PEAK_COLOR = "#d62728"
CHANNEL_COLOR = "#ff7f0e"
OTHER_COLOR = "#c3cad1"
MAX_LINES = 8000  # snippet lines of a SpikeEventSeries frame (events x channels)


def line_arrays(wave: UnitWaveform, channels: list[int], layout: ProbeLayout | None,
                stacked: bool = False) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Lines and sd bands of ``channels``: at their probe positions when the layout and
    every channel's electrode are known, else stacked (channel k at y = k); the mode."""
    t = wave.times
    duration = float(t[-1] - t[0]) if len(t) > 1 else 1.0
    ptp = float(np.ptp(np.nan_to_num(wave.mean[:, channels]), axis=0).max())
    ptp = ptp if np.isfinite(ptp) and ptp > 0 else 1.0
    rows = wave.electrodes[channels]
    placed = (not stacked and layout is not None and bool(np.all(rows >= 0))
              and bool(np.all(rows < layout.n)))
    if placed:
        dx, dy = layout.pitch()
        t_scale = 0.8 * dx / duration
        gain = 1.6 * dy / ptp
        x0 = layout.x[rows] - 0.4 * dx - t_scale * float(t[0])
        y0 = layout.y[rows].astype(np.float64)
    else:
        t_scale, gain = 1.0, 0.9 / ptp
        x0 = np.zeros(len(channels))
        y0 = np.arange(len(channels), dtype=np.float64)
    xs, ys, band_x, band_y = [], [], [], []
    for k, c in enumerate(channels):
        x = (x0[k] + t_scale * t).astype(np.float32)
        mean = wave.mean[:, c]
        ys.append((y0[k] + gain * mean).astype(np.float32))
        xs.append(x)
        if wave.sd is not None:
            sd = wave.sd[:, c]
            band_x.append(np.concatenate([x, x[::-1]]))
            band_y.append(np.concatenate([y0[k] + gain * (mean + sd),
                                          (y0[k] + gain * (mean - sd))[::-1]]).astype(
                                              np.float32))
    peak = wave.peak
    labels = [f"ch {c}" + (f" · electrode row {int(r)}" if r >= 0 else "")
              for c, r in zip(channels, rows.tolist(), strict=True)]
    lines = {"xs": xs, "ys": ys, "channel": np.asarray(channels, dtype=np.int32),
             "electrode": rows.astype(np.int32), "label": np.array(labels, dtype=object),
             "x0": np.asarray(x0, dtype=np.float64), "y0": y0, "gain": np.full(len(channels),
                                                                               gain),
             "t_scale": np.full(len(channels), t_scale),
             "width": np.array([3.0 if c == peak else 1.5 for c in channels]),
             "color": np.array([PEAK_COLOR if c == peak else LINE_COLOR for c in channels],
                               dtype=object)}
    bands = {"xs": band_x, "ys": band_y,
             "color": np.array([PEAK_COLOR if c == peak else LINE_COLOR for c in channels]
                               [:len(band_x)], dtype=object)}
    return lines, bands, "probe" if placed else "stacked"


class WaveformsView(View):
    """One unit of a Units table with ``waveform_mean``: its waveforms on the channels
    around the peak, its autocorrelogram, its place on the probe."""

    height = 380

    @property
    def waves(self) -> UnitWaveforms:
        if not hasattr(self, "_waves"):
            self._waves = UnitWaveforms(self.nwb, self.path)
        return self._waves

    @property
    def stacked(self) -> bool:
        """Drawn stacked: asked for, or no probe positions to draw at."""
        return bool(self.values.get("stacked")) or self.layout is None

    @property
    def layout(self) -> ProbeLayout | None:
        target = self.waves.electrodes_table
        if not target or target not in self.nwb:
            return None
        try:
            return probe_layout(self.nwb, target)
        except NwbscopeError:
            return None

    def spikes(self) -> Any | None:
        """The shared spike-times reader (for the ACG), None without spike times."""
        try:
            return units_table(self.nwb, self.path)
        except NwbscopeError:
            return None

    def options(self) -> list[Option]:
        waves = self.waves
        ids = waves.table.ids().astype(np.int64)
        if not len(ids):
            raise ViewError(f"The units table {self.path} has no units.")
        units = self.spikes()
        choices = (unit_choices(units) if units is not None else
                   tuple((str(int(i)), f"unit {int(i)}") for i in ids))
        return [
            Option("unit", "Unit", "select", choices[0][0], choices=choices),
            Option("channels", "Channels", "number", 8.0, low=1, high=64, step=1,
                   help="How many channels around the peak (nearest on the probe)"),
            Option("stacked", "Stacked", "toggle", False, rebuild=True,
                   help="Channels one above the other instead of at their probe positions"),
            Option("acg_window_ms", "ACG ± (ms)", "number", 50.0, low=1.0, high=5000.0,
                   step=5.0, rebuild=True),
        ]

    @property
    def row(self) -> int:
        ids = self.waves.table.ids().astype(np.int64).astype(str)
        found = np.nonzero(ids == str(self.values["unit"]))[0]
        if not len(found):
            raise ViewError(f"{self.path} has no unit {self.values['unit']!r}")
        return int(found[0])

    def figure(self, window: TimeWindow) -> Any:
        from bokeh.layouts import row as bokeh_row
        from bokeh.models import ColumnDataSource, HoverTool, Range1d
        from bokeh.plotting import figure

        from .bokeh_kit import assemble

        lines = ColumnDataSource(name=LINES_SOURCE, data={
            "xs": [], "ys": [], "channel": [], "electrode": [], "label": [], "x0": [],
            "y0": [], "gain": [], "t_scale": [], "width": [], "color": []})
        bands = ColumnDataSource(name=BANDS_SOURCE, data={"xs": [], "ys": [], "color": []})
        plot = figure(height=self.height, tools="pan,wheel_zoom,box_zoom,reset,save",
                      sizing_mode="stretch_width", title="mean waveform ± sd",
                      x_axis_label="time (ms)" if self.stacked else "probe x (um)",
                      y_axis_label="channel" if self.stacked else "probe y (um)")
        plot.toolbar.logo = None
        plot.patches(xs="xs", ys="ys", source=bands, fill_color="color", fill_alpha=0.18,
                     line_color=None)
        drawn = plot.multi_line(xs="xs", ys="ys", source=lines, line_color="color",
                                line_width="width")
        plot.add_tools(HoverTool(renderers=[drawn], tooltips=[("channel", "@label")]))
        parts = [plot]
        if self.spikes() is not None:
            window_ms = float(self.values["acg_window_ms"])
            acg = figure(height=self.height, width=300, title="autocorrelogram",
                         x_range=Range1d(-window_ms, window_ms, name="acg_x_range"),
                         x_axis_label="lag (ms)", y_axis_label="spike pairs",
                         tools="xpan,xwheel_zoom,reset,save")
            acg.toolbar.logo = None
            source = ColumnDataSource(name=ACG_SOURCE, data={"left": [], "right": [],
                                                             "count": []})
            acg.quad(left="left", right="right", bottom=0, top="count", source=source,
                     fill_color="#2f4f4f", fill_alpha=0.6, line_color=None)
            parts.append(acg)
        layout = self.layout
        if layout is not None:
            where = probe_figure(layout, self.height, "pan,wheel_zoom,reset", width=260,
                                 title="on the probe")
            source = ColumnDataSource(name=LOCATION_SOURCE, data={
                **{n: [] for n in electrode_columns(layout)}, "size": [], "fill": []})
            dots = where.scatter(x="x", y="y", source=source, size="size", fill_color="fill",
                                 line_color=None, marker="square")
            where.add_tools(hover(dots))
            parts.append(where)
        return assemble(self, bokeh_row(*parts, sizing_mode="stretch_width"))

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        row = self.row
        wave = self.waves.unit(row)
        layout = self.layout
        k = int(self.values["channels"])
        x = layout.x if layout is not None else None
        y = layout.y if layout is not None else None
        channels = wave.around_peak(k, x, y)
        lines, bands, mode = line_arrays(wave, channels, layout, bool(self.values["stacked"]))
        sources: dict[str, dict[str, Any]] = {LINES_SOURCE: lines, BANDS_SOURCE: bands}
        notes = list(wave.notes)
        peak_row = int(wave.electrodes[wave.peak])
        units = self.spikes()
        if units is not None:
            acg = units.autocorrelogram(row, float(self.values["acg_window_ms"]), 1.0)
            sources[ACG_SOURCE] = {"left": acg.edges_ms[:-1], "right": acg.edges_ms[1:],
                                   "count": acg.counts.astype(np.int32)}
        else:
            notes.append("no spike_times: no autocorrelogram")
        if layout is not None:
            sources[LOCATION_SOURCE] = self._location(layout, wave, channels)
        elif mode == "stacked":
            notes.append("no electrodes table: channels are stacked by number")
        where = f" (electrode row {peak_row})" if peak_row >= 0 else ""
        status = (f"unit {self.values['unit']}: peak on channel {wave.peak}{where}; "
                  f"{len(channels)} of {wave.n_channels} channels drawn "
                  f"{'at their probe positions' if mode == 'probe' else 'stacked'}, "
                  f"{'ms' if wave.rate else 'samples (no sampling_rate)'}")
        yield Frame(sources=sources, status=status, notes=tuple(notes))

    @staticmethod
    def _location(layout: ProbeLayout, wave: UnitWaveform, channels: list[int]
                  ) -> dict[str, Any]:
        """Every electrode small and grey; the drawn channels orange; the peak red."""
        columns = electrode_columns(layout)
        fill = np.full(layout.n, OTHER_COLOR, dtype=object)
        size = np.full(layout.n, 5.0)
        shown = [int(r) for r in wave.electrodes[channels] if 0 <= r < layout.n]
        own = [int(r) for r in wave.unit_electrodes if 0 <= r < layout.n]
        fill[own] = CHANNEL_COLOR
        size[own] = 8.0
        fill[shown] = CHANNEL_COLOR
        size[shown] = 8.0
        peak = int(wave.electrodes[wave.peak])
        if 0 <= peak < layout.n:
            fill[peak], size[peak] = PEAK_COLOR, 11.0
        return {**columns, "size": size, "fill": fill}


def snippet_arrays(sample: EventSample, labels: list[str]
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Snippets (thin) and their mean (bold) per channel, channel k around y = k."""
    n_events, n_channels, n_samples = sample.data.shape
    x = np.arange(n_samples, dtype=np.float32)
    spread = float(np.ptp(np.nan_to_num(sample.mean), axis=1).max()) if n_events else 0.0
    gain = 0.9 / spread if np.isfinite(spread) and spread > 0 else 1.0
    xs, ys, channel, event, y0 = [], [], [], [], []
    for c in range(n_channels):
        for e in range(n_events):
            xs.append(x)
            ys.append((c + gain * sample.data[e, c]).astype(np.float32))
            channel.append(c)
            event.append(int(sample.indices[e]))
            y0.append(float(c))
    snippets = {"xs": xs, "ys": ys, "channel": np.asarray(channel, dtype=np.int32),
                "event": np.asarray(event, dtype=np.int64).astype(np.float64),
                "y0": np.asarray(y0), "gain": np.full(len(xs), gain)}
    means = {"xs": [x] * n_channels,
             "ys": [(c + gain * sample.mean[c]).astype(np.float32) for c in range(n_channels)],
             "channel": np.arange(n_channels, dtype=np.int32),
             "label": np.array(labels[:n_channels], dtype=object),
             "y0": np.arange(n_channels, dtype=np.float64), "gain": np.full(n_channels, gain)}
    return snippets, means


class SpikeEventsView(View):
    """A SpikeEventSeries: a bounded sample of its snippets overlaid per channel, their
    mean in bold."""

    height = 420

    def options(self) -> list[Option]:
        return [Option("max_events", "Events drawn (at most)", "number", 200.0, low=1,
                       high=2000, step=50, help="Read in a few runs spread over the series")]

    def labels(self, n_channels: int) -> list[str]:
        return list(read_electrodes(self.nwb, self.nwb.group(self.path), n_channels).labels)

    def figure(self, window: TimeWindow) -> Any:
        from bokeh.models import ColumnDataSource, FixedTicker, HoverTool
        from bokeh.plotting import figure

        from .bokeh_kit import assemble

        data = self.nwb.group(self.path)["data"]
        shape = tuple(int(n) for n in data.shape)
        if len(shape) not in (2, 3):
            raise ViewError(f"The spike snippets of {self.path} have shape {list(shape)}; "
                            "expected (events, samples) or (events, channels, samples).")
        n_channels = shape[1] if len(shape) == 3 else 1
        snippets = ColumnDataSource(name=SNIPPETS_SOURCE, data={
            "xs": [], "ys": [], "channel": [], "event": [], "y0": [], "gain": []})
        means = ColumnDataSource(name=MEANS_SOURCE, data={
            "xs": [], "ys": [], "channel": [], "label": [], "y0": [], "gain": []})
        height = int(min(900, max(self.height, 70 * n_channels + 80)))
        plot = figure(height=height, sizing_mode="stretch_width",
                      tools="pan,wheel_zoom,box_zoom,reset,save",
                      x_axis_label="sample in snippet", y_axis_label="channel")
        plot.toolbar.logo = None
        plot.multi_line(xs="xs", ys="ys", source=snippets, line_color="#5a7ea6",
                        line_alpha=0.25, line_width=1)
        bold = plot.multi_line(xs="xs", ys="ys", source=means, line_color="#111111",
                               line_width=3)
        plot.add_tools(HoverTool(renderers=[bold], tooltips=[("channel", "@label")]))
        labels = self.labels(n_channels)
        plot.yaxis.ticker = FixedTicker(ticks=list(range(n_channels)))
        plot.yaxis.major_label_overrides = {i: labels[i] for i in range(n_channels)}
        return assemble(self, plot)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        group = self.nwb.group(self.path)
        shape = group["data"].shape
        n_channels = int(shape[1]) if len(shape) == 3 else 1
        wanted = int(self.values["max_events"])
        bounded = max(1, min(wanted, MAX_LINES // n_channels))
        sample = spike_event_sample(group, bounded)
        labels = self.labels(sample.data.shape[1])
        snippets, means = snippet_arrays(sample, labels)
        drawn = len(sample.indices)
        how = ("all events" if drawn == sample.n_events else
               f"{drawn} of {sample.n_events} events (in runs spread over the series)")
        notes = (() if bounded == wanted else
                 (f"{n_channels} channels: at most {bounded} events are drawn "
                  f"({MAX_LINES} lines)",))
        yield Frame(sources={SNIPPETS_SOURCE: snippets, MEANS_SOURCE: means},
                    status=f"{how}; bold: the mean of the {drawn} drawn", notes=notes)
