"""The HDF5 facade on both engines: exact values for every odd corner, and errors.

Values are compared with the constants in ``tests.fixtures.odd_h5`` (what the recipes wrote),
never with what the other engine read.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import numpy as np
import pytest

from nwbscope.errors import (
    BrokenLinkError,
    CorruptFileError,
    NotFoundError,
    NotHDF5Error,
    NwbscopeError,
    TruncatedFileError,
    UnsupportedFeatureError,
    UnsupportedFilterError,
)
from nwbscope.h5 import LinkInfo, ObjectRef, RegionRef, open_h5
from nwbscope.sources import MemorySource
from tests.fixtures import odd_h5
from tests.fixtures.nwb_files import ES_SHAPE, es_data

ENGINES = ("h5py", "pyfive")


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return odd_h5.write_all(tmp_path_factory.mktemp("odd"))


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


def test_plain_groups_datasets_attrs(odd: dict[str, Path], engine: str) -> None:
    with open_h5(odd["links"], engine=engine) as f:
        assert f.engine == engine
        assert f.keys() == ["acquisition", "hard_alias", "processing"]
        series = f["acquisition"]["series"]
        assert series.kind == "group" and series.path == "/acquisition/series"
        assert f["/acquisition/series/data"].path == "/acquisition/series/data"
        assert series["data"].name == "data"
        np.testing.assert_array_equal(f["acquisition/series/data"][:], odd_h5.FLOATS[:10])
        assert series.attrs == {"unit": "volts"}
        assert "acquisition/series" in f and "acquisition/nothing" not in f
        with pytest.raises(NotFoundError, match="/acquisition/nothing"):
            f["acquisition/nothing"]
        with pytest.raises(NotFoundError):
            f["acquisition/series/data/deeper"]  # a dataset has no members


def test_soft_links_followed_by_the_facade(odd: dict[str, Path], engine: str) -> None:
    with open_h5(odd["links"], engine=engine) as f:
        proc = f["processing/decomposition"]
        links = proc.links()
        assert links["source_timeseries"] == LinkInfo(
            "source_timeseries", "soft", "/acquisition/series")
        assert links["external"] == LinkInfo(
            "external", "external", "other_file.nwb:/acquisition/x", "other_file.nwb")
        assert links["dangling"].kind == "soft"
        # a link in the middle of a path, a chain of links, a relative link
        data = f["processing/decomposition/source_timeseries/data"]
        assert data.path == "/processing/decomposition/source_timeseries/data"
        np.testing.assert_array_equal(data[2:4], odd_h5.FLOATS[2:4])
        assert f["processing/decomposition/chain/data"].address == data.address
        assert proc["relative"].address == data.address
        assert proc["source_data"].shape == (10,)
        with pytest.raises(BrokenLinkError, match="soft link to '/nowhere/at/all'"):
            proc["dangling"]
        with pytest.raises(BrokenLinkError, match="external link to other_file.nwb:/acq"):
            proc["external"]
        assert "dangling" not in proc


def test_hard_links_are_the_same_object(odd: dict[str, Path], engine: str) -> None:
    with open_h5(odd["links"], engine=engine) as f:
        alias, data = f["hard_alias"], f["acquisition/series/data"]
        assert alias.address == data.address and alias == data
        assert f.links()["hard_alias"].kind == "hard"


def test_decomposition_series_source_link(rich_nwb: Path, engine: str) -> None:
    """pyfive 1.2.1 alone raises TypeError reading data through this pynwb soft link."""
    with open_h5(rich_nwb, engine=engine) as f:
        spectral = f["processing/ecephys/spectral"]
        assert spectral.links()["source_timeseries"].target == "/acquisition/ElectricalSeries"
        data = f["processing/ecephys/spectral/source_timeseries/data"]
        assert data.shape == ES_SHAPE
        electrodes = f["acquisition/ElectricalSeries/electrodes"]
        assert electrodes.attrs["table"] == ObjectRef("/general/extracellular_ephys/electrodes")
        np.testing.assert_array_equal(data[5:8, :4], es_data()[5:8, :4])


def test_pyfive_alone_drops_the_path_after_a_soft_link(rich_nwb: Path) -> None:
    """Why the facade walks links itself: pyfive 1.2.1 returns the link's target group and
    silently ignores the rest of the path (later a TypeError in pynwb's back-compat file)."""
    import pyfive

    raw = pyfive.File(str(rich_nwb))
    wrong = raw["processing/ecephys/spectral/source_timeseries/data"]
    assert isinstance(wrong, pyfive.Group) and wrong.name == "/acquisition/ElectricalSeries"
    raw.close()
    with open_h5(rich_nwb, engine="pyfive") as f:
        assert f["processing/ecephys/spectral/source_timeseries/data"].kind == "dataset"


def test_strings_are_str(odd: dict[str, Path], engine: str) -> None:
    with open_h5(odd["strings"], engine=engine) as f:
        assert f["vlen_ascii"][:].tolist() == odd_h5.VLEN_ASCII
        assert f["vlen_utf8"][:].tolist() == odd_h5.VLEN_UTF8
        assert f["fixed_ascii"][:].tolist() == [s.decode() for s in odd_h5.FIXED_ASCII]
        assert f["fixed_utf8"][:].tolist() == odd_h5.FIXED_UTF8
        assert f["scalar_text"][()] == odd_h5.SCALAR_TEXT
        assert f["chunked_vlen"][4:7].tolist() == odd_h5.VLEN_UTF8[1:] + odd_h5.VLEN_UTF8[:1]
        assert f["vlen_utf8"].dtype == np.dtype("O")
        attrs = f["attrs"].attrs
        assert attrs["vlen_utf8"] == "µs" and attrs["vlen_ascii"] == "plain"
        assert attrs["fixed_ascii"] == "fixed" and attrs["fixed_utf8"] == "ñandú"
        assert attrs["vlen_array"].tolist() == odd_h5.VLEN_UTF8
        assert attrs["fixed_array"].tolist() == ["ab", "cde", "fghij"]
        assert attrs["empty_text"] == ""
        assert all(type(v) is str for v in attrs["vlen_array"])
        assert f["names"].keys() == sorted(odd_h5.NAMES, key=lambda n: n.encode())
        assert f["names/µV"][()] == 2


def test_compound_with_strings_and_refs(odd: dict[str, Path], engine: str) -> None:
    with open_h5(odd["compound"], engine=engine) as f:
        table = f["table"][:]
        assert table.dtype.names == ("id", "value", "code", "label")
        assert table["id"].tolist() == [1, 2, 3]
        assert table["value"].tolist() == [0.5, 1.5, 2.5]
        assert table["code"].tolist() == ["one", "two", "three"]
        assert table["label"].tolist() == ["uno", "dos", "tres"]
        rows = f["with_refs"][:]
        assert rows["ts"].tolist() == [ObjectRef("/target"), ObjectRef("/")]
        assert rows["count"].tolist() == [2, 1]
        assert f["chunked_table"][4]["label"] == "dos"
        assert f.attrs["compound_attr"]["code"].tolist() == ["one", "two"]
        np.testing.assert_array_equal(f["complex"][:], [1 + 2j, -3.5j])


def test_references(odd: dict[str, Path], engine: str) -> None:
    with open_h5(odd["references"], engine=engine) as f:
        assert f["refs"][:].tolist() == [
            ObjectRef("/group/data"), ObjectRef("/group"), ObjectRef("/")]
        assert f["refs_chunked"][4:].tolist() == [ObjectRef("/group"), ObjectRef("/group/data")]
        assert f["null_ref"][:].tolist() == [None, ObjectRef("/group/data")]
        assert f.attrs["table"] == ObjectRef("/group/data")
        assert f.attrs["ref_list"].tolist() == [ObjectRef("/group"), ObjectRef("/group/data")]
        assert f["regions"][:].tolist() == [
            RegionRef("/group/data", "[0:2, 1:3]"), RegionRef("/group/data", "[3:4, 0:6]"),
            RegionRef("/group/data", "[0:1, 1:2] + [2:3, 1:2]"),
            RegionRef("/group/data", "[0:1, 0:1] + [0:1, 3:4] + [2:3, 0:1] + [2:3, 3:4]")]
        assert f.attrs["region"] == RegionRef("/group/data", "[1:2, 0:6]")


def test_region_selection_parsing() -> None:
    """Serialized selections the fixtures do not produce: points (v1, v2), all, none."""
    from nwbscope.h5.regions import parse_region

    addr = struct.pack("<Q", 800)
    points_v1 = struct.pack("<IIIIII4I", 1, 1, 0, 24, 2, 2, 0, 1, 2, 3)
    assert parse_region(addr + points_v1) == (800, "points[(0, 1), (2, 3)]")
    points_v2 = struct.pack("<IIBI", 1, 2, 2, 1) + struct.pack("<HHH", 2, 5, 7)
    assert parse_region(addr + points_v2) == (800, "points[(5), (7)]")
    assert parse_region(addr + struct.pack("<IIII", 3, 1, 0, 0))[1] == "all"
    assert parse_region(addr + struct.pack("<IIII", 0, 1, 0, 0))[1] == "none"
    with pytest.raises(CorruptFileError):
        parse_region(addr + struct.pack("<II", 2, 1))


def test_storage_layouts_and_filters(odd: dict[str, Path], engine: str) -> None:
    with open_h5(odd["layouts"], engine=engine) as f:
        assert f["compact"].storage.layout == "compact"
        np.testing.assert_array_equal(f["compact"][1:3, ::2], odd_h5.INTS[1:3, ::2])
        assert f["contiguous"].storage.layout == "contiguous"
        np.testing.assert_array_equal(f["contiguous"][::7], odd_h5.FLOATS[::7])
        big = f["big_contiguous"]
        np.testing.assert_array_equal(big[:, 5], odd_h5.BIG[:, 5])
        np.testing.assert_array_equal(big[10:20, 60:], odd_h5.BIG[10:20, 60:])
        gz = f["gzip_shuffle"]
        assert gz.storage.filters == ("shuffle", "gzip(4)") and gz.storage.chunks == (16, 32)
        np.testing.assert_array_equal(gz[5:50, 30:40], odd_h5.BIG[5:50, 30:40])
        np.testing.assert_array_equal(gz[-1], odd_h5.BIG[-1])
        assert f["fletcher32"].storage.filters == ("fletcher32",)
        np.testing.assert_array_equal(f["fletcher32"][:], odd_h5.INTS)
        assert f["lzf"].storage.filters == ("lzf",)
        np.testing.assert_array_equal(f["lzf"][25:35], odd_h5.BIG[25:35])
        np.testing.assert_array_equal(f["edge_chunks"][:], odd_h5.INTS)
        np.testing.assert_array_equal(f["unlimited"][:], odd_h5.FLOATS[:7])
        assert f["scaleoffset"].storage.filters == ("scaleoffset",)


def test_fill_values_for_unwritten_chunks(odd: dict[str, Path], engine: str) -> None:
    with open_h5(odd["layouts"], engine=engine) as f:
        partial = f["partial"]
        assert partial.storage.fillvalue == odd_h5.FILL
        expected = np.full((30, 20), odd_h5.FILL, dtype="<i4")
        expected[odd_h5.PARTIAL_WRITTEN] = 5
        np.testing.assert_array_equal(partial[:], expected)
        np.testing.assert_array_equal(f["never_written"][:], np.full((4, 4), 2.5, "<f4"))


def test_scaleoffset_unreadable_by_pyfive_only(odd: dict[str, Path]) -> None:
    with open_h5(odd["layouts"], engine="h5py") as f:
        np.testing.assert_array_equal(f["scaleoffset"][:], odd_h5.INTS)
    with open_h5(odd["layouts"], engine="pyfive") as f:
        with pytest.raises(UnsupportedFilterError, match="'scaleoffset'") as info:
            f["scaleoffset"][0]
        assert info.value.dataset == "/scaleoffset" and info.value.filter_id == 6
        np.testing.assert_array_equal(f["gzip_shuffle"][0, :3], odd_h5.BIG[0, :3])


def test_new_chunk_index_is_named_not_crashed(odd: dict[str, Path]) -> None:
    with open_h5(odd["latest"], engine="pyfive") as f:
        assert f["group"].attrs == {"note": "new format"}
        np.testing.assert_array_equal(f["contiguous"][:], odd_h5.FLOATS[:5])
        assert f["chunked_v4"].storage.chunks == (2, 3)
        with pytest.raises(UnsupportedFeatureError, match="chunked_v4"):
            f["chunked_v4"][:]


def test_less_common_types(odd: dict[str, Path], engine: str) -> None:
    with open_h5(odd["types"], engine=engine) as f:
        assert f["half"][:].tolist() == [0.0, 1.0, 2.0, 3.0] and f["half"].dtype == "<f2"
        assert f["big_endian_int"][:].tolist() == [0, 1, 2, 3]
        assert f["big_endian_float"][2] == 2.0
        assert f["complex64"][:].tolist() == [1 + 1j, 2 - 0.5j]
        assert f["enum"][:].tolist() == [0, 2, 1]
        assert bytes(f["opaque"][()]) == b"\x01\x02\x03\x04"
        ragged = f["ragged"][:]
        assert [r.tolist() for r in ragged] == [[0, 1, 2], [0]]
        assert f.attrs["big_endian"] == 5 and f.attrs["enum"] == 1
        assert f["array_member"].shape == (3,)


def test_unparsable_datatype_keeps_shape(odd: dict[str, Path]) -> None:
    with open_h5(odd["types"], engine="pyfive") as f:
        member = f["array_member"]
        assert member.shape == (3,) and member.dtype.itemsize == 8
        with pytest.raises(UnsupportedFeatureError, match="/array_member"):
            member[:]


def test_scalars_empty_and_numbers(odd: dict[str, Path], engine: str) -> None:
    with open_h5(odd["scalars_empty"], engine=engine) as f:
        assert f["scalar_int"].shape == () and f["scalar_int"][()] == 42
        assert f["scalar_float"][()] == np.float32(0.25)
        with pytest.raises(TypeError):
            len(f["scalar_int"])
        assert f["empty_1d"].shape == (0,) and f["empty_1d"][:].size == 0
        assert f["empty_chunked"][:].shape == (0, 3)
        null = f["null"]
        assert null.is_null and null.shape == (0,) and null[()].size == 0
        assert f["bools"][:].tolist() == [True, False, True]
        assert f["bools"].dtype == np.dtype(bool)
        attrs = f["numbers"].attrs
        for name, value in odd_h5.ATTR_NUMBERS.items():
            assert attrs[name] == value and attrs[name].dtype == value.dtype, name
        np.testing.assert_array_equal(attrs["matrix"], odd_h5.INTS[:2, :3])
        assert attrs["bool"] is np.True_ or attrs["bool"] == True  # noqa: E712
        assert attrs["null_attr"] is None


def test_key_order(odd: dict[str, Path], engine: str) -> None:
    with open_h5(odd["order"], engine=engine) as f:
        assert f["tracked"].keys() == odd_h5.ORDER_TRACKED
        assert f["by_name"].keys() == sorted(odd_h5.ORDER_TRACKED)
        assert f["dense_tracked"].keys() == odd_h5.MANY
        assert f["dense_by_name"].keys() == sorted(odd_h5.MANY)
        assert list(f["dense_tracked"].attrs) == [f"attr{i:02d}" for i in range(12)]
        assert f["dense_tracked/n05"][()] == 3


def test_user_block(odd: dict[str, Path], engine: str) -> None:
    with open_h5(odd["userblock"], engine=engine) as f:
        np.testing.assert_array_equal(f["data"][:], odd_h5.INTS)
        np.testing.assert_array_equal(f["chunks"][50:90, 1], odd_h5.BIG[50:90, 1])
        assert f.attrs["text"] == odd_h5.SCALAR_TEXT


def test_open_from_bytes_and_stats(odd: dict[str, Path], engine: str) -> None:
    data = odd["layouts"].read_bytes()
    with open_h5(MemorySource(data, name="layouts.h5"), engine=engine, block_size=4096) as f:
        assert f.filename == "layouts.h5" and f.size == len(data)
        np.testing.assert_array_equal(f["contiguous"][:], odd_h5.FLOATS)
        first = f.stats.snapshot()
        assert first["requests"] >= 1 and 0 < first["bytes"] <= len(data)
        f["contiguous"][:]
        again = f.stats.snapshot()
        assert again["bytes"] == first["bytes"]  # nothing fetched twice
        assert again["hits"] > first["hits"]


def test_engine_choice(odd: dict[str, Path]) -> None:
    from nwbscope.h5 import choose_engine

    assert choose_engine("auto") == "h5py"  # CPython with h5py installed; pyfive in Pyodide
    assert choose_engine("pyfive") == "pyfive"
    with pytest.raises(ValueError):
        choose_engine("netcdf")  # type: ignore[arg-type]
    with open_h5(odd["links"]) as f:
        assert f.engine == "h5py"


# ---- bad bytes ------------------------------------------------------------------------
def test_not_hdf5_says_what_it_is(engine: str) -> None:
    page = b"<!DOCTYPE html>\n<html><body>Sign in</body></html>\n"
    with pytest.raises(NotHDF5Error, match="HTML page"):
        open_h5(MemorySource(page, name="page.nwb"), engine=engine)
    with pytest.raises(NotHDF5Error):
        open_h5(MemorySource(b"", name="empty.nwb"), engine=engine)


def test_truncated_file_on_open(odd: dict[str, Path], engine: str) -> None:
    data = odd["layouts"].read_bytes()
    with pytest.raises(TruncatedFileError) as info:
        open_h5(MemorySource(data[: len(data) // 2], name="cut.h5"), engine=engine)
    assert info.value.size == len(data) // 2 and info.value.wanted == len(data)


def test_truncated_with_patched_end_of_file(odd: dict[str, Path]) -> None:
    """The superblock claims the cut size; the engine then reads past the end."""
    data = bytearray(odd["links"].read_bytes())
    cut = len(data) - 200
    struct.pack_into("<Q", data, 40, cut)  # v0 superblock: end-of-file address
    with pytest.raises(TruncatedFileError):
        with open_h5(MemorySource(bytes(data[:cut]), name="cut.h5"), engine="pyfive") as f:
            _walk(f)


def test_short_superblock_is_truncated(engine: str) -> None:
    with pytest.raises(TruncatedFileError):
        open_h5(MemorySource(b"\x89HDF\r\n\x1a\n\x00\x00\x00", name="tiny.h5"), engine=engine)


def test_damaged_checksum_is_corrupt(odd: dict[str, Path]) -> None:
    import h5py

    data = bytearray(odd["layouts"].read_bytes())
    with h5py.File(odd["layouts"], "r") as f:
        info = f["fletcher32"].id.get_chunk_info(0)
    data[info.byte_offset] ^= 0xFF
    with open_h5(MemorySource(bytes(data), name="bad.h5"), engine="pyfive") as f:
        np.testing.assert_array_equal(f["fletcher32"][2:, :], odd_h5.INTS[2:, :])
        with pytest.raises(CorruptFileError, match="Fletcher-32"):
            f["fletcher32"][0, 0]


def test_garbage_after_signature_is_corrupt(engine: str) -> None:
    data = b"\x89HDF\r\n\x1a\n" + b"\x00" * 8 + b"\xff" * 200
    with pytest.raises((CorruptFileError, TruncatedFileError)):
        open_h5(MemorySource(data, name="bad.h5"), engine=engine)


@pytest.mark.timeout(120)
def test_random_damage_raises_only_nwbscope_errors(odd: dict[str, Path]) -> None:
    """No AssertionError / struct.error / KeyError from pyfive ever reaches the caller."""
    clean = odd["links"].read_bytes()
    rng = random.Random(1234)
    outcomes = set()
    for _ in range(40):
        data = bytearray(clean)
        for _ in range(6):
            pos = rng.randrange(96, len(data))
            data[pos] = rng.randrange(256)
        try:
            with open_h5(MemorySource(bytes(data), name="damaged.h5"), engine="pyfive") as f:
                _walk(f)
            outcomes.add("ok")
        except NwbscopeError as exc:
            outcomes.add(type(exc).__name__)
    assert outcomes - {"ok"}, "some damage must be detected"


def _walk(group) -> None:
    for name in group.keys():
        try:
            node = group[name]
        except NotFoundError:
            continue
        dict(node.attrs)
        if node.kind == "group":
            _walk(node)
        else:
            node[()]
