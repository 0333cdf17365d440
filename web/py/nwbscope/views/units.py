"""Units: a raster of every unit in a chosen order, and one unit's rate, ACG and ISI.

Why all units and not a page of them: the question a raster answers is "what does the
population do here", and a few units per screen hide it. Every unit gets a row (500 units
in 900 px are 2 px rows, still readable as a density), spikes are vertical dashes drawn by
WebGL, and above the data step's threshold the window becomes a spike-density image
(``data.units.SPIKE_DENSITY_THRESHOLD``), so a pan never sends more than ~20 000 points.

Why the y labels come from a source (``raster_units``) through a JS tick formatter: sorting
changes which unit sits in which row, and with the labels in a source a new sort is one
frame, not a rebuilt document; the ticker stays adaptive (every row when zoomed in, every
tenth when 500 rows share the height). Row ``k`` of the display order is drawn at
``y = n - 1 - k`` so that the first unit is at the top with an ordinary (unflipped) range.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np
from bokeh.layouts import row as bokeh_row
from bokeh.models import (
    BasicTicker,
    ColumnDataSource,
    CustomJSTickFormatter,
    HoverTool,
    Range1d,
)

from ..errors import ParameterError, ViewError
from .base import Frame, Option, View
from .data.columns import format_value
from .data.units import DERIVED, SPIKE_DENSITY_THRESHOLD, Raster, UnitsTable
from .events import add_density, density_columns
from .window import TimeWindow

SPIKES_SOURCE = "raster_spikes"
DENSITY_SOURCE = "raster_density"
UNITS_SOURCE = "raster_units"
RATE_SOURCE = "unit_rate"
ACG_SOURCE = "unit_acg"
ISI_SOURCE = "unit_isi"
MAX_CATEGORIES = 64  # a column with more distinct values is offered for sorting only
SPIKE_COLOR = "#1d2b3a"
LABEL_JS = """
const labels = units.data.label;
const i = Math.round(tick);
return (Math.abs(tick - i) < 1e-6 && i >= 0 && labels && i < labels.length) ? labels[i] : "";
"""

_TABLES: weakref.WeakKeyDictionary[Any, dict[str, UnitsTable]] = weakref.WeakKeyDictionary()


def units_table(nwb: Any, path: str) -> UnitsTable:
    """The file's ``UnitsTable`` for ``path``, shared by every view of it (the raster, a
    unit's statistics and the PSTH read the spike times once between them)."""
    tables = _TABLES.setdefault(nwb, {})
    if path not in tables:
        tables[path] = UnitsTable(nwb, path)
    return tables[path]


def unit_choices(units: UnitsTable) -> tuple[tuple[str, str], ...]:
    """``(id, "unit <id> · <n> spikes")`` for every unit, in table order."""
    ids, counts = units.values("id"), units.n_spikes
    return tuple((str(int(i)), f"unit {int(i)} · {int(n)} spikes")
                 for i, n in zip(ids, counts, strict=True))


def unit_row(units: UnitsTable, unit_id: str) -> int:
    """The table row of a unit id (as text), or a ParameterError naming ``unit``."""
    ids = units.values("id")
    found = np.nonzero(ids.astype(str) == str(unit_id))[0]
    if not len(found):
        raise ParameterError("unit", f"{units.path} has no unit with id {unit_id!r}")
    return int(found[0])


