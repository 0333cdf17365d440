"""Spectrogram of one channel over a time window, with numpy only (no scipy in Pyodide).

Why this matches ``scipy.signal.spectrogram(x, fs, window="hann", nperseg, noverlap,
scaling="density")``: scientists compare what they see with what they compute; so the same
periodic Hann window, per-segment mean removal (``detrend="constant"``), one-sided density
scaling and segment-centre times are used, and the tests hold the two to 1e-6.

Why a cap on the segments: a window of an hour holds millions of segments but the plot has
``width_px`` columns. When the window holds more segments than that, evenly spaced segments
are computed (each exactly as scipy would) and the rest are not read at all; the result says
so in ``warnings``. Segments are read in runs of adjacent rows, so a sparse pick reads only
the chunks under the picked segments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...errors import ParameterError
from ..window import TimeWindow
from .series import SeriesTime, channel_list, window_indices

MAX_NPERSEG = 65536  # samples per segment (32769 frequencies)
MAX_RUN = 1 << 20  # samples of the channel read at once (8 MB as float64)
DB_RANGE = 200.0  # dB below the peak where the dB image is floored (zeros are not -inf)


@dataclass(frozen=True, eq=False)
class Spectrogram:
    """Power spectral density of one channel: ``power[f, k]`` at ``freqs[f]`` and segment
    ``k`` centred at ``times[k]`` (session seconds), in ``unit``."""

    window: TimeWindow
    channel: int
    times: np.ndarray  # float64 (n_times,)
    freqs: np.ndarray  # float64 (n_freqs,), within [fmin, fmax]
    power: np.ndarray  # float64 (n_freqs, n_times), density (value unit squared per Hz)
    power_db: np.ndarray  # float32, 10 log10(power), floored DB_RANGE below the peak
    segment_starts: np.ndarray  # int64, first row of data of each segment
    fs: float  # sampling rate used (Hz)
    nperseg: int
    noverlap: int
    n_segments_total: int  # segments the window holds; more than n_times when capped
    unit: str  # of ``power``
    warnings: tuple[str, ...]


def spectrogram(series: SeriesTime, window: TimeWindow, channel: int = 0, *,
                nperseg: int = 256, segment_s: float | None = None, overlap: float = 0.5,
                fmin: float = 0.0, fmax: float | None = None, max_times: int | None = None,
                detrend: bool = True) -> Spectrogram:
    """Spectrogram of ``channel`` over ``window``.

    ``segment_s`` (seconds) overrides ``nperseg`` (samples); ``overlap`` is the fraction of a
    segment shared with the next (``noverlap = floor(overlap * nperseg)``); at most
    ``max_times`` (default ``window.width_px``) segments are computed.
    """
    chan = int(channel_list(series, [channel])[0])
    warnings = list(series.warnings)
    i0, i1 = window_indices(series, window)
    fs = _sampling_rate(series, i0, i1, warnings)
    if segment_s is not None:
        if not (math.isfinite(segment_s) and segment_s > 0):
            raise ParameterError("segment_s", f"a segment must last > 0 s, got {segment_s}")
        nperseg = int(round(segment_s * fs))
    nperseg = int(nperseg)
    if not 2 <= nperseg <= MAX_NPERSEG:
        raise ParameterError("nperseg", f"a segment must hold 2 to {MAX_NPERSEG} samples, "
                             f"got {nperseg}")
    if not 0.0 <= overlap < 1.0:
        raise ParameterError("overlap", f"the overlap is a fraction in [0, 1), got {overlap}")
    noverlap = int(math.floor(overlap * nperseg))
    step = nperseg - noverlap
    cap = int(max_times or window.width_px)
    if cap < 1:
        raise ParameterError("max_times", f"at least one time bin is needed, got {cap}")
    freqs = np.fft.rfftfreq(nperseg, 1.0 / fs)
    top = fs / 2 if fmax is None else fmax
    keep = (freqs >= fmin) & (freqs <= top)
    total = (i1 - i0 - nperseg) // step + 1 if i1 - i0 >= nperseg else 0
    if total == 0:
        warnings.append(f"The window holds {i1 - i0} samples of {series.path}, fewer than "
                        f"one segment of {nperseg}; zoom out or shorten the segment.")
    starts = i0 + np.arange(total, dtype=np.int64) * step
    if total > cap:
        starts = np.unique(starts[np.round(np.linspace(0, total - 1, cap)).astype(np.int64)])
        warnings.append(f"The window holds {total} segments of {nperseg} samples; "
                        f"{starts.size} evenly spaced ones are shown (about one in "
                        f"{total / starts.size:.1f}). Zoom in to see every segment.")
    taper = _hann(nperseg)
    scale = 1.0 / (fs * float(np.sum(taper * taper)))
    columns, times = [], []
    gap = max(nperseg, int(series.chunks[0]) if series.chunks else 0)
    for a, b, offsets in _runs(starts, nperseg, gap):
        x = _channel_values(series, chan, a, b)
        segs = np.lib.stride_tricks.sliding_window_view(x, nperseg)[offsets]
        if detrend:
            segs = segs - segs.mean(axis=1, keepdims=True)
        spec = np.abs(np.fft.rfft(segs * taper, axis=1)) ** 2 * scale
        spec[:, 1 : nperseg // 2 + (nperseg % 2)] *= 2.0  # one-sided: all but DC/Nyquist
        columns.append(spec[:, keep])
        times.append(_centre_times(series, a, b, offsets + nperseg / 2))
    power = (np.concatenate(columns).T if columns
             else np.zeros((int(keep.sum()), 0), dtype=np.float64))
    return Spectrogram(
        window=window, channel=chan,
        times=np.concatenate(times) if times else np.zeros(0), freqs=freqs[keep],
        power=np.ascontiguousarray(power), power_db=_decibels(power),
        segment_starts=starts, fs=fs, nperseg=nperseg, noverlap=noverlap,
        n_segments_total=int(total), unit=f"{series.unit}^2/Hz" if series.unit else "1/Hz",
        warnings=tuple(warnings))


def _sampling_rate(series: SeriesTime, i0: int, i1: int, warnings: list[str]) -> float:
    """The rate, or the mean rate of the window's timestamps (the FFT assumes even spacing,
    and the view says it did)."""
    if series.rate is not None:
        return float(series.rate)
    if i1 - i0 >= 2:
        span = series.time_of(i1 - 1) - series.time_of(i0)
        if span > 0:
            fs = (i1 - i0 - 1) / span
            warnings.append(f"{series.path} has timestamps, not a rate; its samples are taken "
                            f"as evenly spaced at their mean rate in the window, {fs:.6g} Hz.")
            return fs
    if series.mean_rate:
        return float(series.mean_rate)
    raise ParameterError("t", f"the window holds too few samples of {series.path} to tell "
                         "its sampling rate; zoom out")


def _hann(n: int) -> np.ndarray:
    """The periodic Hann window (scipy's ``get_window("hann", n)``, for spectral use)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def _runs(starts: np.ndarray, nperseg: int, gap: int) -> list[tuple[int, int, np.ndarray]]:
    """Segments grouped into row ranges ``[a, b)`` read at once, up to ``MAX_RUN`` rows;
    ``offsets`` are starts minus ``a``. Segments less than ``gap`` rows apart share a range
    (a chunk under several picked segments is then read once, not once per segment)."""
    out: list[tuple[int, int, np.ndarray]] = []
    group: list[int] = []
    for s in starts.tolist():
        if group and (s > group[-1] + nperseg + gap or s + nperseg - group[0] > MAX_RUN):
            out.append((group[0], group[-1] + nperseg, np.asarray(group) - group[0]))
            group = []
        group.append(s)
    if group:
        out.append((group[0], group[-1] + nperseg, np.asarray(group) - group[0]))
    return out


def _channel_values(series: SeriesTime, chan: int, a: int, b: int) -> np.ndarray:
    data = series.data
    raw = data[a:b, chan] if len(series.shape) == 2 else data[a:b]
    return series.values(np.asarray(raw).reshape(-1, 1), np.asarray([chan]))[:, 0]


def _centre_times(series: SeriesTime, a: int, b: int, centres: np.ndarray) -> np.ndarray:
    """Session times at fractional rows ``a + centres`` (as scipy's ``t``, offset by the
    time of the row ``a``)."""
    if series.kind == "rate":
        return series.start + (a + centres) / float(series.rate or 1.0)
    stamps = series.times(a, b)
    return np.interp(centres, np.arange(stamps.size, dtype=np.float64), stamps)


def _decibels(power: np.ndarray) -> np.ndarray:
    peak = float(power.max()) if power.size else 0.0
    floor = peak * 10.0 ** (-DB_RANGE / 10.0) if peak > 0 else np.finfo(np.float64).tiny
    return (10.0 * np.log10(np.maximum(power, floor))).astype(np.float32)
