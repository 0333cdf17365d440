"""``nwbscope open FILE``: view a local file, reusing a running server or starting one.

1. ``GET /api/health`` on the port says whether an nwbscope server is there.
2. If not, ``python -m server_worker serve`` is started detached (its own session, output to
   ``<data-dir>/server-<port>.log``), so it outlives this command and serves later opens too.
3. ``POST /api/files`` registers the file (user token) and answers its URL; the viewer URL is
   printed and opened in the browser unless ``--no-browser``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import webbrowser
from pathlib import Path

import httpx

from .commands import CommandError, settings_from_args, token_for, with_broker


def probe(base: str) -> str:
    """'nwbscope', 'other' (something else answers) or 'none' (nothing listens)."""
    try:
        answer = httpx.get(f"{base}/api/health", timeout=2.0)
    except httpx.TransportError:
        return "none"
    try:
        return "nwbscope" if answer.json().get("app") == "nwbscope" else "other"
    except ValueError:
        return "other"


def start_detached(args: argparse.Namespace, token: str, log: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "server_worker", "serve",
        "--port", str(args.port), "--host", args.host, "--data-dir", str(args.data_dir),
    ]
    if args.site is not None:
        command += ["--site", str(args.site)]
    if args.no_worker:
        command.append("--no-worker")
    log.parent.mkdir(parents=True, exist_ok=True)
    # the server's banner prints both tokens: its log is for this user only (mode 600, also
    # when an older log was created readable by others)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.chmod(log, 0o600)
    with os.fdopen(fd, "ab") as out:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # not killed with this terminal's process group
            env={**os.environ, "NWBSCOPE_TOKEN": token},
        )


def wait_until_up(base: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe(base) == "nwbscope":
            return
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
            raise CommandError(f"the server exited ({process.returncode}); its log {log}:\n{tail}")
        time.sleep(0.2)
    raise CommandError(f"no server answered on {base} within {timeout:.0f} s; see {log}")


def open_file(args: argparse.Namespace) -> int:
    path = args.file.expanduser().absolute()  # a symlink keeps its name
    if not path.is_file():
        raise CommandError(f"{args.file} is not a file")
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    base = f"http://{host}:{args.port}"
    state = probe(base)
    if state == "other":
        raise CommandError(f"something that is not nwbscope answers on {base}; use --port")
    if state == "nwbscope":
        token = args.token or token_for(base) or settings_from_args(args).user_token
    else:
        settings = settings_from_args(args)
        token = settings.user_token
        log = settings.data_dir / f"server-{args.port}.log"
        print(f"starting an nwbscope server on {base} (log: {log}) ...", flush=True)
        wait_until_up(base, start_detached(args, token, log), log, args.wait)
    answer = httpx.post(
        f"{base}/api/files", json={"path": str(path)},
        headers={"Authorization": f"Bearer {token}"}, timeout=30.0,
    )
    if answer.status_code == 401:
        raise CommandError(
            f"the server on {base} refused the token; pass --token (printed by nwbscope serve)"
        )
    if answer.status_code != 201:
        raise CommandError(f"the server could not serve {path}: {answer.text}")
    viewer = with_broker(base + answer.json()["viewer"], base, token)
    print(viewer, flush=True)  # the token is in the fragment: never sent to a server
    if not args.no_browser:
        webbrowser.open(viewer)
    return 0
