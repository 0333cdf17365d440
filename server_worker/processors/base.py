"""What a processor is: a name, a version, a parameter schema, resource needs, one run.

A processor is described to the broker as plain JSON (``describe()``), built on the worker,
which is the only side that imports the sorter. ``SpikeInterfaceSorter`` covers every sorter
SpikeInterface wraps; a family module (``internal``, ``mountainsort``, ``kilosort``) lists its
instances and says whether each is importable here.

Filtering once. The runner bandpass-filters and median-references the recording (the
recording option ``preprocessing``, on by default) and most sorters filter again on their
own, which distorts spike shapes for nothing (and makes MountainSort5 warn "the recording
is already filtered"). So each sorter declares either ``own_preprocessing_off``, the
parameter values that switch its own filter / common reference off while keeping what it
needs (its whitening), which ``default_parameters`` (hence the schema users see and the
broker fills in) carries; or ``runner_preprocessing = False`` where its own preprocessing
cannot be split from a step it needs, and then the runner's is off by default for it
(``recording_schema``). Either way the defaults filter exactly once.
"""

from __future__ import annotations

import copy
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .schema import RECORDING_SCHEMA, deep_merge, parameters_schema

#: Appended to the description of a parameter ``own_preprocessing_off`` sets.
OFF_NOTE = ("nwbscope's default ({value}) switches the sorter's own filter and common "
            "reference off, since the recording option 'preprocessing' already does them "
            "(nothing filters twice); SpikeInterface's default is {default}: use it when "
            "'preprocessing' is off.")


@dataclass(frozen=True)
class Resources:
    """What one job needs; the worker sizes its slots from it (and Slurm its request)."""

    cpus: int = 1
    memory_gb: float = 4.0
    gpu: str = "none"  # "none", "optional" or "required"
    #: How many GPUs when one is used (Slurm's ``--gres=gpu:N``).
    gpus: int = 1
    #: Wall-clock limit (Slurm's ``--time``); None: the executor's or the cluster's default.
    time_limit_minutes: int | None = None


@dataclass(frozen=True)
class SpikeInterfaceSorter:
    """A sorter run through ``spikeinterface.sorters.run_sorter``."""

    name: str
    family: str
    description: str
    requires: tuple[str, ...] = ()  # modules that must be importable besides spikeinterface
    resources: Resources = field(default_factory=Resources)
    #: Parameter values (nested dicts merged) that switch the sorter's own filter and common
    #: reference off, so that the runner's preprocessing is the only one.
    own_preprocessing_off: dict[str, Any] = field(default_factory=dict, hash=False)
    #: False: the sorter's own preprocessing is kept (it cannot be split from a step the
    #: sorter needs) and the runner's is off by default for this sorter.
    runner_preprocessing: bool = True

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

    def spikeinterface_defaults(self) -> dict[str, Any]:
        from spikeinterface.sorters import get_default_sorter_params

        return get_default_sorter_params(self.sorter_name)

    def default_parameters(self) -> dict[str, Any]:
        """SpikeInterface's defaults, the sorter's own filter off (``own_preprocessing_off``)."""
        return deep_merge(self.spikeinterface_defaults(),
                          copy.deepcopy(self.own_preprocessing_off))

    def parameters_schema(self) -> dict[str, Any]:
        from spikeinterface.sorters import get_sorter_params_description

        descriptions = dict(get_sorter_params_description(self.sorter_name))
        original = self.spikeinterface_defaults()
        for name, value in self.own_preprocessing_off.items():
            note = OFF_NOTE.format(value=_json_text(value),
                                   default=_json_text(original.get(name)))
            described = str(descriptions.get(name) or "").strip().rstrip(".")
            descriptions[name] = f"{described}. {note}" if described else note
        return parameters_schema(
            self.default_parameters(), descriptions, title=f"{self.name} parameters"
        )

    def recording_schema(self) -> dict[str, Any]:
        """The recording options this sorter takes: ``RECORDING_SCHEMA`` itself, or a copy
        with ``preprocessing`` off by default where the sorter keeps its own."""
        if self.runner_preprocessing:
            return RECORDING_SCHEMA
        schema = copy.deepcopy(RECORDING_SCHEMA)
        field_ = schema["properties"]["preprocessing"]
        field_["default"] = False
        field_["description"] = (
            f"Bandpass filter and common median reference before sorting. Off by default for "
            f"{self.name}: its own preprocessing (filter, common reference and whitening, "
            "which it needs) runs instead, so nothing filters twice; on, the recording is "
            "filtered twice."
        )
        return schema

    def recording_defaults(self) -> dict[str, Any]:
        """The recording options a job of this sorter gets when it gives none."""
        properties = self.recording_schema()["properties"]
        return {key: spec["default"] for key, spec in properties.items() if "default" in spec}

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
            "recording_schema": self.recording_schema(),
            "resources": {
                "cpus": self.resources.cpus,
                "memory_gb": self.resources.memory_gb,
                "gpu": self.resources.gpu,
            },
        }

    def run(self, recording: Any, folder: Path, parameters: dict[str, Any]) -> Any:
        """Sort ``recording`` in ``folder``; returns the SortingExtractor.

        ``parameters`` is the complete set the broker queued (``schema.complete`` over this
        sorter's schema, own filter off included): used as it is, never completed again.
        """
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


def _json_text(value: Any) -> str:
    import json

    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)
