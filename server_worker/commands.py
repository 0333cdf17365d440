"""What each ``nwbscope`` command does (``cli`` only parses arguments).

A running server leaves a small runtime file (``server-<port>.json``, mode 600, in
``$NWBSCOPE_RUNTIME_DIR`` or ``~/.cache/nwbscope``) with its token, so ``nwbscope open`` and
``nwbscope store`` on the same machine find the token without being told.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from .settings import DEFAULT_SITE_DIR, REPO_ROOT, Settings

BUILD_SCRIPT = REPO_ROOT / "build" / "build_site.py"


class CommandError(Exception):
    """A command failed in a way the user can fix; printed without a traceback."""


# ---- runtime files: which token a local server on a port uses --------------------------------

def runtime_dir() -> Path:
    return Path(os.environ.get("NWBSCOPE_RUNTIME_DIR") or Path.home() / ".cache" / "nwbscope")


def runtime_file(port: int) -> Path:
    return runtime_dir() / f"server-{port}.json"


def write_runtime(settings: Settings) -> Path:
    path = runtime_file(settings.port)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"pid": os.getpid(), "token": settings.user_token,
                   "data_dir": str(settings.data_dir)}, f)
    return path


def token_for(server_url: str) -> str | None:
    """The token of a local nwbscope server at ``server_url``, from its runtime file."""
    parts = urlsplit(server_url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    try:
        return json.loads(runtime_file(parts.port or 80).read_text()).get("token")
    except (OSError, ValueError):
        return None


def with_broker(viewer_url: str, base: str, token: str) -> str:
    """``viewer_url`` with the broker and its token in the fragment: the page saves them in
    browser storage and drops the fragment at once, and a fragment is never sent to a server,
    so the token reaches no server log, no Referer and (once dropped) no history entry."""
    fragment = urlencode({"broker": base, "token": token})
    return f"{viewer_url.split('#')[0]}#{fragment}"


# ---- build ------------------------------------------------------------------------------------

def build_site(out: Path, cache: Path | None = None) -> None:
    """Run ``build/build_site.py --out OUT`` from this checkout (it needs npm and PyPI)."""
    if not BUILD_SCRIPT.is_file():
        raise CommandError(
            f"cannot build the site: {BUILD_SCRIPT} is missing (nwbscope was not installed from "
            "a checkout). Pass --site DIR with a built site."
        )
    print(f"building the viewer site into {out} (first start only) ...", flush=True)
    command = [sys.executable, str(BUILD_SCRIPT), "--out", str(out)]
    if cache is not None:
        command += ["--cache", str(cache)]
    done = subprocess.run(command, cwd=REPO_ROOT)
    if done.returncode != 0 or not (out / "index.html").is_file():
        raise CommandError(f"the site build failed (exit {done.returncode}); see its output above")


def cmd_build(args: argparse.Namespace) -> int:
    build_site(args.out.resolve(), args.cache)
    print(f"site built in {args.out.resolve()}")
    return 0


# ---- serve ------------------------------------------------------------------------------------

def settings_from_args(args: argparse.Namespace) -> Settings:
    settings = Settings(
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        site_dir=args.site or DEFAULT_SITE_DIR,
        user_token=args.token or "",
        worker_token=getattr(args, "worker_token", None) or "",
        database_url=getattr(args, "database", None) or "",
        store_url=getattr(args, "store", None) or "",
        cors_origins=tuple(getattr(args, "cors_origin", ())),
        isolation=getattr(args, "isolation", "off"),
        embedded_worker=not getattr(args, "no_worker", False),
        allowed_hosts=tuple(getattr(args, "allowed_host", ())),
        allow_private_urls=getattr(args, "allow_private_urls", False),
    )
    return settings.with_tokens()


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def cmd_serve(args: argparse.Namespace) -> int:
    from .app import create_app
    from .demo import ensure_demo
    from .serving import serve

    settings = settings_from_args(args)
    if not port_is_free(settings.host, settings.port):
        raise CommandError(
            f"port {settings.port} on {settings.host} is in use (another nwbscope? try "
            f"{settings.base_url}/api/health), choose another with --port"
        )
    if not (settings.site_dir / "index.html").is_file():
        if args.site is not None:
            raise CommandError(f"{settings.site_dir} holds no index.html: not a built site")
        build_site(settings.site_dir)
    if settings.demo_file is not None:
        ensure_demo(settings.demo_file)
    app = create_app(settings)
    base = settings.base_url
    print(f"nwbscope serving on {base}  (data: {settings.data_dir}, store: {app.state.store.url})")
    demo = f"{base}/?url={quote(base + '/files/demo.nwb', safe=':/')}"
    print(f"  open:  {with_broker(demo, base, settings.user_token)}")
    print(f"  token: {settings.user_token}  (uploads and jobs; export NWBSCOPE_TOKEN=...)")
    print(f"  more workers: nwbscope worker --broker {base} --token {settings.worker_token}",
          flush=True)
    runtime = write_runtime(settings)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it with the previous handler:
    # make that handler an exit, so the ``finally`` below still runs.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        serve(app, settings, log_level=args.log_level)
    finally:
        runtime.unlink(missing_ok=True)
    return 0


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


# ---- store / load -----------------------------------------------------------------------------

def cmd_store(args: argparse.Namespace) -> int:
    from nwbscope.errors import NwbscopeError
    from nwbscope.store import store_file

    if not args.file.is_file():
        raise CommandError(f"{args.file} is not a file")
    token = args.token or token_for(args.server)
    try:
        print(store_file(args.file, server=args.server, token=token, label=args.label))
    except (NwbscopeError, OSError) as exc:
        raise CommandError(str(exc)) from exc
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from nwbscope.errors import NwbscopeError
    from nwbscope.store import load_file

    try:
        print(load_file(args.uri, args.output, server=args.server))
    except (NwbscopeError, OSError) as exc:
        raise CommandError(str(exc)) from exc
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    from .open_file import open_file

    return open_file(args)
