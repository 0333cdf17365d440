"""``python -m server_worker.worker --broker URL [--token T]``: run one worker daemon.

The token may come from ``$NWBSCOPE_WORKER_TOKEN`` instead of the command line (which other
users of the machine can read in the process list).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .daemon import WorkerDaemon
from .executors import Executor, LocalExecutor
from .hosts import HostExecutor


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="nwbscope worker", description=__doc__)
    parser.add_argument("--broker", required=True, help="URL of the nwbscope server")
    parser.add_argument("--token", default=None,
                        help="worker token (default: $NWBSCOPE_WORKER_TOKEN)")
    parser.add_argument("--work-dir", type=Path, default=Path("nwbscope-worker"),
                        help="job folders and the input cache")
    parser.add_argument("--slots", type=int, default=1, help="jobs run at the same time")
    parser.add_argument("--name", default=None, help="name shown in the job records")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between loop turns")
    parser.add_argument("--numba-cache", type=Path, default=None,
                        help="compiled sorter kernels, shared by jobs (default "
                             "<work-dir>/cache/numba)")
    parser.add_argument("--executor", choices=("host", "process"), default="host",
                        help="host: jobs run in a warm child process that is reused (default); "
                             "process: a fresh child process per job")
    parser.add_argument("--warm-up", action="store_true",
                        help="compile the sorters' kernels at start-up (a few tiny sorts, once "
                             "per library versions), so even the first job runs at full speed")
    return parser


def run(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("NWBSCOPE_WORKER_TOKEN", "")
    if not token:
        print("nwbscope worker: a worker token is needed (--token or $NWBSCOPE_WORKER_TOKEN)",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not every poll
    numba_cache = args.numba_cache or args.work_dir / "cache" / "numba"
    warm_dir = args.work_dir / "warm-up" if args.warm_up else None
    executor: Executor
    if args.executor == "process":
        executor = LocalExecutor(numba_cache=numba_cache, warm_dir=warm_dir)
    else:
        executor = HostExecutor(numba_cache, args.work_dir / "hosts.log", warm_dir=warm_dir)
    daemon = WorkerDaemon(args.broker, token, args.work_dir, slots=args.slots, name=args.name,
                          poll_seconds=args.poll, executor=executor)
    daemon.install_signal_handlers()
    daemon.run_forever()
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
