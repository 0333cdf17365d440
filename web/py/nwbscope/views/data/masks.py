"""The ROI masks of one PlaneSegmentation, read once, as small crops per ROI and plane.

Layout (the NWB schema's names, kept literally): an image mask is ``image_mask[row, x, y]``
(or ``[row, x, y, z]``), a pixel mask is a list of ``(x, y, weight)``, a voxel mask of
``(x, y, z, weight)``; pixel ``(x, y)`` of a pixel mask is element ``[x, y]`` of the image
mask it stands for (pynwb's ``image_to_pixel``). A pixel belongs to the ROI when its weight is
finite and not zero. Every mask is kept as a ``Crop``: its bounding box on one plane and the
weights inside, so thousands of ROIs of a 512 x 512 plane cost kilobytes each, not a plane.

Why pages for image masks: ``image_mask`` of 2,000 ROIs of 512 x 512 float32 is 2 GB. Pixel
and voxel masks are read whole (one ragged column: small), but image masks are read only for
the rows asked (``PlaneMasks.page_rows`` of them at a time, a bounded number of bytes), in
blocks of rows, and each block is cropped at once; a row read once is never read again.

The images a plane can be drawn on (``background_choices``) are the table's
``reference_images`` (an ImageSeries' first frame), then the ``Images`` of its processing
module, a mean image first; ``read_background`` gives one as ``(x, y)`` float32.
``pixel_shape`` is a pixel's aspect ratio, from the ImagingPlane's ``grid_spacing``.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import NwbscopeError, ViewError
from ...nwb.tables import Table
from .columns import read_ragged

MASK_COLUMNS = ("image_mask", "pixel_mask", "voxel_mask")
PAGE_BYTES = 256 * 1024 * 1024  # image masks one page of ROIs may read (whole planes)
READ_BYTES = 16 * 1024 * 1024  # image masks read at once (cropped before the next read)


@dataclass(frozen=True, eq=False)
class Crop:
    """One ROI on one plane: ``weights[i, j]`` is the mask at ``(x0 + i, y0 + j)``."""

    row: int
    x0: int
    y0: int
    weights: np.ndarray  # float32 (w, h), 0 outside the ROI

    @property
    def inside(self) -> np.ndarray:
        """Which pixels of the box belong to the ROI."""
        return np.isfinite(self.weights) & (self.weights != 0)


class PlaneMasks:
    """The masks of a PlaneSegmentation table: kind, plane shape, and crops on request.

    ``shape_hint`` is the reference image's ``(x, y)`` shape, the plane's size when the masks
    are pixel or voxel lists (which do not state one); masks reaching past it widen the
    plane, and ``notes`` says so.
    """

    def __init__(self, table: Table, shape_hint: tuple[int, int] | None = None) -> None:
        self.table = table
        self.path = table.path
        self.n_rows = table.n_rows
        self.notes: list[str] = []
        found = [name for name in MASK_COLUMNS if name in table.columns]
        if not found:
            raise ViewError(f"{self.path} has no image_mask, pixel_mask or voxel_mask column: "
                            "there are no ROI masks to draw.")
        if self.n_rows == 0:
            raise ViewError(f"{self.path} has no ROIs (its table has no rows).")
        self.kind = found[0]
        if len(found) > 1:
            self.notes.append(f"{self.path} has {' and '.join(found)}; the {self.kind} is "
                              "drawn.")
        self._crops: dict[tuple[int, int], Crop | None] = {}
        self.rows_read = 0  # image-mask rows read so far (each read once)
        if self.kind == "image_mask":
            self._init_image(shape_hint)
        else:
            self._init_list(shape_hint)

    # -- layout ---------------------------------------------------------------------------
    def _init_image(self, shape_hint: tuple[int, int] | None) -> None:
        column = self.table.column("image_mask")
        shape = column.data_shape
        if len(shape) not in (3, 4) or column.ragged:
            raise ViewError(f"The image_mask of {self.path} has shape {list(shape)}; one 2-D "
                            "(x, y) or 3-D (x, y, z) mask per ROI is expected.")
        if shape[0] != self.n_rows:
            raise ViewError(f"The image_mask of {self.path} has {shape[0]} masks for "
                            f"{self.n_rows} ROIs; the file is inconsistent.")
        self.dataset = self.table.group[column.path]
        self.shape = (int(shape[1]), int(shape[2]))
        self.n_planes = int(shape[3]) if len(shape) == 4 else 1  # (the view says when
        # ``shape_hint``, its image, does not fit: it is then not drawn)

    def _init_list(self, shape_hint: tuple[int, int] | None) -> None:
        ragged = read_ragged(self.table, self.kind)
        values = np.asarray(ragged.values)
        need = ("x", "y", "z") if self.kind == "voxel_mask" else ("x", "y")
        names = values.dtype.names or ()
        if values.dtype.names is None and values.ndim == 2 and values.shape[1] >= len(need) + 1:
            coords = [values[:, i] for i in range(len(need))]
            weight = values[:, len(need)]
        elif all(n in names for n in need):
            coords = [values[n] for n in need]
            weight = values[names[-1]] if "weight" not in names else values["weight"]
        else:
            raise ViewError(f"The {self.kind} of {self.path} has fields {list(names)}; "
                            f"{', '.join(need)} and weight are expected.")
        self._coords = [np.asarray(c, dtype=np.int64) for c in coords]
        self._weight = np.asarray(weight, dtype=np.float32)
        self._ends = ragged.ends
        if any(c.size and c.min() < 0 for c in self._coords):
            raise ViewError(f"The {self.kind} of {self.path} has negative coordinates.")
        extent = tuple(int(c.max()) + 1 if c.size else 1 for c in self._coords[:2])
        self.n_planes = int(self._coords[2].max()) + 1 if len(self._coords) == 3 and \
            self._coords[2].size else 1
        if shape_hint is None:
            self.shape = (int(extent[0]), int(extent[1]))
        else:
            self.shape = (max(int(shape_hint[0]), extent[0]), max(int(shape_hint[1]),
                                                                  extent[1]))
            if self.shape != tuple(shape_hint):
                self.notes.append(f"The {self.kind} of {self.path} reaches pixel "
                                  f"({extent[0] - 1}, {extent[1] - 1}), outside the "
                                  f"{shape_hint[0]} x {shape_hint[1]} reference image.")

    @property
    def page_rows(self) -> int:
        """ROIs one page reads: all for pixel and voxel lists, a bounded number of image
        masks (``PAGE_BYTES`` of whole planes)."""
        if self.kind != "image_mask":
            return self.n_rows
        return int(max(1, min(self.n_rows, PAGE_BYTES // max(self._row_bytes, 1))))

    @property
    def read_rows(self) -> int:
        """Image masks read at once (``READ_BYTES`` of planes); all rows for lists."""
        if self.kind != "image_mask":
            return self.n_rows
        return int(max(1, READ_BYTES // max(1, self._row_bytes)))

    @property
    def _row_bytes(self) -> int:
        return self.shape[0] * self.shape[1] * self.n_planes * self.dataset.dtype.itemsize

    # -- crops ------------------------------------------------------------------------------
    def crops(self, rows: list[int] | np.ndarray, plane: int = 0) -> list[Crop | None]:
        """The crop of each row on ``plane`` (None: the ROI has no pixel there); each mask
        is read once, on the first call that asks for it."""
        rows = [int(r) for r in rows]
        if not 0 <= plane < self.n_planes:
            raise ViewError(f"{self.path} has planes 0 to {self.n_planes - 1}, not {plane}.")
        missing = [r for r in rows if (r, plane) not in self._crops]
        if missing:
            if self.kind == "image_mask":
                self._read_image(missing)
            else:
                self._read_list(missing)
        return [self._crops[(r, plane)] for r in rows]

    def dense(self, row: int, plane: int = 0) -> np.ndarray:
        """The full ``(x, y)`` mask of one ROI on one plane (tests compare it with pynwb)."""
        out = np.zeros(self.shape, dtype=np.float32)
        crop = self.crops([row], plane)[0]
        if crop is not None:
            w, h = crop.weights.shape
            out[crop.x0:crop.x0 + w, crop.y0:crop.y0 + h] = crop.weights
        return out

    def _read_image(self, rows: list[int]) -> None:
        block = self.read_rows
        wanted = sorted(set(rows))
        # consecutive rows are read together, at most ``block`` of them per read
        runs: list[tuple[int, int]] = []
        for r in wanted:
            if runs and r == runs[-1][1] and r - runs[-1][0] < block:
                runs[-1] = (runs[-1][0], r + 1)
            else:
                runs.append((r, r + 1))
        for a, b in runs:
            masks = np.asarray(self.dataset[a:b], dtype=np.float32)
            self.rows_read += b - a
            if masks.ndim == 3:
                masks = masks[..., np.newaxis]
            for i in range(b - a):
                for z in range(self.n_planes):
                    self._crops[(a + i, z)] = _crop(a + i, masks[i, :, :, z])

    def pixels(self, rows: list[int], plane: int = 0) -> tuple[np.ndarray, ...]:
        """``(roi, x, y)``: the pixels on ``plane`` of ROI ``rows[roi[k]]``, flat (what
        ``roi_outlines.trace`` takes); for lists straight from the sorted list, no crops."""
        if self.kind == "image_mask":
            return crop_pixels(self.crops(rows, plane))
        self.crops([], plane)  # (checks the plane)
        key, x, y, _ = self._sorted_list()
        wanted = np.asarray(rows, dtype=np.int64) * self.n_planes + plane
        order = np.argsort(wanted, kind="stable")
        at = np.searchsorted(wanted[order], key)
        hit = (at < wanted.size) & (wanted[order][np.minimum(at, wanted.size - 1)] == key)
        return order[at[hit]], x[hit], y[hit]

    def _sorted_list(self) -> tuple[np.ndarray, ...]:
        """The list's pixels of non-zero weight sorted by ``row * n_planes + plane`` (a pixel
        listed twice: the last weight), made once with whole-array steps."""
        if not hasattr(self, "_sorted"):
            counts = np.diff(np.concatenate([[0], self._ends])).astype(np.intp)
            row_of = np.repeat(np.arange(self.n_rows, dtype=np.int64), counts)
            x, y, w = self._coords[0], self._coords[1], self._weight
            z = self._coords[2] if len(self._coords) == 3 else np.zeros_like(x)
            good = np.isfinite(w) & (w != 0)
            key = (row_of * self.n_planes + z)[good]
            order = np.argsort(key, kind="stable")
            self._sorted = (key[order], x[good][order], y[good][order], w[good][order])
        return self._sorted

    def _read_list(self, rows: list[int]) -> None:
        """Crops of the rows asked, on every plane, cut out of the sorted list."""
        key, x, y, w = self._sorted_list()
        for row in rows:
            for plane in range(self.n_planes):
                k = row * self.n_planes + plane
                a, b = np.searchsorted(key, [k, k + 1]).tolist()
                crop = None
                if b > a:
                    x0, y0 = int(x[a:b].min()), int(y[a:b].min())
                    weights = np.zeros((int(x[a:b].max()) - x0 + 1,
                                        int(y[a:b].max()) - y0 + 1), dtype=np.float32)
                    weights[x[a:b] - x0, y[a:b] - y0] = w[a:b]
                    crop = Crop(row, x0, y0, weights)
                self._crops[(row, plane)] = crop


def crop_pixels(crops: list[Crop | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(roi, x, y)``: the pixels of ``crops[roi[k]]`` (None: no pixel), flat."""
    parts = [(i, np.nonzero(c.inside)) for i, c in enumerate(crops) if c is not None]
    if not parts:
        return tuple(np.zeros(0, dtype=np.int64) for _ in range(3))  # type: ignore[return-value]
    return (np.repeat([i for i, _ in parts], [p[0].size for _, p in parts]),
            np.concatenate([p[0] + crops[i].x0 for i, p in parts]),  # type: ignore[union-attr]
            np.concatenate([p[1] + crops[i].y0 for i, p in parts]))  # type: ignore[union-attr]


