"""Checks made on open, before any engine runs: is it HDF5, and is it all there?

HDF5 puts its signature at byte 0, 512, 1024, 2048, ... and its superblock records the
end-of-file address. Comparing that with the source's size catches a cut-short download
with a message that says so, instead of an engine failing somewhere deep in a B-tree.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import CorruptFileError, NotHDF5Error, TruncatedFileError
from ..sources.base import ByteSource

SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclass(frozen=True)
class Superblock:
    offset: int  # where the signature is
    version: int
    offset_size: int
    base_address: int
    eof_address: int  # what libhdf5 compares with the physical file size

    @property
    def end(self) -> int:
        """The byte the file must reach, per its own metadata."""
        return self.eof_address


def find_signature(source: ByteSource) -> int | None:
    offset = 0
    size = source.size
    while offset + len(SIGNATURE) <= size:
        if source.read_range(offset, offset + len(SIGNATURE)) == SIGNATURE:
            return offset
        offset = 512 if offset == 0 else offset * 2
    return None


def read_superblock(source: ByteSource) -> Superblock:
    """Locate and parse the superblock; raise NotHDF5Error / CorruptFileError."""
    head = source.read_range(0, 64)
    if head[:8] == SIGNATURE:
        offset: int | None = 0
    elif len(head) < 8:
        raise NotHDF5Error(source.name, head)
    else:
        offset = find_signature(source)
    if offset is None:
        raise NotHDF5Error(source.name, head)
    raw = source.read_range(offset, offset + 96)
    if len(raw) < 48:  # the smallest superblock (version 2/3) is 48 bytes
        raise TruncatedFileError(source.name, source.size, offset + 48)
    version = raw[8]
    try:
        if version in (0, 1):
            offset_size = raw[13]
            fields = 24 + (4 if version == 1 else 0)
        elif version in (2, 3):
            offset_size = raw[9]
            fields = 12
        else:
            raise CorruptFileError(
                f"{source.name} has an HDF5 superblock of version {version}, which nwbscope "
                "does not know."
            )
        if offset_size not in (2, 4, 8):
            raise CorruptFileError(f"{source.name}: its HDF5 superblock does not parse.")
        fmt = "<" + {2: "H", 4: "I", 8: "Q"}[offset_size]
        base = struct.unpack_from(fmt, raw, fields)[0]
        eof = struct.unpack_from(fmt, raw, fields + 2 * offset_size)[0]  # base, ext/free, eof
    except (struct.error, IndexError):
        raise TruncatedFileError(source.name, source.size, offset + len(raw) + 1) from None
    return Superblock(offset, version, offset_size, base, eof)


def check_file(source: ByteSource) -> Superblock:
    """Raise NotHDF5Error or TruncatedFileError before an engine touches the bytes."""
    sb = read_superblock(source)
    if source.size < sb.end:
        raise TruncatedFileError(source.name, source.size, sb.end)
    return sb
