"""Opening a remote file: the first ranged request (the probe), what its answer means, the file
stamp it gives, and the size limits. One module for the three places that open a file.

The probe is ``GET`` with ``Range: bytes=0-65535`` (never a plain GET): a ``206`` gives the size
in ``Content-Range`` and the file's first bytes (the superblock read is free); a ``200`` means
the server ignores ``Range`` (the body is read only if it is small); ``416`` is an empty file.
The stamp (size, ``ETag``, ``Last-Modified``) says which version of the file kept metadata was
read from; ``same_file`` decides whether it may be reused.

Why it imports nothing and uses no dataclasses, typing, ``re`` or ``__future__``: the page's
MicroPython loads this same file (the build places it at the site root as ``probe.py``) to
probe a file and trust a kept tree before Pyodide is up (``web/kept.py``), the worker issues
the probe before the package can be imported (``web/workers/viewer_worker.py`` loads it from
the site too), and ``nwbscope.sources.browser`` imports it as ``nwbscope.sources.probe``.
Every caller asks for the same range and reads the answer by the same rules.
"""

PROBE_BYTES = 64 * 1024  # the first bytes: superblock and root group of most files
WHOLE_FILE_LIMIT = 64 * 1024 * 1024  # a server without Range support: read whole up to this

RANGED = "ranged"  # 206 with a readable total size: read the rest by ranges
NO_SIZE = "no_size"  # 206, but Content-Range is not exposed to the page (CORS)
EMPTY = "empty"  # 416: nothing at byte 0
WHOLE = "whole"  # 200: no Range support
FAILED = "failed"  # any other status


def range_header(probe_bytes=PROBE_BYTES):
    """The probe's ``Range`` header value: the first ``probe_bytes`` bytes."""
    return "bytes=0-" + str(int(probe_bytes) - 1)


def fetch_init(probe_bytes=PROBE_BYTES):
    """The probe's ``fetch`` options (a plain dict; callers add their abort ``signal``)."""
    return {"headers": {"Range": range_header(probe_bytes)}}


def parse_content_range(value):
    """``'bytes 0-99/1000'`` -> ``(0, 100, 1000)`` (stop exclusive), ``'bytes */1000'`` ->
    ``(None, None, 1000)``; unknown parts are None, and all three for what is no
    Content-Range. (``split`` only: MicroPython's ``str`` lacks some methods.)"""
    text = str(value or "").strip()
    parts = text[6:].strip().split("/") if text.startswith("bytes ") else []
    if len(parts) != 2 or not (parts[1] == "*" or parts[1].isdigit()):
        return None, None, None
    total = int(parts[1]) if parts[1] != "*" else None
    if parts[0] == "*":
        return None, None, total
    bounds = parts[0].split("-")
    if len(bounds) != 2 or not (bounds[0].isdigit() and bounds[1].isdigit()):
        return None, None, None
    return int(bounds[0]), int(bounds[1]) + 1, total


def content_range_total(value):
    """The total size in ``bytes 0-99/1000`` or ``bytes */1000``; None when unknown."""
    return parse_content_range(value)[2]


def content_length(value):
    """``Content-Length`` as an int; None when absent or not a number."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def make_stamp(size, etag=None, last_modified=None):
    """What identifies this version of the file: its size and validators (str or None)."""
    return {"size": size, "etag": str(etag) if etag else None,
            "last_modified": str(last_modified) if last_modified else None}


def read_answer(status, header):
    """What the probe's answer means: ``(kind, size, stamp)``. ``header(name)`` reads one
    response header (``response.headers.get``, in the page and in the worker alike); ``kind``
    is ``RANGED``, ``NO_SIZE``, ``EMPTY``, ``WHOLE`` or ``FAILED``; ``stamp`` is None unless
    ``RANGED`` (only a ranged answer says which version of the file it is)."""
    status = int(status)
    if status == 206:
        total = content_range_total(header("Content-Range"))
        if total is None:
            return NO_SIZE, None, None
        return RANGED, total, make_stamp(total, header("ETag"), header("Last-Modified"))
    if status == 416:
        return EMPTY, content_range_total(header("Content-Range")) or 0, None
    if status == 200:
        return WHOLE, content_length(header("Content-Length")), None
    return FAILED, None, None


def can_validate(stamp):
    """Whether a stamp can tell a changed file later: it needs an ETag or a Last-Modified
    (size alone cannot). Nothing is kept without one."""
    return bool(stamp) and bool(stamp.get("etag") or stamp.get("last_modified"))


def same_file(stored, now):
    """True when ``stored`` and ``now`` stamp one version of a file: same size, and the same
    ETag (when either has one) or else the same Last-Modified. Without both, never."""
    if not stored or not now or stored.get("size") != now.get("size"):
        return False
    if stored.get("etag") or now.get("etag"):
        return stored.get("etag") == now.get("etag")
    return bool(now.get("last_modified")) and stored.get("last_modified") == now.get(
        "last_modified")


def handover(final_url, stamp):
    """What the page tells the worker of a probe it made (JSON-ready; its body goes beside)."""
    record = dict(stamp)
    record["final_url"] = final_url
    return record


def handover_stamp(record):
    """The stamp inside a ``handover`` record."""
    return make_stamp(int(record["size"]), record.get("etag"), record.get("last_modified"))


# Query parameters that sign or date a URL (S3 SigV4 and SigV2, GCS) or only set response
# headers (``response-content-type``): they never name other bytes.
SIGNING_PREFIXES = ("x-amz-", "x-goog-", "response-")
SIGNING_NAMES = ("signature", "expires", "awsaccesskeyid")


def file_identity(url):
    """A URL without the query parameters that only sign it: the same object on every visit.

    A store on object storage redirects to a presigned URL that differs each time; keyed or
    compared on that URL, what was kept of the file would never be found again. Everything
    else of the URL (bucket, key, other parameters, as written) is kept; a URL with no such
    parameter is its own identity. Which version of the object is the stamp's business
    (``same_file``). Plain string work: MicroPython has no ``urllib``.
    """
    if "?" not in url:
        return url
    base, query = url.split("?", 1)
    fragment = ""
    if "#" in query:
        query, fragment = query.split("#", 1)
        fragment = "#" + fragment
    pairs = query.split("&") if query else []
    kept = []
    for pair in pairs:
        name = pair.split("=", 1)[0].lower()
        if name in SIGNING_NAMES or any(name.startswith(p) for p in SIGNING_PREFIXES):
            continue
        kept.append(pair)
    if len(kept) == len(pairs):
        return url
    return base + ("?" + "&".join(kept) if kept else "") + fragment

