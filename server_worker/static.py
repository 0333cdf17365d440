"""Serving the static viewer site at ``/``: MIME types, Range, revalidation, isolation headers.

The site is the folder ``nwbscope build`` writes; it must also work from any static host, so
nothing here is needed by the page, only done right: ``.wasm`` as ``application/wasm`` (so
browsers compile it while streaming), ``.mjs`` as JavaScript (module workers refuse other
types), wheels and zips as binary, Range for big files, and ``Cache-Control: no-cache`` so a
rebuilt site is picked up at once (ETags make the revalidation cheap). Files in a folder named
by their content hash (``wheels/<sha256 prefix>/``, as the build writes our own wheel) never
change, so they are cached for good.

Cross-origin isolation (``Settings.isolation``) is off by default: with it, PyScript workers
may touch the DOM synchronously, but every cross-origin resource the page reads (remote NWB
files) must then allow it. ``credentialless`` is the mild choice; ``require-corp`` the strict.
"""

from __future__ import annotations

import mimetypes
import os
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

from .ranges import RangeFileResponse
from .settings import Settings

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".nwb": "application/x-hdf5",
    ".h5": "application/x-hdf5",
    ".json": "application/json",
    ".map": "application/json",
    ".py": "text/x-python",
    ".tar": "application/x-tar",
}


IMMUTABLE = "public, max-age=31536000, immutable"
HASHED_FOLDER = re.compile(r"^[0-9a-f]{12,64}$")


def register_mime_types() -> None:
    """Make ``mimetypes`` (used by every FileResponse) agree with browsers on these types."""
    for ext, kind in MIME_TYPES.items():
        mimetypes.add_type(kind, ext)


def isolation_headers(settings: Settings) -> dict[str, str]:
    if settings.isolation == "off":
        return {}
    return {
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Embedder-Policy": settings.isolation,
    }


class SiteFiles(StaticFiles):
    """StaticFiles with our Range parser, revalidation and (optional) isolation headers."""

    def __init__(self, *, directory: os.PathLike[str] | str, extra_headers: dict[str, str]):
        super().__init__(directory=directory, html=True, check_dir=False)
        self.extra_headers = {"Cache-Control": "no-cache", **extra_headers}

    def file_response(
        self,
        full_path: os.PathLike[str] | str,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        headers = self.extra_headers
        if HASHED_FOLDER.match(Path(full_path).parent.name):
            headers = {**headers, "Cache-Control": IMMUTABLE}
        response = RangeFileResponse(
            full_path, status_code=status_code, stat_result=stat_result, headers=headers
        )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


def mount_site(app: FastAPI, settings: Settings) -> None:
    """Mount the site at ``/`` (call last: a mount at ``/`` shadows routes added after it)."""
    if (settings.site_dir / "index.html").is_file():
        app.mount(
            "/",
            SiteFiles(directory=settings.site_dir, extra_headers=isolation_headers(settings)),
            name="site",
        )
        return

    message = (
        f"The viewer site is not built ({settings.site_dir} has no index.html). "
        "Run `nwbscope build`, or start with `nwbscope serve --site DIR`."
    )

    @app.get("/", include_in_schema=False)
    def site_missing() -> PlainTextResponse:
        return PlainTextResponse(message, status_code=503)
