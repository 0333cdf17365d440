"""Byte sources inside the Pyodide worker: remote files over HTTP and dropped local ``File``s.

This is the only source module that knows it runs in Pyodide (it imports ``js`` lazily, so the
module itself imports in CPython). Everything above it sees a plain ``ByteSource``.

Why it is shaped this way:
- Reads must be synchronous (pyfive calls ``read()`` and waits), and a Web Worker allows
  synchronous ``XMLHttpRequest`` with ``responseType = "arraybuffer"``; a dropped ``File`` is
  read the same way with ``FileReaderSync`` on ``file.slice(start, stop)``.
- Opening a URL is one asynchronous ``fetch`` with a ``Range`` header (never a plain GET): a
  ``206`` gives the size in ``Content-Range`` and the first bytes of the file, which are kept
  and served again to the reader (the superblock read costs no second request). A server that
  ignores ``Range`` answers ``200``; ``fetch`` shows the headers before the body, so a file too
  big to read whole is refused by aborting the body instead of downloading gigabytes.
- A redirect (DANDI asset URLs and the nwbscope store on S3 redirect to presigned URLs) is
  followed once by that probe; the final URL (``response.url``) is used for every later read.
  Such a URL expires: a read it refuses (403) asks the URL first given again, once, and goes
  on with where that leads.
- The browser hides why a cross-origin response was refused: ``fetch`` rejects and a
  synchronous XHR has status 0. Both become ``CorsError``, whose message says what the server
  must allow.
- The probe may be started before this module can even be imported (the worker issues it while
  numpy loads) and handed over as ``pending``; its answer is read exactly as if issued here.
  What the probe asks and how its answer is read (status, ``Content-Range``, the stamp, the
  size limits) is ``probe.py``, the one module the page, the worker and this share.
- The metadata blocks a first open read are kept in the Cache API (``save_metadata``), keyed by
  the object's identity (``metadata_key``: the final URL without the query parameters that only
  sign it) and stamped with the probe's size, ``ETag`` and ``Last-Modified``. A store on
  object storage redirects to a presigned URL that differs on every visit; keyed on that URL
  the blocks would never be found again and would pile up. The next open of that URL makes
  its probe anyway; if the stamps match (``same_file``) the blocks fill
  the block cache (``load_metadata``) and the tree needs no further request. Without an
  ``ETag`` or ``Last-Modified`` nothing is kept: size alone cannot tell a changed file.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

from ..errors import CorsError, FetchError, NoRangeSupportError, SourceError
from .base import BaseSource
from .cache import CachedSource, IOStats
from .memory import MemorySource
from .probe import (
    EMPTY,
    NO_SIZE,
    PROBE_BYTES,
    RANGED,
    WHOLE,
    WHOLE_FILE_LIMIT,
    can_validate,
    fetch_init,
    file_identity,
    read_answer,
    same_file,
)

METADATA_CACHE = "nwbscope-metadata-v1"  # the Cache API store; bump when the format changes
TREE_CACHE = "nwbscope-tree-v1"  # the page reads it too (web/kept.py), by the URL it was given
METADATA_MAX_BYTES = 8 * 1024 * 1024  # per file: the tree of a 321 MB file reads about 6 MB


@dataclass
class OpenedSource:
    """What opening a URL gave: the block cache over the file (the probe's bytes in it, the
    probe counted in its ``stats``), and notes for the page (e.g. 'read whole')."""

    source: CachedSource
    url: str
    notes: list[str] = field(default_factory=list)
    stamp: dict[str, Any] = field(default_factory=dict)  # size, etag, last_modified (probe)


def probed(source: BaseSource, head: bytes, stats: IOStats | None = None) -> CachedSource:
    """The block cache over ``source``, holding the probe's ``head`` and counting it as the
    request it was: every later network request is one the cache asks of ``source``."""
    cached = CachedSource(source, stats=stats)
    cached.add_probe(head)
    return cached


class XhrRangeSource(BaseSource):
    """A remote file read with synchronous ``Range`` XMLHttpRequests (worker only): one
    request per range, counted by the block cache above it."""

    def __init__(self, url: str, size: int, *, name: str | None = None,
                 origin_url: str | None = None) -> None:
        self.url = url
        self.origin_url = origin_url  # what was given, when it redirected to ``url``
        self.name = name or _name_from_url(url)
        self._size = size

    @property
    def size(self) -> int:
        return self._size

    def _read(self, start: int, stop: int) -> bytes:
        try:
            return self._request(start, stop)
        except FetchError as exc:
            if exc.status != 403 or not self.origin_url or self.url == self.origin_url:
                raise
        self.url = self.origin_url  # the presigned URL expired: follow the redirect again
        return self._request(start, stop)

    def _request(self, start: int, stop: int) -> bytes:
        from js import XMLHttpRequest
        from pyodide.ffi import JsException

        xhr = XMLHttpRequest.new()
        xhr.open("GET", self.url, False)
        xhr.responseType = "arraybuffer"
        xhr.setRequestHeader("Range", f"bytes={start}-{stop - 1}")
        try:
            xhr.send(None)
        except JsException:
            raise CorsError(self.url) from None
        status = int(xhr.status)
        if status == 0:
            raise CorsError(self.url)
        if xhr.responseURL and xhr.responseURL != self.url:
            self.url = str(xhr.responseURL)  # a late redirect: reuse where it led
        if status == 416:
            return b""
        if status not in (200, 206):
            raise FetchError(self.url, status, str(xhr.statusText or ""))
        data = xhr.response.to_bytes()
        if status == 200:  # the server stopped honouring Range: keep what we asked for
            return data[start:stop]
        return data


class BrowserFileSource(BaseSource):
    """A local ``File`` (dropped or chosen) read in slices with ``FileReaderSync``.

    Nothing is uploaded or copied whole: each read asks the browser for one slice (counted,
    as a request, by the block cache above it).
    """

    def __init__(self, file: Any) -> None:
        from js import FileReaderSync

        self._file = file
        self.name = str(file.name)
        self._size = int(file.size)
        self._reader = FileReaderSync.new()

    @property
    def size(self) -> int:
        return self._size

    def _read(self, start: int, stop: int) -> bytes:
        from pyodide.ffi import JsException

        try:
            buffer = self._reader.readAsArrayBuffer(self._file.slice(start, stop))
        except JsException as exc:
            raise SourceError(
                f"The browser could not read {self.name} ({exc}); the file may have been "
                "moved or changed since it was chosen. Choose it again."
            ) from None
        return buffer.to_bytes()

    def close(self) -> None:
        super().close()
        self._file = None


async def open_url(
    url: str,
    *,
    probe_bytes: int = PROBE_BYTES,
    whole_file_limit: int = WHOLE_FILE_LIMIT,
    stats: IOStats | None = None,
    pending: tuple[Any, Any] | None = None,
) -> OpenedSource:
    """Open a remote file with one ranged ``fetch``; decide how to read it from the answer.

    ``pending`` is ``(fetch promise, AbortController)`` of that probe when it was started
    earlier (by the worker, while packages loaded); otherwise it is started here. ``stats``
    is the record the opened source counts into (the probe first).
    """
    from js import AbortController, Object, fetch
    from pyodide.ffi import JsException, to_js

    if pending is None:
        controller = AbortController.new()
        init = dict(fetch_init(probe_bytes), signal=controller.signal)
        promise = fetch(url, to_js(init, dict_converter=Object.fromEntries))
    else:
        promise, controller = pending
    try:
        response = await promise
    except JsException:
        raise CorsError(url) from None
    final_url = str(response.url or url)
    kind, size, stamp = read_answer(response.status, lambda name: response.headers.get(name))
    if kind == RANGED:
        head = await _body(response, controller)
        remote = XhrRangeSource(final_url, size, origin_url=url if final_url != url else None)
        source = probed(remote, head, stats)
        return OpenedSource(source, final_url, stamp=stamp)
    if kind == NO_SIZE:
        controller.abort()
        raise SourceError(
            f"The server of {final_url} answered the Range request but the browser may not "
            "read its 'Content-Range' header, so the file size is unknown. The server must "
            "send 'Access-Control-Expose-Headers: Content-Range, Content-Length'."
        )
    if kind == EMPTY:  # an empty file: no byte 0 to send
        return OpenedSource(probed(XhrRangeSource(final_url, size), b"", stats), final_url)
    if kind == WHOLE:
        return await _read_whole(response, controller, final_url, size, whole_file_limit,
                                 stats)
    controller.abort()
    raise FetchError(final_url, int(response.status), str(response.statusText or ""))


async def _read_whole(
    response: Any, controller: Any, url: str, size: int | None, limit: int,
    stats: IOStats | None,
) -> OpenedSource:
    """A ``200`` to a ranged request (``size``: its Content-Length): read the body only if it
    is small, else abort it. The body fills the block cache (``WHOLE_FILE_LIMIT`` is its
    default size), so no later read counts as a request."""
    if size is not None and size > limit:
        controller.abort()
        raise NoRangeSupportError(url, size, limit)
    body = await _body(response, controller, limit)
    if body is None:
        raise NoRangeSupportError(url, size, limit)
    note = (
        f"The server does not support HTTP Range requests, so the whole file "
        f"({len(body) / 1e6:.1f} MB) was downloaded; large files need a server that does."
    )
    source = probed(MemorySource(body, name=_name_from_url(url)), body, stats)
    return OpenedSource(source, url, [note])


async def _body(response: Any, controller: Any, limit: int | None = None) -> bytes | None:
    """The response body, streamed; None (and the request aborted) past ``limit`` bytes."""
    if response.body is None:
        return b""
    reader = response.body.getReader()
    parts: list[bytes] = []
    total = 0
    while True:
        chunk = await reader.read()
        if chunk.done:
            break
        data = chunk.value.to_bytes()
        total += len(data)
        if limit is not None and total > limit:
            controller.abort()
            return None
        parts.append(data)
    return b"".join(parts)


def pack_metadata(stamp: dict[str, Any], block_size: int, blocks: dict[int, bytes],
                  limit: int = METADATA_MAX_BYTES) -> bytes | None:
    """One blob: a length-prefixed JSON index, then the blocks. ``blocks`` in LRU order (the
    last used last); past ``limit`` the least recently used are left out. None when the
    stamp cannot validate a later open."""
    if not can_validate(stamp):
        return None
    kept: list[tuple[int, bytes]] = []
    total = 0
    for number, data in reversed(list(blocks.items())):
        if total + len(data) > limit:
            continue
        kept.append((number, data))
        total += len(data)
    kept.sort()
    index = {"stamp": stamp, "block_size": block_size,
             "blocks": [[number, len(data)] for number, data in kept]}
    head = json.dumps(index).encode()
    return struct.pack("<I", len(head)) + head + b"".join(data for _, data in kept)


def unpack_metadata(blob: bytes) -> tuple[dict[str, Any], int, dict[int, bytes]]:
    """``(stamp, block_size, blocks)`` from ``pack_metadata``'s blob; ValueError if damaged."""
    if len(blob) < 4:
        raise ValueError("metadata blob too short")
    (length,) = struct.unpack_from("<I", blob)
    index = json.loads(blob[4 : 4 + length])
    blocks: dict[int, bytes] = {}
    offset = 4 + length
    for number, size in index["blocks"]:
        blocks[int(number)] = blob[offset : offset + size]
        offset += size
    if offset != len(blob):
        raise ValueError("metadata blob has the wrong length")
    return index["stamp"], int(index["block_size"]), blocks


