"""MountainSort5 (``pip install mountainsort5``), wrapped by SpikeInterface.

Own filtering off: SpikeInterface's wrapper (``sorters/external/mountainsort5.py``) runs
``bandpass_filter`` when ``filter`` is true and whitens when ``whiten`` is true, as two
independent steps; ``filter=False`` leaves the whitening MountainSort5 expects in place.
"""

from __future__ import annotations

from .base import Resources, SpikeInterfaceSorter

PROCESSORS = [
    SpikeInterfaceSorter(
        name="mountainsort5",
        family="mountainsort",
        description="MountainSort5 (isosplit6 clustering), via SpikeInterface.",
        requires=("mountainsort5", "isosplit6"),
        resources=Resources(cpus=1, memory_gb=4.0),
        own_preprocessing_off={"filter": False},
    ),
]
