"""The type hierarchy from cached specifications (pure part: JSON documents in, ancestors out)."""

from __future__ import annotations

from nwbscope.nwb.types import TypeHierarchy, iter_type_specs, version_key

CORE = {
    "groups": [
        {"neurodata_type_def": "NWBDataInterface", "neurodata_type_inc": "NWBContainer",
         "doc": "interface"},
        {"neurodata_type_def": "TimeSeries", "neurodata_type_inc": "NWBDataInterface",
         "doc": "General purpose time series.",
         "groups": [{"neurodata_type_def": "NestedThing", "neurodata_type_inc": "TimeSeries",
                     "doc": "defined inside another spec"}]},
        {"neurodata_type_def": "ElectricalSeries", "neurodata_type_inc": "TimeSeries",
         "doc": "A time series of acquired voltage data."},
    ],
}
COMMON = {
    "groups": [{"data_type_def": "DynamicTable", "data_type_inc": "Container", "doc": "t"}],
    "datasets": [
        {"data_type_def": "VectorData", "data_type_inc": "Data", "doc": "column"},
        {"data_type_def": "VectorIndex", "data_type_inc": "VectorData", "doc": "index"},
    ],
}
EXTENSION = {"groups": [{"neurodata_type_def": "TetrodeSeries",
                         "neurodata_type_inc": "ElectricalSeries", "doc": "one tetrode"}]}
OLD_CORE = {"groups": [{"neurodata_type_def": "TimeSeries", "neurodata_type_inc": "Old",
                        "doc": "from an older schema"}]}


def hierarchy() -> TypeHierarchy:
    return TypeHierarchy.from_documents({
        "core": {"2.9.0": [OLD_CORE], "2.10.0": [CORE]},
        "hdmf-common": {"1.8.0": [COMMON]},
        "ndx-test": {"0.1.0": [EXTENSION]},
    })


def test_nested_and_dataset_types_are_found() -> None:
    names = {spec.name: spec.kind for spec in iter_type_specs(CORE, "core")}
    assert names == {"NWBDataInterface": "group", "TimeSeries": "group",
                     "NestedThing": "group", "ElectricalSeries": "group"}
    kinds = {s.name: s.kind for s in iter_type_specs(COMMON, "hdmf-common")}
    assert kinds == {"DynamicTable": "group", "VectorData": "dataset", "VectorIndex": "dataset"}


def test_extension_type_knows_ancestors_across_namespaces() -> None:
    types = hierarchy()
    assert types.ancestors("TetrodeSeries", "ndx-test") == [
        "ElectricalSeries", "TimeSeries", "NWBDataInterface", "NWBContainer", "Container"]
    assert types.is_a("TetrodeSeries", "TimeSeries", "ndx-test")
    assert not types.is_a("TetrodeSeries", "DynamicTable", "ndx-test")
    assert types.is_a("NestedThing", "TimeSeries")
    assert types.doc("ElectricalSeries") == "A time series of acquired voltage data."


def test_newest_version_wins() -> None:
    types = hierarchy()
    assert types.namespaces["core"] == "2.10.0"
    assert types.get("TimeSeries").parent == "NWBDataInterface"
    assert version_key("2.10.0") > version_key("2.9.1") > version_key("2.9.0")


def test_hdmf_common_keys_and_fallback_without_specs() -> None:
    assert hierarchy().ancestors("VectorIndex") == ["VectorData", "Data"]
    bare = TypeHierarchy()  # a file without /specifications: the built-in table answers
    assert bare.ancestors("SpatialSeries") == [
        "TimeSeries", "NWBDataInterface", "NWBContainer", "Container"]
    assert bare.ancestors("Units") == ["DynamicTable", "Container"]
    assert bare.ancestors("UnknownType") == []
    assert not bare.is_a(None, "TimeSeries")
