"""Kilosort4 (``pip install kilosort``, needs torch): listed only where both import."""

from __future__ import annotations

from .base import Resources, SpikeInterfaceSorter

PROCESSORS = [
    SpikeInterfaceSorter(
        name="kilosort4",
        family="kilosort",
        description="Kilosort4 (PyTorch); runs on CPU but is several times faster on a GPU.",
        requires=("kilosort", "torch"),
        resources=Resources(cpus=1, memory_gb=8.0, gpu="optional"),
    ),
]
