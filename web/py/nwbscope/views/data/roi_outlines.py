"""ROI boundaries as closed polygons, traced for all ROIs at once with whole-array steps.

Pixel ``(x, y)`` is the square ``[x, x + 1) x [y, y + 1)``. Each ROI's boundary is the set of
unit edges between one of its pixels and a pixel not in it; those edges are directed with
the ROI on their left, chained into closed loops (outer boundaries one way round, holes the
other), and the vertices where a loop goes straight on are dropped. A loop is then both the
ROI's fill (a patch: holes stay empty by the non-zero rule) and its outline (a line), with
about one vertex per pixel of boundary run instead of a rectangle per pixel run and a segment
per edge run: fewer points to send and draw, and no Python step per ROI or pixel.

Why no per-ROI loop: Pyodide runs a Python step tens of times slower than CPython, so the
loops are chained by pointer doubling (``log2`` of the longest loop passes over all edges):
each edge learns its loop's first edge (the smallest index), then its distance to the loop's
end, which orders it. Where two diagonal pixels touch at a corner, the loop turns right, so
each edge has exactly one successor and one predecessor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .masks import Crop, crop_pixels

# direction d of an edge: 0 +x, 1 +y, 2 -x, 3 -y; an edge of pixel (x, y) with the pixel on
# its left: (neighbour that must be absent, start corner, direction)
_SIDES = (((0, -1), (0, 0), 0), ((1, 0), (1, 0), 1), ((0, 1), (1, 1), 2),
          ((-1, 0), (0, 1), 3))
_STEP = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Outlines:
    """Per ROI drawn (``rows``, those with a pixel), its loops: ``xs[i]``/``ys[i]`` float32,
    each loop closed (its first vertex again at its end), NaN between loops. ``flat_*`` are
    all ROIs' loops in one array with a NaN after each ROI, ``owner`` the position in
    ``rows`` of each element (a colour's outline is ``flat_x[owner % n == k]``)."""

    rows: np.ndarray  # int64
    xs: list[np.ndarray]
    ys: list[np.ndarray]
    flat_x: np.ndarray
    flat_y: np.ndarray
    owner: np.ndarray  # int64, per element of flat_x
    centre_x: np.ndarray  # float64, the centre of each ROI's pixels
    centre_y: np.ndarray


def trace(rows: np.ndarray, roi: np.ndarray, x: np.ndarray, y: np.ndarray) -> Outlines:
    """Outlines of the pixels ``(x[k], y[k])`` of ROI ``rows[roi[k]]`` (repeats allowed; a
    ROI of ``rows`` without a pixel is left out)."""
    rows = np.asarray(rows, dtype=np.int64)
    roi, x, y = (np.asarray(a, dtype=np.int64) for a in (roi, x, y))
    has = np.bincount(roi.astype(np.intp), minlength=rows.size) > 0
    present = np.nonzero(has)[0]
    rank = (np.cumsum(has, dtype=np.int64) - 1)[roi]  # ROIs renumbered 0.. (those with a pixel)
    if x.size == 0:
        empty = np.zeros(0, dtype=np.float32)
        return Outlines(rows[present], [], [], empty, empty, np.zeros(0, dtype=np.int64),
                        np.zeros(0), np.zeros(0))
    w, h = int(x.max()) + 3, int(y.max()) + 3  # shifted by one: neighbours stay >= 0
    keys = np.sort((rank * w + x + 1) * h + y + 1)  # (a sort: np.unique hashes, slowly)
    keys = keys[np.append(True, keys[1:] != keys[:-1])]
    roi, rest = np.divmod(keys, w * h)
    x, y = np.divmod(rest, h)
    x, y, counted = x - 1, y - 1, roi.astype(np.intp)  # (bincount takes intp only)
    pixels = np.bincount(counted, minlength=present.size)
    centre_x = np.bincount(counted, x + 0.5, minlength=present.size) / pixels
    centre_y = np.bincount(counted, y + 0.5, minlength=present.size) / pixels
    # boundary edges: a side of a pixel whose neighbour there is not in the ROI
    er, ex, ey, ed = [], [], [], []
    for (dx, dy), (cx, cy), d in _SIDES:
        step = dx * h + dy  # the neighbour's key; along y, the next key in sorted order
        if dx == 0:
            edge = np.ones(keys.size, dtype=bool)
            if dy > 0:
                edge[:-1] = keys[1:] != keys[:-1] + 1
            else:
                edge[1:] = keys[:-1] != keys[1:] - 1
        else:  # (sorted probes: a cache-friendly search)
            at = np.minimum(np.searchsorted(keys, keys + step), keys.size - 1)
            edge = keys[at] != keys + step
        er.append(roi[edge])
        ex.append(x[edge] + cx)
        ey.append(y[edge] + cy)
        ed.append(np.full(int(edge.sum()), d, dtype=np.int64))
    er, ex, ey, ed = (np.concatenate(a) for a in (er, ex, ey, ed))
    vw, vh = w + 1, h + 1  # corners: x and y from -1 to w - 1 (shifted by one)

    def corner(r: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
        return (r * vw + cx + 1) * vh + cy + 1

    ekey = corner(er, ex, ey) * 4 + ed
    order = np.argsort(ekey, kind="stable")
    ekey, er, ex, ey, ed = ekey[order], er[order], ex[order], ey[order], ed[order]
    end = corner(er, ex + _STEP[ed, 0], ey + _STEP[ed, 1]) * 4
    n = ekey.size
    nxt = np.full(n, -1, dtype=np.int64)
    for turn in (3, 0, 1):  # right, straight on, left: the first that exists
        want = end + (ed + turn) % 4
        at = np.minimum(np.searchsorted(ekey, want), n - 1)
        found = (ekey[at] == want) & (nxt < 0)
        nxt[found] = at[found]
    longest = int(np.bincount(er.astype(np.intp)).max())
    passes = max(1, int(np.ceil(np.log2(longest + 1))))
    leader, hop = np.arange(n), nxt.copy()
    for _ in range(passes):  # each edge: the smallest index of its loop
        leader = np.minimum(leader, leader[hop])
        hop = hop[hop]
    last = nxt == leader  # the loop's end: its successor is the loop's first edge
    hop = np.where(last, np.arange(n), nxt)
    dist = (~last).astype(np.int64)
    for _ in range(passes):  # edges to the loop's end
        dist = dist + dist[hop]
        hop = hop[hop]
    order = np.lexsort((-dist, leader))
    er, ex, ey, ed, leader = er[order], ex[order], ey[order], ed[order], leader[order]
    first = np.concatenate([[True], leader[1:] != leader[:-1]])
    starts = np.nonzero(first)[0]
    ends = np.append(starts[1:], n)
    before = np.roll(ed, 1)
    before[starts] = ed[ends - 1]  # a loop's first edge follows its last
    keep = ed != before  # a corner, not a point on a straight run
    loop = np.cumsum(first) - 1
    kx, ky, kloop, kr = ex[keep], ey[keep], loop[keep], er[keep]
    kstart = np.searchsorted(kloop, np.arange(starts.size))
    kend = np.append(kstart[1:], kloop.size)
    close = np.repeat(kend, 2)  # after each loop: its first vertex, then NaN
    fx = np.insert(kx.astype(np.float32), close,
                   np.column_stack([kx[kstart], np.full(starts.size, np.nan)]).ravel())
    fy = np.insert(ky.astype(np.float32), close,
                   np.column_stack([ky[kstart], np.full(starts.size, np.nan)]).ravel())
    owner = np.insert(kr, close, np.repeat(kr[kstart], 2))
    bounds = np.searchsorted(owner, np.arange(present.size + 1))
    xs = [fx[a:b - 1] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]
    ys = [fy[a:b - 1] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]
    return Outlines(rows[present], xs, ys, fx, fy, owner, centre_x, centre_y)



def outlines(crops: list[Crop | None]) -> Outlines:
    """Outlines of ``data.masks`` crops (None skipped), each ROI named by its crop's row."""
    rows = np.array([c.row if c is not None else -1 for c in crops], dtype=np.int64)
    return trace(rows, *crop_pixels(crops))


def by_colour(shapes: Outlines, colors: tuple[str, ...]) -> dict[str, Any]:
    """The loops as one line per colour, ROI ``rows[i]`` in ``colors[row % len(colors)]``,
    NaN after each ROI: a handful of arrays to send and draw instead of one per ROI (only
    the patches need one each, for hover and tap)."""
    groups = shapes.rows[shapes.owner] % len(colors)
    used = [g for g in range(len(colors)) if np.any(shapes.rows % len(colors) == g)]
    return {"xs": [shapes.flat_x[groups == g] for g in used],
            "ys": [shapes.flat_y[groups == g] for g in used],
            "color": np.array([colors[g] for g in used], dtype=object)}
