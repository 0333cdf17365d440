"""``python -m server_worker.worker --broker URL [--token T]``: run one worker daemon.

The token may come from ``$NWBSCOPE_WORKER_TOKEN`` instead of the command line (which other
users of the machine can read in the process list). On a Slurm login node, ``--executor slurm
--partition P [--account A] [--time-limit T] [--sbatch-arg=--qos=long ...]`` submits each job
to the cluster (``slurm.SlurmExecutor``); the work dir must be on a file system the compute
nodes share.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .daemon import WorkerDaemon
from .executors import EXECUTORS, ExecutorOptions, build_executor
from .lifetime import WorkDirBusy, follow_parent
from .limits import WorkerLimits

_DEFAULTS = WorkerLimits()


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
    parser.add_argument("--executor", choices=tuple(EXECUTORS), default="host",
                        help="host: jobs run in a warm child process that is reused (default); "
                             "process: a fresh child process per job; slurm: each job is a "
                             "Slurm batch job (sbatch) on the cluster")
    parser.add_argument("--warm-up", action="store_true",
                        help="compile the sorters' kernels at start-up (a few tiny sorts, once "
                             "per library versions), so even the first job runs at full speed")
    slurm = parser.add_argument_group("Slurm (--executor slurm)")
    slurm.add_argument("--partition", default=None, help="partition jobs are submitted to "
                       "(default: the cluster's default partition)")
    slurm.add_argument("--account", default=None, help="account jobs are charged to")
    slurm.add_argument("--time-limit", default=None,
                       help="time limit of each job, in sbatch --time syntax (e.g. 4:00:00; "
                            "default: the partition's)")
    slurm.add_argument("--sbatch-arg", action="append", default=[], metavar="ARG",
                       help="one more sbatch argument, given as --sbatch-arg=--qos=long "
                            "(repeat for more; never read by a shell)")
    slurm.add_argument("--slurm-poll", type=float, default=2.0,
                       help="seconds between two looks at a Slurm job's state")
    slurm.add_argument("--no-shared-fs", action="store_true",
                       help="the compute nodes share no file system with this machine: each "
                            "job fetches its input, streams its log and uploads its outputs "
                            "to the broker itself (the nodes must reach the broker)")
    slurm.add_argument("--node-dir", default=None,
                       help="with --no-shared-fs: the folder on the nodes jobs work in "
                            "(default: the node's $TMPDIR or /tmp)")
    limits = parser.add_argument_group("limits (docs/security.md)")
    limits.add_argument("--allow-private-urls", action="store_true",
                        help="fetch input URLs on loopback, link-local or private addresses "
                             "(off: a job cannot reach this worker's network; the broker's "
                             "own files are always allowed)")
    limits.add_argument("--max-input-bytes", type=int, default=_DEFAULTS.max_input_bytes,
                        help="largest input, refused before it is downloaded (default "
                             "%(default)s)")
    limits.add_argument("--input-cache-bytes", type=int, default=_DEFAULTS.input_cache_bytes,
                        help="size of the cache of downloaded inputs; least recently used "
                             "inputs are removed first (default %(default)s)")
    limits.add_argument("--keep-failed-seconds", type=float,
                        default=_DEFAULTS.keep_failed_seconds,
                        help="how long a failed or cancelled job's folder is kept for "
                             "inspection (default %(default)s); a completed job's folder is "
                             "removed once its outputs are stored")
    # set by ``nwbscope serve`` for its embedded worker
    parser.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--lock-wait", type=float, default=0.0, help=argparse.SUPPRESS)
    return parser


def limits_from_args(args: argparse.Namespace) -> WorkerLimits:
    return WorkerLimits(allow_private_urls=args.allow_private_urls,
                        max_input_bytes=args.max_input_bytes,
                        input_cache_bytes=args.input_cache_bytes,
                        keep_failed_seconds=args.keep_failed_seconds)


def executor_options(args: argparse.Namespace, numba_cache: Path) -> ExecutorOptions:
    slurm = None
    if args.executor == "slurm":
        from .slurm import SlurmConfig

        slurm = SlurmConfig(partition=args.partition, account=args.account,
                            time_limit=args.time_limit, extra_args=tuple(args.sbatch_arg),
                            poll_seconds=args.slurm_poll, no_shared_fs=args.no_shared_fs,
                            node_dir=args.node_dir)
    return ExecutorOptions(args.work_dir, numba_cache, args.warm_up, slurm)


def run(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("NWBSCOPE_WORKER_TOKEN", "")
    if not token:
        print("nwbscope worker: a worker token is needed (--token or $NWBSCOPE_WORKER_TOKEN)",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not every poll
    numba_cache = args.numba_cache or args.work_dir / "cache" / "numba"
    executor = build_executor(args.executor, executor_options(args, numba_cache))
    daemon = WorkerDaemon(args.broker, token, args.work_dir, slots=args.slots, name=args.name,
                          poll_seconds=args.poll, executor=executor,
                          limits=limits_from_args(args), lock_wait_seconds=args.lock_wait)
    daemon.install_signal_handlers()
    if args.parent_pid is not None:
        follow_parent(args.parent_pid, daemon.stop)
    try:
        daemon.run_forever()
    except WorkDirBusy as error:
        print(f"nwbscope worker: {error}", file=sys.stderr)
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
