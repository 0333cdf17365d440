"""Event-aligned views: spikes around trials or events (raster above PSTH), or a TimeSeries
around them (every trial thin, mean ± s.e.m. per group).

Why not time-based: the x axis is time from the event, the same for every trial, so these
plots do not follow the shared window; their x range (``psth_x_range``) is the aligned
window and every frame sets it (frames come only when an option changes, so it never fights
a zoom during a pan).

Why the group-by choices follow the alignment source: a trials table is grouped by its own
columns (condition, outcome), an event source by its labels; changing the source rebuilds
the panel with the new choices. Colours come from one 20-colour palette indexed by group, so
the raster (a colour transform of an int column, cheap for 200 000 spikes), its group bands
and the PSTH legend agree.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Iterator
from typing import Any

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, HoverTool, Range1d, Span
from bokeh.palettes import Category10_10, Category20_20
from bokeh.transform import linear_cmap

from ..errors import ParameterError, ViewError
from .base import Frame, Option, View
from .data.columns import categories
from .data.events import find_events
from .data.intervals import IntervalsTable, find_intervals
from .data.psth import AlignTimes, align_to_events, align_to_intervals, aligned_traces, psth
from .data.series import read_series_time
from .units import unit_choices, unit_row, units_table
from .window import TimeWindow

GROUP_PALETTE = tuple(Category10_10) + tuple(Category20_20[1::2])  # 20 distinct colours
MAX_GROUPS = len(GROUP_PALETTE)
MAX_TRACES = 300  # trials drawn as thin lines (the mean uses all of them)
RASTER_SOURCE = "psth_raster"
BANDS_SOURCE = "psth_bands"
RATE_SOURCE = "psth"
TRACES_SOURCE = "psth_traces"
MEAN_SOURCE = "psth_mean"
SEM_SOURCE = "psth_sem"
X_RANGE = "psth_x_range"
TRIALS_RANGE = "psth_trials_range"
NO_GROUP = ""


class PsthView(View):
    """A Units table or a TimeSeries around the times of an intervals column or events."""

    height = 260

    @property
    def for_units(self) -> bool:
        return self.nwb.is_a(self.nwb.group(self.path), "Units")

    # -- alignment sources and options -----------------------------------------------------
    def align_sources(self) -> dict[str, tuple[str, str | None]]:
        """``value -> (path, column)`` of every alignment source: each number column of each
        TimeIntervals table (``"/intervals/trials:start_time"``), then each event source
        (its path, column None)."""
        if not hasattr(self, "_sources"):
            found: dict[str, tuple[str, str | None]] = {}
            for path in find_intervals(self.nwb):
                try:
                    table = IntervalsTable(self.nwb, path)
                except ViewError:
                    continue
                for info in table.columns:
                    if info.kind == "numeric" and info.name != "id":
                        found[f"{path}:{info.name}"] = (path, info.name)
            for path in find_events(self.nwb):
                found[path] = (path, None)
            self._sources = found
        return self._sources

    def group_choices(self, align: str) -> tuple[tuple[str, str], ...]:
        path, col = self.align_sources()[align]
        if col is None:
            return ((NO_GROUP, "(none)"), ("label", "label"))
        table = IntervalsTable(self.nwb, path)
        names = [c.name for c in table.columns if c.name not in ("id", "start_time",
                                                                   "stop_time")]
        return ((NO_GROUP, "(none)"), *((n, n) for n in names))

    def default_group(self, align: str) -> str:
        """Events by label; trials by their first text column with 2 to 20 values (the
        condition, usually), else not grouped."""
        path, col = self.align_sources()[align]
        if col is None:
            return "label"
        table = IntervalsTable(self.nwb, path)
        for info in table.columns:
            if info.kind in ("text", "bool") and info.name not in ("start_time", "stop_time"):
                if 2 <= len(categories(table.values(info.name)).labels) <= MAX_GROUPS:
                    return info.name
        return NO_GROUP

    def options(self) -> list[Option]:
        sources = self.align_sources()
        if not sources:
            raise ViewError("This file has no trials, intervals or events to align to; the "
                            "event-aligned view needs a TimeIntervals table or an event "
                            "source.")
        default = next((v for v in sources if v.endswith("/trials:start_time")),
                       next(iter(sources)))
        align = getattr(self, "values", {}).get("align", default)
        labels = tuple((v, self._align_label(v)) for v in sources)
        options = [
            Option("align", "Align to", "select", default, choices=labels, rebuild=True),
            Option("group", "Group by", "select", self.default_group(align),
                   choices=self.group_choices(align)),
            Option("pre", "From (s)", "number", -0.5, low=-600.0, high=600.0, step=0.1),
            Option("post", "To (s)", "number", 1.0, low=-600.0, high=600.0, step=0.1),
        ]
        if self.for_units:
            units = units_table(self.nwb, self.path)
            options += [
                Option("bin_s", "Bin (s)", "number", 0.02, low=0.0005, high=60.0, step=0.005),
                Option("units", "Units (empty: all)", "multiselect", [],
                       choices=unit_choices(units), help="The PSTH sums the chosen units"),
            ]
        else:
            n = read_series_time(self.nwb.group(self.path)).n_channels
            if n > 1:
                options.append(Option("channel", "Channel", "select", "0",
                                      choices=tuple((str(c), f"channel {c}")
                                                    for c in range(n))))
        return options

    def _align_label(self, value: str) -> str:
        path, col = self.align_sources()[value]
        name = posixpath.basename(path)
        return f"{name} · {col}" if col else f"{name} (events)"

    def set_option(self, name: str, value: Any) -> bool:
        previous = dict(self.values)
        rebuild = super().set_option(name, value)
        pre, post = self.values["pre"], self.values["post"]
        if name in ("pre", "post") and not post > pre:
            self.values = previous
            raise ParameterError(name, f"the aligned window must end after it starts, got "
                                 f"{pre:g} to {post:g} s")
        if name == "align":
            del self._options  # the group-by choices are the new source's
            if self.values.get("group") not in {v for v, _ in self.group_choices(value)}:
                self.values["group"] = self.default_group(str(value))
        return rebuild

    def alignment(self) -> AlignTimes:
        path, col = self.align_sources()[self.values["align"]]
        group = self.values.get("group") or None
        if col is None:
            align = align_to_events(self.nwb, path, group_by_label=group == "label")
        else:
            align = align_to_intervals(self.nwb, path, col, group)
        if not align.n_trials:
            raise ViewError(f"{self._align_label(self.values['align'])} has no times to "
                            "align to.")
        if len(align.group_labels) > MAX_GROUPS:
            raise ParameterError("group", f"{group} has {len(align.group_labels)} values; "
                                 f"choose a column with at most {MAX_GROUPS}")
        return align

    # -- drawing ----------------------------------------------------------------------------
    def figure(self, window: TimeWindow) -> Any:
        from .bokeh_kit import assemble

        pre, post = float(self.values["pre"]), float(self.values["post"])
        x_range = Range1d(pre, post, name=X_RANGE)
        if not self.for_units:
            return assemble(self, self._traces_figure(window, x_range))
        n = self.alignment().n_trials
        height = int(min(600, max(200, 3 * n + 70)))
        raster = self._plot(window, x_range, "trial (grouped)", height,
                            output_backend="webgl",
                            y_range=Range1d(-0.5, n - 0.5, name=TRIALS_RANGE))
        raster.xaxis.axis_label = None
        bands = ColumnDataSource(name=BANDS_SOURCE, data={
            "left": [], "right": [], "bottom": [], "top": [], "color": [], "label": [],
            "n_trials": []})
        band = raster.quad(left="left", right="right", bottom="bottom", top="top",
                           source=bands, fill_color="color", fill_alpha=0.08, line_color=None)
        raster.add_tools(HoverTool(renderers=[band], tooltips=[
            ("group", "@label"), ("trials", "@n_trials")]))
        spikes = ColumnDataSource(name=RASTER_SOURCE, data={"x": [], "y": [], "group": []})
        size = float(min(10.0, max(2.0, 0.8 * (height - 60) / max(n, 1))))
        raster.scatter(x="x", y="y", source=spikes, marker="dash", angle=math.pi / 2,
                       size=size, line_width=1,
                       line_color=linear_cmap("group", list(GROUP_PALETTE), -0.5,
                                              MAX_GROUPS - 0.5))
        rate = self._plot(window, x_range, "rate (Hz, per unit and trial)", self.height)
        source = ColumnDataSource(name=RATE_SOURCE, data={
            "xs": [], "ys": [], "color": [], "label": [], "n_trials": []})
        rate.multi_line(xs="xs", ys="ys", source=source, line_color="color", line_width=2,
                        legend_field="label")
        rate.legend.location = "top_right"
        return assemble(self, column(raster, rate, sizing_mode="stretch_width"))

    def _traces_figure(self, window: TimeWindow, x_range: Range1d) -> Any:
        unit = read_series_time(self.nwb.group(self.path)).unit or "value"
        plot = self._plot(window, x_range, unit, 360)
        traces = ColumnDataSource(name=TRACES_SOURCE, data={
            "xs": [], "ys": [], "color": [], "trial": []})
        plot.multi_line(xs="xs", ys="ys", source=traces, line_color="color", line_alpha=0.25,
                        line_width=1)
        band = ColumnDataSource(name=SEM_SOURCE, data={"xs": [], "ys": [], "color": [],
                                                       "label": []})
        plot.patches(xs="xs", ys="ys", source=band, fill_color="color", fill_alpha=0.25,
                     line_color=None)
        mean = ColumnDataSource(name=MEAN_SOURCE, data={"xs": [], "ys": [], "color": [],
                                                        "label": []})
        plot.multi_line(xs="xs", ys="ys", source=mean, line_color="color", line_width=2.5,
                        legend_field="label")
        plot.legend.location = "top_right"
        return plot

    def _plot(self, window: TimeWindow, x_range: Range1d, y_label: str, height: int,
              **kwargs: Any) -> Any:
        """A figure on time from the event, sharing ``x_range``, with the event at 0."""
        from .bokeh_kit import time_figure

        plot = time_figure(self, window, y_label, height=height, shared=False, **kwargs)
        plot.x_range = x_range
        plot.xaxis.axis_label = "time from event (s)"
        plot.add_layout(Span(location=0, dimension="height", line_color="#d32f2f",
                             line_dash="dashed", line_width=1))
        return plot

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        align = self.alignment()
        pre, post = float(self.values["pre"]), float(self.values["post"])
        if self.for_units:
            yield self._spikes_frame(align, pre, post)
        else:
            yield self._traces_frame(align, pre, post)

    def _spikes_frame(self, align: AlignTimes, pre: float, post: float) -> Frame:
        units = units_table(self.nwb, self.path)
        chosen = self.values.get("units") or []
        rows = [unit_row(units, u) for u in chosen] if chosen else None
        result = psth(units, align, rows, pre, post, float(self.values["bin_s"]))
        n = align.n_trials
        raster = {"x": result.raster_time, "y": (n - 1 - result.raster_y).astype(np.int32),
                  "group": (align.groups[result.raster_trial] % MAX_GROUPS).astype(np.int32)}
        offsets = np.concatenate([[0], np.cumsum(result.n_trials)])
        shown = [g for g in range(len(align.group_labels)) if result.n_trials[g]]
        colors = [GROUP_PALETTE[g % MAX_GROUPS] for g in shown]
        labels = [f"{align.group_labels[g]} (n={int(result.n_trials[g])})" for g in shown]
        bands = {"left": np.full(len(shown), pre), "right": np.full(len(shown), post),
                 "bottom": np.array([n - offsets[g + 1] - 0.5 for g in shown], dtype=float),
                 "top": np.array([n - offsets[g] - 0.5 for g in shown], dtype=float),
                 "color": np.array(colors, dtype=object),
                 "label": np.array(labels, dtype=object),
                 "n_trials": result.n_trials[shown].astype(np.int32)}
        step_x = np.repeat(result.edges, 2)[1:-1]
        rate = {"xs": [step_x] * len(shown),
                "ys": [np.repeat(result.rate_hz[g], 2) for g in shown],
                "color": bands["color"], "label": bands["label"],
                "n_trials": bands["n_trials"]}
        n_units = len(result.unit_rows)
        bin_ms = 1000 * (post - pre) / max(1, len(result.edges) - 1)
        status = (f"{n} trials in {len(shown)} groups · {n_units} units · {result.n_spikes} "
                  f"spikes · bins of {bin_ms:.3g} ms")
        notes = () if result.raster_complete else (
            f"raster not drawn: {result.n_spikes} spikes is more than the raster shows; "
            "choose fewer units or a shorter window",)
        return Frame(sources={RASTER_SOURCE: raster, BANDS_SOURCE: bands, RATE_SOURCE: rate},
                     status=status, notes=notes,
                     ranges={X_RANGE: (pre, post), TRIALS_RANGE: (-0.5, n - 0.5)})

    def _traces_frame(self, align: AlignTimes, pre: float, post: float) -> Frame:
        channel = int(self.values.get("channel", "0"))
        traces = aligned_traces(self.nwb, self.path, align, pre, post, channel)
        grid = traces.rel_time
        drawn = np.arange(min(align.n_trials, MAX_TRACES))
        group_colors = np.array([GROUP_PALETTE[g % MAX_GROUPS]
                                 for g in range(len(align.group_labels))], dtype=object)
        lines = {"xs": [grid] * len(drawn),
                 "ys": [traces.traces[k].astype(np.float32) for k in drawn],
                 "color": group_colors[align.groups[drawn]] if len(drawn) else
                 np.zeros(0, object),
                 "trial": align.rows[drawn].astype(np.int32)}
        groups = [g for g in range(len(align.group_labels)) if np.any(traces.n_valid[g])]
        labels = np.array([f"{align.group_labels[g]} (n={int(np.sum(align.groups == g))})"
                           for g in groups], dtype=object)
        band_xs, band_ys = [], []
        for g in groups:
            valid = np.isfinite(traces.mean[g])
            sem = np.nan_to_num(traces.sem[g][valid])  # one trial: no band, only the line
            x, m = grid[valid], traces.mean[g][valid]
            band_xs.append(np.concatenate([x, x[::-1]]))
            band_ys.append(np.concatenate([m + sem, (m - sem)[::-1]]))
        colors = group_colors[groups] if groups else np.zeros(0, object)
        notes = () if align.n_trials <= MAX_TRACES else (
            f"{MAX_TRACES} of {align.n_trials} trials drawn; the mean uses all",)
        status = (f"{align.n_trials} trials in {len(groups)} groups · channel {channel} · "
                  f"{traces.unit or 'value'}")
        return Frame(sources={
            TRACES_SOURCE: lines,
            SEM_SOURCE: {"xs": band_xs, "ys": band_ys, "color": colors, "label": labels},
            MEAN_SOURCE: {"xs": [grid] * len(groups), "ys": [traces.mean[g] for g in groups],
                          "color": colors, "label": labels}},
            status=status, notes=notes, ranges={X_RANGE: (pre, post)})
