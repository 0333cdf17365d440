"""A job host: a child process that runs job folders one after another, staying warm.

``python -m server_worker.jobs.host [--warm-up DIR]`` reads job folder paths on stdin, one per
line, runs each exactly as ``runner`` would (its console output goes to that job's
``log.txt``) and answers ``done <exit code>`` on its original stdout. Why: a fresh process per
job pays the imports and the first call of every numba kernel and library again (measured
~4-7 s per SpykingCircus2 job here, more than the whole overhead budget); a host pays them
once. Isolation is kept where it matters: the host is still a separate process, so a crash or
a cancel (which kills the host) never touches the worker daemon, which then starts a new one.
With ``--warm-up`` the host first sorts a tiny synthetic recording with each processor, so
even its first job runs warm.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

from .folder import JobFolder
from .numba_cache import enable
from .runner import run_folder, watch_parent


def _redirect(fd_target: int) -> tuple[int, int]:
    """Point fds 1 and 2 at ``fd_target``; return copies of the previous ones."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    os.dup2(fd_target, 1)
    os.dup2(fd_target, 2)
    return saved


def _restore(saved: tuple[int, int]) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(saved[0], 1)
    os.dup2(saved[1], 2)
    os.close(saved[0])
    os.close(saved[1])


def run_in_folder(path: Path) -> int:
    """One job, its output (and that of any process it starts) appended to its log."""
    folder = JobFolder(path)
    home = os.getcwd()
    with open(folder.log_file, "ab") as log:
        saved = _redirect(log.fileno())
        try:
            os.chdir(folder.path)
            return run_folder(folder)
        finally:
            os.chdir(home)
            _restore(saved)
            gc.collect()


def serve(warm_dir: Path | None) -> int:
    replies = os.fdopen(os.dup(1), "w", buffering=1)  # the daemon reads answers here
    os.dup2(2, 1)  # the host's own prints go to its log (stderr), never into the answers
    watch_parent()
    enable()  # before the sorters import numba
    import spikeinterface.preprocessing  # noqa: F401  (the imports every job needs, once)
    import spikeinterface.sorters  # noqa: F401
    from spikeinterface.extractors import nwbextractors  # noqa: F401

    if warm_dir is not None:
        from .warmup import warm_up

        print(f"host warm-up: {warm_up(warm_dir, force=True)}", flush=True)
    replies.write("ready\n")
    for line in sys.stdin:
        path = line.strip()
        if not path:
            continue
        replies.write(f"done {run_in_folder(Path(path))}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    warm_dir = None
    if argv[:1] == ["--warm-up"] and len(argv) == 2:
        warm_dir = Path(argv[1])
    elif argv:
        print("usage: python -m server_worker.jobs.host [--warm-up DIR]", file=sys.stderr)
        return 2
    return serve(warm_dir)


if __name__ == "__main__":
    sys.exit(main())
