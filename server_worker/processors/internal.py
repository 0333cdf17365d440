"""SpikeInterface's own sorters: nothing to install beyond spikeinterface and its extras.

Own filtering off (``own_preprocessing_off``), as read in SpikeInterface 0.105.3
(``spikeinterface/sorters/internal/``):

- SpykingCircus2: ``apply_preprocessing=True`` runs ``bandpass_filter`` (150-7000 Hz, Bessel)
  and, from 32 channels, ``common_reference``. With ``False`` it only casts to float32 and
  marks the recording filtered; whitening is a separate switch (``apply_whitening``, kept
  on), so turning the filter off loses nothing the sorter needs.
- Tridesclous2: ``apply_preprocessing=False`` would also skip its whitening and the cache
  of the preprocessed traces, which its detection and template matching expect. Its
  ``preprocessing_dict`` replaces the filter + common reference by a pipeline
  (``apply_preprocessing_pipeline``); an empty list is an empty pipeline (the recording as
  it is), after which whitening and caching still run. So ``preprocessing_dict=[]``.
"""

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
        own_preprocessing_off={"apply_preprocessing": False},
    ),
    SpikeInterfaceSorter(
        name="tridesclous2",
        family="internal",
        description="Tridesclous2 (SpikeInterface components: SVD features, local isosplit "
        "clustering, template matching).",
        requires=("sklearn", "numba"),
        resources=Resources(cpus=1, memory_gb=4.0),
        own_preprocessing_off={"preprocessing_dict": []},
    ),
]
