"""Still pictures: an Images group (one picture at a time, chosen in a select) or one Image
(GrayscaleImage, RGBImage, RGBAImage), at their aspect ratio; and the picture plot the frames
view draws too.

Why two sources in every picture plot: a picture is drawn by the ``image`` glyph (values
through a colour map) or by ``image_rgba`` (colour as stored), and an IndexSeries may point
at both kinds; a frame fills one source and empties the other, so the document is built once.
Pixels are square: the plot's inner frame is sized from the picture (``frame_width`` /
``frame_height``), its ranges are the picture's extent, and zooms keep the aspect. See
``data.images`` for the orientation (array x left to right, y top to bottom).

Sources: ``picture`` and ``picture_rgba`` (``image``, ``x``, ``y``, ``dw``, ``dh``, ``low``,
``high``); ``low``/``high`` set the ``picture_colors`` map by a ``CustomJS`` when data
arrive. Ranges ``image_x`` and ``image_y`` (never ``x_range``: that one is session time).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ViewError
from .base import Frame, Option, View
from .data.images import image_names, picture_columns, picture_kind, read_picture
from .window import TimeWindow

GRAY_SOURCE = "picture"
RGBA_SOURCE = "picture_rgba"
PALETTES = (("gray", "gray"), ("viridis", "viridis"), ("magma", "magma"),
            ("inferno", "inferno"), ("cividis", "cividis"))
LONG_SIDE_PX = 420  # the longer side of a picture on screen
SHORT_SIDE_MIN_PX = 40
SCALE_JS = """
const d = source.data;
if (d.low && d.low.length) { mapper.low = d.low[0]; mapper.high = d.high[0]; }
"""
# A colour picture is drawn as stored: the colour bar would say nothing true of it.
BAR_JS = "bar.visible = !(rgba.data.image && rgba.data.image.length);"
EMPTY = {"image": [], "x": np.zeros(0), "y": np.zeros(0), "dw": np.zeros(0),
         "dh": np.zeros(0), "low": np.zeros(0), "high": np.zeros(0)}


def picture_options() -> list[Option]:
    """Colour map and contrast: every picture view has them."""
    return [
        Option("colormap", "Colours", "select", "gray", choices=PALETTES, rebuild=True),
        Option("low", "Low (%)", "number", 0.5, low=0.0, high=100.0, step=0.5,
               help="Percentile of the picture's values drawn darkest"),
        Option("high", "High (%)", "number", 99.5, low=0.0, high=100.0, step=0.5,
               help="Percentile drawn brightest (100: the maximum)"),
    ]


def palette(name: str) -> tuple[str, ...]:
    from bokeh import palettes

    return {"gray": palettes.Greys256, "viridis": palettes.Viridis256,
            "magma": palettes.Magma256, "inferno": palettes.Inferno256,
            "cividis": palettes.Cividis256}.get(name, palettes.Greys256)


def screen_size(nx: int, ny: int) -> tuple[int, int]:
    """Inner plot width and height (px) with square pixels, the longer side LONG_SIDE_PX."""
    scale = LONG_SIDE_PX / max(nx, ny, 1)
    return (max(SHORT_SIDE_MIN_PX, round(nx * scale)),
            max(SHORT_SIDE_MIN_PX, round(ny * scale)))


def picture_figure(view: View, nx: int, ny: int, x_label: str, y_label: str) -> Any:
    """The picture plot (both sources, the colour map, a colour bar), ``nx`` x ``ny`` pixels."""
    from bokeh.models import (
        BoxZoomTool,
        ColorBar,
        ColumnDataSource,
        CustomJS,
        LinearColorMapper,
        Range1d,
    )
    from bokeh.plotting import figure

    width, height = screen_size(nx, ny)
    plot = figure(x_range=Range1d(0, nx, name="image_x"), y_range=Range1d(ny, 0, name="image_y"),
                  frame_width=width, frame_height=height, match_aspect=True,
                  tools="pan,wheel_zoom,reset,save", active_scroll="wheel_zoom",
                  x_axis_label=x_label, y_axis_label=y_label)
    plot.add_tools(BoxZoomTool(match_aspect=True))
    plot.toolbar.logo = None
    gray = ColumnDataSource(name=GRAY_SOURCE, data={k: [] for k in EMPTY})
    rgba = ColumnDataSource(name=RGBA_SOURCE, data={k: [] for k in EMPTY})
    mapper = LinearColorMapper(palette=palette(view.values.get("colormap", "gray")),
                               name="picture_colors")
    gray.js_on_change("data", CustomJS(args={"source": gray, "mapper": mapper}, code=SCALE_JS))
    plot.image(image="image", x="x", y="y", dw="dw", dh="dh", source=gray, color_mapper=mapper)
    plot.image_rgba(image="image", x="x", y="y", dw="dw", dh="dh", source=rgba)
    bar = ColorBar(color_mapper=mapper, width=10, name="picture_bar")
    plot.add_layout(bar, "right")
    rgba.js_on_change("data", CustomJS(args={"bar": bar, "rgba": rgba}, code=BAR_JS))
    return plot


def picture_sources(picture: np.ndarray, view: View) -> dict[str, dict[str, Any]]:
    """Both sources for one picture: its glyph's filled, the other's emptied."""
    columns = picture_columns(picture, float(view.values["low"]), float(view.values["high"]))
    if picture.ndim == 3:
        return {RGBA_SOURCE: columns, GRAY_SOURCE: dict(EMPTY)}
    return {GRAY_SOURCE: columns, RGBA_SOURCE: dict(EMPTY)}


def picture_ranges(picture: np.ndarray) -> dict[str, tuple[float, float]]:
    return {"image_x": (0.0, float(picture.shape[0])), "image_y": (float(picture.shape[1]), 0.0)}


def describe(picture: np.ndarray, columns: dict[str, Any], stored: str) -> str:
    """``10 × 6 px gray (x → right, y ↓) · scale 0 to 95`` for the status line."""
    nx, ny = picture.shape[:2]
    kind = "gray" if picture.ndim == 2 else ("RGB" if picture.shape[2] == 3 else "RGBA")
    low, high = float(columns["low"][0]), float(columns["high"][0])
    return (f"{nx} × {ny} px {kind}, {stored} (array x → right, y ↓) · colour scale "
            f"{low:.6g} to {high:.6g}")


class ImagesView(View):
    """An Images group (a select of its pictures) or one Image dataset."""

    def _node(self) -> Any:
        return self.nwb[self.path]

    def names(self) -> list[str]:
        node = self._node()
        if node.kind == "dataset":
            return []
        names = image_names(node)
        if not names:
            raise ViewError(f"{self.path} holds no images.")
        return names

    def options(self) -> list[Option]:
        names = self.names()
        options = []
        if names:
            options.append(Option("image", "Image", "select", names[0],
                                  choices=tuple((n, n) for n in names), rebuild=True))
        return options + picture_options()

    def picture_node(self) -> Any:
        node = self._node()
        return node if node.kind == "dataset" else node[self.values["image"]]

    def picture(self) -> np.ndarray:
        return read_picture(self.picture_node())

    def figure(self, window: TimeWindow) -> Any:
        from .bokeh_kit import assemble

        node = self.picture_node()
        shape = tuple(int(n) for n in node.shape)
        picture_kind(shape, str(node.path))
        plot = picture_figure(self, shape[0], shape[1], "x (array axis 0)", "y (array axis 1)")
        return assemble(self, plot)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        node = self.picture_node()
        picture = read_picture(node)
        sources = picture_sources(picture, self)
        columns = sources[RGBA_SOURCE if picture.ndim == 3 else GRAY_SOURCE]
        status = f"{node.path.rsplit('/', 1)[-1]}: " + describe(picture, columns,
                                                                  str(picture.dtype))
        resolution = node.attrs.get("resolution")
        if resolution is not None:
            status += f" · {float(np.asarray(resolution).reshape(-1)[0]):.6g} pixels/cm"
        yield Frame(sources=sources, status=status, ranges=picture_ranges(picture))
