"""Everything the service is configured by, in one dataclass built once and passed down.

The app factory, the store, the broker and the worker all take a ``Settings``; nothing reads the
environment behind their back, so tests build a server from a ``Settings`` in two lines.
Defaults put every piece of state (database, store, tokens, demo file) under ``data_dir``.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

#: Values of ``Settings.isolation``: off, or the ``Cross-Origin-Embedder-Policy`` to send.
ISOLATION_CHOICES = ("off", "credentialless", "require-corp")

#: Where ``build/build_site.py`` writes the site unless told otherwise.
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SITE_DIR = REPO_ROOT / "dist" / "site"


@dataclass
class Settings:
    """Configuration of one nwbscope server.

    ``user_token`` guards writes by people and scripts (store uploads, job submission, file
    registration); ``worker_token`` guards the calls only workers make. They differ so a leaked
    worker credential cannot submit jobs and a user token cannot impersonate a worker.
    """

    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8000
    site_dir: Path = DEFAULT_SITE_DIR
    user_token: str = ""
    worker_token: str = ""
    #: SQLAlchemy URL; default ``sqlite:///<data_dir>/nwbscope.sqlite``.
    database_url: str = ""
    #: ``file:///abs/dir`` (or a plain path) or ``s3://bucket/prefix?endpoint_url=...``;
    #: default: local disk under ``<data_dir>/store``.
    store_url: str = ""
    #: Origins allowed to read (GET/HEAD) files, store objects and the site; ``*`` for any:
    #: the viewer may be hosted on another origin than the files it opens.
    cors_read_origins: tuple[str, ...] = ("*",)
    #: Origins allowed to write (PUT/POST/DELETE) from a browser; empty = same origin only.
    cors_origins: tuple[str, ...] = ()
    #: Cross-origin isolation of the site (COOP ``same-origin`` + this COEP), or ``off``.
    isolation: str = "off"
    #: The demo NWB file served at ``/files/demo.nwb``; default ``<data_dir>/demo.nwb``.
    demo_file: Path | None = None
    #: Start one worker inside the server process (the broker decides how).
    embedded_worker: bool = True
    #: Bytes buffered before each hand-off of an upload to the store's writer thread.
    upload_chunk: int = 1 << 20
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser().resolve()
        self.site_dir = Path(self.site_dir).expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'nwbscope.sqlite'}"
        if not self.store_url:
            self.store_url = (self.data_dir / "store").as_uri()
        if self.demo_file is None:
            self.demo_file = self.data_dir / "demo.nwb"
        if self.isolation not in ISOLATION_CHOICES:
            raise ValueError(
                f"isolation must be one of {ISOLATION_CHOICES}, not {self.isolation!r}"
            )
        self.cors_read_origins = tuple(self.cors_read_origins)
        self.cors_origins = tuple(self.cors_origins)

    @property
    def tmp_dir(self) -> Path:
        """Scratch space for uploads in flight (same file system as a local store)."""
        return self.data_dir / "tmp"

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    def with_tokens(self) -> Settings:
        """Fill missing tokens from ``<data_dir>/tokens.json``, creating it on first use.

        The file (mode 600) keeps tokens stable across restarts, so scripts and
        ``nwbscope open`` keep working after ``nwbscope serve`` is restarted.
        """
        saved = load_tokens(self.data_dir)
        changed = False
        for key in ("user_token", "worker_token"):
            if not saved.get(key):
                saved[key] = secrets.token_urlsafe(24)
                changed = True
            if not getattr(self, key):
                setattr(self, key, saved[key])
        if changed:
            save_tokens(self.data_dir, saved)
        return self


def load_tokens(data_dir: Path) -> dict[str, str]:
    path = Path(data_dir) / "tokens.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def save_tokens(data_dir: Path, tokens: dict[str, str]) -> None:
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "tokens.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(tokens, f)
