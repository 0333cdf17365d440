"""Which views fit an object: a table of records, matched on metadata the tree already read.

Why a table and not classes that register themselves: the tree marks every row that has a
view, so matching must run for hundreds of rows without importing a view module (each one
imports Bokeh). A record names the neurodata types it draws, an optional predicate over the
tree row (shape, dtype), and the module to import when a view opens. A subtype falls back to
its nearest registered parent through the file's own ``/specifications`` hierarchy, so an
extension type (``TetrodeSeries`` from ``ElectricalSeries``) gets the ElectricalSeries view.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ParameterError

Predicate = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class ViewSpec:
    """One view: its name (in URLs), title, the types it draws, where its code lives."""

    name: str
    title: str
    neurodata_types: tuple[str, ...]
    module: str  # "nwbscope.views.<module>", imported only when the view opens
    class_name: str
    predicate: Predicate | None = None  # over the tree row; metadata only, never I/O
    time_based: bool = True  # follows the shared time axis and cursor
    default: bool = True  # offered as the click-to-open view (else only from the View menu)
    excluded_types: tuple[str, ...] = ()  # subtypes another view draws (ImageSeries, ...)

    def load(self) -> type:
        """The view class (this is where Bokeh gets imported)."""
        module = importlib.import_module(self.module)
        return getattr(module, self.class_name)


def _dims(row: dict[str, Any], *allowed: int) -> bool:
    """A predicate helper: the row's ``data`` rank, where the tree knows it (unknown: True)."""
    shape = row.get("data_shape")
    return shape is None or len(shape) in allowed


def _series_rank(row: dict[str, Any]) -> bool:
    return _dims(row, 1, 2)


# Frames, not traces: the imaging views (a later issue) draw these TimeSeries subtypes.
IMAGES = ("ImageSeries",)

REGISTRY: tuple[ViewSpec, ...] = (
    ViewSpec("electrical", "Traces", ("ElectricalSeries",), "nwbscope.views.traces",
             "ElectricalSeriesView", _series_rank),
    ViewSpec("spatial", "Trajectory", ("SpatialSeries",), "nwbscope.views.spatial",
             "SpatialSeriesView", _series_rank),
    ViewSpec("events", "Events", ("LabeledEvents", "AnnotationSeries", "IntervalSeries",
                                  "BehavioralEvents", "EventsTable", "AnnotatedEventsTable"),
             "nwbscope.views.events", "EventsView"),
    ViewSpec("traces", "Traces", ("TimeSeries",), "nwbscope.views.traces", "TimeSeriesView",
             _series_rank, excluded_types=IMAGES),
    ViewSpec("intervals", "Intervals", ("TimeIntervals",), "nwbscope.views.intervals",
             "IntervalsView"),
    ViewSpec("raster", "Raster", ("Units",), "nwbscope.views.units", "RasterView"),
    ViewSpec("unit", "Unit (rate, ACG, ISI)", ("Units",), "nwbscope.views.units", "UnitView",
             default=False),
    ViewSpec("psth", "PSTH / event-aligned", ("Units", "TimeSeries"), "nwbscope.views.psth",
             "PsthView", _series_rank, time_based=False, default=False,
             excluded_types=IMAGES),
    ViewSpec("spectrogram", "Spectrogram", ("TimeSeries",), "nwbscope.views.spectrogram",
             "SpectrogramView", _series_rank, default=False, excluded_types=IMAGES),
    ViewSpec("alignment", "Timeseries alignment", ("NWBFile",), "nwbscope.views.alignment",
             "AlignmentView", time_based=False),
)
BY_NAME = {spec.name: spec for spec in REGISTRY}


def spec(name: str) -> ViewSpec:
    try:
        return BY_NAME[name]
    except KeyError:
        known = ", ".join(sorted(BY_NAME))
        raise ParameterError("view", f"no view is called {name!r} (views: {known})") from None


def views_for(row: dict[str, Any], lineage: Sequence[str],
              registry: Sequence[ViewSpec] = REGISTRY) -> list[ViewSpec]:
    """The views that fit a tree row, best first.

    ``lineage`` is the row's type followed by its ancestors, nearest first (``TetrodeSeries,
    ElectricalSeries, TimeSeries, NWBDataInterface, ...``). A view registered for a nearer
    type comes before one for a farther type; among equals, the registry's order; views
    with ``default=False`` come after all defaults.
    """
    found: list[tuple[int, int, int, ViewSpec]] = []
    for order, candidate in enumerate(registry):
        depth = next((i for i, t in enumerate(lineage) if t in candidate.neurodata_types),
                     None)
        if depth is None or any(t in candidate.excluded_types for t in lineage[:depth + 1]):
            continue
        if candidate.predicate is not None and not candidate.predicate(row):
            continue
        found.append((0 if candidate.default else 1, depth, order, candidate))
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found]
