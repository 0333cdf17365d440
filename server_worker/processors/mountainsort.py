"""MountainSort5 (``pip install mountainsort5``), wrapped by SpikeInterface."""

from __future__ import annotations

from .base import Resources, SpikeInterfaceSorter

PROCESSORS = [
    SpikeInterfaceSorter(
        name="mountainsort5",
        family="mountainsort",
        description="MountainSort5 (isosplit6 clustering), via SpikeInterface.",
        requires=("mountainsort5", "isosplit6"),
        resources=Resources(cpus=1, memory_gb=4.0),
    ),
]
