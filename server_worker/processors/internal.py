"""SpikeInterface's own sorters: nothing to install beyond spikeinterface and its extras."""

from __future__ import annotations

from .base import Resources, SpikeInterfaceSorter

PROCESSORS = [
    SpikeInterfaceSorter(
        name="spykingcircus2",
        family="internal",
        description="SpykingCircus2 (SpikeInterface components: matched filtering, "
        "iterative HDBSCAN, circus-omp template matching).",
        requires=("hdbscan", "sklearn", "numba"),
        resources=Resources(cpus=1, memory_gb=4.0),
    ),
    SpikeInterfaceSorter(
        name="tridesclous2",
        family="internal",
        description="Tridesclous2 (SpikeInterface components: SVD features, local isosplit "
        "clustering, template matching).",
        requires=("sklearn", "numba"),
        resources=Resources(cpus=1, memory_gb=4.0),
    ),
]
