"""One error tree for nwbscope, so every layer raises something a scientist can act on.

Each class is one situation; the message says what happened and what to do about it.
The page shows ``str(error)`` as it is, so messages are full sentences.

    NwbscopeError
    ├── SourceError                 the bytes could not be read
    │   ├── FetchError              HTTP error status (404, 403, 500 ...)
    │   ├── NoRangeSupportError     server ignores ``Range``; file too big to read whole
    │   ├── CorsError               browser blocked the response (server must allow it)
    │   └── SourceClosedError       reading from a closed source
    ├── FormatError                 the bytes are not what we can read
    │   ├── NotHDF5Error            no HDF5 signature
    │   ├── TruncatedFileError      the file ends before its own metadata says it does
    │   ├── UnsupportedFilterError  a compression filter we cannot decode (names itself)
    │   ├── UnsupportedFeatureError an HDF5 feature the reader cannot decode (names it)
    │   └── CorruptFileError        structures that do not parse
    ├── NotFoundError               no object at that path in the file
    │   └── BrokenLinkError         a link there points to another file or to nothing
    ├── ParameterError              a job or API call with wrong parameters (names the field)
    └── HashMismatchError           stored bytes do not match the expected SHA-256
"""

from __future__ import annotations


class NwbscopeError(Exception):
    """Base of every error nwbscope raises on purpose."""


class SourceError(NwbscopeError):
    """The bytes of a file could not be read."""


class FetchError(SourceError):
    """An HTTP request answered with an error status."""

    def __init__(self, url: str, status: int, reason: str = "") -> None:
        self.url = url
        self.status = status
        hint = {
            404: "the file is not there (check the URL)",
            403: "access is forbidden (the link may have expired or need credentials)",
            401: "the server wants credentials",
        }.get(status, reason or "the server answered with an error")
        super().__init__(f"Could not read {url}: HTTP {status}, {hint}.")


class NoRangeSupportError(SourceError):
    """The server sends whole files only; reading lazily is impossible."""

    def __init__(self, url: str, size: int | None, limit: int) -> None:
        self.url = url
        self.size = size
        self.limit = limit
        size_text = f"{size / 1e6:.1f} MB" if size is not None else "of unknown size"
        super().__init__(
            f"The server of {url} does not support HTTP Range requests, and the file is "
            f"{size_text}, more than the {limit / 1e6:.0f} MB nwbscope reads whole. "
            "Serve it from a server that answers Range requests with 206 Partial Content "
            "(most static hosts, S3 and DANDI do)."
        )


class CorsError(SourceError):
    """The browser refused to hand the response to the page."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"The browser blocked the response from {url} (no response could be read: a CORS "
            "refusal or an unreachable server). If the URL opens in a browser tab, its server "
            "must send 'Access-Control-Allow-Origin' for this site, allow the 'Range' request "
            "header and expose 'Content-Range' and 'Content-Length' "
            "(Access-Control-Expose-Headers)."
        )


class SourceClosedError(SourceError):
    """A read on a source that was closed."""


class FormatError(NwbscopeError):
    """The bytes are not a file we can read."""


class NotHDF5Error(FormatError):
    def __init__(self, name: str, head: bytes = b"") -> None:
        self.name = name
        kind = _guess_kind(head)
        super().__init__(
            f"{name} is not an HDF5 file (no HDF5 signature at the start{kind}). "
            "NWB files are HDF5 files; NWB stored as Zarr is not supported yet."
        )


class TruncatedFileError(FormatError):
    def __init__(self, name: str, size: int, wanted: int) -> None:
        self.name = name
        self.size = size
        self.wanted = wanted
        super().__init__(
            f"{name} is truncated: it has {size} bytes but its HDF5 metadata points to byte "
            f"{wanted}. The copy or download was probably cut short; fetch the file again."
        )


class UnsupportedFilterError(FormatError):
    def __init__(self, dataset: str, filter_id: int, filter_name: str = "") -> None:
        self.dataset = dataset
        self.filter_id = filter_id
        self.filter_name = filter_name
        label = f"'{filter_name}' (HDF5 filter id {filter_id})" if filter_name else (
            f"HDF5 filter id {filter_id}"
        )
        super().__init__(
            f"Dataset {dataset} is compressed with {label}, which the browser reader cannot "
            "decode. Its metadata is shown; to read its values open the file with h5py and "
            "the matching hdf5plugin."
        )


class UnsupportedFeatureError(FormatError):
    """Valid HDF5 the reader cannot decode (a datatype, a storage layout, an index kind)."""


class CorruptFileError(FormatError):
    """HDF5 structures that do not parse."""


class NotFoundError(NwbscopeError, KeyError):
    def __init__(self, path: str, name: str = "the file") -> None:
        self.path = path
        super().__init__(f"There is no object at {path!r} in {name}.")

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0])


class BrokenLinkError(NotFoundError):
    """A path runs into an external link (not followed) or a soft link to nothing."""

    def __init__(self, path: str, target: str, external: bool = False) -> None:
        self.path = path
        self.target = target
        if external:
            text = (f"{path!r} is an external link to {target}; nwbscope does not open other "
                    "files. Open that file to see the object.")
        else:
            text = f"{path!r} is a soft link to {target!r}, which is not in the file."
        Exception.__init__(self, text)


class ParameterError(NwbscopeError, ValueError):
    """A request with a wrong parameter; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class ViewError(NwbscopeError):
    """An object a view cannot draw (inconsistent shapes, an unsupported dtype, no time
    base); the message is shown inside the view's panel and says what to do."""


class HashMismatchError(NwbscopeError):
    def __init__(self, expected: str, actual: str) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"The bytes received hash to sha256 {actual}, not the expected {expected}; "
            "nothing was stored."
        )


def _guess_kind(head: bytes) -> str:
    """A short hint at what the file is instead, from its first bytes."""
    probes = {
        b"<!DOCTYPE": "; it looks like an HTML page",
        b"<html": "; it looks like an HTML page",
        b"PK\x03\x04": "; it looks like a ZIP archive",
        b"\x89PNG": "; it looks like a PNG image",
        b"{": "; it looks like JSON text",
        b"\x1f\x8b": "; it looks like a gzip archive",
    }
    stripped = head.lstrip()
    for magic, text in probes.items():
        if stripped[: len(magic)].lower() == magic.lower():
            return text
    return ""
