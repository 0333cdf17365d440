"""Reading a panel's serialized Bokeh document (``PanelDoc.doc``, ``json_item`` text) in tests.

One walker for every view test: each model definition (``{"type": "object", ...}``), and the
named ones by name (the names are the contract with the page's glue).
"""

from __future__ import annotations

import json
from typing import Any


def all_models(doc: str) -> list[dict[str, Any]]:
    """Every model definition in the document, in the order written."""
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("type") == "object":
                found.append(value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(json.loads(doc))
    return found


def models(doc: str) -> dict[str, dict[str, Any]]:
    """The named models by name (the first definition of a name)."""
    found: dict[str, dict[str, Any]] = {}
    for model in all_models(doc):
        name = (model.get("attributes") or {}).get("name")
        if name:
            found.setdefault(name, model)
    return found
