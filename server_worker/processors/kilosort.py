"""Kilosort4 (``pip install kilosort``, needs torch): listed only where both import.

Kilosort4 runs through SpikeInterface's ``kilosort4`` wrapper like the other sorters, with two
differences that this module makes explicit:

- The device. SpikeInterface's default ``torch_device="auto"`` picks CUDA whenever torch sees
  a GPU; a job's provenance should say where it ran, and a worker without a GPU must run on
  CPU, so the default here is ``"cpu"`` (a GPU worker's users ask for ``"cuda"`` or ``"auto"``).
- ``artifact_threshold``. Its default is ``inf`` ("never zero a batch"), which JSON cannot
  carry: a worker registering with it would fail (httpx and Starlette refuse non-finite
  floats), and the job's summary would not parse in a browser. Here it is ``null`` in the
  schema, the defaults and the provenance, and turned back into ``inf`` only when calling the
  sorter.

Filtering once, the other way round: Kilosort keeps its own preprocessing and nwbscope's is
off by default (``runner_preprocessing=False``). SpikeInterface's wrapper
(``sorters/external/kilosort4.py``) offers ``do_CAR`` (its common reference) and
``skip_kilosort_preprocessing``, but the latter skips the high-pass filter and the whitening
together (``Wrot`` becomes the identity), and Kilosort's thresholds (``Th_universal``,
``Th_learned``) are in units of whitened data: without whitening it sorts badly. Its own
high-pass (300 Hz) + CAR + whitening is what it is tuned on, so the runner leaves the
recording as it is for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import Resources, SpikeInterfaceSorter

#: Parameters whose SpikeInterface default is a non-finite float, shown as ``null`` here.
_INFINITE_AS_NULL = ("artifact_threshold",)

#: What ``torch_device`` may be (SpikeInterface passes it to ``torch.device``).
TORCH_DEVICES = ["cpu", "cuda", "auto"]


@dataclass(frozen=True)
class Kilosort4(SpikeInterfaceSorter):
    """Kilosort4 through SpikeInterface, on CPU unless told otherwise, with JSON-safe defaults."""

    def default_parameters(self) -> dict[str, Any]:
        defaults = super().default_parameters()
        defaults["torch_device"] = "cpu"
        for name in _INFINITE_AS_NULL:
            value = defaults.get(name)
            if isinstance(value, float) and math.isinf(value):
                defaults[name] = None
        return defaults

    def parameters_schema(self) -> dict[str, Any]:
        schema = super().parameters_schema()
        properties = schema["properties"]
        device = properties["torch_device"]
        device["enum"] = TORCH_DEVICES
        device["description"] = (
            "Torch device: 'cpu' (the default here: a job runs on any worker), 'cuda' (a GPU "
            "worker), or 'auto' (CUDA when torch sees a GPU). "
            + " ".join(device.get("description", "").replace("Default is 'auto'.", "").split())
        )
        for name in _INFINITE_AS_NULL:
            if name in properties:
                described = properties[name].get("description", "")
                properties[name] = {
                    "type": ["number", "null"],
                    "default": None,
                    "description": f"{described} null: no threshold (Kilosort's inf).".strip(),
                }
        return schema

    def run(self, recording: Any, folder: Path, parameters: dict[str, Any]) -> Any:
        """Sort with ``null`` thresholds given to Kilosort as ``inf``, as it expects."""
        given = dict(parameters)
        for name in _INFINITE_AS_NULL:
            if name in given and given[name] is None:
                given[name] = math.inf
        return super().run(recording, folder, given)


PROCESSORS = [
    Kilosort4(
        name="kilosort4",
        family="kilosort",
        description="Kilosort4 (PyTorch); runs on CPU here, several times faster on a GPU "
        "(torch_device='cuda').",
        requires=("kilosort", "torch"),
        resources=Resources(cpus=1, memory_gb=8.0, gpu="optional"),
        runner_preprocessing=False,
    ),
]
