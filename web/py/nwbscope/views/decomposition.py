"""DecompositionSeries: a heatmap against time of one channel's bands or one band's channels.

Why one slice at a time: the data are time x channels x bands, and a scientist asks either
"how does each band of this channel evolve" or "where across channels is this band
strong"; both are one 2-D picture, chosen by the ``show`` control, with the band names and
limits from the series' ``bands`` table and the channel names from ``source_channels``.
The data step (``data.decomposition``) reduces the window to one column per pixel (the
mean or the maximum, as chosen), so a long window costs no more to draw than a short one.

Source ``decomposition``: one row, ``image`` = ``[[row 0, row 1, ...]]`` (row ``r`` is
band ``r`` or channel ``r``, drawn at ``y = r``), ``x``/``dw`` the time extent, ``y``/``dh``
the rows' extent, ``low``/``high`` the colour scale (applied by a ``CustomJS``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .base import Frame, Option
from .data.decomposition import BandImage, Decomposition, band_image, read_decomposition
from .data.series import SeriesTime
from .series_view import SeriesView
from .window import TimeWindow

SOURCE = "decomposition"
SCALE_JS = """
const d = source.data;
if (d.low && d.low.length) { mapper.low = d.low[0]; mapper.high = d.high[0]; }
"""


class DecompositionView(SeriesView):
    """Bands x channels of a DecompositionSeries as a time heatmap."""

    height = 340

    @property
    def decomposition(self) -> Decomposition:
        if not hasattr(self, "_decomposition"):
            self._decomposition = read_decomposition(self.nwb, self.nwb.group(self.path))
        return self._decomposition

    @property
    def series(self) -> SeriesTime:
        return self.decomposition.series

    def options(self) -> list[Option]:
        dec = self.decomposition
        return [
            Option("show", "Show", "select", "channel", rebuild=True, choices=(
                ("channel", "one channel: bands"), ("band", "one band: channels"))),
            Option("channel", "Channel", "select", "0", choices=tuple(
                (str(c), f"#{c} {label}") for c, label in enumerate(dec.channel_labels))),
            Option("band", "Band", "select", "0", choices=tuple(
                (str(b), dec.band_label(b)) for b in range(dec.n_bands))),
            Option("reduce", "Per pixel", "select", "mean", choices=(
                ("mean", "mean"), ("max", "maximum")),
                help="How the samples in one pixel column become one value"),
        ]

    def compute(self, window: TimeWindow) -> BandImage:
        """The data step with the panel's options (what ``frames`` draws; tests use it)."""
        axis = self.values["show"]
        index = int(self.values["channel" if axis == "channel" else "band"])
        return band_image(self.decomposition, window, axis, index, self.values["reduce"])

    # -- drawing ----------------------------------------------------------------------------
    def figure(self, window: TimeWindow) -> Any:
        from bokeh.models import (
            ColorBar,
            ColumnDataSource,
            CustomJS,
            FixedTicker,
            LinearColorMapper,
            Range1d,
        )
        from bokeh.palettes import Viridis256

        from .bokeh_kit import assemble, time_figure

        labels = self.decomposition.row_labels(self.values["show"])
        source = ColumnDataSource(name=SOURCE, data={
            "image": [], "x": [], "y": [], "dw": [], "dh": [], "low": [], "high": []})
        height = int(min(800, max(self.height, 18 * len(labels) + 120)))
        plot = time_figure(self, window, "band" if self.values["show"] == "channel"
                           else "channel", height=height,
                           y_range=Range1d(-0.5, len(labels) - 0.5, name="y_range"))
        plot.yaxis.ticker = FixedTicker(ticks=list(range(len(labels))))
        plot.yaxis.major_label_overrides = dict(enumerate(labels))
        mapper = LinearColorMapper(palette=Viridis256, name="colors", nan_color=(0, 0, 0, 0))
        source.js_on_change("data", CustomJS(args={"source": source, "mapper": mapper},
                                             code=SCALE_JS))
        plot.image(image="image", x="x", y="y", dw="dw", dh="dh", source=source,
                   color_mapper=mapper)
        dec = self.decomposition
        title = " ".join(p for p in (dec.metric, f"({dec.unit})" if dec.unit else "") if p)
        plot.add_layout(ColorBar(color_mapper=mapper, title=title or "value", width=10),
                        "right")
        return assemble(self, plot)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        result = self.compute(window)
        n_rows, n_cols = result.values.shape
        empty = np.zeros(0)
        if n_cols == 0:
            yield Frame(sources={SOURCE: {"image": [], "x": empty, "y": empty, "dw": empty,
                                          "dh": empty, "low": empty, "high": empty}},
                        status="no sample in this window", notes=self.series.warnings)
            return
        finite = result.values[np.isfinite(result.values)]
        low = float(finite.min()) if finite.size else 0.0
        high = float(finite.max()) if finite.size else 1.0
        image = [np.ascontiguousarray(r, dtype=np.float32) for r in result.values]
        i0, i1 = result.index_range
        what = ("samples" if result.mode == "samples" else
                f"{result.reduce} per pixel of {i1 - i0} samples")
        axis = self.values["show"]
        dec = self.decomposition
        chosen = (f"channel {dec.channel_labels[int(self.values['channel'])]}"
                  if axis == "channel" else
                  f"band {dec.band_label(int(self.values['band']))}")
        yield Frame(
            sources={SOURCE: {"image": [image], "x": np.array([result.x0]),
                              "y": np.array([-0.5]), "dw": np.array([result.dx * n_cols]),
                              "dh": np.array([float(n_rows)]), "low": np.array([low]),
                              "high": np.array([high if high > low else low + 1.0])}},
            status=f"{chosen} · {what} · data {' × '.join(map(str, dec.data.shape))} "
                   f"(time × channels × bands)",
            notes=self.series.warnings)
