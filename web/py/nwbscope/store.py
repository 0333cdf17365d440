"""Client of an nwbscope content-addressed store: share files, JSON and arrays by hash.

    uri = store_file("rec.nwb")            # 'sha256://<hex>?label=rec.nwb'
    path = load_file(uri)                  # verified copy in a local cache
    load_npy(store_npy(np.arange(3)))      # array([0, 1, 2])

The server is ``server=`` or ``$NWBSCOPE_URL`` (default ``http://127.0.0.1:8000``); uploads need
``token=`` or ``$NWBSCOPE_TOKEN``, reads need none. Only the standard library is used (no
server-side package), and every download is checked against its hash. ``parse_uri`` /
``format_uri`` are the one place that knows the ``sha256://`` form.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from .errors import FetchError, HashMismatchError, ParameterError

DEFAULT_SERVER = "http://127.0.0.1:8000"
_HEX = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20

__all__ = [
    "format_uri", "parse_uri", "store_file", "store_bytes", "store_json", "store_npy",
    "load_file", "load_bytes", "load_json", "load_npy", "object_url",
]


def format_uri(sha256: str, label: str | None = None) -> str:
    """``sha256://<hex>?label=<label>`` (the label is only a hint for people and file names)."""
    if _HEX.fullmatch(sha256) is None:
        raise ParameterError("sha256", f"{sha256!r} is not a SHA-256 hex digest")
    return f"sha256://{sha256}" + (f"?label={quote(label, safe='')}" if label else "")


def parse_uri(uri: str) -> tuple[str, str | None]:
    """``(hex, label or None)`` from a ``sha256://`` URI; ParameterError for anything else."""
    parts = urlsplit(uri)
    if parts.scheme != "sha256" or _HEX.fullmatch(parts.netloc.lower()) is None or parts.path:
        raise ParameterError("uri", f"{uri!r} is not a store URI like sha256://<64 hex>?label=x")
    label = parse_qs(parts.query).get("label", [None])[-1]
    return parts.netloc.lower(), label


def object_url(uri: str, server: str | None = None) -> str:
    """The HTTP URL serving a stored object (usable by the viewer's ``?url=``)."""
    hexdigest, label = parse_uri(uri)
    tail = f"?label={quote(label, safe='')}" if label else ""
    return f"{_server(server)}/api/store/{hexdigest}{tail}"


# ---- writing --------------------------------------------------------------------------------

def store_file(
    path: str | os.PathLike[str],
    *,
    server: str | None = None,
    token: str | None = None,
    label: str | None = None,
) -> str:
    """Upload a file (streamed, never read whole) and return its URI.

    The file is hashed first: when the server already has those bytes nothing is sent, and
    otherwise the server checks the upload against the hash (a mismatch stores nothing).
    """
    path = Path(path)
    hexdigest = _hash_file(path)
    label = label or path.name
    server = _server(server)
    if _remote_size(server, hexdigest) != path.stat().st_size:
        with open(path, "rb") as f:
            _upload(server, _token(token), f, path.stat().st_size, hexdigest, label)
    return format_uri(hexdigest, label)


def store_bytes(
    data: bytes, *, label: str | None = None, server: str | None = None, token: str | None = None
) -> str:
    hexdigest = hashlib.sha256(data).hexdigest()
    server = _server(server)
    if _remote_size(server, hexdigest) != len(data):
        _upload(server, _token(token), io.BytesIO(data), len(data), hexdigest, label)
    return format_uri(hexdigest, label)


