"""The mask data step (``views.data.masks``) against pynwb's reading of the same file.

Each mask kind is rasterised back to a full ``(x, y)`` plane and compared with pynwb's array
(image masks), with the plane the pixel/voxel lists pynwb returns describe (and pynwb's own
``image_to_pixel`` of ours gives the list back), and the outlines are checked against plain
per-pixel loops: the loops fill exactly the ROI's pixels, their edges are exactly the edges
between a ROI pixel and a non-ROI pixel.
"""

from __future__ import annotations

import numpy as np
import pytest

from nwbscope.errors import ViewError
from nwbscope.views.data import masks as mask_data
from nwbscope.views.data.masks import PlaneMasks
from nwbscope.views.data.roi_outlines import outlines, trace
from tests.fixtures import view_ophys_files as vo


def plane_seg(ref, key: str):
    return ref.processing["ophys"]["ImageSegmentation"][vo.OPHYS[key].rsplit("/", 1)[1]]


def masks_of(nwb, key: str, hint=None) -> PlaneMasks:
    return PlaneMasks(nwb.table(vo.OPHYS[key]), hint)


def from_list(entries, shape, plane: int | None = None) -> np.ndarray:
    """A plane from pynwb's (x, y[, z], weight) list, by a plain loop."""
    out = np.zeros(shape, dtype=np.float32)
    for entry in entries:
        entry = list(entry)
        if plane is not None and int(entry[2]) != plane:
            continue
        out[int(entry[0]), int(entry[1])] = entry[-1]
    return out


def test_image_masks_equal_pynwb(nwb, ref):
    masks = masks_of(nwb, "image")
    expected = plane_seg(ref, "image")["image_mask"]
    assert masks.kind == "image_mask" and masks.shape == (vo.NX, vo.NY)
    assert masks.n_rows == len(expected.data)
    for row in range(masks.n_rows):
        np.testing.assert_array_equal(masks.dense(row), np.asarray(expected[row]))


def test_pixel_masks_equal_pynwb(nwb, ref):
    from pynwb.ophys import PlaneSegmentation

    seg = plane_seg(ref, "pixel")
    masks = masks_of(nwb, "pixel", (vo.NX, vo.NY))
    assert masks.kind == "pixel_mask" and masks.n_rows == len(seg.id)
    for row in range(masks.n_rows):
        listed = seg["pixel_mask"][row]
        dense = masks.dense(row)
        np.testing.assert_array_equal(dense, from_list(listed, (vo.NX, vo.NY)))
        back = PlaneSegmentation.image_to_pixel(dense)  # pynwb's own conversion
        assert [(int(x), int(y), float(w)) for x, y, w in back] == [
            (int(e[0]), int(e[1]), float(e[2])) for e in listed]


def test_pixel_plane_without_image_is_the_masks_extent(nwb, ref):
    masks = masks_of(nwb, "pixel")
    seg = plane_seg(ref, "pixel")
    listed = np.array([list(e) for r in range(len(seg.id)) for e in seg["pixel_mask"][r]])
    assert masks.shape == (int(listed[:, 0].max()) + 1, int(listed[:, 1].max()) + 1)
    small = masks_of(nwb, "pixel", (10, 10))
    assert small.shape == masks.shape and "outside" in small.notes[0]


def test_voxel_masks_equal_pynwb_per_plane(nwb, ref):
    seg = plane_seg(ref, "voxel")
    masks = masks_of(nwb, "voxel", (vo.NX, vo.NY))
    assert masks.kind == "voxel_mask" and masks.n_planes == vo.N_Z
    for row in range(masks.n_rows):
        listed = seg["voxel_mask"][row]
        for z in range(vo.N_Z):
            expected = from_list(listed, (vo.NX, vo.NY), plane=z)
            np.testing.assert_array_equal(masks.dense(row, z), expected)
            crop = masks.crops([row], z)[0]
            assert (crop is None) == (not expected.any())
    with pytest.raises(ViewError, match="planes 0 to 2"):
        masks.crops([0], 3)


def test_no_masks_is_a_clear_error(odd):
    with pytest.raises(ViewError, match="no image_mask, pixel_mask or voxel_mask"):
        masks_of(odd, "empty")


def test_image_masks_are_read_once_and_by_page(nwb, monkeypatch):
    masks = masks_of(nwb, "image")
    assert masks.page_rows == masks.n_rows  # small planes: one page
    masks.crops([0, 1, 2])
    masks.crops([1, 2, 0])
    assert masks.rows_read == 3  # a mask read once is never read again
    per_mask = vo.NX * vo.NY * 4
    monkeypatch.setattr(mask_data, "PAGE_BYTES", 5 * per_mask)
    monkeypatch.setattr(mask_data, "READ_BYTES", 2 * per_mask)
    paged = masks_of(nwb, "image")
    assert paged.page_rows == 5
    reads = []
    original = paged.dataset.__class__.__getitem__

    def spy(self, selection):
        reads.append(selection)
        return original(self, selection)

    monkeypatch.setattr(paged.dataset.__class__, "__getitem__", spy)
    paged.crops(range(4, 9))
    assert paged.rows_read == 5
    assert all(isinstance(s, slice) and s.stop - s.start <= 2 for s in reads), reads


