"""HDF5 filter names and the decoders the browser engine has (stdlib + numpy only).

``describe_filter`` gives the label shown for a dataset's storage (``gzip(4)``, ``shuffle``)
for both engines. ``decode_chunk`` undoes a filter pipeline for the pyfive engine; a filter it
has no decoder for raises ``UnsupportedFilterError`` naming it, so the viewer can still show
the dataset's metadata.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import CorruptFileError, UnsupportedFilterError
from .lzf import lzf_decompress

GZIP, SHUFFLE, FLETCHER32, SZIP, NBIT, SCALEOFFSET = 1, 2, 3, 4, 5, 6
LZF = 32000

FILTER_NAMES: dict[int, str] = {
    GZIP: "gzip",
    SHUFFLE: "shuffle",
    FLETCHER32: "fletcher32",
    SZIP: "szip",
    NBIT: "nbit",
    SCALEOFFSET: "scaleoffset",
    LZF: "lzf",
    307: "bzip2",
    32001: "blosc",
    32004: "lz4",
    32008: "bitshuffle",
    32013: "zfp",
    32015: "zstd",
    32017: "sz",
    32026: "blosc2",
}


@dataclass(frozen=True)
class Filter:
    """One stage of a dataset's filter pipeline, in the order the writer applied it."""

    id: int
    client_data: tuple[int, ...] = ()
    optional: bool = False

    @property
    def name(self) -> str:
        return FILTER_NAMES.get(self.id, f"filter-{self.id}")


def describe_filter(filter_: Filter) -> str:
    if filter_.id == GZIP and filter_.client_data:
        return f"gzip({filter_.client_data[0]})"
    return filter_.name


def decode_chunk(
    data: bytes, pipeline: Sequence[Filter], filter_mask: int, itemsize: int, dataset: str
) -> bytes:
    """Undo ``pipeline`` (applied first to last when written) on one stored chunk."""
    for index in range(len(pipeline) - 1, -1, -1):
        if filter_mask & (1 << index):
            continue  # the writer skipped this (optional) filter for this chunk
        stage = pipeline[index]
        try:
            data = _undo(stage, data, itemsize, dataset)
        except UnsupportedFilterError:
            raise
        except (zlib.error, ValueError, IndexError) as exc:
            raise CorruptFileError(
                f"A chunk of {dataset} does not decode with its {stage.name} filter ({exc}); "
                "the file is damaged."
            ) from None
    return data


def _undo(stage: Filter, data: bytes, itemsize: int, dataset: str) -> bytes:
    if stage.id == GZIP:
        return zlib.decompress(data)
    if stage.id == SHUFFLE:
        return unshuffle(data, stage.client_data[0] if stage.client_data else itemsize)
    if stage.id == FLETCHER32:
        check_fletcher32(data, dataset)
        return data[:-4]
    if stage.id == LZF:
        expected = stage.client_data[2] if len(stage.client_data) > 2 else 0
        return lzf_decompress(data, expected or None)
    raise UnsupportedFilterError(dataset, stage.id, stage.name)


def unshuffle(data: bytes, itemsize: int) -> bytes:
    """Undo HDF5's byte shuffle; a tail shorter than one element is left as it is."""
    if itemsize <= 1:
        return data
    whole = len(data) - len(data) % itemsize
    planes = np.frombuffer(data, dtype=np.uint8, count=whole).reshape(itemsize, -1)
    return planes.T.tobytes() + data[whole:]


def fletcher32(data: bytes) -> tuple[int, int]:
    """HDF5's Fletcher-32 sums (16-bit big-endian words, odd byte padded), modulo 65535."""
    if len(data) % 2:
        data = data + b"\x00"
    words = np.frombuffer(data, dtype=">u2").astype(np.uint64)
    n = len(words)
    sum1 = sum2 = 0
    step = 1 << 20  # blocks keep the uint64 sums far from overflowing
    for start in range(0, n, step):
        block = words[start : start + step]
        total = int(block.sum())
        inner = int((block * np.arange(len(block), dtype=np.uint64)).sum())
        sum1 += total
        sum2 += (n - start) * total - inner  # word i weighs n - i
    return sum1 % 65535, sum2 % 65535


def check_fletcher32(data: bytes, dataset: str) -> None:
    """libhdf5 may store a sum of 0 as 65535 (its folding never reduces that): compare
    both modulo 65535."""
    if len(data) < 4:
        raise CorruptFileError(f"A chunk of {dataset} is too short for its checksum.")
    stored = int.from_bytes(data[-4:], "little")
    stored_sums = ((stored & 0xFFFF) % 65535, (stored >> 16) % 65535)
    if fletcher32(data[:-4]) != stored_sums:
        raise CorruptFileError(
            f"A chunk of {dataset} fails its Fletcher-32 checksum: the file is damaged."
        )
