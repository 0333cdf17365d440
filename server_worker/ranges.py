"""HTTP Range semantics (RFC 9110 section 14), one parser for every response that serves bytes.

The viewer reads NWB files lazily with ``Range`` requests, so these rules matter:
- ``bytes=a-b``, ``bytes=a-``, ``bytes=-n``; several ranges give ``multipart/byteranges``.
- A header we cannot use (another unit, bad syntax, ``b < a``, too many ranges) is *ignored*:
  the whole representation is sent with 200 (Starlette answers 400 there; RFC 9110 says ignore).
- Only when no range is satisfiable: 416 with ``Content-Range: bytes */<size>``.
- ``If-Range`` with a strong validator that does not match: 200 with everything.

``RangeFileResponse`` is Starlette's ``FileResponse`` (sendfile-friendly, HEAD, If-Range,
multipart) with this parser; ``OpenFileResponse`` is the same over a file the caller has
already opened and checked; ``RangeStreamResponse`` gives the same answers for bytes that are
not in a local file (an S3 object), reading only the requested ranges.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import BinaryIO

import anyio
from starlette.datastructures import Headers
from starlette.responses import (
    FileResponse,
    PlainTextResponse,
    RangeNotSatisfiable,
    Response,
    StreamingResponse,
)
from starlette.types import Receive, Scope, Send

MAX_RANGES = 100


class Unsatisfiable(Exception):
    """No requested range overlaps the representation."""


def parse_ranges(header: str | None, size: int) -> list[tuple[int, int]] | None:
    """``[(start, stop), ...]`` sorted and merged, or None to ignore the header (send 200).

    Raises ``Unsatisfiable`` when the header is valid but no range falls inside ``size``.
    """
    if not header or "=" not in header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    parts = [p.strip() for p in spec.split(",")]
    if not parts or len(parts) > MAX_RANGES:
        return None
    ranges: list[tuple[int, int]] = []
    for part in parts:
        first, dash, last = part.partition("-")
        first, last = first.strip(), last.strip()
        if not dash or not (first.isdigit() or (not first and last.isdigit())):
            return None  # bad syntax: ignore the whole header
        if last and not last.isdigit():
            return None
        if not first:  # suffix: the last n bytes
            n = int(last)
            if n > 0 and size > 0:
                ranges.append((max(size - n, 0), size))
            continue
        start = int(first)
        if last and int(last) < start:
            return None
        if start < size:
            ranges.append((start, min(int(last) + 1, size) if last else size))
    if not ranges:
        raise Unsatisfiable
    ranges.sort()
    merged = [ranges[0]]
    for start, stop in ranges[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def if_range_allows(if_range: str | None, etag: str | None, last_modified: str | None) -> bool:
    """True when ``If-Range`` is absent or names the current (strong) validator."""
    if if_range is None:
        return True
    if if_range.startswith("W/"):
        return False
    return if_range in (etag, last_modified)


def not_satisfiable(size: int, headers: Mapping[str, str] | None = None) -> Response:
    extra = {k: v for k, v in (headers or {}).items() if k.lower() != "content-length"}
    extra["Content-Range"] = f"bytes */{size}"
    return PlainTextResponse("Range Not Satisfiable", status_code=416, headers=extra)


class RangeFileResponse(FileResponse):
    """Starlette's FileResponse, with ``parse_ranges`` deciding what a Range header means."""

    chunk_size = 1 << 20  # 64 KiB sends cost a measurable share of loopback throughput

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        try:
            ranges = parse_ranges(http_range, file_size)
        except Unsatisfiable:
            raise RangeNotSatisfiable(file_size) from None
        return ranges or []  # [] -> Starlette sends the whole file with 200


