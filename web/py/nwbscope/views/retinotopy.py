"""ImagingRetinotopy: its phase, power and sign maps and its reference images, one at a time.

Why through the picture plot of ``views.images``: a map is a still 2-D picture, so it gets
the same square pixels, colour bar and contrast controls as any Image. The one difference is
the layout: retinotopy maps are stored (num_rows, num_cols), i.e. (y, x), where an NWB Image
is (x, y); the map is transposed once here, so the picture plot's orientation rule holds
(column index left to right, row index top to bottom). The status line gives what the
scientist needs to read the map: its unit, the field of view and the axis descriptions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ViewError
from ..nwb.values import text, text_list
from .base import Frame, Option, View
from .data.images import read_picture
from .images import (
    GRAY_SOURCE,
    describe,
    picture_figure,
    picture_options,
    picture_ranges,
    picture_sources,
)
from .window import TimeWindow

MAPS = (("axis_1_phase_map", "axis 1 phase"), ("axis_1_power_map", "axis 1 power"),
        ("axis_2_phase_map", "axis 2 phase"), ("axis_2_power_map", "axis 2 power"),
        ("sign_map", "sign map"), ("focal_depth_image", "focal depth image"),
        ("vasculature_image", "vasculature image"))


class RetinotopyView(View):
    """The maps of one ImagingRetinotopy group, chosen in a select."""

    height = 480

    def maps(self) -> list[tuple[str, str]]:
        group = self.nwb.group(self.path)
        found = [(name, label) for name, label in MAPS
                 if name in group and group[name].kind == "dataset"]
        if not found:
            raise ViewError(f"{self.path} holds none of the retinotopy maps "
                            f"({', '.join(n for n, _ in MAPS)}).")
        return found

    def options(self) -> list[Option]:
        maps = self.maps()
        return [Option("map", "Map", "select", maps[0][0], choices=tuple(maps), rebuild=True),
                *picture_options()]

    def dataset(self) -> Any:
        return self.nwb.group(self.path)[self.values["map"]]

    def picture(self) -> np.ndarray:
        """The chosen map as the picture plot draws it: (x, y), i.e. the stored map's
        transpose."""
        return read_picture(self.dataset()).T

    def figure(self, window: TimeWindow) -> Any:
        from .bokeh_kit import assemble

        rows, cols = (int(n) for n in self.dataset().shape)
        plot = picture_figure(self, cols, rows, "column", "row")
        plot.title.text = dict(MAPS).get(self.values["map"], self.values["map"])
        return assemble(self, plot)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        dataset = self.dataset()
        picture = self.picture()
        sources = picture_sources(picture, self)
        status = f"{self.values['map']}: " + describe(picture, sources[GRAY_SOURCE],
                                                      str(picture.dtype))
        yield Frame(sources=sources, status=" · ".join([status, *self.details(dataset)]),
                    ranges=picture_ranges(picture))

    def details(self, dataset: Any) -> list[str]:
        """Unit, field of view, focal depth and the axis descriptions, where stored."""
        attrs = dataset.attrs
        out = []
        unit = text(attrs.get("unit"))
        if unit:
            out.append(f"unit {unit}")
        fov = attrs.get("field_of_view")
        if fov is not None:
            values = np.asarray(fov, dtype=np.float64).reshape(-1)
            out.append("field of view " + " × ".join(f"{v:.4g}" for v in values) + " m")
        depth = attrs.get("focal_depth")
        if depth is not None:
            out.append(f"focal depth {float(np.asarray(depth).reshape(-1)[0]):.4g} m")
        group = self.nwb.group(self.path)
        if "axis_descriptions" in group:
            axes = text_list(group["axis_descriptions"][()])
            if axes:
                out.append("axes: " + ", ".join(axes))
        return out
