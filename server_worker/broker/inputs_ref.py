"""What a job's input reference means: the one spelling stored, its hash when known, a label.

The same bytes can be named several ways: ``sha256://<HEX>?label=a.nwb``, the same hash in
lower case with another label, or this store's HTTP URL ``http://host/api/store/<hex>?label=x``.
All of them are one input: a job record holds the canonical ``sha256://<hex>?label=...``
when this store has the object (workers fetch it from here), and the hash is what completed
jobs are matched on, so a sort is never run twice on the same bytes however they are named.
A plain URL keeps its spelling; its hash becomes known when a worker has downloaded it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from nwbscope.errors import ParameterError
from nwbscope.store import format_uri, parse_uri

from ..redact import redact_url
from ..store import Store
from .models import MAX_URI

#: ``/api/store/<hex>`` at the end of a URL's path: an object of an nwbscope store.
_STORE_PATH = re.compile(r"/api/store/([0-9a-fA-F]{64})/?$")


@dataclass(frozen=True)
class InputRef:
    uri: str  # what the worker fetches
    sha256: str | None  # the bytes' hash, when the reference carries it

    @classmethod
    def parse(cls, given: object, store: Store, field: str = "input") -> InputRef:
        """Check ``given`` and spell it canonically; ParameterError naming ``field``."""
        if not isinstance(given, str) or not given.strip():
            raise ParameterError(field, "give a store URI (sha256://...) or an http(s) URL")
        text = given.strip()
        if len(text) > MAX_URI:
            raise ParameterError(field, f"longer than {MAX_URI} characters")
        if text.lower().startswith("sha256://"):
            try:
                hexdigest, label = parse_uri(text)  # any case: it answers lower-case hex
            except ParameterError as error:
                raise ParameterError(field, str(error).split(": ", 1)[-1]) from error
            if not store.has(hexdigest):
                raise ParameterError(field, f"sha256://{hexdigest} is not in this server's "
                                     "store; upload it first (PUT /api/store or "
                                     "`nwbscope store FILE`).")
            return cls(format_uri(hexdigest, label), hexdigest)
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            shown = redact_url(text)[:200]
            raise ParameterError(
                field, f"{shown!r} is neither a store URI (sha256://<hex>) nor an http(s) URL")
        match = _STORE_PATH.search(parts.path)
        if match is None:
            return cls(text, None)
        hexdigest = match.group(1).lower()
        label = parse_qs(parts.query).get("label", [None])[-1]
        if store.has(hexdigest):
            return cls(format_uri(hexdigest, label), hexdigest)
        return cls(text, hexdigest)  # another server's store: fetched there, hash checked

    @staticmethod
    def label_of(uri: str) -> str:
        """A short name for people: the store label, else the URL's last path segment."""
        if uri.startswith("sha256://"):
            try:
                hexdigest, label = parse_uri(uri)
            except ParameterError:
                return uri[:40]
            return label or f"sha256:{hexdigest[:12]}"
        parts = urlsplit(uri)
        name = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
        label = parse_qs(parts.query).get("label", [None])[-1]
        return label or name or parts.netloc.rpartition("@")[2]  # never a user:password@