class RasterView(View):
    """Every unit of a Units table, sorted and selected by any of its columns."""

    height = 360

    @property
    def units(self) -> UnitsTable:
        return units_table(self.nwb, self.path)

    # -- options --------------------------------------------------------------------------
    def categories(self) -> list[tuple[str, list[str]]]:
        """Columns that select units by value (``quality = good``): text, bools, joined
        lists and the text columns of the electrodes they point to, with few values;
        then each unit by id."""
        found = []
        for info in self.units.columns:
            if info.name in DERIVED or info.kind in ("region", "array", "other"):
                continue
            if info.kind == "numeric" and info.name != "id":
                continue
            texts = sorted({format_value(v) for v in self.units.values(info.name).tolist()})
            texts = [t for t in texts if t != ""]
            if info.name == "id" or 1 <= len(texts) <= MAX_CATEGORIES:
                found.append((info.name, texts))
        found.sort(key=lambda item: item[0] == "id")  # the long list of ids last
        return found

    def options(self) -> list[Option]:
        sortable = tuple((c.name, c.name) for c in self.units.columns if c.sortable)
        shows = tuple((f"{name} = {v}", f"{name} = {v}")
                      for name, values in self.categories() for v in values)
        return [
            Option("sort", "Sort by", "select", "id", choices=sortable,
                   help="Row order: any column of the units table or its electrodes"),
            Option("descending", "Descending", "toggle", False),
            Option("show", "Units (empty: all)", "multiselect", [], choices=shows,
                   rebuild=True, help="Values of one column are alternatives (or); "
                   "values of different columns must all hold (and)"),
            Option("max_spikes", "Max. spikes drawn", "number", SPIKE_DENSITY_THRESHOLD,
                   low=100, high=200_000, step=1000,
                   help="Above this many spikes in the window a density image is drawn"),
        ]

    def selected(self) -> np.ndarray:
        """Table rows that the ``show`` choices keep: per column any value, across columns
        all of them; every unit when nothing is chosen."""
        wanted: dict[str, set[str]] = {}
        for key in self.values.get("show") or []:
            name, sep, value = str(key).partition(" = ")
            if not sep:
                raise ParameterError("show", f"{key!r} is not 'column = value'")
            wanted.setdefault(name, set()).add(value)
        keep = np.ones(self.units.n_units, dtype=bool)
        for name, values in wanted.items():
            texts = np.array([format_value(v) for v in self.units.values(name).tolist()],
                             dtype=object)
            keep &= np.isin(texts, list(values))
        return np.nonzero(keep)[0].astype(np.int64)

    def order(self) -> np.ndarray:
        """Selected rows in display order (first drawn at the top)."""
        return self.units.sort_units(self.values["sort"], bool(self.values["descending"]),
                                     rows=self.selected())

    def span(self) -> tuple[float, float] | None:
        return self.units.span

    # -- drawing ----------------------------------------------------------------------------
    def figure(self, window: TimeWindow) -> Any:
        from .bokeh_kit import assemble, time_figure

        n = len(self.selected())
        if n == 0:
            shown = ", ".join(self.values.get("show") or [])
            raise ViewError(f"No unit of {self.path} matches {shown}; choose other values.")
        height = int(min(900, max(self.height, 14 * n + 70)))
        plot = time_figure(self, window, "unit", height=height, output_backend="webgl",
                           y_range=Range1d(-0.5, n - 0.5, name="y_range"))
        units = ColumnDataSource(name=UNITS_SOURCE, data={
            "y": [], "row": [], "unit_id": [], "label": [], "spikes": []})
        plot.yaxis.ticker = BasicTicker(min_interval=1, desired_num_ticks=max(
            2, min(n, height // 16)), num_minor_ticks=0)
        plot.yaxis.formatter = CustomJSTickFormatter(args={"units": units}, code=LABEL_JS)
        plot.ygrid.visible = False
        add_density(plot, DENSITY_SOURCE, "spikes in bin")
        spikes = ColumnDataSource(name=SPIKES_SOURCE, data={"x": [], "y": []})
        size = float(min(12.0, max(3.0, 0.8 * (height - 60) / n)))
        plot.scatter(x="x", y="y", source=spikes, marker="dash", angle=math.pi / 2,
                     size=size, line_color=SPIKE_COLOR, line_width=1)
        return assemble(self, plot)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        rows = self.order()
        raster = self.units.raster(window, rows, int(self.values["max_spikes"]))
        yield self.frame(raster)

    def frame(self, raster: Raster) -> Frame:
        n = len(raster.rows)
        if raster.mode == "spikes":
            per_unit = np.bincount(raster.y, minlength=n)
            spikes = {"x": raster.times, "y": (n - 1 - raster.y).astype(np.int32)}
            density = density_columns(None, 0.0, 1.0)
            status = f"spikes: {raster.n_spikes} spikes of {n} units in the window"
        else:
            per_unit = raster.counts.sum(axis=1)
            spikes = {"x": np.zeros(0), "y": np.zeros(0, np.int32)}
            density = density_columns(raster.counts[::-1], float(raster.edges[0]),
                                      float(raster.edges[-1]))
            bin_ms = 1000 * float(raster.edges[1] - raster.edges[0])
            status = (f"density: {raster.n_spikes} spikes of {n} units in bins of "
                      f"{bin_ms:.3g} ms (more than {raster.threshold}; zoom in for spikes)")
        sort = self.values["sort"]
        ids = raster.unit_ids
        labels = [str(int(i)) for i in ids]
        if sort != "id":
            values = self.units.values(sort)[raster.rows]
            labels = [f"{t} · {format_value(v)}" for t, v in zip(labels, values.tolist(),
                                                                  strict=True)]
        units = {"y": np.arange(n, dtype=np.int32), "row": raster.rows[::-1].astype(np.int32),
                 "unit_id": ids[::-1].astype(np.float64),
                 "label": np.array(labels[::-1], dtype=object),
                 "spikes": np.asarray(per_unit[::-1], dtype=np.int32)}
        return Frame(sources={SPIKES_SOURCE: spikes, DENSITY_SOURCE: density,
                              UNITS_SOURCE: units}, status=status)


class UnitView(View):
    """One unit: firing rate over the shared window, autocorrelogram and ISI histogram."""

    height = 220

    @property
    def units(self) -> UnitsTable:
        return units_table(self.nwb, self.path)

    def options(self) -> list[Option]:
        choices = unit_choices(self.units)
        if not choices:
            raise ViewError(f"The units table {self.path} has no units.")
        counts = self.units.n_spikes
        first = int(np.argmax(counts > 0)) if np.any(counts > 0) else 0
        return [
            Option("unit", "Unit", "select", choices[first][0], choices=choices),
            Option("rate_bin_s", "Rate bin (s; 0: auto)", "number", 0.0, low=0.0,
                   high=3600.0, step=0.01, help="0: one bin per 5 pixels of the window"),
            Option("rate_sigma_s", "Smoothing σ (s)", "number", 0.0, low=0.0, high=600.0,
                   step=0.01, help="Gaussian smoothing of the rate; 0: none"),
            Option("acg_window_ms", "ACG ± (ms)", "number", 50.0, low=1.0, high=5000.0,
                   step=5.0, rebuild=True),
            Option("acg_bin_ms", "ACG bin (ms)", "number", 1.0, low=0.05, high=1000.0,
                   step=0.5),
            Option("isi_max_ms", "ISI up to (ms)", "number", 100.0, low=1.0,
                   high=100_000.0, step=10.0, rebuild=True),
            Option("isi_log", "ISI log axis", "toggle", False, rebuild=True),
        ]

    @property
    def row(self) -> int:
        return unit_row(self.units, self.values["unit"])

    def span(self) -> tuple[float, float] | None:
        return self.units.span

    def figure(self, window: TimeWindow) -> Any:
        from .bokeh_kit import assemble, time_figure

        rate = time_figure(self, window, "rate (Hz)", height=self.height)
        source = ColumnDataSource(name=RATE_SOURCE, data={
            "left": [], "right": [], "rate": [], "count": []})
        bars = rate.quad(left="left", right="right", bottom=0, top="rate", source=source,
                         fill_color="#1f77b4", fill_alpha=0.5, line_color="#1f77b4")
        rate.add_tools(HoverTool(renderers=[bars], tooltips=[
            ("from (s)", "@left{0.000}"), ("rate (Hz)", "@rate{0.00}"),
            ("spikes", "@count")]))
        window_ms = float(self.values["acg_window_ms"])
        acg = self._histogram(window, ACG_SOURCE, "lag (ms)", "spike pairs",
                              (-window_ms, window_ms), "acg_x_range")
        isi_max = float(self.values["isi_max_ms"])
        log = bool(self.values["isi_log"])
        isi = self._histogram(window, ISI_SOURCE, "inter-spike interval (ms)", "intervals",
                              (0.1 if log else 0.0, isi_max), "isi_x_range",
                              x_axis_type="log" if log else "linear")
        return assemble(self, rate, bokeh_row(acg, isi, sizing_mode="stretch_width"))

    def _histogram(self, window: TimeWindow, name: str, x_label: str, y_label: str,
                   x_span: tuple[float, float], range_name: str, **kwargs: Any) -> Any:
        """A count histogram on its own x axis (not session time)."""
        from .bokeh_kit import time_figure

        plot = time_figure(self, window, y_label, height=self.height, shared=False, **kwargs)
        plot.x_range = Range1d(*x_span, name=range_name)
        plot.xaxis.axis_label = x_label
        source = ColumnDataSource(name=name, data={"left": [], "right": [], "count": []})
        bars = plot.quad(left="left", right="right", bottom=0, top="count", source=source,
                         fill_color="#2f4f4f", fill_alpha=0.6, line_color=None)
        plot.add_tools(HoverTool(renderers=[bars], tooltips=[
            (x_label, "@left{0.000} to @right{0.000}"), (y_label, "@count")]))
        return plot

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        row = self.row
        units = self.units
        notes = []
        bin_s = float(self.values["rate_bin_s"]) or None
        if bin_s is not None and window.duration / bin_s > window.width_px:
            bin_s = window.duration / window.width_px  # bounded: one bin per pixel at most
            notes.append(f"rate bins widened to {bin_s:.3g} s (one per pixel)")
        rate = units.firing_rate(row, window, bin_s, float(self.values["rate_sigma_s"]) or None)
        acg = units.autocorrelogram(row, float(self.values["acg_window_ms"]),
                                    float(self.values["acg_bin_ms"]))
        log = bool(self.values["isi_log"])
        isi = units.isi_histogram(row, 100, float(self.values["isi_max_ms"]) / 1000.0, log,
                                  1e-4)
        isi_ms = isi.edges_s * 1000.0
        status = (f"unit {self.values['unit']}: {len(units.unit_spikes(row))} spikes, "
                  f"{int(rate.counts.sum())} in the window (bins of "
                  f"{rate.bin_s:.3g} s); ISIs < {isi.refractory_s * 1000:g} ms: "
                  f"{isi.n_refractory} ({isi.refractory_fraction:.2%})")
        yield Frame(sources={
            RATE_SOURCE: {"left": rate.edges[:-1], "right": rate.edges[1:],
                          "rate": rate.rate_hz, "count": rate.counts.astype(np.int32)},
            ACG_SOURCE: {"left": acg.edges_ms[:-1], "right": acg.edges_ms[1:],
                         "count": acg.counts.astype(np.int32)},
            ISI_SOURCE: {"left": isi_ms[:-1], "right": isi_ms[1:],
                         "count": isi.counts.astype(np.int32)}},
            status=status, notes=tuple(notes))
