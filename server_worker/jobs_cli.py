"""``nwbscope sort`` and ``nwbscope jobs``: the job API from a terminal.

    nwbscope sort FILE|URL|sha256://... --sorter NAME [--param k=v ...] [--quick S] [--wait]
    nwbscope jobs [--status S] [--limit N]
    nwbscope jobs log ID [-f] | cancel ID | show ID

Thin on purpose: a local file goes to the store through ``nwbscope.store.store_file`` (which
skips the upload when the server has the bytes), everything else is a ``JobsClient`` call.
Exit codes: 0 done, 1 the job failed or a call failed, 2 the request was wrong (a 422 names the
field, e.g. ``parameters.detection.detect_threshold: ...``). What it prints from the server
passes ``redact_url`` (credentials in URLs as ``***``), even from an older broker that sends
them: a terminal is read over shoulders and pasted into issues.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .redact import redact_url

if TYPE_CHECKING:  # imported when a command runs: httpx need not load for `nwbscope load`
    from .jobs_client import JobsClient

DEFAULT_SERVER = "http://127.0.0.1:8000"
Command = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A wrong command line (exit 2, like argparse's own errors)."""


# ---- parsing KEY=VALUE ------------------------------------------------------------------------

def parse_value(text: str) -> Any:
    """JSON when it parses (5, 4.5, true, null, [0, 5], {"a": 1}), else the text as a string,
    so ``method=matched_filtering`` needs no quotes. NaN and Infinity stay strings: they are
    not JSON and no schema takes them."""

    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    try:
        return json.loads(text, parse_constant=refuse)
    except ValueError:
        return text


def parse_assignments(items: list[str], option: str = "--param") -> dict[str, Any]:
    """``["detection.detect_threshold=5", "apply_preprocessing=false"]`` -> nested dicts."""
    result: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise UsageError(f"{option} {item!r}: write KEY=VALUE, e.g. detect_threshold=5 or "
                             "detection.method=locally_exclusive")
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise UsageError(f"{option} {item!r}: {part} is already set to a plain value")
        value, old = parse_value(text), target.get(parts[-1])
        target[parts[-1]] = {**old, **value} if isinstance(old, dict) and isinstance(
            value, dict) else value
    return result


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text}: give a number of seconds above 0")
    return value


# ---- the parsers ------------------------------------------------------------------------------

def add_connection_options(p: argparse.ArgumentParser, *, nested: bool = False) -> None:
    """``--server`` / ``--token``. On nested parsers they default to SUPPRESS: a subparser's
    default would otherwise overwrite a value given before the subcommand."""
    default = argparse.SUPPRESS if nested else None
    p.add_argument("--server", default=default,
                   help=f"server URL (default $NWBSCOPE_URL, else {DEFAULT_SERVER})")
    p.add_argument("--token", default=default,
                   help="user token (default $NWBSCOPE_TOKEN, else a local server's own)")


def register(subparsers: Any) -> None:
    sort = subparsers.add_parser(
        "sort", help="submit a spike-sorting job (uploading a local file first)",
        description="Sort an NWB recording on the server's workers. --param/--recording take "
                    "KEY=VALUE; VALUE is JSON when it parses, dotted keys nest "
                    "(detection.detect_threshold=5).")
    sort.add_argument("input", metavar="FILE|URL|sha256://...")
    sort.add_argument("--sorter", required=True, help="a processor name (GET /api/processors)")
    sort.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    sort.add_argument("--recording", action="append", default=[], metavar="KEY=VALUE",
                      help="recording options (preprocessing=false, freq_min=250, ...)")
    sort.add_argument("--series", help="path of the ElectricalSeries when the file has several")
    sort.add_argument("--quick", type=_seconds, metavar="SECONDS",
                      help="sort only the first SECONDS (a quick look)")
    sort.add_argument("--force", action="store_true",
                      help="run again even when an identical job has completed")
    sort.add_argument("--wait", action="store_true", help="follow the log until the job ends")
    sort.add_argument("--cpus", type=int, help="CPUs for the job (default: the sorter's)")
    sort.add_argument("--memory-gb", type=float, help="memory in GB (default: the sorter's)")
    sort.add_argument("--gpus", type=int, help="GPUs (0: none; default: the sorter's)")
    sort.add_argument("--time-limit", type=_minutes, metavar="MINUTES|H:MM",
                      help="wall-clock limit (a Slurm job's --time)")
    add_connection_options(sort)
    sort.set_defaults(func=_guarded("sort", cmd_sort))

    jobs = subparsers.add_parser("jobs", help="list jobs; show, follow or cancel one")
    jobs.add_argument("--status", help="only jobs in this state (pending, running, completed, "
                                       "failed, cancelled)")
    jobs.add_argument("--limit", type=int, default=30)
    add_connection_options(jobs)
    jobs.set_defaults(func=_guarded("jobs", cmd_jobs_list))
    sub = jobs.add_subparsers(dest="jobs_command", metavar="[log|cancel|show]")
    for name, command, text in (("log", cmd_jobs_log, "print a job's console output"),
                                ("cancel", cmd_jobs_cancel, "cancel a pending or running job"),
                                ("show", cmd_jobs_show, "print a job as JSON")):
        p = sub.add_parser(name, help=text)
        p.add_argument("job_id", metavar="ID", help="a job id or a unique prefix of one")
        if name == "log":
            p.add_argument("-f", "--follow", action="store_true",
                           help="keep printing until the job ends")
        add_connection_options(p, nested=True)
        p.set_defaults(func=_guarded(f"jobs {name}", command))


