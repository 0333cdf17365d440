"""An HTTP(S) source for CPython, on the standard library only (every request a ranged GET).

The browser has its own source (``sources.browser``, synchronous XMLHttpRequest); this one
serves the command line, tests and benchmarks with the same rules:
- every request carries ``Range``; the size comes from the first response's
  ``Content-Range`` (no HEAD, never a plain GET);
- a redirect is followed once, and the final URL is used from then on (an ``opener`` may
  check each request: the server's URL policy);
- an error status raises ``FetchError``; a server that answers ``200`` to a ranged request
  (no Range support) has its body read whole if it is at most ``whole_file_limit`` bytes,
  else ``NoRangeSupportError``.
Headers are read and the limit set by ``probe.py``, as in the browser.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping

from ..errors import FetchError, NoRangeSupportError, SourceError
from .base import BaseSource
from .probe import WHOLE_FILE_LIMIT, content_length, parse_content_range


class HttpSource(BaseSource):
    """A remote file read with ``Range`` requests through ``urllib``."""

    size_known = False

    def __init__(
        self,
        url: str,
        *,
        whole_file_limit: int = WHOLE_FILE_LIMIT,
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
        opener: urllib.request.OpenerDirector | None = None,
    ) -> None:
        self.url = url
        self.opener = opener  # a server's: checks every request, redirects included
        self.final_url = url
        self.name = url.rsplit("/", 1)[-1].split("?", 1)[0] or url
        self.whole_file_limit = whole_file_limit
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._size: int | None = None
        self._whole: bytes | None = None  # the body, when the server ignored Range
        self.etag: str | None = None  # identifies this version of the file (warm reopen)

    @property
    def size(self) -> int:
        if self._size is None:
            self._read(0, 1)  # one ranged request; its Content-Range carries the size
        if self._size is None:
            raise SourceError(f"The server of {self.url} did not say how large the file is.")
        return self._size

    def _read(self, start: int, stop: int) -> bytes:
        """One ranged GET; a server that sends less than asked (some cap a response's size)
        is asked again for the rest."""
        parts: list[bytes] = []
        while start < stop:
            data = self._get(start, stop)
            if not data:
                break
            parts.append(data)
            start += len(data)
            if self._size is not None:
                stop = min(stop, self._size)
        return b"".join(parts)

    def _get(self, start: int, stop: int) -> bytes:
        if self._whole is not None:
            return self._whole[start:stop]
        request = urllib.request.Request(
            self.final_url, headers={**self.headers, "Range": f"bytes={start}-{stop - 1}"}
        )
        try:
            open_url = self.opener.open if self.opener else urllib.request.urlopen
            response = open_url(request, timeout=self.timeout)  # noqa: S310
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 416:  # the range starts at or past the end
                total = parse_content_range(exc.headers.get("Content-Range"))[2]
                if total is not None:
                    self._learn_size(total)
                return b""
            raise FetchError(self.final_url, exc.code, str(exc.reason)) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SourceError(f"Could not reach {self.final_url}: {reason}.") from None
        with response:
            self.final_url = response.geturl() or self.final_url
            if response.status == 206:
                first, _, total = parse_content_range(response.headers.get("Content-Range"))
                if total is not None:
                    self._learn_size(total)
                self.etag = response.headers.get("ETag") or self.etag
                if first is not None and first != start:
                    raise SourceError(
                        f"The server of {self.final_url} answered bytes from {first} when "
                        f"asked for bytes from {start}; it does not handle Range correctly."
                    )
                return response.read(stop - start)
            return self._read_whole(response)[start:stop]

    def _read_whole(self, response) -> bytes:
        """The server answered 200 with the whole file: keep it if it is small enough."""
        size = content_length(response.headers.get("Content-Length"))
        if size is not None and size > self.whole_file_limit:
            raise NoRangeSupportError(self.final_url, size, self.whole_file_limit)
        body = response.read(self.whole_file_limit + 1)
        if len(body) > self.whole_file_limit:
            raise NoRangeSupportError(self.final_url, size, self.whole_file_limit)
        self._whole = body
        self._learn_size(len(body))
        return body

    def _learn_size(self, size: int) -> None:
        self._size = size
        self.size_known = True

    def close(self) -> None:
        super().close()
        self._whole = None
