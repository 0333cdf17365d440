"""How the samples of one TimeSeries map to seconds and to physical values.

Why one record for both: every time-series view (traces, spectrogram, position) needs the
same three answers before it reads a value: which rows of ``data`` a time window covers,
what time each row has, and how a stored number becomes a value in the axis unit. They are
read once from metadata (``read_series_time``) and the rows are found without reading the
time axis: from ``starting_time`` + ``rate`` by arithmetic, from ``timestamps`` by a search
that reads a few small blocks (a long recording has 1e8+ timestamps).

Odd files are drawn anyway where the meaning is clear, and each oddity is said in
``SeriesTime.warnings`` (shown under the view); where there is no sensible reading the
message of the ``ViewError`` says what is wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ...errors import ParameterError, ViewError
from ...nwb.timebase import read_timebase
from ...nwb.values import text
from ..window import TimeWindow

SEARCH_BLOCK = 512  # timestamps read per probe of the search (4 KiB of float64)


@dataclass(frozen=True, eq=False)
class SeriesTime:
    """One TimeSeries as the data steps read it; ``data``/``timestamps`` are facade datasets.

    Sample ``i`` (``0 <= i < n_samples``) is at ``start + i / rate`` seconds (``kind ==
    "rate"``) or at ``timestamps[i]``; its value in ``unit`` is ``raw * scale[c] + offset``
    for channel ``c``, ``scale = conversion * channel_conversion``.
    """

    path: str
    kind: Literal["rate", "timestamps"]
    n_samples: int  # rows usable: the common length of data and timestamps
    start: float  # time of sample 0 (s)
    stop: float  # time of the last sample (``start`` when there is none)
    rate: float | None  # samples per second (rate kind only)
    shape: tuple[int, ...]  # shape of ``data`` as stored
    dtype: np.dtype
    chunks: tuple[int, ...] | None  # HDF5 chunk shape of ``data``; None: not chunked
    conversion: float
    offset: float
    channel_conversion: tuple[float, ...] | None
    unit: str
    warnings: tuple[str, ...]
    data: Any = field(repr=False)
    timestamps: Any = field(default=None, repr=False)

    @property
    def n_channels(self) -> int:
        """Columns of ``data`` (1 for 1-D data)."""
        return int(self.shape[1]) if len(self.shape) == 2 else 1

    @property
    def scale(self) -> np.ndarray:
        """Per channel factor from stored numbers to ``unit`` (float64, ``n_channels``)."""
        scale = np.full(self.n_channels, self.conversion, dtype=np.float64)
        if self.channel_conversion is not None:
            scale = scale * np.asarray(self.channel_conversion, dtype=np.float64)
        return scale

    @property
    def mean_rate(self) -> float | None:
        """Samples per second: the rate, or the mean rate of the timestamps."""
        if self.rate is not None:
            return self.rate
        span = self.stop - self.start
        return (self.n_samples - 1) / span if self.n_samples > 1 and span > 0 else None

    def time_of(self, index: int) -> float:
        """Time (s) of one sample; a timestamps series reads one value."""
        if self.kind == "rate":
            return self.start + float(index) / float(self.rate or 1.0)
        return float(self.timestamps[int(index)])

    def times(self, i0: int, i1: int) -> np.ndarray:
        """Times (float64, s) of samples ``i0..i1-1`` (clamped to the usable rows)."""
        i1 = max(0, min(int(i1), self.n_samples))
        i0 = max(0, min(int(i0), i1))
        if self.kind == "rate":
            return self.start + np.arange(i0, i1, dtype=np.float64) / float(self.rate or 1.0)
        return np.asarray(self.timestamps[i0:i1], dtype=np.float64).reshape(-1)

    def index_at(self, t: float) -> int:
        """The first sample at or after ``t`` (``n_samples`` when none is)."""
        if self.n_samples == 0:
            return 0
        if self.kind == "rate":
            return _rate_index(self.start, float(self.rate or 1.0), self.n_samples, t)
        return _search_timestamps(self.timestamps, self.n_samples, t, self.start, self.stop)

    def values(self, raw: np.ndarray, channels: np.ndarray | None = None) -> np.ndarray:
        """Stored numbers (rows x selected channels, or 1-D) to float64 in ``unit``."""
        scale = self.scale if channels is None else self.scale[np.asarray(channels)]
        out = np.asarray(raw, dtype=np.float64)
        if out.ndim == 1:
            return out * scale[0] + self.offset
        return out * scale[np.newaxis, :] + self.offset


def read_series_time(group: Any) -> SeriesTime:
    """The ``SeriesTime`` of a TimeSeries group; ``ViewError`` when it cannot be drawn."""
    path = str(getattr(group, "path", "?"))
    if "data" not in group or group["data"].kind != "dataset":
        raise ViewError(f"{path} has no 'data' dataset, so there is nothing to plot.")
    data = group["data"]
    shape = tuple(int(n) for n in data.shape)
    _check_data(path, data, shape)
    warnings: list[str] = []
    base = read_timebase(group)
    if base is None:
        raise ViewError(f"{path} has no time base: neither 'timestamps' nor 'starting_time' "
                        "with a 'rate'. Its samples cannot be placed in time.")
    n_data = shape[0]
    timestamps = None
    if base.kind == "timestamps":
        if "starting_time" in group:
            warnings.append(f"{path} has both 'timestamps' and 'starting_time'; the timestamps "
                            "are used.")
        timestamps = group["timestamps"]
        if timestamps.ndim != 1:
            raise ViewError(f"The timestamps of {path} have shape {timestamps.shape}; "
                            "one time per sample (a 1-D array) is expected.")
        n = min(n_data, base.n_samples)
        if n_data != base.n_samples:
            warnings.append(f"{path} has {n_data} data samples but {base.n_samples} "
                            f"timestamps; only the first {n} samples are shown.")
        start = base.start if n else 0.0
        stop = _float(timestamps[n - 1]) if n else start
        if n and not (_finite(start) and _finite(stop)):
            raise ViewError(f"The first or last timestamp of {path} is not a number "
                            f"({start}, {stop}); its samples cannot be placed in time.")
        if n > 1 and stop < start:
            warnings.append(f"The timestamps of {path} decrease (first {start:.6g} s, last "
                            f"{stop:.6g} s); the plot may be wrong.")
        rate = None
    else:
        rate, start = _rate_and_start(path, group, base.rate, base.start, warnings)
        n = n_data
        stop = start + (n - 1) / rate if n else start
    attrs = data.attrs
    conversion = _attr_float(attrs, "conversion", 1.0, path, warnings)
    offset = _attr_float(attrs, "offset", 0.0, path, warnings)
    n_channels = shape[1] if len(shape) == 2 else 1
    return SeriesTime(
        path=path, kind=base.kind, n_samples=int(n), start=float(start or 0.0),
        stop=float(stop or 0.0), rate=rate, shape=shape, dtype=np.dtype(data.dtype),
        chunks=data.storage.chunks, conversion=conversion, offset=offset,
        channel_conversion=_channel_conversion(group, path, n_channels, warnings),
        unit=text(attrs.get("unit")) or "", warnings=tuple(warnings), data=data,
        timestamps=timestamps,
    )


def window_indices(series: SeriesTime, window: TimeWindow) -> tuple[int, int]:
    """Rows ``[i0, i1)`` whose times lie in ``[window.start, window.end)``, clamped."""
    i0 = series.index_at(window.start)
    i1 = series.index_at(window.end)
    return i0, max(i0, i1)


def channel_list(series: SeriesTime, channels: Any = None) -> np.ndarray:
    """Selected channel indices (int64, in the order asked); all channels for None."""
    if channels is None:
        return np.arange(series.n_channels, dtype=np.int64)
    out = np.asarray(list(channels) if not isinstance(channels, np.ndarray) else channels)
    if out.size == 0:
        raise ParameterError("channels", "select at least one channel")
    if out.dtype.kind not in "iu" or out.ndim != 1:
        raise ParameterError("channels", f"channels are given by index, got {channels!r}")
    out = out.astype(np.int64)
    bad = out[(out < 0) | (out >= series.n_channels)]
    if bad.size:
        raise ParameterError("channels", f"{series.path} has channels 0 to "
                             f"{series.n_channels - 1}; there is no channel {int(bad[0])}")
    return out


# -- reading metadata ---------------------------------------------------------------------
def _check_data(path: str, data: Any, shape: tuple[int, ...]) -> None:
    if len(shape) == 0:
        raise ViewError(f"The data of {path} is a single value (a scalar), not a series.")
    if len(shape) > 2:
        raise ViewError(f"The data of {path} has shape {shape}; traces need 1-D (time) or 2-D "
                        "(time x channels) data. Views of images or volumes draw this kind.")
    if np.dtype(data.dtype).kind not in "biuf":
        raise ViewError(f"The data of {path} is of type {data.dtype}, not numbers; it cannot "
                        "be plotted as a trace.")


def _rate_and_start(path: str, group: Any, rate: float | None, start: float | None,
                    warnings: list[str]) -> tuple[float, float]:
    if rate is None or not math.isfinite(rate) or rate <= 0:
        what = "no 'rate' attribute" if rate is None else f"rate {rate}"
        raise ViewError(f"The starting_time of {path} has {what}; a positive sampling rate "
                        "(Hz) is needed to place its samples in time.")
    node = group["starting_time"]
    if node.shape not in ((), None):
        warnings.append(f"The starting_time of {path} is stored as an array of shape "
                        f"{tuple(node.shape)}, not a single number; its first value is used.")
    if start is None or not math.isfinite(start):
        warnings.append(f"The starting_time of {path} is {start} (not a number); the series "
                        "is drawn as if it started at 0 s.")
        start = 0.0
    return float(rate), float(start)


def _attr_float(attrs: dict[str, Any], name: str, default: float, path: str,
                warnings: list[str]) -> float:
    if name not in attrs:
        return default
    value = _float(attrs[name])
    if value is None or not math.isfinite(value):
        warnings.append(f"The data '{name}' of {path} is {attrs[name]!r}; {default:g} is used.")
        return default
    return value


def _channel_conversion(group: Any, path: str, n_channels: int,
                        warnings: list[str]) -> tuple[float, ...] | None:
    if "channel_conversion" not in group:
        return None
    values = np.asarray(group["channel_conversion"][()], dtype=np.float64).reshape(-1)
    if values.size != n_channels:
        warnings.append(f"{path} has {values.size} channel_conversion factors for "
                        f"{n_channels} channels; they are ignored.")
        return None
    return tuple(float(v) for v in values)


def _float(value: Any) -> float | None:
    try:
        return float(np.asarray(value).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        return None


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


# -- finding rows ---------------------------------------------------------------------------
def _rate_index(start: float, rate: float, n: int, t: float) -> int:
    """First ``i`` with ``start + i / rate >= t``, by the same float formula as ``times``
    (a guess from arithmetic, then corrected, so a sample on a boundary is never lost)."""
    guess = (t - start) * rate
    if not math.isfinite(guess):
        return 0 if guess < 0 else n
    i = max(0, min(n, math.ceil(guess)))
    while i > 0 and start + float(i - 1) / rate >= t:
        i -= 1
    while i < n and start + float(i) / rate < t:
        i += 1
    return i


def _search_timestamps(stamps: Any, n: int, t: float, first: float, last: float) -> int:
    """First index with ``timestamps[i] >= t`` (``n`` if none), reading few small blocks.

    Interpolation search (timestamps are nearly regular in practice, so the first guess
    usually lands in the block read), alternated with bisection so that irregular times
    still take O(log n) probes. Invariant: ``ts[lo] < t <= ts[hi]``.
    """
    if n == 0 or not t > first:
        return 0
    if t > last:
        return n
    lo, hi, v_lo, v_hi = 0, n - 1, first, last
    interpolate = True
    while True:
        if hi - lo - 1 <= SEARCH_BLOCK:
            block = np.asarray(stamps[lo + 1 : hi], dtype=np.float64).reshape(-1)
            return lo + 1 + int(np.searchsorted(block, t, side="left"))
        if interpolate and v_hi > v_lo:
            guess = lo + int((t - v_lo) / (v_hi - v_lo) * (hi - lo))
        else:
            guess = (lo + hi) // 2
        interpolate = not interpolate
        a = max(lo + 1, min(guess - SEARCH_BLOCK // 2, hi - SEARCH_BLOCK))
        b = a + SEARCH_BLOCK
        block = np.asarray(stamps[a:b], dtype=np.float64).reshape(-1)
        if block[0] >= t:
            hi, v_hi = a, float(block[0])
        elif block[-1] < t:
            lo, v_lo = b - 1, float(block[-1])
        else:
            return a + int(np.searchsorted(block, t, side="left"))
