"""Time bases of TimeSeries: ``starting_time`` + ``rate``, or explicit ``timestamps``.

Why first/last only: a long recording can have hundreds of millions of timestamps; the tree,
the summary and a view's time axis need the span and the count, which the first and the last
value give. Windows of times are read on demand (``sample_times``), never the whole array.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from ..errors import ParameterError


@dataclass(frozen=True)
class TimeBase:
    """Where the samples of a TimeSeries lie in time (seconds from the session start)."""

    kind: Literal["rate", "timestamps"]
    n_samples: int
    start: float | None  # time of the first sample
    stop: float | None  # time of the last sample
    rate: float | None = None  # samples per second (rate kind), or None
    timestamps_path: str | None = None  # where the timestamps are read from (may be a link)

    @property
    def duration(self) -> float | None:
        """Span covered by the samples: n / rate, or last - first timestamp."""
        if self.kind == "rate":
            return self.n_samples / self.rate if self.rate else None
        if self.start is None or self.stop is None:
            return None
        return self.stop - self.start

    def as_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["duration"] = self.duration
        return result

    def summary(self) -> str:
        """One line: ``20000 samples at 10000 Hz from 0 s (2 s)``."""
        span = f" ({self.duration:.6g} s)" if self.duration is not None else ""
        if self.kind == "rate":
            start = f"{self.start:.6g}" if self.start is not None else "?"
            return f"{self.n_samples} samples at {self.rate:.6g} Hz from {start} s{span}"
        if self.n_samples == 0:
            return "0 timestamps"
        return (f"{self.n_samples} timestamps from {self.start:.6g} s to "
                f"{self.stop:.6g} s{span}")


def _float(value: Any) -> float | None:
    try:
        return float(np.asarray(value).reshape(-1)[0]) if value is not None else None
    except (TypeError, ValueError, IndexError):
        return None


def _n_samples(group: Any) -> int:
    """Samples along the first axis of ``data``; an external ImageSeries counts its frames."""
    n = 0
    if "data" in group and group["data"].kind == "dataset":
        shape = group["data"].shape
        n = int(shape[0]) if shape else 1
    if n == 0 and "external_file" in group and "num_samples" in group:
        n = int(_float(group["num_samples"][()]) or 0)
    return n


def read_timebase(group: Any) -> TimeBase | None:
    """The time base of a TimeSeries group; None when it has neither rate nor timestamps."""
    if "timestamps" in group:
        stamps = group["timestamps"]
        count = int(stamps.shape[0]) if stamps.shape else 0
        first = _float(stamps[0]) if count else None
        last = _float(stamps[count - 1]) if count else None
        return TimeBase("timestamps", count, first, last,
                        timestamps_path=getattr(stamps, "path", None))
    if "starting_time" in group:
        node = group["starting_time"]
        start = _float(node[()])
        rate = _float(node.attrs.get("rate"))
        n = _n_samples(group)
        stop = None
        if start is not None and rate:
            stop = start + (n - 1) / rate if n else start
        return TimeBase("rate", n, start, stop, rate=rate)
    return None


def sample_times(group: Any, start: int, stop: int) -> np.ndarray:
    """Times (s) of samples ``start..stop-1``: computed from the rate or read as a slice."""
    base = read_timebase(group)
    if base is None:
        raise ParameterError("path", f"{getattr(group, 'path', '?')} has no time base "
                             "(neither timestamps nor starting_time)")
    stop = min(stop, base.n_samples)
    start = max(0, min(start, stop))
    if base.kind == "timestamps":
        return np.asarray(group["timestamps"][start:stop], dtype=float)
    return (base.start or 0.0) + np.arange(start, stop, dtype=float) / float(base.rate or 1.0)
