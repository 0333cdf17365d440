"""Processors: schemas built from SpikeInterface's own defaults, validation naming the field,
the registry listing only what imports here, and the parameter merge the runner does."""

from __future__ import annotations

import importlib.util

import pytest

from nwbscope.errors import ParameterError
from server_worker.processors.registry import all_processors, available_processors
from server_worker.processors.schema import (
    RECORDING_SCHEMA,
    deep_merge,
    field_schema,
    parameters_schema,
)
from server_worker.processors.validate import validate


def test_field_types_follow_defaults() -> None:
    assert field_schema("apply_whitening", True)["type"] == "boolean"
    assert field_schema("detect_threshold", 5)["type"] == "number"  # 4.5 must be accepted
    assert field_schema("n_jobs", 1)["type"] == "integer"
    assert field_schema("seed", 42)["type"] == "integer"
    assert field_schema("freq_min", 300.0)["type"] == "number"
    assert field_schema("ftype", "bessel") == {"type": "string", "default": "bessel"}
    assert field_schema("preprocessing_dict", None) == {"default": None}
    nested = field_schema("detection", {"peak_sign": "neg", "detect_threshold": 5})
    assert nested["properties"]["detect_threshold"]["type"] == "number"
    assert nested["additionalProperties"] is True


def test_schema_from_spikeinterface_defaults_and_descriptions() -> None:
    from spikeinterface.sorters import get_default_sorter_params, get_sorter_params_description

    processor = available_processors()["tridesclous2"]
    schema = processor.parameters_schema()
    defaults = get_default_sorter_params("tridesclous2")
    descriptions = get_sorter_params_description("tridesclous2")
    assert set(schema["properties"]) == set(defaults)
    assert schema["properties"]["detect_threshold"]["default"] == defaults["detect_threshold"]
    assert schema["properties"]["detect_threshold"]["description"] == " ".join(
        descriptions["detect_threshold"].split()
    )
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"detection": {"method_kwargs": {"detect_threshold": "high"}}},
         "parameters.detection.method_kwargs.detect_threshold"),
        ({"detect_treshold": 4}, "parameters.detect_treshold"),
        ({"seed": 1.5}, "parameters.seed"),
        ({"apply_whitening": "yes"}, "parameters.apply_whitening"),
    ],
)
def test_validation_names_the_wrong_field(parameters: dict, field: str) -> None:
    schema = available_processors()["spykingcircus2"].parameters_schema()
    with pytest.raises(ParameterError) as caught:
        validate(parameters, schema, prefix="parameters")
    assert caught.value.field == field


def test_valid_partial_parameters_pass() -> None:
    schema = available_processors()["spykingcircus2"].parameters_schema()
    validate({"detection": {"method_kwargs": {"detect_threshold": 4.5}}, "seed": 3}, schema,
             prefix="parameters")
    validate({"time_range": [0, 10.5], "preprocessing": False}, RECORDING_SCHEMA,
             prefix="recording")
    with pytest.raises(ParameterError) as caught:
        validate({"time_range": [0]}, RECORDING_SCHEMA, prefix="recording")
    assert caught.value.field == "recording.time_range"


def test_registry_lists_what_imports_here() -> None:
    names = {p.name for p in all_processors()}
    assert {"spykingcircus2", "tridesclous2", "mountainsort5", "kilosort4"} <= names
    here = available_processors()
    assert {"spykingcircus2", "tridesclous2", "mountainsort5"} <= set(here)
    has_kilosort = all(importlib.util.find_spec(m) for m in ("torch", "kilosort"))
    assert ("kilosort4" in here) == bool(has_kilosort)


def test_describe_is_json_with_versions() -> None:
    import json

    import mountainsort5

    described = available_processors()["mountainsort5"].describe()
    assert described["version"] == mountainsort5.__version__
    assert described["recording_schema"] is RECORDING_SCHEMA
    json.dumps(described)  # it travels to the broker as JSON


def test_parameters_schema_refuses_unknown_top_level_names() -> None:
    schema = parameters_schema({"a": 1.0, "opts": {"x": 1}}, {"a": "the a"})
    validate({"opts": {"x": 2, "y": 3}}, schema, prefix="p")  # nested extras are allowed
    with pytest.raises(ParameterError, match="unknown parameter"):
        validate({"b": 1}, schema, prefix="p")


def test_deep_merge_keeps_nested_defaults() -> None:
    defaults = {"detection": {"method": "matched_filtering", "kw": {"t": 5, "s": "neg"}}, "n": 1}
    merged = deep_merge(defaults, {"detection": {"kw": {"t": 4}}})
    assert merged == {"detection": {"method": "matched_filtering", "kw": {"t": 4, "s": "neg"}},
                      "n": 1}
