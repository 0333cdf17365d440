"""The whole file on one time axis: every time-based object as a bar from start to end.

Why bars by path and colour by type: "do my streams line up" is answered by seeing a camera
bar start 3 s after the ephys bar, or spikes end before the trials do; the type colour tells
series from events, intervals and units at a glance, the hover gives counts and notes.

Why a tap on the plot and not a selection callback: ``js_on_event("tap")`` gets the tap's
data coordinates (``cb_obj.x``, ``cb_obj.y``) every time, where a callback on
``source.selected.indices`` gets no x at all and does not fire again when the same bar is
tapped twice (the selection did not change). The callback looks up the row under ``y`` in
the source (bars span ``bottom..top``), clamps ``x`` into that bar and calls the page's
``window.nwbscopeViews.openAt(path, t)``, which opens the object's view at ``t``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any

import numpy as np
from bokeh.models import (
    ColumnDataSource,
    CustomJS,
    HoverTool,
    Range1d,
    Span,
)

from ..errors import ViewError
from .base import Frame, View
from .data.alignment import Alignment, AlignmentRow, alignment
from .events import palette, row_axis, static_legend
from .window import TimeWindow

SOURCE = "alignment"
X_RANGE = "alignment_x_range"
BAR_HALF = 0.36  # half the height of a bar, in rows
OPEN_JS = """
const d = src.data;
const x = cb_obj.x, y = cb_obj.y;
for (let i = 0; i < d.path.length; i++) {
  if (y >= d.bottom[i] && y <= d.top[i]) {
    const t = Math.min(Math.max(x, d.left[i]), d.right[i]);
    if (window.nwbscopeViews && window.nwbscopeViews.openAt) {
      window.nwbscopeViews.openAt(d.path[i], t);
    }
    return;
  }
}
"""


class AlignmentView(View):
    """Every TimeSeries, event source, intervals table and Units table of the file."""

    height = 300

    @cached_property
    def overview(self) -> Alignment:
        found = alignment(self.nwb)
        if not found.rows:
            raise ViewError("This file has no time-based objects (no TimeSeries, events, "
                            "intervals or units), so there is nothing to line up.")
        return found

    @property
    def rows(self) -> tuple[AlignmentRow, ...]:
        return self.overview.rows

    def span(self) -> tuple[float, float] | None:
        found = self.overview
        return None if found.start is None else (found.start, found.end)

    def types(self) -> list[str]:
        return sorted({r.neurodata_type or r.kind for r in self.rows})

    def figure(self, window: TimeWindow) -> Any:
        from .bokeh_kit import assemble, time_figure

        rows = self.rows
        n = len(rows)
        start, end = self.span() or (0.0, 1.0)
        pad = 0.02 * ((end - start) or 1.0)
        plot = time_figure(self, window, "", height=int(min(2400, max(self.height,
                                                                       24 * n + 90))),
                           shared=False, y_range=Range1d(-0.6, n - 0.4, name="y_range"))
        plot.x_range = Range1d(start - pad, end + pad, name=X_RANGE)
        plot.xaxis.axis_label = "session time (s)"
        row_axis(plot, [r.path for r in rows], flipped=True)
        plot.add_layout(Span(location=0, dimension="height", line_color="#90a4ae",
                             line_dash="dashed"))
        source = ColumnDataSource(name=SOURCE, data={k: [] for k in (
            "left", "right", "bottom", "top", "y", "path", "type", "kind", "count",
            "count_label", "note", "color")})
        bars = plot.quad(left="left", right="right", bottom="bottom", top="top",
                         source=source, fill_color="color", line_color="color",
                         fill_alpha=0.7)
        types = self.types()
        static_legend(plot, list(zip(types, palette(len(types)), strict=True)),
                      SOURCE + "_legend", "type")
        plot.add_tools(HoverTool(renderers=[bars], tooltips=[
            ("object", "@path"), ("type", "@type"), ("start (s)", "@left{0.000000}"),
            ("end (s)", "@right{0.000000}"), ("count", "@count @count_label"),
            ("note", "@note")]))
        plot.js_on_event("tap", CustomJS(args={"src": source}, code=OPEN_JS))
        return assemble(self, plot)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        rows = self.rows
        n = len(rows)
        types = self.types()
        colors = dict(zip(types, palette(len(types)), strict=True))
        drawn = [(i, r) for i, r in enumerate(rows) if r.start is not None]
        y = np.array([n - 1 - i for i, _ in drawn], dtype=np.float64)
        data = {
            "left": np.array([r.start for _, r in drawn], dtype=np.float64),
            "right": np.array([r.end for _, r in drawn], dtype=np.float64),
            "bottom": y - BAR_HALF, "top": y + BAR_HALF, "y": y,
            "path": np.array([r.path for _, r in drawn], dtype=object),
            "type": np.array([r.neurodata_type or r.kind for _, r in drawn], dtype=object),
            "kind": np.array([r.kind for _, r in drawn], dtype=object),
            "count": np.array([r.count for _, r in drawn], dtype=np.float64),
            "count_label": np.array([r.count_label for _, r in drawn], dtype=object),
            "note": np.array([r.note or "" for _, r in drawn], dtype=object),
            "color": np.array([colors[r.neurodata_type or r.kind] for _, r in drawn],
                              dtype=object)}
        found = self.overview
        missing = [r for r in rows if r.start is None]
        status = f"{n} time-based objects"
        if found.start is not None:
            status += f" from {found.start:.6g} to {found.end:.6g} s"
        status += " · tap a bar to open it at that time"
        notes = tuple(f"{r.path}: {r.note}" for r in missing)
        yield Frame(sources={SOURCE: data}, status=status, notes=notes)
