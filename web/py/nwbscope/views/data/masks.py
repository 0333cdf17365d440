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

    def _read_list(self, rows: list[int]) -> None:
        """Crops of every row and plane at once (the lists are in memory already), with
        whole-array steps and two small ones per ROI (Pyodide is slow per Python step)."""
        counts = np.diff(np.concatenate([[0], self._ends])).astype(np.intp)
        row_of = np.repeat(np.arange(self.n_rows, dtype=np.int64), counts)
        x, y, w = self._coords[0], self._coords[1], self._weight
        z = self._coords[2] if len(self._coords) == 3 else np.zeros_like(x)
        good = np.isfinite(w) & (w != 0)
        key = (row_of * self.n_planes + z)[good]
        order = np.argsort(key, kind="stable")  # a pixel listed twice: the last weight
        key, x, y, w = key[order], x[good][order], y[good][order], w[good][order]
        for k in range(self.n_rows * self.n_planes):
            self._crops[(k // self.n_planes, k % self.n_planes)] = None
        if key.size == 0:
            return
        starts = np.nonzero(np.concatenate([[True], key[1:] != key[:-1]]))[0].astype(np.intp)
        ends = np.append(starts[1:], key.size)
        x0, x1 = np.minimum.reduceat(x, starts), np.maximum.reduceat(x, starts)
        y0, y1 = np.minimum.reduceat(y, starts), np.maximum.reduceat(y, starts)
        for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            weights = np.zeros((int(x1[i] - x0[i]) + 1, int(y1[i] - y0[i]) + 1),
                               dtype=np.float32)
            weights[x[a:b] - x0[i], y[a:b] - y0[i]] = w[a:b]
            row, plane = divmod(int(key[a]), self.n_planes)
            self._crops[(row, plane)] = Crop(row, int(x0[i]), int(y0[i]), weights)


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


# -- outlines ---------------------------------------------------------------------------------
BATCH_CELLS = 4_000_000  # pixels of the padded boxes stacked per vectorized batch


@dataclass(frozen=True, eq=False)
class Outlines:
    """Per ROI, what the plot draws, in pixel coordinates (pixel ``(x, y)`` is the square
    ``[x, x + 1) x [y, y + 1)``): ``fill_*`` its pixels as rectangles (one per run of pixels
    along y), NaN between them (one patch); ``edge_*`` the boundary between its pixels and
    the others, as segments with NaN between them (one line)."""

    rows: np.ndarray  # int64, the ROIs drawn (those with a pixel on the plane)
    fill_xs: list[np.ndarray]
    fill_ys: list[np.ndarray]
    edge_xs: list[np.ndarray]
    edge_ys: list[np.ndarray]
    centre_x: np.ndarray  # float64, the centre of each ROI's pixels
    centre_y: np.ndarray


def outlines(crops: list[Crop | None]) -> Outlines:
    """The outlines of the crops (None skipped), vectorized over batches of ROIs with
    boxes of similar size (Pyodide is slow per Python step, not per element)."""
    present = [c for c in crops if c is not None]
    order = sorted(range(len(present)), key=lambda i: present[i].weights.size)
    parts: dict[int, tuple] = {}
    start = 0
    while start < len(order):
        stop = start + 1
        w, h = (n + 2 for n in present[order[start]].weights.shape)
        while stop < len(order):
            cw, ch = present[order[stop]].weights.shape
            w, h = max(w, cw + 2), max(h, ch + 2)  # the padded box the batch needs
            if (stop + 1 - start) * w * h > BATCH_CELLS:
                break
            stop += 1
        batch = [present[i] for i in order[start:stop]]
        for crop, geometry in zip(batch, _batch_outlines(batch), strict=True):
            parts[crop.row] = geometry
        start = stop
    rows = [c.row for c in present]
    return Outlines(np.asarray(rows, dtype=np.int64),
                    *[[parts[r][k] for r in rows] for k in range(4)],
                    np.array([parts[r][4] for r in rows], dtype=np.float64),
                    np.array([parts[r][5] for r in rows], dtype=np.float64))


def _runs(cells: np.ndarray) -> tuple[np.ndarray, ...]:
    """Runs of True along the last axis of a 3-D array: (roi, line, start, end)."""
    padded = np.zeros(cells.shape[:2] + (cells.shape[2] + 2,), dtype=np.int8)
    padded[:, :, 1:-1] = cells
    step = np.diff(padded, axis=2)
    roi, line, begin = np.nonzero(step == 1)
    end = np.nonzero(step == -1)[2]
    return roi, line, begin, end


def _batch_outlines(batch: list[Crop]) -> list[tuple]:
    n = len(batch)
    w = max(c.weights.shape[0] for c in batch)
    h = max(c.weights.shape[1] for c in batch)
    cells = np.zeros((n, w + 2, h + 2), dtype=np.int8)  # one empty pixel around each box
    for i, crop in enumerate(batch):
        cw, ch = crop.weights.shape
        cells[i, 1:cw + 1, 1:ch + 1] = crop.inside
    x0 = np.array([c.x0 for c in batch], dtype=np.float64) - 1  # padded index 1 is x0
    y0 = np.array([c.y0 for c in batch], dtype=np.float64) - 1
    nan = np.nan
    # pixels: runs along y in each column x
    roi, x, ya, yb = _runs(cells[:, :, 1:-1].astype(bool))
    xa = x0[roi] + x
    ya, yb = y0[roi] + ya + 1, y0[roi] + yb + 1
    fill_x = np.stack([xa, xa + 1, xa + 1, xa, np.full_like(xa, nan)], axis=1)
    fill_y = np.stack([ya, ya, yb, yb, np.full_like(ya, nan)], axis=1)
    fills = _split(roi, n, fill_x, fill_y)
    # boundary: horizontal segments (between y - 1 and y), runs along x; vertical ones
    across_y = np.diff(cells, axis=2) != 0  # (n, w + 2, h + 1): at padded (x, y + 1/2)
    r1, yy, xs, xe = _runs(np.transpose(across_y, (0, 2, 1)))
    ey = y0[r1] + yy + 1
    seg1_x = np.stack([x0[r1] + xs, x0[r1] + xe, np.full_like(ey, nan)], axis=1)
    seg1_y = np.stack([ey, ey, np.full_like(ey, nan)], axis=1)
    across_x = np.diff(cells, axis=1) != 0  # (n, w + 1, h + 2)
    r2, xx, ys, ye = _runs(across_x)
    ex = x0[r2] + xx + 1
    seg2_x = np.stack([ex, ex, np.full_like(ex, nan)], axis=1)
    seg2_y = np.stack([y0[r2] + ys, y0[r2] + ye, np.full_like(ex, nan)], axis=1)
    roi_e = np.concatenate([r1, r2])
    order = np.argsort(roi_e, kind="stable")
    edges = _split(roi_e[order], n, np.concatenate([seg1_x, seg2_x])[order],
                   np.concatenate([seg1_y, seg2_y])[order])
    # centres from the runs: a run of ``length`` pixels at x from ya to yb
    length = yb - ya
    pixels = np.bincount(roi, length, minlength=n)
    centre_x = np.bincount(roi, length * (xa + 0.5), minlength=n) / pixels
    centre_y = np.bincount(roi, length * (ya + yb) / 2, minlength=n) / pixels
    return [(*fills[i], *edges[i], float(centre_x[i]), float(centre_y[i])) for i in range(n)]


def _split(roi: np.ndarray, n: int, xs: np.ndarray,
           ys: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows of ``xs``/``ys`` (sorted by ``roi``) per ROI, flattened, the last NaN dropped."""
    bounds = np.searchsorted(roi, np.arange(n + 1))
    out = []
    for i in range(n):
        a, b = int(bounds[i]), int(bounds[i + 1])
        out.append((xs[a:b].reshape(-1)[:-1], ys[a:b].reshape(-1)[:-1]))
    return out


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