async def _metadata_cache() -> Any:
    """The Cache API store, or None where there is none (plain-http origins lack it)."""
    import js

    caches = getattr(js, "caches", None)
    return None if caches is None else await caches.open(METADATA_CACHE)


async def save_metadata(url: str, stamp: dict[str, Any], block_size: int,
                        blocks: dict[int, bytes]) -> int:
    """Keep the blocks an open read, for the next open of ``url``; returns bytes kept."""
    from js import Response, Uint8Array

    blob = pack_metadata(stamp, block_size, blocks)
    store = await _metadata_cache()
    if blob is None or store is None:
        return 0
    array = Uint8Array.new(len(blob))
    array.assign(blob)
    await store.put(metadata_key(url, stamp), Response.new(array))
    return len(blob)


async def save_tree(url: str, entry: dict[str, Any]) -> None:
    """Keep what the page drew for ``url`` (``{"stamp", "final_url", "reply", "browse"}``:
    ``browse`` is a ``kept_browse.BrowseRecord``'s JSON), so the next visit can draw it
    before Python is up, once its own probe shows the same stamp."""
    import js
    from js import Response

    caches = getattr(js, "caches", None)
    if caches is None or not can_validate(entry["stamp"]):
        return
    store = await caches.open(TREE_CACHE)
    await store.put(url, Response.new(json.dumps(entry)))


