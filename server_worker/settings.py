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
    #: Known only to the server: it signs the credential each worker gets when it registers
    #: (``auth.issue_worker_credential``), so no worker can act for another.
    server_secret: str = ""
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
    # ---- limits (docs/security.md): every resource a request can use has one ----------------
    #: Bytes of a JSON request body (job submissions, registrations, worker reports).
    max_json_bytes: int = 1 << 20
    #: Bytes of one job parameter, as JSON (a sorter's parameters are numbers and short words).
    max_parameter_bytes: int = 16 << 10
    #: Bytes of one store upload (streamed to disk, never held in memory); 0: no limit.
    max_upload_bytes: int = 0
    #: Bytes of one request's headers; a larger request is refused before it is parsed further.
    max_header_bytes: int = 64 << 10
    #: ``Host`` header values accepted (DNS rebinding); empty: when bound to loopback, this
    #: machine's loopback names and ``host``; when bound to a network interface, any.
    allowed_hosts: tuple[str, ...] = ()
    #: A token that may read jobs, logs, workers and the file list but write nothing (for a
    #: dashboard); the user token reads too. Empty: no separate read token.
    read_token: str = ""
    #: Let job inputs be URLs on loopback, link-local or private addresses (blind SSRF
    #: otherwise); this server's own files are always allowed. Local test setups turn it on.
    allow_private_urls: bool = False
    #: Largest job input in bytes; a larger one is refused from its size, before downloading.
    max_input_bytes: int = 100 << 30
    #: Seconds a failed or cancelled job's folder is kept on the worker for inspection.
    keep_failed_seconds: float = 7 * 86400.0
    #: Bytes of a worker's cache of downloaded inputs (least recently used go first).
    input_cache_bytes: int = 50 << 30
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
        self.allowed_hosts = tuple(self.allowed_hosts)

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
        for key in ("user_token", "worker_token", "server_secret"):
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
