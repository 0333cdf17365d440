"""Check a job's parameters against a processor's schema, naming the first wrong field.

Used by the broker at submission (so a typo is a 422 before anything is queued) and by the
runner before sorting. Only needs ``jsonschema``, never a sorter.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from nwbscope.errors import ParameterError


def validate(instance: Any, schema: dict[str, Any], *, prefix: str) -> None:
    """Raise ParameterError naming e.g. ``parameters.detection.detect_threshold``."""
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