async def load_tree(url: str) -> dict[str, Any] | None:
    """The entry ``save_tree`` kept for ``url`` (None if none, or unreadable); the caller
    compares its stamp."""
    import js

    caches = getattr(js, "caches", None)
    if caches is None:
        return None
    found = await (await caches.open(TREE_CACHE)).match(url)
    if not found:
        return None
    try:
        entry = json.loads(await found.text())
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


async def load_metadata(url: str, stamp: dict[str, Any]) -> tuple[int, dict[int, bytes]] | None:
    """``(block_size, blocks)`` kept for ``url`` if they stamp the same file as ``stamp``;
    a stale or damaged entry is deleted."""
    store = await _metadata_cache()
    if store is None:
        return None
    key = metadata_key(url, stamp)
    response = await store.match(key)
    if not response:
        return None
    try:
        stored, block_size, blocks = unpack_metadata((await response.arrayBuffer()).to_bytes())
    except (ValueError, KeyError, TypeError):
        stored, block_size, blocks = {}, 0, {}
    if not same_file(stored, stamp):
        await store.delete(key)
        return None
    return block_size, blocks


def metadata_key(url: str, stamp: dict[str, Any]) -> str:
    """The Cache API key of a file's kept metadata: its identity (``probe.file_identity``:
    a presigned URL without its signature), not the URL of this visit; which version of the
    object the blocks are from is the entry's stamp, checked by ``load_metadata``."""
    return file_identity(url)


def _name_from_url(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or url
