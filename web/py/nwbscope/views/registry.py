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
    follows_cursor: bool = False  # draws the moment at the cursor: new frames when it moves
    fallback: bool = False  # any type (``neurodata_types`` ignored), only when nothing fits

    def load(self) -> type:
        """The view class (this is where Bokeh gets imported)."""
        module = importlib.import_module(self.module)
        return getattr(module, self.class_name)


def _dims(row: dict[str, Any], *allowed: int) -> bool:
    """A predicate helper: the row's ``data`` rank, where the tree knows it (unknown: True)."""
    shape = row.get("data_shape")
    return shape is None or len(shape) in allowed


def _series_rank(row: dict[str, Any]) -> bool:
    """Numbers of one or two dimensions (text data, where known, goes to the generic view)."""
    return _dims(row, 1, 2) and row.get("data_numeric", True)


def _electrodes_table(row: dict[str, Any]) -> bool:
    """The electrodes table: its own type (NWB 2.9) or a DynamicTable named electrodes."""
    return row.get("neurodata_type") == "ElectrodesTable" or row.get("name") == "electrodes"


def _has_data(row: dict[str, Any]) -> bool:
    """A typed group with a ``data`` dataset (the generic view's only requirement)."""
    return bool(row.get("has_data")) or "data_shape" in row


# Frames, not traces: the frames view draws these TimeSeries subtypes.
IMAGES = ("ImageSeries",)
ICEPHYS_TABLES = ("IntracellularRecordingsTable", "SimultaneousRecordingsTable",
                  "SequentialRecordingsTable", "RepetitionsTable", "ExperimentalConditionsTable")

REGISTRY: tuple[ViewSpec, ...] = (
    ViewSpec("electrical", "Traces", ("ElectricalSeries",), "nwbscope.views.traces",
             "ElectricalSeriesView", _series_rank),
    ViewSpec("spatial", "Trajectory", ("SpatialSeries",), "nwbscope.views.spatial",
             "SpatialSeriesView", _series_rank),
    ViewSpec("events", "Events", ("LabeledEvents", "AnnotationSeries", "IntervalSeries",
                                  "BehavioralEvents", "EventsTable", "AnnotatedEventsTable"),
             "nwbscope.views.events", "EventsView"),
    ViewSpec("features", "Feature traces", ("AbstractFeatureSeries",),
             "nwbscope.views.series_extras", "FeatureSeriesView", _series_rank),
    ViewSpec("optogenetic", "Stimulus traces", ("OptogeneticSeries",),
             "nwbscope.views.series_extras", "OptogeneticSeriesView", _series_rank),
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
    ViewSpec("frames", "Frames", ("ImageSeries", "IndexSeries"), "nwbscope.views.frames",
             "FramesView", follows_cursor=True),
    ViewSpec("images", "Images", ("Images", "Image"), "nwbscope.views.images", "ImagesView",
             time_based=False),
    ViewSpec("rois", "ROIs", ("PlaneSegmentation", "ImageSegmentation"), "nwbscope.views.rois",
             "RoisView", time_based=False),
    ViewSpec("roi_traces", "ROI traces", ("RoiResponseSeries", "Fluorescence", "DfOverF"),
             "nwbscope.views.roi_traces", "RoiTracesView"),
    ViewSpec("probe", "Probe", ("ElectrodesTable", "DynamicTable"), "nwbscope.views.probe",
             "ProbeView", _electrodes_table, time_based=False),
    ViewSpec("table", "Table", ("DynamicTable",), "nwbscope.views.table", "TableView",
             time_based=False),
    ViewSpec("waveforms", "Waveforms", ("Units",), "nwbscope.views.waveforms", "WaveformsView",
             time_based=False, default=False),
    ViewSpec("spike_events", "Spike waveforms", ("SpikeEventSeries",),
             "nwbscope.views.waveforms", "SpikeEventsView", time_based=False),
    ViewSpec("pose", "Pose", ("PoseEstimation", "PoseEstimationSeries"), "nwbscope.views.pose",
             "PoseView", follows_cursor=True),
    ViewSpec("sweeps", "Sweeps", ("PatchClampSeries", *ICEPHYS_TABLES), "nwbscope.views.sweeps",
             "SweepsView", time_based=False),
    ViewSpec("decomposition", "Bands × channels", ("DecompositionSeries",),
             "nwbscope.views.decomposition", "DecompositionView"),
    ViewSpec("retinotopy", "Retinotopy maps", ("ImagingRetinotopy",),
             "nwbscope.views.retinotopy", "RetinotopyView", time_based=False),
    ViewSpec("generic", "Data", (), "nwbscope.views.generic", "GenericView", _has_data,
             time_based=False, fallback=True),
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
    with ``default=False`` come after all defaults. A ``fallback`` view fits any type, and
    only when no other view does.
    """
    found: list[tuple[int, int, int, ViewSpec]] = []
    for order, candidate in enumerate(registry):
        if candidate.fallback:
            continue
        depth = next((i for i, t in enumerate(lineage) if t in candidate.neurodata_types),
                     None)
        if depth is None or any(t in candidate.excluded_types for t in lineage[:depth + 1]):
            continue
        if candidate.predicate is not None and not candidate.predicate(row):
            continue
        found.append((0 if candidate.default else 1, depth, order, candidate))
    found.sort(key=lambda item: item[:3])
    if not found and lineage:
        return [c for c in registry
                if c.fallback and (c.predicate is None or c.predicate(row))]
    return [item[3] for item in found]
