"""Local files served for the viewer: the demo file and files registered by ``nwbscope open``.

``POST /api/files {"path": ...}`` (user token, from the server's own machine) registers an
existing local HDF5/NWB file and answers its URL, ``/files/<id>/<name>``. That URL is served
without a token to any origin (the viewer may be hosted elsewhere), so what is published is
decided by the file itself, at registration and again at every serve (``open_checked``):

- it must be a regular file with the HDF5 signature (at byte 0 or after a user block), judged
  by its content, never its name;
- it must not really lie (symlinks followed) in the server's own places: the data directory
  (tokens, store, database), a local store elsewhere, the runtime directory, ``~/.ssh``;
- the bytes sent are read from the very file that was checked (``ranges.OpenFileResponse``),
  so a registered path swapped for a symlink to a secret publishes nothing.

The external files an NWB file names (a video beside it) are served under its id, at the
address the viewer resolves them to, by ``files_external`` (only those names, only in the NWB
file's folder or below).

A symlink is registered as given: its URL carries the link's name and each serve follows it
anew. The demo file lies in the data directory, so it keeps its own route, ``/files/demo.nwb``;
registering it answers that URL.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from nwbscope.h5.superblock import find_signature
from nwbscope.sources.base import BaseSource

from .auth import SettingsDep, UserAuth
from .commands import runtime_dir
from .ranges import OpenFileResponse
from .settings import Settings

NO_CACHE = {"Cache-Control": "no-cache"}
REGISTRY_VERSION = 2

router = APIRouter(tags=["files"])


class FileRegistry:
    """id -> path as registered, persisted in ``files.json`` as ``{"version": 2, "files": ...}``.

    Ids are random (``secrets.token_hex(16)``), not derived from the path, so nobody can work
    out the URL of a file from a path they guess. Registering the same path again answers the
    id it already has, so bookmarks keep working across restarts. A registry of the old format
    (``{sha256(path)[:16]: path}``, computable ids) is re-keyed when loaded and saved at once:
    its old URLs stop working; ``nwbscope open FILE`` prints the new one.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            saved = {}
        if isinstance(saved, dict) and saved.get("version") == REGISTRY_VERSION:
            self._files: dict[str, str] = dict(saved.get("files", {}))
        else:  # the old format, or nothing usable
            old = saved if isinstance(saved, dict) else {}
            self._files = {new_id(): str(p) for p in dict.fromkeys(old.values())}
            if old:
                self._save()

    def register(self, file: Path) -> str:
        """The id of ``file`` (made absolute, symlinks kept), a new one if it has none yet."""
        given = str(Path(file).expanduser().absolute())
        with self._lock:
            for file_id, known in self._files.items():
                if known == given:
                    return file_id
            file_id = new_id()
            self._files[file_id] = given
            self._save()
        return file_id

    def lookup(self, file_id: str) -> Path | None:
        found = self._files.get(file_id)
        return Path(found) if found else None

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # local paths: owner's
        with os.fdopen(fd, "w") as f:
            json.dump({"version": REGISTRY_VERSION, "files": self._files}, f, indent=1)
        os.replace(tmp, self.path)


def new_id() -> str:
    return secrets.token_hex(16)  # 128 bits; hex so the URL needs no escaping


# ---- what may be served ---------------------------------------------------------------------

class Refusal(Exception):
    """A path that is not served; ``reason`` completes a sentence about it ("... is not ...")."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Place:
    """A folder whose files are never served, and what to call it in a message."""

    folder: Path
    what: str


def refused_places(settings: Settings, store: object) -> list[Place]:
    """The server's own places: a file in one is refused even when it is HDF5."""
    places = [Place(settings.data_dir, "the server's data directory (tokens, store, database)"),
              Place(runtime_dir(), "nwbscope's runtime directory (server tokens)"),
              Place(Path(os.path.expanduser("~/.ssh")), "~/.ssh")]  # never raises
    root = getattr(store, "root", None)  # a local store may lie outside the data directory
    if root is not None:
        places.append(Place(Path(root), "the server's store (served by /api/store)"))
    return [Place(Path(os.path.realpath(p.folder)), p.what) for p in places]


class _OpenedSource(BaseSource):
    """The open file as a ``ByteSource``, for ``find_signature`` (the viewer's own check)."""

    def __init__(self, file: BinaryIO, size: int, name: str) -> None:
        self.file, self._size, self.name = file, size, name

    @property
    def size(self) -> int:
        return self._size

    def _read(self, start: int, stop: int) -> bytes:
        self.file.seek(start)
        return self.file.read(stop - start)


def open_checked(path: Path, refused: list[Place]) -> BinaryIO:
    """``path`` opened for reading, once it is known to be servable; else ``Refusal``.

    Every check is made on the opened file (``fstat``, its real path confirmed to be that same
    file, its first bytes), and the caller sends the bytes of that file: nothing can be swapped
    in between. A quick ``stat`` first keeps FIFOs and devices from ever being opened (opening
    one can block or have effects); the check that counts is the ``fstat`` after ``open``.
    """
    file = open_regular(path, refused)
    try:
        size = os.fstat(file.fileno()).st_size
        if find_signature(_OpenedSource(file, size, path.name)) is None:
            raise Refusal(422, "is not an HDF5/NWB file")
    except BaseException:
        file.close()
        raise
    return file


