"""Intracellular sweeps overlaid: responses above, stimuli below, each from its own start.

Why not time-based: the x axis is time from each sweep's first sample (ms), the same for all
sweeps of a group, so the panel neither follows nor leads the shared window; its x range
(``sweeps_x_range``) is set by each frame to the longest sweep.

Why grouping and group are options that rebuild: the choices of "group" are the rows of the
chosen level's table, and the axis labels carry the units of the group's series, so a new
level or group builds the figure again (a small document: two plots of a few lines).

Sources: ``sweep_responses`` and ``sweep_stimuli`` (``xs``, ``ys``: one line per sweep,
``color``, ``label``, ``path``); a sweep without a stimulus has no line below.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ViewError
from .base import Frame, Option, View
from .data.series import read_series_time
from .data.sweeps import (
    LEVEL_OF_TYPE,
    LEVEL_TITLES,
    Group,
    Part,
    Sweep,
    Sweeps,
    is_stimulus,
    read_sweeps,
    sweep_trace,
)
from .window import TimeWindow

RESPONSE_SOURCE = "sweep_responses"
STIMULUS_SOURCE = "sweep_stimuli"
X_RANGE = "sweeps_x_range"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
SERIES_LEVELS = ("sequential", "simultaneous", "recording", "sweep_number", "alone")
MAX_SWEEPS = 200  # sweeps drawn at once (a condition of a long protocol can hold thousands)
MAX_LEGEND = 12  # sweeps named in a legend; more are named by hovering


class SweepsView(View):
    """A PatchClampSeries (its group of sweeps) or an icephys table (its rows' sweeps)."""

    height = 260

    @property
    def on_table(self) -> str | None:
        """The grouping level of the table this view was opened on (None: a series)."""
        kind = self.nwb.neurodata_type(self.nwb.group(self.path))[0] or ""
        if kind in LEVEL_OF_TYPE:
            return LEVEL_OF_TYPE[kind]
        lineage = self.nwb.ancestors(self.nwb.group(self.path))
        return next((LEVEL_OF_TYPE[t] for t in lineage if t in LEVEL_OF_TYPE), None)

    @property
    def sweeps(self) -> Sweeps:
        """Read once: the file's sweeps (plus this series alone when no group holds it)."""
        if not hasattr(self, "_sweeps"):
            level = self.on_table
            base = posixpath.dirname(self.path) if level else None
            found = read_sweeps(self.nwb, base) if base else read_sweeps(self.nwb)
            if level is None and self._series_level(found) is None:
                found = _with_alone(self.nwb, found, self.path)
            self._sweeps = found
        return self._sweeps

    def _series_level(self, sweeps: Sweeps) -> str | None:
        """The first of ``SERIES_LEVELS`` with a group that holds this series."""
        mine = set(sweeps.sweeps_of_series(self.path))
        return next((v for v in SERIES_LEVELS
                     if any(mine & set(g.sweeps) for g in sweeps.levels.get(v, ()))), None)

    def default_level(self) -> str:
        levels = self.sweeps.levels
        level = self.on_table
        if level in levels:
            return level
        if level is None:
            return self._series_level(self.sweeps) or next(iter(levels))
        return next(iter(levels))

    def default_group(self, level: str) -> str:
        groups = self.sweeps.levels[level]
        if self.on_table is None:
            mine = set(self.sweeps.sweeps_of_series(self.path))
            for group in groups:
                if mine & set(group.sweeps):
                    return group.key
        return groups[0].key

    def options(self) -> list[Option]:
        levels = self.sweeps.levels
        level = getattr(self, "values", {}).get("level", self.default_level())
        if level not in levels:
            level = self.default_level()
        return [
            Option("level", "Group by", "select", self.default_level(),
                   choices=tuple((v, LEVEL_TITLES.get(v, v)) for v in levels), rebuild=True,
                   help="Which icephys table groups the sweeps"),
            Option("group", "Group", "select", self.default_group(level),
                   choices=tuple((g.key, g.label) for g in levels[level]), rebuild=True),
        ]

    def set_option(self, name: str, value: Any) -> bool:
        rebuild = super().set_option(name, value)
        if name == "level":
            del self._options  # the group choices are the new level's
            keys = {g.key for g in self.sweeps.levels[str(value)]}
            if self.values.get("group") not in keys:
                self.values["group"] = self.default_group(str(value))
        return rebuild

    def group(self) -> Group:
        level = self.values.get("level") or self.default_level()
        groups = self.sweeps.levels.get(level, ())
        found = next((g for g in groups if g.key == self.values.get("group")), None)
        if found is None:
            raise ViewError(f"There is no group {self.values.get('group')!r} at the "
                            f"{LEVEL_TITLES.get(level, level)} level of this file.")
        return found

    # -- drawing ----------------------------------------------------------------------------
    def _unit(self, part: Part | None) -> str | None:
        """The unit of a sweep's series (None: absent, missing or unreadable)."""
        if part is None or part.path is None:
            return None
        cache: dict[str, str | None] = self.__dict__.setdefault("_unit_cache", {})
        if part.path not in cache:  # figure and frames ask for every sweep's unit
            try:
                cache[part.path] = (read_series_time(self.nwb.group(part.path)).unit
                                    or "value") if part.path in self.nwb else None
            except ViewError:
                cache[part.path] = None
        return cache[part.path]

    def shown(self) -> tuple[list[int], list[int]]:
        """Sweeps drawn and sweeps left out: one response unit per plot (the first sweep's),
        so volts and amperes never share an axis (a repetition can mix clamp modes)."""
        drawn: list[int] = []
        other: list[int] = []
        unit = None
        for k in self.group().sweeps:
            this = self._unit(self.sweeps.sweeps[k].response)
            if unit is None:
                unit = this
            if this is not None and this != unit or len(drawn) >= MAX_SWEEPS:
                other.append(k)
            else:
                drawn.append(k)
        return drawn, other

    def _units(self, role: str) -> str:
        units: list[str] = []
        for k in self.shown()[0]:
            unit = self._unit(getattr(self.sweeps.sweeps[k], role))
            if unit is not None and unit not in units:
                units.append(unit)
        return " / ".join(units) or "value"

    def figure(self, window: TimeWindow) -> Any:
        from bokeh.models import ColumnDataSource, HoverTool, Range1d

        from .bokeh_kit import assemble, time_figure

        x_range = Range1d(0.0, 1.0, name=X_RANGE)
        few = len(self.shown()[0]) <= MAX_LEGEND  # else the legend would hide the lines
        plots = []
        for role, name, height in (("response", RESPONSE_SOURCE, self.height),
                                   ("stimulus", STIMULUS_SOURCE, self.height * 2 // 3)):
            plot = time_figure(self, window, f"{role} ({self._units(role)})", height=height,
                               shared=False)
            plot.x_range = x_range
            plot.xaxis.axis_label = "time from sweep start (ms)"
            source = ColumnDataSource(name=name, data={"xs": [], "ys": [], "color": [],
                                                       "label": [], "path": []})
            legend = {"legend_field": "label"} if few else {}
            lines = plot.multi_line(xs="xs", ys="ys", source=source, line_color="color",
                                    line_width=1.2, **legend)
            plot.add_tools(HoverTool(renderers=[lines], tooltips=[("sweep", "@label")]))
            if few:
                plot.legend.location = "top_right"
                plot.legend.label_text_font_size = "9px"
            plots.append(plot)
        return assemble(self, *plots)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        group = self.group()
        shown, left_out = self.shown()
        notes: list[str] = list(self.sweeps.warnings)
        if left_out:
            notes.append(f"{len(left_out)} of the group's {len(group.sweeps)} sweeps are not "
                         f"drawn (at most {MAX_SWEEPS}, one response unit per plot: "
                         f"{self._units('response')}); choose a finer grouping to see them.")
        lines = {"response": _empty(), "stimulus": _empty()}
        lengths: list[float] = []
        for rank, k in enumerate(shown):
            sweep = self.sweeps.sweeps[k]
            color = PALETTE[rank % len(PALETTE)]
            for role in ("response", "stimulus"):
                part: Part | None = getattr(sweep, role)
                if part is None:
                    continue
                if part.path is None or part.path not in self.nwb:
                    notes.append(f"{sweep.label}: its {role} series is not in the file "
                                 "(the table points at a missing object); not drawn.")
                    continue
                try:
                    trace = sweep_trace(self.nwb, part, window.width_px)
                except ViewError as error:
                    notes.append(f"{sweep.label}: {error}")
                    continue
                notes.extend(w for w in trace.warnings if w not in notes)
                out = lines[role]
                out["xs"].append(trace.t_ms)
                out["ys"].append(trace.values)
                out["color"].append(color)
                out["label"].append(sweep.label)
                out["path"].append(trace.path)
                if trace.n_samples and role == "response":
                    lengths.append(trace.duration_ms)
        if lengths and max(lengths) - min(lengths) > 1e-6 * max(1.0, max(lengths)):
            notes.append(f"The sweeps have different lengths ({min(lengths):.4g} to "
                         f"{max(lengths):.4g} ms); each is drawn from its own start.")
        if " / " in self._units("stimulus"):
            notes.append(f"The stimuli of this group are in different units "
                         f"({self._units('stimulus')}); they share one axis.")
        end = max(lengths) if lengths else 1.0
        level = LEVEL_TITLES.get(str(self.values.get("level")), "")
        status = (f"{len(shown)} sweep{'s' if len(shown) != 1 else ''} · {level}: "
                  f"{group.label}")
        yield Frame(sources={RESPONSE_SOURCE: _columns(lines["response"]),
                             STIMULUS_SOURCE: _columns(lines["stimulus"])},
                    status=status, notes=tuple(notes),
                    ranges={X_RANGE: (0.0, max(end, 1e-3))})


def _empty() -> dict[str, list[Any]]:
    return {"xs": [], "ys": [], "color": [], "label": [], "path": []}


def _columns(lines: dict[str, list[Any]]) -> dict[str, Any]:
    return {"xs": lines["xs"], "ys": lines["ys"],
            "color": np.array(lines["color"], dtype=object),
            "label": np.array(lines["label"], dtype=object),
            "path": np.array(lines["path"], dtype=object)}


def _with_alone(nwb: Any, sweeps: Sweeps, path: str) -> Sweeps:
    """The file's sweeps plus the series at ``path`` as a group of its own (it is added
    as a sweep when no table or sweep number names it)."""

    mine = sweeps.sweeps_of_series(path)
    added: tuple[Sweep, ...] = ()
    if mine:
        k = mine[0]
    else:
        group = nwb.group(path)
        n = int(group["data"].shape[0]) if "data" in group and group["data"].shape else 0
        part = Part(path, 0, n)
        stimulus = is_stimulus(nwb, group)
        added = (Sweep(posixpath.basename(path), None if stimulus else part,
                       part if stimulus else None),)
        k = len(sweeps.sweeps)
    levels = {"alone": (Group("alone", f"{posixpath.basename(path)} alone", (k,)),),
              **sweeps.levels}
    return Sweeps((*sweeps.sweeps, *added), levels, sweeps.warnings, sweeps.missing)
