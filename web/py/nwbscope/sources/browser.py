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
- A redirect (DANDI asset URLs redirect to S3) is followed once by that probe; the final URL
  (``response.url``) is used for every later read.
- The browser hides why a cross-origin response was refused: ``fetch`` rejects and a
  synchronous XHR has status 0. Both become ``CorsError``, whose message says what the server
  must allow.
- The probe may be started before this module can even be imported (the worker issues it while
  numpy loads) and handed over as ``pending``; its answer is read exactly as if issued here.
- The metadata blocks a first open read are kept in the Cache API (``save_metadata``), keyed by
  the final URL and stamped with the probe's size, ``ETag`` and ``Last-Modified``. The next
  open of that URL makes its probe anyway; if the stamps match (``same_file``) the blocks fill
  the block cache (``load_metadata``) and the tree needs no further request. Without an
  ``ETag`` or ``Last-Modified`` nothing is kept: size alone cannot tell a changed file.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import CorsError, FetchError, NoRangeSupportError, SourceError
from .base import BaseSource
from .memory import MemorySource
from .stamp import same_file

DEFAULT_PROBE_BYTES = 64 * 1024
DEFAULT_WHOLE_FILE_LIMIT = 64 * 1024 * 1024
METADATA_CACHE = "nwbscope-metadata-v1"  # the Cache API store; bump when the format changes
TREE_CACHE = "nwbscope-tree-v1"  # the page reads it too (web/kept.py), by the URL it was given
METADATA_MAX_BYTES = 8 * 1024 * 1024  # per file: the tree of a 321 MB file reads about 6 MB
_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)")


def total_from_content_range(value: str | None) -> int | None:
    """The total size in ``'bytes 0-99/1000'`` or ``'bytes */1000'``; None when unknown."""
    match = _CONTENT_RANGE.match(value or "")
    if not match or match.group(3) == "*":
        return None
    return int(match.group(3))


@dataclass
class OpenedSource:
    """What opening a URL gave: the source, and notes for the page (e.g. 'read whole')."""

    source: BaseSource
    url: str
    notes: list[str] = field(default_factory=list)
    stamp: dict[str, Any] = field(default_factory=dict)  # size, etag, last_modified (probe)


class RequestCounter:
    """Real network requests and bytes, counted where they happen (the probe included)."""

    def __init__(self, on_request: Callable[[], None] | None = None) -> None:
        self.requests = 0
        self.bytes = 0
        self.on_request = on_request

    def add(self, nbytes: int) -> None:
        self.requests += 1
        self.bytes += nbytes
        if self.on_request is not None:
            self.on_request()


class XhrRangeSource(BaseSource):
    """A remote file read with synchronous ``Range`` XMLHttpRequests (worker only)."""

    def __init__(
        self, url: str, size: int, head: bytes = b"", *, name: str | None = None,
        counter: RequestCounter | None = None,
    ) -> None:
        self.url = url
        self.name = name or _name_from_url(url)
        self._size = size
        self._head = head  # the first bytes, from the opening probe
        self.counter = counter or RequestCounter()

    @property
    def size(self) -> int:
        return self._size

    def _read(self, start: int, stop: int) -> bytes:
        if stop <= len(self._head):
            return self._head[start:stop]
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
        self.counter.add(len(data))
        if status == 200:  # the server stopped honouring Range: keep what we asked for
            return data[start:stop]
        return data

    def close(self) -> None:
        super().close()
        self._head = b""


class BrowserFileSource(BaseSource):
    """A local ``File`` (dropped or chosen) read in slices with ``FileReaderSync``.

    Nothing is uploaded or copied whole: each read asks the browser for one slice.
    """

    def __init__(self, file: Any, counter: RequestCounter | None = None) -> None:
        from js import FileReaderSync

        self._file = file
        self.name = str(file.name)
        self._size = int(file.size)
        self._reader = FileReaderSync.new()
        self.counter = counter or RequestCounter()

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
        data = buffer.to_bytes()
        self.counter.add(len(data))
        return data

    def close(self) -> None:
        super().close()
        self._file = None