def open_regular(path: Path, refused: list[Place], inside: Path | None = None) -> BinaryIO:
    """``path`` opened for reading once it is known to be a regular file whose real path is
    outside the server's places (and inside ``inside``, when given); else ``Refusal``. The
    checks are made on the opened file (see ``open_checked``)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise Refusal(404, "is not a regular file")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise Refusal(404, "does not exist") from None
    except OSError as exc:
        raise Refusal(404, f"cannot be read ({exc.strerror or exc})") from None
    file = os.fdopen(fd, "rb")
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise Refusal(404, "is not a regular file")
        real = real_path(path, opened)
        if inside is not None and not real.is_relative_to(inside):
            raise Refusal(404, "lies outside the NWB file's folder")
        for place in refused:
            if real.is_relative_to(place.folder):
                raise Refusal(403, f"is in {place.what}, whose files are never served")
    except BaseException:
        file.close()
        raise
    return file


def real_path(path: Path, opened: os.stat_result) -> Path:
    """Where the opened file really lies: the path with every symlink followed, confirmed to
    name the very file opened (a symlink swapped since ``open`` is caught here)."""
    real = os.path.realpath(path)
    try:
        same = os.path.samestat(os.stat(real), opened)
    except OSError:
        same = False
    if not same:
        raise Refusal(404, "changed while it was being opened")
    return Path(real)


# ---- routes ---------------------------------------------------------------------------------

async def get_registry(request: Request) -> FileRegistry:
    return request.app.state.files


RegistryDep = Annotated[FileRegistry, Depends(get_registry)]


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1"})


class FileIn(BaseModel):
    path: str


def is_demo(path: Path, settings: Settings) -> bool:
    try:
        return settings.demo_file is not None and os.path.samefile(path, settings.demo_file)
    except OSError:
        return False


@router.post("/api/files", status_code=201)
def register_file(body: FileIn, request: Request, registry: RegistryDep, settings: SettingsDep,
                  _: UserAuth) -> Response:
    """Serve a local HDF5/NWB file (``nwbscope open``); answers its URL and the viewer URL.

    Only a caller on the server's own machine may register a path: the path names a file
    there, and a token holder elsewhere must not be able to publish arbitrary local files.
    """
    client = request.client.host if request.client else ""
    if client not in LOOPBACK_HOSTS:
        raise HTTPException(403, "path: files can be registered only from the server's machine")
    path = Path(body.path).expanduser()
    if not path.is_absolute():
        raise HTTPException(422, "path: give an absolute path (the server's cwd is not yours)")
    if is_demo(path, settings):  # in the data directory, served by its own route
        url = "/files/demo.nwb"
        file_id = "demo"
    else:
        try:
            open_checked(path, refused_places(settings, request.app.state.store)).close()
        except Refusal as refusal:
            raise HTTPException(refusal.status, f"path: {body.path} {refusal.reason}") from None
        file_id = registry.register(path)
        url = f"/files/{file_id}/{quote(path.name)}"
    base = str(request.base_url).rstrip("/")
    viewer = f"/?url={quote(base + url, safe=':/%')}"
    return JSONResponse(
        {"id": file_id, "name": path.name, "url": url, "viewer": viewer}, status_code=201
    )


@router.head("/files/demo.nwb", operation_id="head_demo_file",
             include_in_schema=False)
@router.get("/files/demo.nwb", operation_id="demo_file")
def demo_file(settings: SettingsDep) -> Response:
    path = settings.demo_file
    if path is None:
        raise HTTPException(404, "No demo file here (`nwbscope serve` writes one).")
    try:
        file = open_checked(path, refused=[])  # the server's own file, in its data directory
    except Refusal as refusal:
        raise HTTPException(404, f"No demo file here (`nwbscope serve` writes one): "
                                 f"{path.name} {refusal.reason}.") from None
    return OpenFileResponse(file, path, headers=NO_CACHE, media_type="application/x-hdf5")


@router.head("/files/{file_id}/{name:path}", operation_id="head_registered_file",
             include_in_schema=False)
@router.get("/files/{file_id}/{name:path}", operation_id="registered_file")
def registered_file(file_id: str, name: str, request: Request, registry: RegistryDep,
                    settings: SettingsDep) -> Response:
    """A registered file, checked again now: its path may lead elsewhere since it was
    registered. Messages name the file, never its local path (no token is asked here).
    Another name under its id is one of the external files it names (``files_external``)."""
    path = registry.lookup(file_id)
    if path is None:
        raise HTTPException(404, "No such file is being served (register it with nwbscope open).")
    refused = refused_places(settings, request.app.state.store)
    try:
        file = open_checked(path, refused)
    except Refusal as refusal:
        if path.name != name:
            raise HTTPException(404, "No such file is being served.") from None
        status = 403 if refusal.status == 403 else 404
        raise HTTPException(status, f"{name} is no longer served: its path {refusal.reason} "
                                    "now (fix it and run nwbscope open again).") from None
    if path.name == name:
        return OpenFileResponse(file, path, headers=NO_CACHE)
    from .files_external import open_external  # it uses this module's checks

    try:
        with file:
            external = open_external(path, file, name, refused)
    except Refusal as refusal:
        status = 403 if refusal.status == 403 else 404
        raise HTTPException(status, f"{name} is not served: it {refusal.reason}.") from None
    return OpenFileResponse(external, path.parent / name, headers=NO_CACHE)
