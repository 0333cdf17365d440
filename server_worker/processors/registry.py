"""The processors this machine can run: a table of family modules, imported on demand.

A family module is imported only to read its ``PROCESSORS`` list (cheap: the sorters
themselves load on first use), and a processor is listed only when ``available()``, i.e. its
packages import here. The broker never calls this; workers do, and register the result.
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import SpikeInterfaceSorter

#: Family module (relative to this package) for each processor family.
FAMILIES: dict[str, str] = {
    "internal": ".internal",
    "mountainsort": ".mountainsort",
    "kilosort": ".kilosort",
}


def all_processors() -> list[SpikeInterfaceSorter]:
    """Every processor known, available here or not."""
    found: list[SpikeInterfaceSorter] = []
    for module_name in FAMILIES.values():
        module = importlib.import_module(module_name, __package__)
        found.extend(module.PROCESSORS)
    return found


def available_processors() -> dict[str, SpikeInterfaceSorter]:
    """Processors whose packages import on this machine, by name."""
    return {p.name: p for p in all_processors() if p.available()}


def get_processor(name: str) -> SpikeInterfaceSorter:
    processors = available_processors()
    if name not in processors:
        known = ", ".join(sorted(processors)) or "none"
        raise KeyError(f"Processor {name!r} is not available on this worker (it has: {known}).")
    return processors[name]


def describe_available() -> list[dict[str, Any]]:
    """The processors a worker registers with, as JSON."""
    return [p.describe() for p in available_processors().values()]
