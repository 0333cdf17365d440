"""Variable-length data read from global heap collections (``h5.global_heap``).

The pyfive engine reads heap objects itself, walking a collection's headers only as far as
the object asked for and keeping collections in a bounded LRU. Checked here: values equal
h5py's for random rows (many lengths, unicode, empty strings, one string larger than a read
window, vlen sequences, attributes), in any read order and with a budget small enough to
evict; the bytes a page of random rows reads; and hand-built collections (free space, a
short remainder, a missing index, damaged bytes).
"""

from __future__ import annotations

import struct
from pathlib import Path

import h5py
import numpy as np
import pytest

from nwbscope.errors import CorruptFileError
from nwbscope.h5 import open_h5
from nwbscope.h5.global_heap import HEADER_SIZE, WINDOW, GlobalHeaps
from nwbscope.sources.memory import MemorySource

ROWS = 6_000
VLEN_ID = np.dtype([("length", "<u4"), ("collection", "<u8"), ("index", "<u4")])
KiB = 1024


def _texts(rng: np.random.Generator) -> list[str]:
    alphabet = list("abcdefghijklmnopqrstuvwxyz0123456789 ") + ["é", "µ", "日本", "🧠", "Ω"]
    out = []
    for i in range(ROWS):
        if i % 11 == 0:
            out.append("")
            continue
        n = int(rng.choice([1, 2, 7, 8, 9, 15, 16, 17, 40, 300, 5000]))
        out.append("".join(rng.choice(alphabet, n)))
    out[1234] = "x" * (3 * WINDOW + 5)  # larger than a window: its own, extended collection
    out[4321] = "日本語" * 30_000
    return out


@pytest.fixture(scope="module")
def vlen_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    rng = np.random.default_rng(3)
    texts = _texts(rng)
    path = tmp_path_factory.mktemp("vlen_heap") / "vlen.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("text", data=np.array(texts, dtype=object),
                         dtype=h5py.string_dtype(), chunks=(512,))
        f.create_dataset("ascii", data=np.array([t.encode("ascii", "replace") for t in texts[
            :500]], dtype=object), dtype=h5py.string_dtype("ascii"))
        seqs = [rng.integers(-50, 50, int(rng.integers(0, 30))).astype(np.int32)
                for _ in range(800)]
        seq = f.create_dataset("seq", (len(seqs),), dtype=h5py.vlen_dtype(np.int32))
        for i, s in enumerate(seqs):
            seq[i] = s
        f.create_dataset("flat", data=np.array(texts, dtype=object),
                         dtype=h5py.string_dtype())  # (contiguous)
        f.attrs["note"] = "an attribute in the global heap: é"
        f["text"].attrs.create("names", np.array(["a", "", "日本"], dtype=object),
                               dtype=h5py.string_dtype())
    return path, texts


def _h5py(path: Path, name: str, rows: np.ndarray) -> list:
    with h5py.File(path, "r") as f:
        values = f[name][np.sort(rows)]
        by_row = dict(zip(np.sort(rows).tolist(), values, strict=True))
    return [by_row[r] for r in rows.tolist()]


def test_random_rows_match_h5py(vlen_file: tuple[Path, list[str]], engine: str) -> None:
    path, texts = vlen_file
    rng = np.random.default_rng(11)
    rows = rng.permutation(ROWS)[:400]
    rows = np.concatenate([rows, [1234, 4321, 0, ROWS - 1]])
    expected = [v.decode("utf-8") for v in _h5py(path, "text", rows)]
    assert expected == [texts[r] for r in rows.tolist()]  # (the file holds what was written)
    with open_h5(path, engine=engine) as f:
        got = [f["text"][int(r)] for r in rows.tolist()]  # one row at a time, random order
        assert got == expected
        assert f["text"][:].tolist() == texts  # and all at once, after the walks above


def test_sequences_and_attributes_match_h5py(vlen_file: tuple[Path, list[str]],
                                             engine: str) -> None:
    path, _ = vlen_file
    with h5py.File(path, "r") as f:
        seqs = [np.asarray(s) for s in f["seq"][:]]
        ascii_text = [v.decode("ascii") for v in f["ascii"][:]]
    with open_h5(path, engine=engine) as f:
        for i in np.random.default_rng(5).permutation(len(seqs))[:200].tolist():
            np.testing.assert_array_equal(np.asarray(f["seq"][i]), seqs[i])
        assert f["ascii"][:].tolist() == ascii_text
        assert f.attrs["note"] == "an attribute in the global heap: é"
        assert list(f["text"].attrs["names"]) == ["a", "", "日本"]