def unit_edges(inside: np.ndarray) -> set[tuple]:
    """Edges between a ROI pixel and a pixel outside it, by a plain loop."""
    edges = set()
    w, h = inside.shape
    for x in range(w):
        for y in range(h):
            if not inside[x, y]:
                continue
            for dx, dy, edge in ((-1, 0, ("v", x, y)), (1, 0, ("v", x + 1, y)),
                                 (0, -1, ("h", x, y)), (0, 1, ("h", x, y + 1))):
                nx, ny = x + dx, y + dy
                if not (0 <= nx < w and 0 <= ny < h) or not inside[nx, ny]:
                    edges.add(edge)
    return edges


def split_nan(xs: np.ndarray, ys: np.ndarray) -> list[np.ndarray]:
    parts, cut = [], np.nonzero(np.isnan(xs))[0]
    for a, b in zip(np.concatenate([[-1], cut]), np.concatenate([cut, [len(xs)]]),
                    strict=True):
        parts.append(np.column_stack([xs[a + 1:b], ys[a + 1:b]]))
    return parts


def check_loops(inside: np.ndarray, x0: int, y0: int, xs: np.ndarray, ys: np.ndarray) -> None:
    """The loops of one ROI (pixels ``inside`` from ``(x0, y0)``) against plain loops: each
    closed and axis-aligned, their unit edges exactly the boundary, each once, and a pixel
    filled (non-zero winding number of its centre) exactly when it is the ROI's."""
    assert xs.dtype == np.float32 and ys.dtype == np.float32
    drawn: list[tuple] = []
    vertical: list[tuple] = []  # (x, y from, y to): the winding number counts them
    for loop in split_nan(xs, ys):
        loop = loop.astype(int) - (x0, y0)
        assert len(loop) >= 5 and tuple(loop[0]) == tuple(loop[-1])
        for (xa, ya), (xb, yb) in zip(loop[:-1], loop[1:], strict=True):
            assert (xa == xb) != (ya == yb)
            if ya == yb:
                drawn += [("h", x, ya) for x in range(min(xa, xb), max(xa, xb))]
            else:
                drawn += [("v", xa, y) for y in range(min(ya, yb), max(ya, yb))]
                vertical.append((xa, ya, yb))
    assert len(drawn) == len(set(drawn)) and set(drawn) == unit_edges(inside)
    w, h = inside.shape
    filled = np.zeros(inside.shape, dtype=bool)
    for x in range(w):
        for y in range(h):
            winding = sum((1 if yb > ya else -1) for xv, ya, yb in vertical
                          if xv > x + 0.5 and min(ya, yb) < y + 0.5 < max(ya, yb))
            filled[x, y] = winding != 0
    np.testing.assert_array_equal(filled, inside)


@pytest.mark.parametrize("key", ["image", "pixel"])
def test_outlines_fill_the_mask_and_trace_its_boundary(nwb, key):
    masks = masks_of(nwb, key, (vo.NX, vo.NY))
    rows = list(range(masks.n_rows))
    shapes = trace(np.asarray(rows), *masks.pixels(rows))
    assert shapes.rows.tolist() == rows
    for i, row in enumerate(rows):
        inside = masks.dense(row) != 0
        check_loops(inside, 0, 0, shapes.xs[i], shapes.ys[i])
        px, py = np.nonzero(inside)
        assert shapes.centre_x[i] == pytest.approx(px.mean() + 0.5)
        assert shapes.centre_y[i] == pytest.approx(py.mean() + 0.5)
    alone = outlines(masks.crops(rows))  # from crops: the same loops
    for a, b in zip(shapes.xs + shapes.ys, alone.xs + alone.ys, strict=True):
        np.testing.assert_array_equal(a, b)


def test_outlines_of_holes_touching_corners_and_random_shapes():
    rng = np.random.default_rng(3)
    ring = np.ones((5, 5), dtype=bool)
    ring[2, 2] = False  # a hole
    corners = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=bool)  # touching corners
    shapes = [ring, corners, np.ones((1, 1), dtype=bool)] + [
        rng.random((7, 6)) < 0.5 for _ in range(12)]
    shapes = [s for s in shapes if s.any()]
    roi, x, y = [], [], []
    for i, inside in enumerate(shapes):
        px, py = np.nonzero(inside)
        roi += [i] * px.size
        x += (px + 3 * i).tolist()
        y += (py + 40 - 2 * i).tolist()
    got = trace(np.arange(len(shapes) + 1) * 10, np.array(roi), np.array(x), np.array(y))
    assert got.rows.tolist() == [10 * i for i in range(len(shapes))]  # the last has none
    for i, inside in enumerate(shapes):
        check_loops(inside, 3 * i, 40 - 2 * i, got.xs[i], got.ys[i])
    ends = np.nonzero(np.diff(np.append(got.owner, -1)))[0]
    assert np.isnan(got.flat_x[ends]).all()  # each ROI's loops end with a NaN in flat_x
    for i in range(len(shapes)):
        np.testing.assert_array_equal(got.flat_x[got.owner == i][:-1], got.xs[i])
