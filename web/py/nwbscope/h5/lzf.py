"""A pure-Python LZF decompressor, so the browser engine can read h5py's ``lzf`` filter.

The format (liblzf): a control byte below 32 starts a run of ``ctrl + 1`` literal bytes;
otherwise its top three bits (plus an extra byte when they are all set) give a back-reference
length and its low five bits, with the next byte, the distance back into the output.
"""

from __future__ import annotations


def lzf_decompress(data: bytes, expected_size: int | None = None) -> bytes:
    """Decompress one LZF block; raises ``ValueError`` on malformed input."""
    out = bytearray()
    src = memoryview(data)
    n = len(src)
    i = 0
    while i < n:
        ctrl = src[i]
        i += 1
        if ctrl < 32:
            end = i + ctrl + 1
            if end > n:
                raise ValueError("LZF literal run past the end of the input")
            out += src[i:end]
            i = end
            continue
        length = ctrl >> 5
        if length == 7:
            if i >= n:
                raise ValueError("LZF input ends inside a back-reference")
            length += src[i]
            i += 1
        if i >= n:
            raise ValueError("LZF input ends inside a back-reference")
        ref = len(out) - ((ctrl & 0x1F) << 8) - src[i] - 1
        i += 1
        length += 2
        if ref < 0:
            raise ValueError("LZF back-reference before the start of the output")
        if ref + length <= len(out):
            out += out[ref : ref + length]
        else:  # overlapping copy: repeat byte by byte
            for k in range(length):
                out.append(out[ref + k])
    if expected_size is not None and len(out) != expected_size:
        raise ValueError(f"LZF output is {len(out)} bytes, expected {expected_size}")
    return bytes(out)