async def open_url(
    url: str,
    *,
    probe_bytes: int = DEFAULT_PROBE_BYTES,
    whole_file_limit: int = DEFAULT_WHOLE_FILE_LIMIT,
    counter: RequestCounter | None = None,
    pending: tuple[Any, Any] | None = None,
) -> OpenedSource:
    """Open a remote file with one ranged ``fetch``; decide how to read it from the answer.

    ``pending`` is ``(fetch promise, AbortController)`` of that probe when it was started
    earlier (by the worker, while packages loaded); otherwise it is started here.
    """
    from js import AbortController, Object, fetch
    from pyodide.ffi import JsException, to_js

    counter = counter or RequestCounter()
    if pending is None:
        controller = AbortController.new()
        init = to_js(
            {"headers": {"Range": f"bytes=0-{probe_bytes - 1}"}, "signal": controller.signal},
            dict_converter=Object.fromEntries,
        )
        promise = fetch(url, init)
    else:
        promise, controller = pending
    try:
        response = await promise
    except JsException:
        raise CorsError(url) from None
    final_url = str(response.url or url)
    status = int(response.status)
    if status == 206:
        total = total_from_content_range(response.headers.get("Content-Range"))
        if total is None:
            controller.abort()
            raise SourceError(
                f"The server of {final_url} answered the Range request but the browser may not "
                "read its 'Content-Range' header, so the file size is unknown. The server must "
                "send 'Access-Control-Expose-Headers: Content-Range, Content-Length'."
            )
        head = await _body(response, controller)
        counter.add(len(head))
        source = XhrRangeSource(final_url, total, head, counter=counter)
        return OpenedSource(source, final_url, stamp=_stamp(response, total))
    if status == 416:  # an empty file: no byte 0 to send
        counter.add(0)
        total = total_from_content_range(response.headers.get("Content-Range")) or 0
        return OpenedSource(XhrRangeSource(final_url, total, counter=counter), final_url)
    if status == 200:
        return await _read_whole(response, controller, final_url, whole_file_limit, counter)
    controller.abort()
    raise FetchError(final_url, status, str(response.statusText or ""))


async def _read_whole(
    response: Any, controller: Any, url: str, limit: int, counter: RequestCounter
) -> OpenedSource:
    """A ``200`` to a ranged request: read the body only if it is small, else abort it."""
    length = response.headers.get("Content-Length")
    size = int(length) if length and str(length).isdigit() else None
    if size is not None and size > limit:
        controller.abort()
        raise NoRangeSupportError(url, size, limit)
    body = await _body(response, controller, limit)
    if body is None:
        raise NoRangeSupportError(url, size, limit)
    counter.add(len(body))
    note = (
        f"The server does not support HTTP Range requests, so the whole file "
        f"({len(body) / 1e6:.1f} MB) was downloaded; large files need a server that does."
    )
    source = MemorySource(body, name=_name_from_url(url))
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


def _stamp(response: Any, size: int) -> dict[str, Any]:
    """What identifies this version of the file: its size and validators from the probe."""
    headers = response.headers
    etag, modified = headers.get("ETag"), headers.get("Last-Modified")
    return {"size": size, "etag": str(etag) if etag else None,
            "last_modified": str(modified) if modified else None}


def pack_metadata(stamp: dict[str, Any], block_size: int, blocks: dict[int, bytes],
                  limit: int = METADATA_MAX_BYTES) -> bytes | None:
    """One blob: a length-prefixed JSON index, then the blocks. ``blocks`` in LRU order (the
    last used last); past ``limit`` the least recently used are left out. None when the
    stamp cannot validate a later open."""
    if not (stamp.get("etag") or stamp.get("last_modified")):
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
    await store.put(url, Response.new(array))
    return len(blob)


async def save_tree(url: str, entry: dict[str, Any]) -> None:
    """Keep what the page drew for ``url`` (``{"stamp", "final_url", "reply"}``), so the next
    visit can draw it before Python is up, once its own probe shows the same stamp."""
    import js
    from js import Response

    caches = getattr(js, "caches", None)
    if caches is None or not (entry["stamp"].get("etag") or entry["stamp"].get("last_modified")):
        return
    store = await caches.open(TREE_CACHE)
    await store.put(url, Response.new(json.dumps(entry)))


async def load_metadata(url: str, stamp: dict[str, Any]) -> tuple[int, dict[int, bytes]] | None:
    """``(block_size, blocks)`` kept for ``url`` if they stamp the same file as ``stamp``;
    a stale or damaged entry is deleted."""
    store = await _metadata_cache()
    if store is None:
        return None
    response = await store.match(url)
    if not response:
        return None
    try:
        stored, block_size, blocks = unpack_metadata((await response.arrayBuffer()).to_bytes())
    except (ValueError, KeyError, TypeError):
        stored, block_size, blocks = {}, 0, {}
    if not same_file(stored, stamp):
        await store.delete(url)
        return None
    return block_size, blocks


def _name_from_url(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or url
