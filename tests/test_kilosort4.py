"""Kilosort4 really run on CPU through the job runner, where torch and kilosort are installed.

CI does not install torch (a multi-GB download), so this module is skipped there unless the
machine has them: ``pip install torch==2.13.0`` (the CPU build) and ``pip install
kilosort==4.1.7`` (the first release SpikeInterface 0.105 accepts with numpy >= 2.4).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nwbscope.errors import ParameterError

pytest.importorskip("torch", reason="Kilosort4 needs torch (pip install torch==2.13.0, CPU)")
pytest.importorskip("kilosort", reason="Kilosort4 is not installed (pip install kilosort)")

from server_worker.jobs.folder import JobFolder  # noqa: E402
from server_worker.jobs.numba_cache import CACHE_ENV  # noqa: E402
from server_worker.jobs.synthetic import write_ground_truth_nwb  # noqa: E402
from server_worker.processors.registry import available_processors  # noqa: E402
from server_worker.processors.validate import validate  # noqa: E402
from server_worker.worker.capabilities import capabilities  # noqa: E402


def test_kilosort4_is_offered_with_a_json_safe_schema() -> None:
    """Listed in the worker's capabilities, and registrable: httpx and Starlette refuse
    non-finite floats, and SpikeInterface's default ``artifact_threshold`` is ``inf``."""
    from importlib.metadata import version

    offered = {p["name"]: p for p in capabilities(1, "local")["processors"]}
    assert "kilosort4" in offered
    described = offered["kilosort4"]
    assert described["version"] == version("kilosort")
    json.dumps(described, allow_nan=False)  # raises on inf / nan anywhere
    properties = described["parameters_schema"]["properties"]
    assert properties["torch_device"]["default"] == "cpu"
    assert properties["artifact_threshold"]["default"] is None
    assert properties["Th_learned"]["default"] == 8  # SpikeInterface's own default

    processor = available_processors()["kilosort4"]
    schema = processor.parameters_schema()
    validate(processor.default_parameters(), schema, prefix="parameters")
    validate({"artifact_threshold": 400.0, "torch_device": "auto"}, schema, prefix="parameters")
    with pytest.raises(ParameterError, match="torch_device"):
        validate({"torch_device": "tpu"}, schema, prefix="parameters")


def test_null_threshold_reaches_kilosort_as_inf(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    import spikeinterface.sorters

    seen: dict[str, Any] = {}
    monkeypatch.setattr(spikeinterface.sorters, "run_sorter",
                        lambda name, recording, **kwargs: seen.update(kwargs, name=name))
    processor = available_processors()["kilosort4"]
    parameters = processor.default_parameters()
    processor.run(object(), tmp_path, parameters)
    assert seen["name"] == "kilosort4" and seen["torch_device"] == "cpu"
    assert math.isinf(seen["artifact_threshold"])
    assert parameters["artifact_threshold"] is None  # the job's provenance keeps JSON's null


def test_kilosort4_sorts_ground_truth_on_cpu(tmp_path: Path,
                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    """The runner in a child process, as a worker starts it, on 32 channels x 60 s, 10 units.

    Measured here (Kilosort 4.1.7, torch 2.13.0 CPU, 2 cores): 63 s of sorting on an idle
    machine, up to 280 s while the cores are shared; 11 units, 9 of the 10 true units at
    accuracy >= 0.88 (8 at >= 0.96; the tenth, 0.71, is split), the same in four runs and with
    1 or 2 torch threads. On 16 channels (60 s) Kilosort4 missed 4 units, on 16 x 30 s 8, so
    the recording is not smaller. The bar is 7 units at >= 0.85.
    """
    import numpy as np
    from pynwb import NWBHDF5IO
    from spikeinterface.comparison import compare_sorter_to_ground_truth
    from spikeinterface.core import NumpySorting

    from server_worker.jobs.nwb_output import read_provenance

    truth = write_ground_truth_nwb(tmp_path / "gt.nwb", num_channels=32, num_units=10,
                                   duration_s=60.0, seed=7)
    folder = JobFolder(tmp_path / "job").create({
        "job_id": "ks4", "attempt": 1, "processor": "kilosort4", "parameters": {},
        "recording": {}, "input_uri": f"sha256://{'b' * 64}?label=gt.nwb",
    })
    folder.input_file.write_bytes(truth.path.read_bytes())
    env = {**os.environ, CACHE_ENV: str(tmp_path_factory.getbasetemp() / "numba")}
    done = subprocess.run([sys.executable, "-m", "server_worker.jobs.runner", str(folder.path)],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "kilosort.run_kilosort: Total runtime" in done.stderr + done.stdout
    result = folder.read_result()
    assert result["timings"]["sort_s"] > 0

    with NWBHDF5IO(str(folder.outputs_dir / "units.nwb"), "r") as io:
        nwbfile = io.read()
        spike_times = list(nwbfile.units["spike_times"][:])
        provenance = read_provenance(nwbfile)
    assert provenance["processor"] == "kilosort4"
    assert provenance["parameters"]["torch_device"] == "cpu"
    assert provenance["parameters"]["artifact_threshold"] is None
    assert len(spike_times) == result["num_units"]

    found = NumpySorting.from_unit_dict(
        {i: np.round(np.asarray(t) * truth.sampling_frequency).astype("int64")
         for i, t in enumerate(spike_times)}, truth.sampling_frequency)
    accuracy = compare_sorter_to_ground_truth(truth.sorting, found).get_performance()[
        "accuracy"].astype(float)
    assert int((accuracy >= 0.85).sum()) >= 7, accuracy
    summary = json.loads((folder.outputs_dir / "summary.json").read_text(),
                         parse_constant=lambda name: pytest.fail(f"{name} in summary.json"))
    assert summary["num_units"] == len(spike_times)
