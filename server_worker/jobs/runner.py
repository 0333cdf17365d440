"""The child process of one job: ``python -m server_worker.jobs.runner <job folder>``.

Everything it needs is in the folder (``job.json`` and ``inputs/``); it writes its console
output to stdout (the executor sends that to ``log.txt``), and ends with ``result.json`` (exit
0) or ``error.json`` with the trace (exit 1). It holds no credentials and opens no network
connection: downloading inputs and uploading outputs is the daemon's job (or, on a cluster
without a shared file system, that of ``worker.remote_job``, the runner's parent there).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from ..redact import redact_url
from .folder import JobFolder
from .spec import JobFailure, JobResult

#: Set by LocalExecutor: exit when the worker daemon that started us is gone.
DIE_WITH_PARENT_ENV = "NWBSCOPE_DIE_WITH_PARENT"


def run_job(folder: JobFolder) -> JobResult:
    """Read, preprocess, sort and write the outputs of the job in ``folder``.

    The spec's parameters are complete and were validated by the broker at submission: the
    run uses them as they are (checking them again here would be a second copy of the rules).
    """
    import spikeinterface

    from ..processors.registry import get_processor
    from .nwb_output import summary, unit_metrics, write_units_nwb
    from .recording import load_recording

    spec = folder.read_spec()
    timings: dict[str, float] = {}
    started = time.monotonic()
    processor = get_processor(spec.processor)
    version = processor.version()
    options = spec.recording
    shown = redact_url(spec.input_uri)  # the log and the output file are read by others
    print(f"nwbscope: job {spec.job_id} attempt {spec.attempt}: {processor.name} "
          f"{version} on {shown}", flush=True)

    loaded = load_recording(folder.input_file, options, spec.input_uri)
    print(f"nwbscope: {loaded.series_path}: {loaded.recording}", flush=True)
    timings["load_s"] = time.monotonic() - started

    mark = time.monotonic()
    sorting = processor.run(loaded.recording, folder.sorter_dir, spec.parameters)
    timings["sort_s"] = time.monotonic() - mark
    print(f"nwbscope: {len(sorting.unit_ids)} units found in {timings['sort_s']:.1f} s", flush=True)

    mark = time.monotonic()
    metrics = unit_metrics(sorting, loaded.recording)
    provenance = {
        "job_id": spec.job_id,
        "attempt": spec.attempt,
        "processor": processor.name,
        "processor_version": version,
        "spikeinterface_version": spikeinterface.__version__,
        "parameters": spec.parameters,
        "recording_options": options.model_dump(),
        "electrical_series_path": loaded.series_path,
        "probe_geometry": loaded.geometry.kind,
        "input_uri": shown,
        "input_sha256": spec.input_sha256 or "",
        "worker": spec.worker,
        "started_at": spec.started_at or "",
        "finished_at": datetime.now(UTC).isoformat(),
    }
    nwb_path = folder.outputs_dir / "units.nwb"
    write_units_nwb(nwb_path, sorting=sorting, loaded=loaded, metrics=metrics,
                    provenance=provenance)
    summary_path = folder.outputs_dir / "summary.json"
    summary_path.write_text(json.dumps(summary(sorting, metrics, provenance), indent=2))
    timings["write_s"] = time.monotonic() - mark
    timings["total_s"] = time.monotonic() - started
    result = JobResult(
        outputs={"nwb": nwb_path.name, "summary": summary_path.name},
        num_units=len(sorting.unit_ids),
        processor_version=version,
        timings=timings,
    )
    folder.write_result(result)
    print(f"nwbscope: done in {timings['total_s']:.1f} s", flush=True)
    return result


def watch_parent() -> None:
    """Exit when re-parented: the daemon died, so nobody would report this run.

    Only when the executor asked for it (``DIE_WITH_PARENT_ENV``); a run started by hand
    outlives its shell.
    """
    if os.environ.get(DIE_WITH_PARENT_ENV) != "1":
        return
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                if os.getpgid(0) == os.getpid():  # our own group: the sorter's helpers too
                    os.killpg(os.getpid(), signal.SIGKILL)
                os._exit(137)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m server_worker.jobs.runner JOB_FOLDER", file=sys.stderr)
        return 2
    watch_parent()
    from .numba_cache import enable

    enable()  # before the sorters import numba's decorators
    return run_folder(JobFolder(Path(argv[0])))


def run_folder(folder: JobFolder) -> int:
    """Run the job in ``folder``: 0 with ``result.json``, or 1 with ``error.json``."""
    try:
        run_job(folder)
    except BaseException as error:  # every failure is reported, with its trace, from the folder
        trace = traceback.format_exc()
        print(trace, file=sys.stderr, flush=True)
        field = getattr(error, "field", None)
        folder.write_error(JobFailure(
            type=type(error).__name__,
            message=str(error) or type(error).__name__,
            field=field if isinstance(field, str) else None,
            trace=trace,
        ))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