def _crop(row: int, mask: np.ndarray) -> Crop | None:
    inside = np.isfinite(mask) & (mask != 0)
    xs = np.nonzero(inside.any(axis=1))[0]
    if xs.size == 0:
        return None
    ys = np.nonzero(inside.any(axis=0))[0]
    box = mask[xs[0]:xs[-1] + 1, ys[0]:ys[-1] + 1]
    return Crop(row, int(xs[0]), int(ys[0]),
                np.where(inside[xs[0]:xs[-1] + 1, ys[0]:ys[-1] + 1], box, 0).astype(
                    np.float32))


# -- the image under the ROIs -----------------------------------------------------------------
def background_choices(nwb: Any, table: str) -> list[tuple[str, str]]:
    """(path, label) of the images a plane can be drawn on: its reference images, then the
    images of the ``Images`` groups of its processing module (mean images first)."""
    group = nwb.group(table)
    found: list[tuple[str, str]] = []
    if "reference_images" in group and group["reference_images"].kind == "group":
        refs = group["reference_images"]
        for name in sorted(refs.keys()):
            node = refs[name]
            if node.kind == "group" and "data" in node:
                found.append((node.path, f"reference: {name}"))
            elif node.kind == "dataset":
                found.append((node.path, f"reference: {name}"))
    module = posixpath.dirname(posixpath.dirname(table))
    if module and module in nwb:
        holder = nwb.group(module)
        images = []
        for name in sorted(holder.keys()):
            node = holder[name]
            if node.kind == "group" and nwb.is_a(node, "Images"):
                images += [(node[n].path, f"{name}/{n}") for n in sorted(node.keys())
                           if node[n].kind == "dataset" and len(node[n].shape) in (2, 3)]
        images.sort(key=lambda item: "mean" not in item[1].lower())
        found += images
    return found


