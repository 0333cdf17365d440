"""Check a job's parameters against a processor's schema, naming the first wrong field.

Used by the broker at submission (so a typo is a 422 before anything is queued) and by the
runner before sorting. Only needs ``jsonschema``, never a sorter.
"""

from __future__ import annotations

import json
import math
from typing import Any

from jsonschema import Draft202012Validator

from nwbscope.errors import ParameterError


def validate(instance: Any, schema: dict[str, Any], *, prefix: str,
             max_item_bytes: int | None = None) -> None:
    """Raise ParameterError naming e.g. ``parameters.detection.detect_threshold``.

    NaN and infinities (JSON's ``NaN``, ``1e999``) are refused first: JSON Schema counts
    them as numbers, but no sorter parameter means them and they cannot be stored as JSON.
    Then each top-level item's JSON must fit in ``max_item_bytes`` (the broker passes
    ``Settings.max_parameter_bytes``): it is stored with the job and sent back by every
    listing, and a sorter's parameters are numbers and short words.
    """
    _finite(instance, prefix)
    if max_item_bytes is not None and isinstance(instance, dict):
        _small(instance, prefix, max_item_bytes)
    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    error = errors[0]
    path = [prefix, *[str(part) for part in error.absolute_path]]
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        if extra:
            path.append(extra[0])
            raise ParameterError(
                ".".join(path), "unknown parameter (not one this processor takes)"
            )
    raise ParameterError(".".join(path), error.message)


def _finite(value: Any, path: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ParameterError(path, f"{value} is not a finite number")
    if isinstance(value, dict):
        for key, item in value.items():
            _finite(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _finite(item, f"{path}.{index}")


def _small(items: dict[str, Any], prefix: str, limit: int) -> None:
    for key, item in items.items():
        size = len(json.dumps(item, separators=(",", ":")).encode())
        if size > limit:
            raise ParameterError(
                f"{prefix}.{key}", f"is {size} bytes as JSON, more than the {limit} allowed "
                "(setting max_parameter_bytes)")
