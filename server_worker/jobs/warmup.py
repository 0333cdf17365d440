"""Fill a worker's numba cache before real jobs come: ``python -m server_worker.jobs.warmup``.

Runs every cheap processor once, through the same runner as a job, on a tiny synthetic NWB
recording (8 channels, 10 s), so a worker's first real job already finds SpikeInterface's
kernels compiled (see ``numba_cache``). Started in the background by the worker daemon; a
stamp with the library versions makes later starts skip it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from .folder import JobFolder

#: Processors worth warming (Kilosort4 compiles nothing with numba and is slow on CPU).
WARM = ("spykingcircus2", "tridesclous2", "mountainsort5")


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("spikeinterface", "numba", "numpy", *WARM):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def warm_up(work_dir: Path, *, force: bool = False) -> dict[str, float]:
    """Run each available processor on a tiny recording; returns seconds per processor.

    Skipped when the stamp says the numba cache is already filled for these versions, unless
    ``force`` (a job host warms its own process, not only the disk cache)."""
    from .numba_cache import enable

    enable()
    from ..processors.registry import available_processors
    from ..processors.schema import complete
    from .runner import run_job
    from .spec import JobSpec
    from .synthetic import write_ground_truth_nwb

    stamp = work_dir / "warm.json"
    wanted = versions()
    if not force and stamp.is_file() and json.loads(stamp.read_text()).get("versions") == wanted:
        return {}
    work_dir.mkdir(parents=True, exist_ok=True)
    recording = write_ground_truth_nwb(work_dir / "warm.nwb", num_channels=8, num_units=5,
                                       duration_s=10.0, seed=1)
    seconds = {}
    for name in WARM:
        if name not in available_processors():
            continue
        folder = JobFolder(work_dir / name)
        schema = available_processors()[name].parameters_schema()
        folder.create(JobSpec(job_id=f"warm-up-{name}", processor=name,
                              parameters=complete(schema, {}), input_uri="warm-up"))
        folder.input_file.unlink(missing_ok=True)
        folder.input_file.symlink_to(recording.path)
        start = time.monotonic()
        try:
            run_job(folder)
        except Exception as error:  # a warm-up failure only costs speed
            print(f"warm-up of {name} failed: {type(error).__name__}: {error}", flush=True)
        seconds[name] = time.monotonic() - start
    stamp.write_text(json.dumps({"versions": wanted, "seconds": seconds}))
    return seconds


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m server_worker.jobs.warmup WORK_DIR", file=sys.stderr)
        return 2

    from .runner import watch_parent

    watch_parent()
    print(f"warm-up: {warm_up(Path(argv[0]))}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
