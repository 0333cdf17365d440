"""The ROIs of a PlaneSegmentation drawn over its reference image; a click shows a trace.

Pixel ``(x, y)`` of the plane (mask element ``[x, y]``, see ``data.masks``) is the square
``[x, x + 1) x [y, y + 1)`` of the plot, x to the right and y downwards as in a microscope
image; the plot keeps the pixels' shape (its frame is sized to the plane's aspect ratio, with
the ImagingPlane's ``grid_spacing`` when it has one; square pixels otherwise). The
background is the table's ``reference_images`` (the first frame of an ImageSeries), else an
image of an ``Images`` group of the same processing module (a mean image first), else blank.

Sources: ``background`` (one image row), ``rois`` (one patch per ROI: its boundary loops,
from ``data.roi_outlines``, float32; ``row``,
``id`` and the table's other one-value columns as ``c_<name>``, shown on hover; a tap picks
the ROI), ``outlines`` (the boundaries, one NaN-separated line per colour, ROI ``row`` in
colour ``row % 10``), ``selected_roi`` (the picked one's boundary) and
``roi_trace`` (``t``, ``y``: the picked ROI's column of the chosen RoiResponseSeries, min/max
decimated over the whole series). A tap sets the ``roi`` control (the page then asks for new
frames) and tells other panels (``window.nwbscopeViews.select(panel, table, [row])``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import NwbscopeError, ViewError
from .base import Frame, Option, View
from .data.columns import column_infos, column_values, format_value
from .data.decimate import decimate
from .data.masks import MASK_COLUMNS, PlaneMasks, background_choices, pixel_shape, read_background
from .data.roi_outlines import Outlines, by_colour
from .data.roi_outlines import trace as trace_rois
from .data.roi_traces import read_roi_region, series_of_table
from .data.series import read_series_time
from .window import TimeWindow

PLANE_TYPE = "PlaneSegmentation"
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#bcbd22", "#17becf", "#ffbb78")
TRACE_WIDTH = 800
PARTIAL_FRAMES = 4  # a page of image masks being read is drawn about this many times
TAP_JS = """
const idx = rois.selected.indices;
if (!idx.length) return;
const row = rois.data.row[idx[0]];
if (widget) { if (widget.value !== row) widget.value = row; }
else if (window.nwbscopeViews) window.nwbscopeViews.option(panel, "roi", row);
if (window.nwbscopeViews) window.nwbscopeViews.select(panel, table, [row]);
"""
SCALE_JS = """
const d = source.data;
if (d.low && d.low.length) { mapper.low = d.low[0]; mapper.high = d.high[0]; }
"""


def plane_tables(nwb: Any, path: str) -> list[str]:
    """The PlaneSegmentation at ``path`` or those inside an ImageSegmentation."""
    group = nwb.group(path)
    if nwb.is_a(group, PLANE_TYPE):
        return [group.path]
    found = [group[n].path for n in sorted(group.keys())
             if group[n].kind == "group" and nwb.is_a(group[n], PLANE_TYPE)]
    if not found:
        raise ViewError(f"{path} holds no PlaneSegmentation: there are no ROIs to draw.")
    return found


class RoisView(View):
    """ROIs of one plane (or of an ImageSegmentation's chosen plane) and a clicked trace."""

    height = 460
    trace_height = 160

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._masks: dict[str, PlaneMasks] = {}
        self._series_paths: dict[str, list[str]] = {}
        self._columns: dict[str, dict[str, np.ndarray]] = {}
        self._drawn: tuple | None = None  # the page of ROIs the page's document shows
        self._outlines: dict[tuple, Outlines] = {}
        super().__init__(*args, **kwargs)

    # -- what is shown ----------------------------------------------------------------------
    @property
    def planes(self) -> list[str]:
        if not hasattr(self, "_planes"):
            self._planes = plane_tables(self.nwb, self.path)
        return self._planes

    @property
    def table_path(self) -> str:
        return getattr(self, "values", {}).get("plane") or self.planes[0]

    def options(self) -> list[Option]:
        planes = self.planes
        options = []
        if len(planes) > 1 or planes[0] != self.path:
            usable = [t for t in planes if self._usable(t)]
            options.append(Option("plane", "Plane", "select", (usable or planes)[0],
                                  rebuild=True,
                                  choices=tuple((p, posixpath.basename(p)) for p in planes)))
        backgrounds = {p: label for t in planes for p, label in background_choices(self.nwb, t)}
        options.append(Option("background", "Image", "select", "auto", rebuild=True,
                              choices=(("auto", "automatic"), *backgrounds.items(),
                                       ("none", "none"))))
        deep = [t for t in planes if self._depth(t) > 1]
        if deep:
            options.append(Option("z", "Plane z", "number", 0, low=0, high=65535, step=1))
        if any(self._pages(t) for t in planes):
            options.append(Option("first", "First ROI (row)", "number", 0, low=0,
                                  high=1e9, step=1, help="Image masks are read a page of "
                                  "ROIs at a time; this is the page's first row"))
        series = sorted({s for t in planes for s in self.series_of(t)})
        options.append(Option("series", "Trace of", "select", "", choices=(
            ("", "automatic"), *((s, posixpath.basename(s)) for s in series))))
        options.append(Option("roi", "ROI (row)", "number", -1, low=-1, high=1e9, step=1,
                              help="Click a ROI to choose it"))
        return options

    def _depth(self, table: str) -> int:
        columns = self.nwb.table(table).columns
        if "voxel_mask" in columns:
            return 2
        shape = columns["image_mask"].data_shape if "image_mask" in columns else ()
        return 2 if len(shape) == 4 else 1

    def _usable(self, table: str) -> bool:
        try:
            self.masks_of(table)
        except ViewError:
            return False
        return True

    def _pages(self, table: str) -> bool:
        try:
            masks = self.masks_of(table)
        except ViewError:
            return False
        return masks.page_rows < masks.n_rows

    def background_path(self, table: str) -> str | None:
        chosen = getattr(self, "values", {}).get("background", "auto")  # (options() first)
        if chosen == "none":
            return None
        candidates = background_choices(self.nwb, table)
        if chosen != "auto":
            return chosen
        return candidates[0][0] if candidates else None

    def masks_of(self, table: str) -> PlaneMasks:
        """The masks, read once per table whatever image is drawn under them (pixel and
        voxel lists take the plane's size from the table's first image)."""
        if table not in self._masks:
            candidates = background_choices(self.nwb, table)
            hint = None
            if candidates:
                try:
                    hint = tuple(read_background(self.nwb, candidates[0][0]).shape)
                except (NwbscopeError, ValueError):
                    hint = None
            self._masks[table] = PlaneMasks(self.nwb.table(table), hint)
        return self._masks[table]

    def series_of(self, table: str) -> list[str]:
        """The RoiResponseSeries showing ``table``'s ROIs (the file is walked once)."""
        if table not in self._series_paths:
            self._series_paths[table] = series_of_table(self.nwb, table)
        return self._series_paths[table]

    @property
    def masks(self) -> PlaneMasks:
        return self.masks_of(self.table_path)

    def page(self) -> list[int]:
        masks = self.masks
        first = int(self.values.get("first", 0))
        if first >= masks.n_rows:
            raise ViewError(f"{masks.path} has rows 0 to {masks.n_rows - 1}; the first ROI "
                            f"shown cannot be row {first}.")
        return list(range(first, min(masks.n_rows, first + masks.page_rows)))

    def set_option(self, name: str, value: Any) -> bool:
        """As the base; a new plane forgets the picked ROI (a row of another table)."""
        rebuild = super().set_option(name, value)
        if name in ("plane", "first"):
            self.values["roi"] = -1.0
        return rebuild

    def select_rows(self, table: str, rows: list[int]) -> str:
        if table != self.table_path or not rows:
            return ""
        self.values["roi"] = float(rows[0])
        return "frames"

    # -- drawing ----------------------------------------------------------------------------
    def figure(self, window: TimeWindow) -> Any:
        from bokeh.models import (
            BoxZoomTool,
            ColumnDataSource,
            CustomJS,
            HoverTool,
            LinearColorMapper,
            Range1d,
            TapTool,
        )
        from bokeh.palettes import Greys256
        from bokeh.plotting import figure

        from .bokeh_kit import assemble, time_figure

        masks = self.masks
        self._drawn = None  # a new document: its sources are empty
        nx, ny = masks.shape
        width = nx * pixel_shape(self.nwb, masks.path)[0]  # in pixel heights
        frame_h = self.height - 60
        frame_w = int(round(frame_h * width / ny))
        if frame_w > 900:
            frame_w, frame_h = 900, int(round(900 * ny / width))
        plot = figure(frame_width=max(frame_w, 60), frame_height=max(frame_h, 60),
                      x_range=Range1d(0, nx, name="plane_x"),
                      y_range=Range1d(ny, 0, name="plane_y"),
                      tools="pan,wheel_zoom,reset,save", active_scroll="wheel_zoom",
                      x_axis_label="x (pixel)", y_axis_label="y (pixel)",
                      title=posixpath.basename(masks.path))
        plot.toolbar.logo = None
        plot.add_tools(BoxZoomTool(match_aspect=True))
        background = ColumnDataSource(name="background", data={
            "image": [], "x": [], "y": [], "dw": [], "dh": [], "low": [], "high": []})
        mapper = LinearColorMapper(palette=Greys256[::-1], name="background_colors")
        background.js_on_change("data", CustomJS(args={"source": background, "mapper": mapper},
                                                 code=SCALE_JS))
        plot.image(image="image", x="x", y="y", dw="dw", dh="dh", source=background,
                   color_mapper=mapper)
        columns = self._hover_columns()
        rois = ColumnDataSource(name="rois", data={
            "xs": [], "ys": [], "row": [], "id": [], "color": [],
            **{"c_" + name: [] for name in columns}})
        patches = plot.patches("xs", "ys", source=rois, fill_color="color", fill_alpha=0.25,
                               line_color=None, selection_fill_alpha=0.5,
                               nonselection_fill_alpha=0.25)
        edges = ColumnDataSource(name="outlines", data={"xs": [], "ys": [], "color": []})
        plot.multi_line("xs", "ys", source=edges, line_color="color", line_width=1.5)
        chosen = ColumnDataSource(name="selected_roi", data={"xs": [], "ys": []})
        plot.multi_line("xs", "ys", source=chosen, line_color="#ffffff", line_width=3.5)
        plot.multi_line("xs", "ys", source=chosen, line_color="#d32f2f", line_width=2)
        plot.add_tools(HoverTool(renderers=[patches], tooltips=[
            ("id", "@id"), ("row", "@row"), *[(n, "@{c_" + n + "}") for n in columns]]))
        plot.add_tools(TapTool(renderers=[patches]))
        trace = time_figure(self, window, self._trace_unit(), height=self.trace_height,
                            shared=False)
        trace.x_range = Range1d(*self._trace_span(), name="trace_x")
        trace.title.text = "click a ROI for its trace"
        trace_source = ColumnDataSource(name="roi_trace", data={"t": [], "y": []})
        trace.line("t", "y", source=trace_source, line_color="#1f77b4", line_width=1)
        layout = assemble(self, plot, trace)
        widget = layout.select_one({"name": "option:roi"})
        rois.selected.js_on_change("indices", CustomJS(args={
            "rois": rois, "widget": widget, "panel": self.panel_id,
            "table": masks.path}, code=TAP_JS))
        return layout

    def _trace_series(self) -> str | None:
        mine = self.series_of(self.table_path)
        chosen = self.values.get("series")
        return chosen if chosen in mine else (mine[0] if mine else None)

    def _trace_span(self) -> tuple[float, float]:
        path = self._trace_series()
        if path is None:
            return (0.0, 1.0)
        series = read_series_time(self.nwb.group(path))
        end = series.stop + (1.0 / series.rate if series.rate else 0.0)
        return (series.start, max(end, series.start + 1e-6))

    def _trace_unit(self) -> str:
        path = self._trace_series()
        return (read_series_time(self.nwb.group(path)).unit or "value") if path else "value"

    def _hover_columns(self) -> list[str]:
        """The table's columns of one value per row (masks and lists are left out)."""
        table = self.nwb.table(self.table_path)
        return [info.name for info in column_infos(table)[1:]
                if info.name not in MASK_COLUMNS and info.kind in ("numeric", "bool", "text")]

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        """The page's ROIs; image masks not read yet come in a few partial frames (the ROIs
        read so far), so a page of large planes shows while it is read."""
        masks = self.masks
        plane = int(self.values.get("z", 0))
        rows = self.page()
        key = (masks.path, plane, rows[0], rows[-1])
        notes = list(masks.notes)
        background = self._background(masks, notes)
        if key not in self._outlines:
            step = max(masks.read_rows, -(-len(rows) // PARTIAL_FRAMES))
            for a in range(step, len(rows), step):  # (lists: read whole, no partial frame)
                done = rows[:a]
                sources = self._roi_sources(trace_rois(np.asarray(done),
                                                       *masks.pixels(done, plane)))
                if a == step:
                    sources["background"] = background
                yield Frame(sources=sources, complete=False, notes=tuple(notes),
                            status=f"reading masks: {len(done)} of {len(rows)} ROIs")
            self._outlines = {key: trace_rois(np.asarray(rows), *masks.pixels(rows, plane))}
        shapes = self._outlines[key]
        # the page holds this page's ROIs already (a click changed only the pick): send the
        # pick and its trace, not thousands of patches again
        sources = {} if key == self._drawn else {"background": background,
                                                 **self._roi_sources(shapes)}
        roi = int(self.values.get("roi", -1))
        hit = np.nonzero(shapes.rows == roi)[0]
        sources["selected_roi"] = {
            "xs": [shapes.xs[int(hit[0])]] if hit.size else [],
            "ys": [shapes.ys[int(hit[0])]] if hit.size else []}
        depth = f" on plane z = {plane}" if masks.n_planes > 1 else ""
        status = (f"{len(shapes.rows)} ROIs{depth} (rows {rows[0]} to {rows[-1]} of "
                  f"{masks.n_rows}) from {masks.kind}")
        trace, trace_status = self._trace(roi, notes)
        sources["roi_trace"] = trace
        if trace_status:
            status += " · " + trace_status
        self._drawn = None  # until the page has asked past this frame
        yield Frame(sources=sources, status=status, notes=tuple(notes))
        self._drawn = key

    def _background(self, masks: PlaneMasks, notes: list[str]) -> dict[str, Any]:
        empty = np.zeros(0)
        blank = {"image": [], "x": empty, "y": empty, "dw": empty, "dh": empty,
                 "low": empty, "high": empty}
        path = self.background_path(masks.path)
        if path is None:
            return blank
        image = read_background(self.nwb, path)
        if tuple(image.shape) != masks.shape:
            if masks.kind == "image_mask" or self.values.get("background") != "auto":
                notes.append(f"{path} is {image.shape[0]} x {image.shape[1]} pixels, the "
                             f"plane {masks.shape[0]} x {masks.shape[1]}; it is not drawn.")
                return blank
        finite = image[np.isfinite(image)]
        low = float(np.percentile(finite, 1)) if finite.size else 0.0
        high = float(np.percentile(finite, 99.5)) if finite.size else 1.0
        rows = np.ascontiguousarray(image.T)  # image row j is y = j
        return {"image": [[r for r in rows]], "x": np.array([0.0]), "y": np.array([0.0]),
                "dw": np.array([float(image.shape[0])]),
                "dh": np.array([float(image.shape[1])]), "low": np.array([low]),
                "high": np.array([high if high > low else low + 1.0])}

    def _roi_sources(self, shapes: Outlines) -> dict[str, dict[str, Any]]:
        table = self.nwb.table(self.table_path)
        rows = shapes.rows
        colors = np.array(COLORS, dtype=object)[rows % len(COLORS)]
        if table.path not in self._columns:  # read once; numbers stay numbers (one typed
            values = {n: column_values(table, n) for n in self._hover_columns()}  # array)
            self._columns[table.path] = {"c_" + n: v.astype(np.float64) if v.dtype.kind in
                                         "iuf" else np.array([format_value(x) for x in
                                                              v.tolist()], dtype=object)
                                         for n, v in values.items()}
        extra = {key: values[rows] for key, values in self._columns[table.path].items()}
        return {"rois": {"xs": shapes.xs, "ys": shapes.ys,
                         "row": rows.astype(np.int32), "id": table.ids()[rows].astype(
                             np.float64), "color": colors, **extra},
                "outlines": by_colour(shapes, COLORS)}

    def _trace(self, roi: int, notes: list[str]) -> tuple[dict[str, Any], str]:
        """The picked ROI's trace in the chosen series (or in the first that has it)."""
        empty = {"t": np.zeros(0), "y": np.zeros(0, dtype=np.float32)}
        if roi < 0:
            return empty, "click a ROI for its trace"
        mine = self.series_of(self.table_path)
        if not mine:
            notes.append(f"No RoiResponseSeries points at {self.table_path}: no trace.")
            return empty, ""
        chosen = self.values.get("series") or mine[0]
        if chosen not in mine:
            notes.append(f"{chosen} does not show the ROIs of {self.table_path}; "
                         f"{posixpath.basename(mine[0])} is used.")
            chosen = mine[0]
        series = read_series_time(self.nwb.group(chosen))
        start, end = self._trace_span()
        region = read_roi_region(self.nwb, self.nwb.group(chosen), series.n_channels)
        notes.extend(region.notes)
        column = region.column_of(roi)
        if column is None:
            notes.append(f"{posixpath.basename(chosen)} has no trace of ROI row {roi}.")
            return empty, ""
        if series.n_samples == 0:
            return empty, f"{posixpath.basename(chosen)} has no samples"
        block = decimate(series, TimeWindow(start, end, TRACE_WIDTH), [column])
        notes.extend(w for w in block.warnings if w not in notes)
        t, y = block.polyline(0)
        ident = int(region.ids[column])
        return ({"t": t, "y": np.asarray(y, dtype=np.float32)},
                f"trace of ROI {ident} (column {column} of {posixpath.basename(chosen)})")