class OpenFileResponse(RangeFileResponse):
    """``RangeFileResponse`` over an open file: the bytes sent are those of the file checked.

    Serving by path would open the path again, and whatever it names *then* would be sent: a
    file checked as HDF5 and swapped for a symlink to a secret in between would leak it. So
    every read goes to ``file`` (Starlette's ``_open_file`` hook), the ASGI ``pathsend``
    extension (the server opens the path) is withheld, and ``file`` is closed once the
    response is done, also for HEAD and errors. ``path`` is only named in messages.
    """

    def __init__(
        self,
        file: BinaryIO,
        path: str | os.PathLike[str],
        *,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        super().__init__(path, headers=headers, media_type=media_type,
                         stat_result=os.fstat(file.fileno()))
        self.file = file

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        extensions = {k: v for k, v in scope.get("extensions", {}).items()
                      if k != "http.response.pathsend"}
        try:
            await super().__call__({**scope, "extensions": extensions}, receive, send)
        finally:
            self.file.close()

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        self.file.seek(0)  # a whole-file send reads from where the file is (the caller read it)
        yield anyio.wrap_file(self.file)  # closed by __call__, not per range


class RangeStreamResponse(Response):
    """Range-aware response over ``read(start, stop) -> chunks``, for bytes not in a file.

    ``read`` is called in a worker thread (Starlette iterates sync iterators there), and only
    for the ranges asked for, so a 4-byte Range read of a 10 GB S3 object reads 4 bytes.
    """

    def __init__(
        self,
        size: int,
        read: Callable[[int, int], Iterable[bytes]],
        *,
        headers: Mapping[str, str] | None = None,
        media_type: str = "application/octet-stream",
    ) -> None:
        self.size = size
        self.read = read
        self.media_type = media_type
        self.status_code = 200
        self.background = None
        self.body = b""
        self.init_headers(headers)
        self.headers.setdefault("accept-ranges", "bytes")
        self.headers["content-length"] = str(size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Headers(scope=scope)
        head = scope.get("method", "GET").upper() == "HEAD"
        ranges = None
        if if_range_allows(
            request.get("if-range"), self.headers.get("etag"), self.headers.get("last-modified")
        ):
            try:
                ranges = parse_ranges(request.get("range"), self.size)
            except Unsatisfiable:
                await not_satisfiable(self.size, self._passed_headers())(scope, receive, send)
                return
        status, headers, body = self._plan(ranges)
        if head:
            response: Response = Response(status_code=status, headers=headers)
            # Response would set content-length to 0 for an empty body; restore the real one.
            response.headers["content-length"] = headers["content-length"]
        else:
            response = StreamingResponse(body, status_code=status, headers=headers)
        await response(scope, receive, send)

    def _passed_headers(self) -> dict[str, str]:
        skip = ("content-length", "content-type")
        return {k: v for k, v in self.headers.items() if k not in skip}

    def _plan(self, ranges) -> tuple[int, dict[str, str], Iterator[bytes]]:
        headers = dict(self.headers.items())
        if not ranges:
            return 200, headers, self._chunks([(0, self.size)])
        if len(ranges) == 1:
            start, stop = ranges[0]
            headers["content-range"] = f"bytes {start}-{stop - 1}/{self.size}"
            headers["content-length"] = str(stop - start)
            return 206, headers, self._chunks(ranges)
        boundary = secrets.token_hex(13)
        parts = [
            (
                f"--{boundary}\r\nContent-Type: {self.media_type}\r\n"
                f"Content-Range: bytes {a}-{b - 1}/{self.size}\r\n\r\n"
            ).encode("latin-1")
            for a, b in ranges
        ]
        closing = f"--{boundary}--".encode("latin-1")
        length = sum(len(p) + (b - a) + 2 for p, (a, b) in zip(parts, ranges, strict=True))
        headers["content-type"] = f"multipart/byteranges; boundary={boundary}"
        headers["content-length"] = str(length + len(closing))
        return 206, headers, self._multipart(parts, ranges, closing)

    def _chunks(self, ranges: list[tuple[int, int]]) -> Iterator[bytes]:
        for start, stop in ranges:
            yield from self.read(start, stop)

    def _multipart(self, parts, ranges, closing: bytes) -> Iterator[bytes]:
        for part, (start, stop) in zip(parts, ranges, strict=True):
            yield part
            yield from self.read(start, stop)
            yield b"\r\n"
        yield closing