def _guarded(name: str, command: Command) -> Command:
    """Errors a user can act on become one line on stderr and an exit code, not a traceback."""

    def run(args: argparse.Namespace) -> int:
        from .jobs_client import JobsClientError, Rejected

        try:
            return command(args)
        except (UsageError, Rejected) as exc:
            print(redact_url(f"nwbscope {name}: {exc}"), file=sys.stderr)
            return 2
        except JobsClientError as exc:
            print(redact_url(f"nwbscope {name}: {exc}"), file=sys.stderr)
            return 1

    return run


def client_for(args: argparse.Namespace) -> JobsClient:
    """The server from --server, $NWBSCOPE_URL or the default; the token from --token,
    $NWBSCOPE_TOKEN or the runtime file of a local server (as ``nwbscope store`` does)."""
    from .commands import token_for
    from .jobs_client import JobsClient

    server = (getattr(args, "server", None) or os.environ.get("NWBSCOPE_URL")
              or DEFAULT_SERVER).rstrip("/")
    token = getattr(args, "token", None) or os.environ.get("NWBSCOPE_TOKEN") or token_for(server)
    return JobsClient(server, token)


# ---- sort -------------------------------------------------------------------------------------

def _minutes(text: str) -> int:
    """``90`` or ``1:30`` as minutes (the broker checks the range and names the field)."""
    try:
        if ":" in text:
            hours, minutes = text.split(":", 1)
            return int(hours) * 60 + int(minutes)
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not minutes or H:MM: {text!r}") from None


def resources_of(args: argparse.Namespace) -> dict[str, Any]:
    """The job's ``resources`` from ``--cpus --memory-gb --gpus --time-limit`` (only those
    given: the rest keep the sorter's figures)."""
    given = {"cpus": args.cpus, "memory_gb": args.memory_gb, "gpus": args.gpus,
             "time_limit_minutes": args.time_limit}
    return {key: value for key, value in given.items() if value is not None}


def cmd_sort(args: argparse.Namespace) -> int:
    from .jobs_client import FINAL_STATES, Rejected

    parameters = parse_assignments(args.param, "--param")
    recording = parse_assignments(args.recording, "--recording")
    if args.quick is not None:  # 5, not 5.0: the same job as time_range=[0,5] for reuse
        stop = int(args.quick) if float(args.quick).is_integer() else args.quick
        recording["time_range"] = [0, stop]
    if args.series:
        recording["electrical_series_path"] = args.series
    with client_for(args) as client:
        offered = {p.get("name") for p in client.processors(include_offline=True)}
        if args.sorter not in offered:  # before an upload that may take minutes
            raise Rejected("processor", f"unknown processor {args.sorter!r}; workers offer: "
                           f"{', '.join(sorted(filter(None, offered))) or 'none yet'}")
        uri = input_uri(args.input, client)
        job = client.submit(args.sorter, uri, parameters=parameters, recording=recording,
                            force=args.force, resources=resources_of(args))
        short = job["id"][:8]
        if job.get("reused"):
            print(f"job {job['id']} reused: an identical job completed before "
                  "(--force runs it again)")
        else:
            print(f"job {job['id']} submitted ({job['status']})", flush=True)
        if job["status"] not in FINAL_STATES:
            if not args.wait:
                print(f"follow it: nwbscope jobs log {short} -f")
                return 0
            try:
                for text in client.follow(job["id"]):
                    print(redact_url(text), end="", flush=True)
            except KeyboardInterrupt:
                print(f"\nthe job goes on; stop it with: nwbscope jobs cancel {short}",
                      file=sys.stderr)
                return 130
            job = client.get(job["id"])
        return report_end(job, client.server)