def store_json(obj: Any, *, label: str = "data.json", **kw: Any) -> str:
    """Store ``obj`` as canonical JSON (sorted keys), so equal objects get equal URIs."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return store_bytes(text.encode(), label=label, **kw)


def store_npy(array: Any, *, label: str = "array.npy", **kw: Any) -> str:
    """Store a numpy array in ``.npy`` format (no pickles: object arrays are refused)."""
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return store_bytes(buf.getvalue(), label=label, **kw)


# ---- reading --------------------------------------------------------------------------------

def load_file(
    uri: str, dest: str | os.PathLike[str] | None = None, *, server: str | None = None
) -> Path:
    """Download a stored object to ``dest`` (default: a cache keyed by hash) and return the path.

    The bytes are hashed on the way in; a copy that does not match is deleted and
    HashMismatchError raised. A URI is meant to be shared, so its label only names the file
    in the cache (a label with a path in it is refused), and a cached copy is reused only when
    the cache itself recorded it as verified (its hash and size, in a sidecar it wrote) or it
    hashes to the URI's hash now.
    """
    hexdigest, label = parse_uri(uri)
    if dest is None:
        folder = _cache_dir() / hexdigest
        dest = folder / _file_name(label, hexdigest)
        if _verified_copy(dest, hexdigest):
            return dest
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", dir=dest.parent)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, _get(object_url(uri, server)) as answer:
            while chunk := answer.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != hexdigest:
            raise HashMismatchError(hexdigest, digest.hexdigest())
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
    if dest.parent.parent == _cache_dir():
        _record_verified(dest, hexdigest)
    return dest


def _file_name(label: str | None, hexdigest: str) -> str:
    """The label as a plain file name; ParameterError when it names a path."""
    if not label:
        return hexdigest
    if label in (".", "..") or any(c in label for c in "/\\\0") or Path(label).name != label:
        raise ParameterError("label", f"{label!r} is not a file name (a URI's label names a "
                             "file, never a path)")
    return label


def _sidecar(path: Path) -> Path:
    return path.parent / f".{path.name}.verified"


def _verified_copy(path: Path, hexdigest: str) -> bool:
    """True for a cached copy this cache checked (sidecar: hash and size) or that hashes
    right now (then the sidecar is written)."""
    if not path.is_file() or path.is_symlink():
        return False
    try:
        seen = json.loads(_sidecar(path).read_text())
        if seen == {"sha256": hexdigest, "size": path.stat().st_size}:
            return True
    except (OSError, ValueError):
        pass
    if _hash_file(path) != hexdigest:
        return False
    _record_verified(path, hexdigest)
    return True


def _record_verified(path: Path, hexdigest: str) -> None:
    _sidecar(path).write_text(json.dumps({"sha256": hexdigest, "size": path.stat().st_size}))


def load_bytes(uri: str, *, server: str | None = None) -> bytes:
    hexdigest, _ = parse_uri(uri)
    with _get(object_url(uri, server)) as answer:
        data = answer.read()
    actual = hashlib.sha256(data).hexdigest()
    if actual != hexdigest:
        raise HashMismatchError(hexdigest, actual)
    return data


def load_json(uri: str, *, server: str | None = None) -> Any:
    return json.loads(load_bytes(uri, server=server))


def load_npy(uri: str, *, server: str | None = None) -> Any:
    import numpy as np

    return np.load(io.BytesIO(load_bytes(uri, server=server)), allow_pickle=False)


# ---- HTTP (urllib only) ---------------------------------------------------------------------

def _server(server: str | None) -> str:
    return (server or os.environ.get("NWBSCOPE_URL") or DEFAULT_SERVER).rstrip("/")


def _token(token: str | None) -> str:
    token = token or os.environ.get("NWBSCOPE_TOKEN")
    if not token:
        raise ParameterError(
            "token", "uploading needs the server's token: pass token= or set NWBSCOPE_TOKEN "
            "(`nwbscope serve` prints it)"
        )
    return token


def _cache_dir() -> Path:
    root = os.environ.get("NWBSCOPE_CACHE") or Path.home() / ".cache" / "nwbscope"
    return Path(root) / "store"


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _remote_size(server: str, hexdigest: str) -> int | None:
    """Size of the object on the server, or None when it is not there."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{server}/api/store/{hexdigest}", method="HEAD")
    try:
        with urllib.request.urlopen(request) as answer:
            return int(answer.headers["Content-Length"])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise FetchError(request.full_url, exc.code, exc.reason) from None


def _upload(server, token, body, size: int, hexdigest: str, label: str | None) -> dict:
    import urllib.error
    import urllib.request

    query = f"sha256={hexdigest}" + (f"&label={quote(label, safe='')}" if label else "")
    request = urllib.request.Request(
        f"{server}/api/store?{query}",
        data=_blocks(body),  # http.client sends file objects 8 KiB at a time: too slow
        method="PUT",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Length": str(size),
            "Content-Type": "application/octet-stream",
        },
    )
    try:
        with urllib.request.urlopen(request) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        detail = _detail(exc)
        if exc.code == 401:
            raise ParameterError("token", f"the server refused the token ({detail})") from None
        raise FetchError(request.full_url, exc.code, detail) from None


def _blocks(body) -> Iterator[bytes]:
    while block := body.read(_CHUNK):
        yield block


def _get(url: str):
    import urllib.error
    import urllib.request

    try:
        return urllib.request.urlopen(url)
    except urllib.error.HTTPError as exc:
        raise FetchError(url, exc.code, _detail(exc)) from None


def _detail(exc) -> str:
    try:
        return str(json.loads(exc.read()).get("detail", exc.reason))
    except (ValueError, OSError, AttributeError):
        return str(exc.reason)

