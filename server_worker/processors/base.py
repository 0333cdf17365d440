"""What a processor is: a name, a version, a parameter schema, resource needs, one run.

A processor is described to the broker as plain JSON (``describe()``), built on the worker,
which is the only side that imports the sorter. ``SpikeInterfaceSorter`` covers every sorter
SpikeInterface wraps; a family module (``internal``, ``mountainsort``, ``kilosort``) lists its
instances and says whether each is importable here.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .schema import RECORDING_SCHEMA, parameters_schema


@dataclass(frozen=True)
class Resources:
    """What one job needs; the worker sizes its slots from it (and Slurm its request)."""

    cpus: int = 1
    memory_gb: float = 4.0
    gpu: str = "none"  # "none", "optional" or "required"


@dataclass(frozen=True)
class SpikeInterfaceSorter:
    """A sorter run through ``spikeinterface.sorters.run_sorter``."""

    name: str
    family: str
    description: str
    requires: tuple[str, ...] = ()  # modules that must be importable besides spikeinterface
    resources: Resources = field(default_factory=Resources)

    @property
    def sorter_name(self) -> str:
        return self.name

    def available(self) -> bool:
        """True when the sorter and what it needs import here (checked without importing)."""
        needed = ("spikeinterface", *self.requires)
        return all(importlib.util.find_spec(module) is not None for module in needed)

    def version(self) -> str:
        from spikeinterface.sorters import sorter_dict

        return str(sorter_dict[self.sorter_name].get_sorter_version())

    def default_parameters(self) -> dict[str, Any]:
        from spikeinterface.sorters import get_default_sorter_params

        return get_default_sorter_params(self.sorter_name)

    def parameters_schema(self) -> dict[str, Any]:
        from spikeinterface.sorters import get_sorter_params_description

        return parameters_schema(
            self.default_parameters(),
            get_sorter_params_description(self.sorter_name),
            title=f"{self.name} parameters",
        )

    def describe(self) -> dict[str, Any]:
        """The JSON the worker registers with and ``GET /api/processors`` shows."""
        import spikeinterface

        return {
            "name": self.name,
            "family": self.family,
            "version": self.version(),
            "spikeinterface_version": spikeinterface.__version__,
            "description": self.description,
            "parameters_schema": self.parameters_schema(),
            "recording_schema": RECORDING_SCHEMA,
            "resources": {
                "cpus": self.resources.cpus,
                "memory_gb": self.resources.memory_gb,
                "gpu": self.resources.gpu,
            },
        }

    def run(self, recording: Any, folder: Path, parameters: dict[str, Any]) -> Any:
        """Sort ``recording`` in ``folder``; returns the SortingExtractor."""
        from spikeinterface.sorters import run_sorter

        return run_sorter(
            self.sorter_name,
            recording,
            folder=folder,
            remove_existing_folder=True,
            verbose=True,
            raise_error=True,
            **parameters,
        )