def input_uri(text: str, client: JobsClient) -> str:
    """A store URI or URL as given; a local file stored first (no upload if already there)."""
    from nwbscope.errors import NwbscopeError
    from nwbscope.store import store_file

    from .jobs_client import JobsClientError

    if text.startswith(("sha256://", "http://", "https://")):
        return text
    path = Path(text)
    if not path.is_file():
        raise UsageError(f"{text} is neither a file, an http(s) URL nor a sha256:// URI")
    if not client.token:
        raise JobsClientError(f"uploading {path} needs the server's token: pass --token or set "
                              "NWBSCOPE_TOKEN (`nwbscope serve` prints it)")
    try:
        uri = store_file(path, server=client.server, token=client.token)
    except (NwbscopeError, OSError) as exc:
        raise JobsClientError(f"could not store {path} on {client.server}: {exc}") from exc
    print(f"stored {path} as {uri}", file=sys.stderr)
    return uri


def report_end(job: dict[str, Any], server: str) -> int:
    """Print a finished job's outputs and the viewer URL of its units (0), or its error (1)."""
    if job["status"] != "completed":
        print(redact_url(f"job {job['id']} {job['status']}: "
                         f"{job.get('error') or 'no error recorded'}"), file=sys.stderr)
        return 1
    outputs: dict[str, str] = job.get("outputs") or {}
    print(f"job {job['id']} completed; outputs:")
    for name, uri in outputs.items():
        print(f"  {name}: {uri}")
    units = outputs.get("nwb") or next((u for u in outputs.values() if ".nwb" in u), None)
    if units:
        print(redact_url(f"open: {viewer_url(units, server)}"))
    return 0


def viewer_url(uri: str, server: str) -> str:
    """The page on a stored NWB: ``<server>/?url=<server>/api/store/<hex>?label=...``, the
    inner URL encoded so its own ``?label=`` stays part of ``url=``."""
    from nwbscope.store import object_url

    return f"{server}/?url={quote(object_url(uri, server), safe=':/')}"


# ---- jobs -------------------------------------------------------------------------------------

def cmd_jobs_list(args: argparse.Namespace) -> int:
    from .jobs_client import JobsClientError

    with client_for(args) as client:
        jobs = client.list(status=args.status, limit=args.limit)
        names: dict[str, str] = {}
        if any(j.get("worker") and not j.get("worker_name") for j in jobs):  # older brokers
            try:
                names = {w["id"]: w.get("name") or "" for w in client.workers()}
            except (JobsClientError, KeyError):
                pass
    if not jobs:
        print(f"no {args.status + ' ' if args.status else ''}jobs")
        return 0
    rows = [("ID", "PROCESSOR", "STATUS", "INPUT", "WORKER", "CREATED", "DURATION")]
    for job in jobs:
        worker = job.get("worker") or ""
        inputs, timings = job.get("inputs") or {}, job.get("timings") or {}
        rows.append((job["id"][:8], job.get("processor", ""), job.get("status", ""),
                     (inputs.get("label") or short_input(inputs.get("input") or ""))[:40],
                     job.get("worker_name") or names.get(worker) or worker[:8],
                     local_time(timings.get("created_at")), duration(job)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def short_input(uri: str, width: int = 40) -> str:
    """A store URI's label (its hash start without one); a long URL cut in the middle."""
    uri = redact_url(uri)
    if uri.startswith("sha256://"):
        from nwbscope.store import parse_uri

        try:
            hexdigest, label = parse_uri(uri)
        except ValueError:
            return uri[:width]
        return label or f"sha256:{hexdigest[:12]}"
    return uri if len(uri) <= width else f"{uri[:width // 2 - 2]}...{uri[-(width // 2 - 1):]}"


def _moment(iso: str) -> datetime:
    moment = datetime.fromisoformat(iso)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # the broker's are UTC


def local_time(iso: str | None) -> str:
    return _moment(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S") if iso else ""


def duration(job: dict[str, Any]) -> str:
    """Run time when finished, time so far when running, nothing while pending."""
    timings = job.get("timings") or {}
    seconds = timings.get("run_s")
    if seconds is None and job.get("status") == "running" and timings.get("started_at"):
        seconds = (datetime.now(UTC) - _moment(timings["started_at"])).total_seconds()
    if seconds is None:
        return ""
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def cmd_jobs_log(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        job_id = client.resolve(args.job_id)
        if not args.follow:
            print(redact_url(client.log(job_id)["text"]), end="")
            return 0
        try:
            for text in client.follow(job_id):
                print(redact_url(text), end="", flush=True)
        except KeyboardInterrupt:
            return 130
        job = client.get(job_id)
    if job["status"] == "completed":
        print(f"job {job_id} completed", file=sys.stderr)
        return 0
    return report_end(job, "")


def cmd_jobs_cancel(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        job = client.cancel(client.resolve(args.job_id))
    if job["status"] == "cancelled":
        print(f"job {job['id']} cancelled")
    else:
        print(f"job {job['id']} is {job['status']}: asked to stop (its worker stops it at "
              "the next heartbeat)")
    return 0


def cmd_jobs_show(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        print(redact_url(json.dumps(client.get(client.resolve(args.job_id)), indent=2)))
    return 0
