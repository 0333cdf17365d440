"""HTTP routes of the store: ``PUT /api/store`` and ``GET|HEAD /api/store/<hex>``.

Uploads stream: the body is buffered in ``Settings.upload_chunk`` pieces and each piece is
hashed and written in a worker thread, so a 1 GB upload neither sits in memory nor blocks the
event loop. Objects are served with Range support, the hash as a strong ETag and a one-year
immutable cache lifetime: their bytes can never change under that URL.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from nwbscope.errors import HashMismatchError, NotFoundError, ParameterError
from nwbscope.store import format_uri

from ..auth import SettingsDep, UserAuth
from ..ranges import RangeFileResponse, RangeStreamResponse
from .base import Store, StoreWriter, check_hex

IMMUTABLE = "public, max-age=31536000, immutable"
#: Lifetime of a redirect's presigned URL: short, since anyone holding it may read the object;
#: the viewer asks the broker again when it expires (``sources.browser``).
PRESIGNED_SECONDS = 900

router = APIRouter(prefix="/api/store", tags=["store"])


async def get_store(request: Request) -> Store:
    return request.app.state.store


StoreDep = Annotated[Store, Depends(get_store)]


def _hex_or_400(value: str, field: str = "sha256") -> str:
    try:
        return check_hex(value)
    except ParameterError as exc:
        raise HTTPException(400, f"{field}: {value!r} is not a SHA-256 hex digest") from exc


@router.put("", status_code=201)
async def put_object(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    _: UserAuth,
    label: Annotated[str | None, Query(max_length=255)] = None,
    sha256: str | None = None,
) -> Response:
    """Store the request body; 201 when new, 200 when those bytes were already stored."""
    expected = _hex_or_400(sha256.lower()) if sha256 else None
    writer = await anyio.to_thread.run_sync(store.writer)
    try:
        if expected:
            await anyio.to_thread.run_sync(writer.expect, expected)
        await _receive_into(request, writer, settings.upload_chunk)
        result = await anyio.to_thread.run_sync(writer.commit, expected)
    except HashMismatchError as exc:
        raise HTTPException(400, str(exc)) from exc
    finally:
        await anyio.to_thread.run_sync(writer.abort)
    for listener in getattr(request.app.state, "upload_listeners", ()):
        await anyio.to_thread.run_sync(listener, result, label)
    body = {
        "uri": format_uri(result.sha256, label),
        "sha256": result.sha256,
        "size": result.size,
        "created": result.created,
    }
    return JSONResponse(body, status_code=201 if result.created else 200)


async def _receive_into(request: Request, writer: StoreWriter, piece: int) -> None:
    """Hash and write each ``piece`` bytes in a thread while the next piece arrives, so
    receiving and hashing overlap (hashlib releases the GIL); at most ~4 pieces in memory."""
    send, receive = anyio.create_memory_object_stream[bytes](2)

    async def drain() -> None:
        async with receive:
            async for block in receive:
                await anyio.to_thread.run_sync(writer.write, block)

    async with anyio.create_task_group() as group:
        group.start_soon(drain)
        async with send:
            buffer = bytearray()
            async for chunk in request.stream():
                buffer += chunk
                if len(buffer) >= piece:
                    await send.send(bytes(buffer))
                    buffer.clear()
            if buffer:
                await send.send(bytes(buffer))


@router.head("/{hexdigest}", operation_id="head_get_object",
             include_in_schema=False)
@router.get("/{hexdigest}", operation_id="get_object")
def get_object(
    hexdigest: str,
    request: Request,
    store: StoreDep,
    label: Annotated[str | None, Query(max_length=255)] = None,
    redirect: bool = True,
) -> Response:
    """The object's bytes (Range, If-Range, If-None-Match); HEAD gives its size and hash.

    From object storage a GET is a 307 to a short-lived presigned URL: the client reads the
    bytes (and ranges of them) from the storage itself, so the broker is not in the data
    path; the redirect is not cacheable, as its URL expires. ``redirect=false`` streams the
    bytes through the broker instead: the broker's own reads and its workers' input downloads
    use it, because object storage in a lab usually sits on a private address, which the
    input URL policy (``url_policy``) refuses for any URL but the broker's own files."""
    hexdigest = _hex_or_400(hexdigest)
    etag = f'"{hexdigest}"'
    media_type = _safe_type(label)
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"}
    if label:
        shown = "inline" if media_type != "application/octet-stream" else "attachment"
        headers["Content-Disposition"] = f"{shown}; filename*=utf-8''{quote(label, safe='')}"
    if _matches(request.headers.get("if-none-match"), etag) and store.has(hexdigest):
        return Response(status_code=304, headers=headers)
    if request.method == "GET" and store.redirects and redirect:
        redirect = _redirect(store, hexdigest, media_type, headers)
        if redirect is not None:
            return redirect
    path = store.local_path(hexdigest)
    if path is not None:
        return RangeFileResponse(path, headers=headers, media_type=media_type)
    try:
        size = store.size(hexdigest)
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from exc
    return RangeStreamResponse(
        size,
        lambda start, stop: store.open_range(hexdigest, start, stop),
        headers=headers,
        media_type=media_type,
    )


def _redirect(store: Store, hexdigest: str, media_type: str,
              headers: dict[str, str]) -> Response | None:
    """A 307 to the object in storage, or None when the backend cannot make a URL. 404 when
    absent, so a client never follows a dead link."""
    if not store.has(hexdigest):
        raise HTTPException(404, f"{hexdigest} is not in the store")
    url = store.presigned_url(hexdigest, PRESIGNED_SECONDS, content_type=media_type,
                              content_disposition=headers.get("Content-Disposition"))
    if url is None:
        return None
    return Response(status_code=307, headers={
        "Location": url, "ETag": headers["ETag"], "Cache-Control": "no-store"})


#: The only types a stored object is served as (from its label): none of them runs in the
#: browser. Anything else (``x.html``, ``x.svg``, ``x.js``) is an octet stream, downloaded
#: rather than shown, so a stored object cannot script the API's origin.
SAFE_TYPES = {
    ".nwb": "application/x-hdf5", ".h5": "application/x-hdf5", ".hdf5": "application/x-hdf5",
    ".json": "application/json", ".npy": "application/octet-stream",
    ".txt": "text/plain; charset=utf-8", ".log": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8", ".png": "image/png", ".jpg": "image/jpeg",
}


def _safe_type(label: str | None) -> str:
    suffix = ("." + label.rsplit(".", 1)[-1].lower()) if label and "." in label else ""
    return SAFE_TYPES.get(suffix, "application/octet-stream")


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison, as RFC 9110 wants for If-None-Match."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags
