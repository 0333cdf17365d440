"""Whether two stamps (size, ETag, Last-Modified from a ranged probe) name one version of a file.

Kept metadata may be reused only for the very version it was read from. This module imports
nothing, because the page's MicroPython loads this same file (the build places it at the site
root as ``stamp.py``) to decide whether to draw a kept tree before Pyodide is up; the worker
imports it as ``nwbscope.sources.stamp``. One rule, one place.
"""


def same_file(stored, now):
    """True when ``stored`` and ``now`` stamp one version of a file: same size, and the same
    ETag (when either has one) or else the same Last-Modified. Without both, never."""
    if not stored or not now or stored.get("size") != now.get("size"):
        return False
    if stored.get("etag") or now.get("etag"):
        return stored.get("etag") == now.get("etag")
    return bool(now.get("last_modified")) and stored.get("last_modified") == now.get(
        "last_modified")
