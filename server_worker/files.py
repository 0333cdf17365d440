"""Local files served for the viewer: the demo file and files registered by ``nwbscope open``.

``POST /api/files {"path": ...}`` (user token) registers an existing local file and answers
its URL, ``/files/<id>/<name>``; the id is derived from the absolute path, so registering the
same file again gives the same URL (bookmarks keep working across restarts: the registry is
kept in ``<data_dir>/files.json``). Only registered paths are ever served; the ``<name>`` part
must match the file's own name, so a URL cannot be bent to another file.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from .auth import SettingsDep, UserAuth
from .ranges import RangeFileResponse

NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter(tags=["files"])


class FileRegistry:
    """id -> absolute path, persisted as JSON (small: one entry per opened file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._files: dict[str, str] = json.loads(path.read_text())
        except (OSError, ValueError):
            self._files = {}

    def register(self, file: Path) -> str:
        file = file.expanduser().resolve()
        file_id = hashlib.sha256(str(file).encode()).hexdigest()[:16]
        with self._lock:
            if self._files.get(file_id) != str(file):
                self._files[file_id] = str(file)
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(self._files, indent=1))
                os.replace(tmp, self.path)
        return file_id

    def lookup(self, file_id: str) -> Path | None:
        found = self._files.get(file_id)
        return Path(found) if found else None


def get_registry(request: Request) -> FileRegistry:
    return request.app.state.files


RegistryDep = Annotated[FileRegistry, Depends(get_registry)]


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1"})


class FileIn(BaseModel):
    path: str


@router.post("/api/files", status_code=201)
def register_file(body: FileIn, request: Request, registry: RegistryDep, _: UserAuth) -> Response:
    """Serve a local file (``nwbscope open``); answers its URL and the viewer URL for it.

    Only a caller on the server's own machine may register a path: the path names a file
    there, and a token holder elsewhere must not be able to publish arbitrary local files.
    """
    client = request.client.host if request.client else ""
    if client not in LOOPBACK_HOSTS:
        raise HTTPException(403, "path: files can be registered only from the server's machine")
    path = Path(body.path).expanduser()
    if not path.is_absolute():
        raise HTTPException(422, "path: give an absolute path (the server's cwd is not yours)")
    if not path.is_file():
        raise HTTPException(404, f"path: {body.path} is not a file on the server's machine")
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
    if path is None or not path.is_file():
        raise HTTPException(404, "No demo file here (`nwbscope serve` writes one).")
    return RangeFileResponse(path, headers=NO_CACHE, media_type="application/x-hdf5")


@router.head("/files/{file_id}/{name}", operation_id="head_registered_file",
             include_in_schema=False)
@router.get("/files/{file_id}/{name}", operation_id="registered_file")
def registered_file(file_id: str, name: str, registry: RegistryDep) -> Response:
    path = registry.lookup(file_id)
    if path is None or path.name != name or not path.is_file():
        raise HTTPException(404, "No such file is being served (register it with nwbscope open).")
    return RangeFileResponse(path, headers=NO_CACHE)
