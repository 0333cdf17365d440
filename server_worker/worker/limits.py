"""What a worker may fetch and keep: the worker's share of the server's limits.

One frozen record passed from ``Settings`` (the embedded worker) or from ``nwbscope worker``'s
options (workers elsewhere) into the daemon, so the input fetcher and the clean-up read the
same values and no module reads the environment on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import Settings


@dataclass(frozen=True)
class WorkerLimits:
    #: Fetch input URLs on loopback, link-local or private addresses (the broker's own
    #: origin is always allowed). Off by default: a job must not reach the worker's network.
    allow_private_urls: bool = False
    #: Largest input in bytes; refused from the size the server reports, before downloading.
    max_input_bytes: int = 100 << 30
    #: Bytes of the cache of downloaded inputs; least recently used inputs are removed first.
    input_cache_bytes: int = 50 << 30
    #: Seconds a failed or cancelled job's folder is kept for inspection.
    keep_failed_seconds: float = 7 * 86400.0

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerLimits:
        return cls(allow_private_urls=settings.allow_private_urls,
                   max_input_bytes=settings.max_input_bytes,
                   input_cache_bytes=settings.input_cache_bytes,
                   keep_failed_seconds=settings.keep_failed_seconds)
