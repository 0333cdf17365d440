"""Region references as text, the same for both engines.

A region reference names a dataset and a selection in it. h5py hands over a dataspace; the
pyfive engine gets the serialized selection from the global heap and parses it here. Both
become one text: ``[0:3, 1:2]`` for one block (stop exclusive), blocks joined with `` + ``,
``points[(0, 1), (2, 3)]`` for a point selection, ``all`` or ``none``.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Sequence

from ..errors import CorruptFileError

SEL_NONE, SEL_POINTS, SEL_HYPER, SEL_ALL = 0, 1, 2, 3
_MAX_BLOCKS = 10_000


def format_blocks(blocks: Sequence[tuple[Sequence[int], Sequence[int]]]) -> str:
    """Blocks given as (first corner, last corner inclusive)."""
    texts = []
    for start, end in blocks:
        dims = ", ".join(f"{a}:{b + 1}" for a, b in zip(start, end, strict=True))
        texts.append(f"[{dims}]")
    return " + ".join(texts) if texts else "none"


def format_points(points: Sequence[Sequence[int]]) -> str:
    inner = ", ".join("(" + ", ".join(str(int(c)) for c in p) + ")" for p in points)
    return f"points[{inner}]"


def parse_region(data: bytes) -> tuple[int, str]:
    """A region reference's heap object: (dataset address, selection text)."""
    try:
        address = struct.unpack_from("<Q", data, 0)[0]
        return address, _selection_text(data, 8)
    except (struct.error, IndexError):
        raise CorruptFileError("A region reference does not parse.") from None


def _selection_text(data: bytes, pos: int) -> str:
    sel_type, version = struct.unpack_from("<II", data, pos)
    pos += 8
    if sel_type == SEL_ALL:
        return "all"
    if sel_type == SEL_NONE:
        return "none"
    if sel_type == SEL_POINTS:
        if version == 1:
            rank, count = struct.unpack_from("<II", data, pos + 8)
            coords = struct.unpack_from(f"<{rank * count}I", data, pos + 16)
        else:
            size = data[pos]
            rank = struct.unpack_from("<I", data, pos + 1)[0]
            count = _uint(data, pos + 5, size)
            coords = [_uint(data, pos + 5 + size * (i + 1), size) for i in range(rank * count)]
        return format_points([coords[i * rank : (i + 1) * rank] for i in range(count)])
    if sel_type != SEL_HYPER:
        raise CorruptFileError(f"Unknown selection type {sel_type} in a region reference.")
    if version == 1:
        rank, nblocks = struct.unpack_from("<II", data, pos + 8)
        values = struct.unpack_from(f"<{2 * rank * nblocks}I", data, pos + 16)
        blocks = [
            (values[i * 2 * rank : i * 2 * rank + rank],
             values[i * 2 * rank + rank : (i + 1) * 2 * rank])
            for i in range(nblocks)
        ]
        return format_blocks(blocks)
    flags = data[pos]
    if version == 2:
        size, pos = 8, pos + 5
    else:
        size, pos = data[pos + 1], pos + 2
    rank = struct.unpack_from("<I", data, pos)[0]
    pos += 4
    if flags & 1:  # regular hyperslab: start, stride, count, block per dimension
        vals = [_uint(data, pos + size * i, size) for i in range(4 * rank)]
        start, stride, count, block = (vals[k * rank : (k + 1) * rank] for k in range(4))
        corners = []
        for index in itertools.islice(
            itertools.product(*(range(c) for c in count)), _MAX_BLOCKS
        ):
            first = [s + i * t for s, i, t in zip(start, index, stride, strict=True)]
            corners.append((first, [f + b - 1 for f, b in zip(first, block, strict=True)]))
        return format_blocks(corners)
    nblocks = _uint(data, pos, size)
    pos += size
    vals = [_uint(data, pos + size * i, size) for i in range(2 * rank * nblocks)]
    return format_blocks([
        (vals[i * 2 * rank : i * 2 * rank + rank], vals[i * 2 * rank + rank : (i + 1) * 2 * rank])
        for i in range(nblocks)
    ])


def _uint(data: bytes, pos: int, size: int) -> int:
    if pos + size > len(data):
        raise IndexError(pos)
    return int.from_bytes(data[pos : pos + size], "little")
