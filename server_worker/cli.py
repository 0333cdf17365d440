"""``nwbscope``: the command line, thin on purpose (each command calls the layers below).

    nwbscope serve [--port 8000] [--data-dir ./data] [--token T] [--store URL] [--site DIR]
    nwbscope open FILE [--port 8000] [--no-browser]
    nwbscope build [--out DIR]
    nwbscope store FILE [--server URL] [--token T]      -> sha256://<hex>?label=<name>
    nwbscope load URI [-o FILE] [--server URL]
    nwbscope sort FILE|URL|sha256://... --sorter NAME [--param k=v ...] [--quick S] [--wait]
    nwbscope jobs [--status S] [--limit N]   |   nwbscope jobs log ID [-f] | cancel ID | show ID
    nwbscope worker --broker URL --token T   (``server_worker.worker.cli``)

``sort`` and ``jobs`` are ``jobs_cli.register(subparsers)`` (calls on ``jobs_client.JobsClient``);
other packages add commands: ``server_worker.worker.cli.register(subparsers)`` when it exists
(each parser sets ``func=callable(args) -> int``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__, optional_module
from .settings import DEFAULT_SITE_DIR, ISOLATION_CHOICES


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or default


def add_server_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``serve`` and ``open`` (which may start a server)."""
    p.add_argument("--port", type=int, default=int(_env("NWBSCOPE_PORT", "8000")))
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (127.0.0.1: this machine only)")
    p.add_argument("--data-dir", type=Path, default=Path(_env("NWBSCOPE_DATA_DIR", "data")),
                   help="database, store, tokens and demo file (default ./data)")
    p.add_argument("--token", default=_env("NWBSCOPE_TOKEN"),
                   help="user token for writes (default: $NWBSCOPE_TOKEN, else one saved in "
                        "<data-dir>/tokens.json)")
    p.add_argument("--site", type=Path, default=None,
                   help=f"the built viewer site (default {DEFAULT_SITE_DIR}, built when missing)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nwbscope",
        description="View NWB files in the browser, share files by hash, sort spikes remotely.",
    )
    parser.add_argument("--version", action="version", version=f"nwbscope {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the viewer, the store and the broker on one port")
    add_server_options(serve)
    serve.add_argument("--worker-token", default=_env("NWBSCOPE_WORKER_TOKEN"))
    serve.add_argument("--database", default=_env("NWBSCOPE_DATABASE"),
                       help="SQLAlchemy URL (default sqlite:///<data-dir>/nwbscope.sqlite)")
    serve.add_argument("--store", default=_env("NWBSCOPE_STORE"),
                       help="file:///dir or s3://bucket/prefix[?endpoint_url=...&redirect=false] "
                            "(default <data-dir>/store); S3 keys, region and endpoint also "
                            "from the usual AWS_* variables")
    serve.add_argument("--no-worker", action="store_true", help="do not start the embedded worker")
    serve.add_argument("--cors-origin", action="append", default=[],
                       help="an origin allowed to write from a browser (repeatable)")
    serve.add_argument("--isolation", choices=ISOLATION_CHOICES, default="off",
                       help="cross-origin isolation headers for the site (default off)")
    serve.add_argument("--allow-private-urls", action="store_true",
                       help="let job inputs be URLs on loopback, link-local or private "
                            "addresses (off: no SSRF into this network; this server's own "
                            "files are always allowed)")
    serve.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                       help="a host name this server answers to besides localhost, 127.0.0.1 "
                            "and --host (repeatable; '*' for any): others get 421, against "
                            "DNS rebinding")
    serve.add_argument("--log-level", default="warning")
    serve.set_defaults(func=_cmd("serve"))

    open_ = sub.add_parser("open", help="view a local NWB file (starts a server if needed)")
    open_.add_argument("file", type=Path)
    add_server_options(open_)
    open_.add_argument("--no-browser", action="store_true", help="print the URL only")
    open_.add_argument("--no-worker", action="store_true",
                       help="a server started here runs no embedded worker")
    open_.add_argument("--wait", type=float, default=900.0,
                       help="seconds to wait for a new server (a first start builds the site)")
    open_.set_defaults(func=_cmd("open"))

    build = sub.add_parser("build", help="build the static viewer site")
    build.add_argument("--out", type=Path, default=DEFAULT_SITE_DIR)
    build.add_argument("--cache", type=Path, default=None, help="download cache of the build")
    build.set_defaults(func=_cmd("build"))

    store = sub.add_parser("store", help="upload a file to the store, print its sha256:// URI")
    store.add_argument("file", type=Path)
    store.add_argument("--server", default=_env("NWBSCOPE_URL", "http://127.0.0.1:8000"))
    store.add_argument("--token", default=_env("NWBSCOPE_TOKEN"))
    store.add_argument("--label", default=None)
    store.set_defaults(func=_cmd("store"))

    load = sub.add_parser("load", help="download a sha256:// URI (hash checked)")
    load.add_argument("uri")
    load.add_argument("-o", "--output", type=Path, default=None)
    load.add_argument("--server", default=_env("NWBSCOPE_URL", "http://127.0.0.1:8000"))
    load.set_defaults(func=_cmd("load"))

    from . import jobs_cli  # httpx only: as light as the commands above

    jobs_cli.register(sub)
    extra = optional_module("server_worker.worker.cli")
    if extra is not None:
        extra.register(sub)
    return parser


def _cmd(name: str):
    """Import a command's module only when it runs (``nwbscope load`` need not load FastAPI)."""

    def run(args: argparse.Namespace) -> int:
        from . import commands

        return getattr(commands, f"cmd_{name}")(args)

    return run


def main(argv: list[str] | None = None) -> int:
    from .commands import CommandError  # here, not in cli: `python -m server_worker.cli` works

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except CommandError as exc:
        print(f"nwbscope {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
