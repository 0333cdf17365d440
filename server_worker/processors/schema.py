"""JSON schemas of processor parameters, built from a sorter's own defaults and descriptions.

Pure functions over plain dicts (no SpikeInterface import), so the broker can hold and check
the schemas workers send without ever importing a sorter. The type of each field comes from
its default value; nested dicts (``detection``, ``method_kwargs`` ...) become objects that keep
their known keys typed but accept extra keys, as the sorters themselves do; unknown top-level
names are refused, which is where typos happen.
"""

from __future__ import annotations

import re
from typing import Any

#: Names whose integer default means "a count": they stay integers; other integer defaults
#: (``detect_threshold = 5``) accept any number, since 4.5 is as valid as 5.
_COUNT_NAME = re.compile(
    r"^(n_|num_|nb_)|(_n|_order|_depth|seed|_size|_samples|_count|_components|_features|"
    r"_per_channel|_per_subdivision|_per_training_batch)$|^(n|seed|scheme|snippet_t1|snippet_t2)$"
)

#: The options every processor takes about its input, beside the sorter's own parameters.
RECORDING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "electrical_series_path": {
            "type": ["string", "null"],
            "default": None,
            "description": "Path of the ElectricalSeries in the NWB file, e.g. "
            "'acquisition/ElectricalSeries'; empty when the file has only one.",
        },
        "time_range": {
            "type": ["array", "null"],
            "items": {"type": "number", "minimum": 0},
            "minItems": 2,
            "maxItems": 2,
            "default": None,
            "description": "[start, stop] in seconds from the start of the series, to sort "
            "a part only (a quick test); empty for the whole recording.",
        },
        "preprocessing": {
            "type": "boolean",
            "default": True,
            "description": "Bandpass filter (freq_min-freq_max) and common median reference "
            "before sorting. The sorter's own filter is off by default (its parameters say "
            "which), so nothing filters twice; turn it back on when this is off.",
        },
        "freq_min": {"type": "number", "exclusiveMinimum": 0, "default": 300.0,
                     "description": "Low cut of the bandpass filter (Hz)."},
        "freq_max": {"type": "number", "exclusiveMinimum": 0, "default": 6000.0,
                     "description": "High cut of the bandpass filter (Hz)."},
    },
}


def deep_merge(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """``given`` over ``defaults``, nested dicts merged key by key (a partial ``detection``
    dict keeps the default ``method``): how SpikeInterface's nested parameters are meant."""
    merged = dict(defaults)
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def schema_defaults(schema: dict[str, Any]) -> dict[str, Any]:
    """The ``default`` of each top-level property that has one."""
    return {k: v["default"] for k, v in schema.get("properties", {}).items() if "default" in v}


def complete(schema: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """``given`` (already validated against ``schema``) completed with its defaults: what a
    job record holds, so its deduplication key and its run see every value used."""
    return deep_merge(schema_defaults(schema), given)


def recording_defaults() -> dict[str, Any]:
    return {key: spec["default"] for key, spec in RECORDING_SCHEMA["properties"].items()}


def field_schema(name: str, default: Any, description: str | None = None) -> dict[str, Any]:
    """The schema of one parameter, typed by its default value."""
    schema: dict[str, Any]
    if isinstance(default, bool):
        schema = {"type": "boolean"}
    elif isinstance(default, int):
        schema = {"type": "integer" if _COUNT_NAME.search(name.lower()) else "number"}
    elif isinstance(default, float):
        schema = {"type": "number"}
    elif isinstance(default, str):
        schema = {"type": "string"}
    elif isinstance(default, dict):
        schema = {
            "type": ["object", "null"],
            "properties": {k: field_schema(k, v) for k, v in default.items()},
            "additionalProperties": True,
        }
    elif isinstance(default, list | tuple):
        schema = {"type": ["array", "null"]}
        default = list(default)
    else:  # None or something without a JSON type: accept anything
        schema = {}
    if _json_safe(default):
        schema["default"] = default
    if description:
        schema["description"] = " ".join(str(description).split())
    return schema


def parameters_schema(
    defaults: dict[str, Any], descriptions: dict[str, Any], *, title: str = ""
) -> dict[str, Any]:
    """The schema of a sorter's whole parameter dict."""
    return {
        "type": "object",
        "title": title,
        "additionalProperties": False,
        "properties": {
            name: field_schema(name, value, descriptions.get(name))
            for name, value in defaults.items()
        },
    }


def _json_safe(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list):
        return all(_json_safe(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_safe(v) for k, v in value.items())
    return False