def test_small_budget_evicts_and_rereads(vlen_file: tuple[Path, list[str]]) -> None:
    path, texts = vlen_file
    data = path.read_bytes()
    with h5py.File(path, "r") as f:
        offset = f["flat"].id.get_offset()  # contiguous: the stored heap IDs lie there
    raw = np.frombuffer(data, dtype=VLEN_ID, count=ROWS, offset=offset)
    assert len(set(raw["collection"].tolist())) > 3  # several collections to evict
    heaps = GlobalHeaps(source=MemorySource(data), budget=1)
    rows = np.random.default_rng(2).permutation(ROWS)[:300].tolist()
    for r in rows + rows[::-1]:
        got = heaps.get(int(raw["collection"][r]), int(raw["index"][r]))
        assert (got or b"").decode("utf-8") == texts[r]
        assert len(heaps._kept) == 1  # the newest only: the budget holds none
    assert heaps.collections_read > len(set(raw["collection"][rows].tolist()))


def test_random_page_reads_little(tmp_path: Path) -> None:
    """25 scattered rows of a text column read about one chunk of heap IDs and one
    collection each, not megabytes of read-ahead (the pyfive file-object path did)."""
    rng = np.random.default_rng(8)
    rows = 200_000
    labels = np.array([f"item-{v:07d}" for v in rng.integers(0, 10**7, rows)], dtype=object)
    path = tmp_path / "labels.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("label", data=labels, dtype=h5py.string_dtype(), chunks=(4096,))
    picked = rng.permutation(rows)[:25]
    with open_h5(path, engine="pyfive") as f:
        dset = f["label"]
        _ = dset.shape
        before = f.stats.bytes
        got = [dset[int(r)] for r in picked.tolist()]
        spent = f.stats.bytes - before
    assert got == [labels[r] for r in picked.tolist()]
    assert spent <= 25 * 4 * 64 * KiB  # a row: its heap IDs' chunk and its collection (2+2)


# -- hand-built collections ---------------------------------------------------------------------
def _collection(objects: list[tuple[int, bytes]], size: int | None = None,
                free: bool = True) -> bytes:
    body = b""
    for index, data in objects:
        body += struct.pack("<HH4xQ", index, 1, len(data)) + data + b"\0" * (-len(data) % 8)
    total = size if size is not None else HEADER_SIZE + len(body) + (16 if free else 0)
    rest = total - HEADER_SIZE - len(body)
    if free and rest >= 16:
        body += struct.pack("<HH4xQ", 0, 0, rest - 16) + b"\0" * (rest - 16)
    else:
        body += b"\0" * rest
    return b"GCOL" + bytes([1, 0, 0, 0]) + struct.pack("<Q", total) + body


@pytest.mark.parametrize("readahead", [False, True])
def test_hand_built_collection(readahead: bool) -> None:
    objects = [(1, b"alpha"), (2, b""), (5, b"x" * 70_000), (3, "µ".encode())]
    head = b"\xff" * 40  # the collection does not start at 0
    blob = head + _collection(objects, free=True) + b"\xee" * 100
    heaps = GlobalHeaps(source=MemorySource(blob), readahead=readahead)
    at = len(head)
    assert heaps.get(at, 3) == "µ".encode()  # walks past the large object
    assert heaps.get(at, 1) == b"alpha"
    assert heaps.get(at, 2) == b""
    assert heaps.get(at, 5) == b"x" * 70_000
    assert heaps.get(at, 9) is None  # no such object
    assert heaps.get(0, 1) is None  # a null heap ID
    short = _collection([(1, b"abc")], size=HEADER_SIZE + 16 + 8 + 8, free=False)
    heaps = GlobalHeaps(source=MemorySource(b"\0" * 8 + short), readahead=readahead)
    assert heaps.get(8, 2) is None and heaps.get(8, 1) == b"abc"  # 8-byte remainder: padding
    # a walk for a missing object passes a large one without reading it; asked later, it is
    big = _collection([(1, b"y" * 70_000)], size=HEADER_SIZE + 16 + 70_000 + 8, free=False)
    heaps = GlobalHeaps(source=MemorySource(b"\0" * 8 + big), readahead=readahead)
    assert heaps.get(8, 9) is None
    assert heaps.get(8, 1) == b"y" * 70_000


def test_damaged_collections_say_so() -> None:
    with pytest.raises(CorruptFileError, match="no global heap collection"):
        GlobalHeaps(source=MemorySource(b"\0" * 8 + b"XXXX" + b"\0" * 60)).get(8, 1)
    bad = bytearray(_collection([(1, b"abcdefgh")]))
    struct.pack_into("<Q", bad, HEADER_SIZE + 8, 10_000)  # object 1 claims 10,000 bytes
    with pytest.raises(CorruptFileError, match="runs past"):
        GlobalHeaps(source=MemorySource(b"\0" * 8 + bytes(bad))).get(8, 1)
