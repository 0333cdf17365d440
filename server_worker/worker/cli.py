"""``nwbscope worker``: the subcommand the main CLI picks up (``register(subparsers)``)."""

from __future__ import annotations

import argparse
from typing import Any

from .__main__ import build_parser, run


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "worker", help="run a worker daemon that takes sorting jobs from a broker",
        description="Claim spike-sorting jobs from an nwbscope server and run them here.",
    )
    build_parser(parser)
    parser.set_defaults(func=run)
    return parser