def read_background(nwb: Any, path: str) -> np.ndarray:
    """An image as ``(x, y)`` float32: the first frame of an ImageSeries, the mean of the
    colours of an RGB(A) image."""
    node = nwb[path]
    data = node["data"] if node.kind == "group" else node
    shape = tuple(int(n) for n in data.shape)
    if node.kind == "group" and len(shape) >= 3:
        image = np.asarray(data[0], dtype=np.float32)
    else:
        image = np.asarray(data[()], dtype=np.float32)
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        image = image[..., :3].mean(axis=-1)
    if image.ndim != 2:
        raise ViewError(f"{path} has shape {list(shape)}, not an image.")
    return image


def pixel_shape(nwb: Any, table: str) -> tuple[float, float]:
    """Width and height of one pixel (``grid_spacing`` of the table's ImagingPlane: x, y),
    normalized to a height of 1; ``(1, 1)`` (square) when the plane does not say."""
    group = nwb.group(table)
    try:
        plane = group["imaging_plane"] if "imaging_plane" in group else None
        spacing = (np.asarray(plane["grid_spacing"][()], dtype=np.float64).reshape(-1)
                   if plane is not None and "grid_spacing" in plane else np.zeros(0))
    except NwbscopeError:
        return (1.0, 1.0)
    if spacing.size < 2 or not np.all(np.isfinite(spacing[:2])) or np.any(spacing[:2] <= 0):
        return (1.0, 1.0)
    return (float(spacing[0] / spacing[1]), 1.0)
