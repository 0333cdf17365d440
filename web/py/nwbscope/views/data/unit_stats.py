"""Statistics of one spike train: firing rate over time, autocorrelogram, ISI histogram.

Why plain functions of an array: they are what a unit's side panels show, whichever table the
unit came from, and they are checked against brute-force numpy counts on small trains. Every
one is linear (or n log n) in the number of spikes, because a unit of an hour-long recording
has hundreds of thousands of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...errors import ParameterError

MAX_BINS = 200_000  # more bins than this is a mistake in the parameters, not a plot
ACG_PAIR_CHUNK = 2_000_000  # spike pairs differenced at once (bounds memory, not the result)
REFRACTORY_S = 0.0015  # ISIs shorter than this are counted as refractory violations


@dataclass(frozen=True)
class FiringRate:
    """Spike counts per bin and the rate (Hz), smoothed when ``sigma_s`` is set."""

    edges: np.ndarray  # n_bins + 1 bin edges (s)
    counts: np.ndarray  # int64 spikes per bin
    rate_hz: np.ndarray  # float64, counts / bin width, then smoothed
    bin_s: float
    sigma_s: float | None

    @property
    def centers(self) -> np.ndarray:
        return (self.edges[:-1] + self.edges[1:]) / 2


@dataclass(frozen=True)
class Correlogram:
    """Counts of spike pairs by lag, the zero-lag pair of a spike with itself excluded."""

    edges_ms: np.ndarray  # n_bins + 1 lag bin edges (ms), from -window to +window
    counts: np.ndarray  # int64 pairs per lag bin
    window_ms: float
    bin_ms: float
    n_spikes: int


@dataclass(frozen=True)
class IsiHistogram:
    """Counts of inter-spike intervals; ``edges_s`` log-spaced when ``log`` is set."""

    edges_s: np.ndarray
    counts: np.ndarray  # int64
    log: bool
    n_intervals: int  # all intervals of the train, inside the edges or not
    n_refractory: int  # intervals shorter than ``refractory_s``
    refractory_s: float

    @property
    def refractory_fraction(self) -> float:
        return self.n_refractory / self.n_intervals if self.n_intervals else 0.0


def _check_positive(field: str, value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise ParameterError(field, f"must be a positive number of seconds, got {value}")
    return float(value)


def _n_bins(field: str, span: float, width: float) -> int:
    n = max(1, int(round(span / width)))
    if n > MAX_BINS:
        raise ParameterError(field, f"{span:g} in bins of {width:g} makes {n} bins, more than "
                             f"{MAX_BINS}; choose wider bins or a shorter span")
    return n


def gaussian_smooth(values: np.ndarray, sigma_bins: float) -> np.ndarray:
    """Gaussian smoothing (kernel cut at 4 sigma) by convolution in numpy.

    Near the ends the kernel falls partly outside the data; dividing by the smoothed ones
    keeps the rate unbiased there instead of sagging towards zero at both edges.
    """
    if sigma_bins <= 0 or len(values) == 0:
        return values.astype(float)
    half = max(1, int(math.ceil(4 * sigma_bins)))
    x = np.arange(-half, half + 1, dtype=float)
    kernel = np.exp(-0.5 * (x / sigma_bins) ** 2)
    kernel /= kernel.sum()
    n = len(values)
    smooth = np.convolve(values.astype(float), kernel)[half: half + n]  # centred, any length
    norm = np.convolve(np.ones(n), kernel)[half: half + n]
    return smooth / norm


def firing_rate(spikes: np.ndarray, start: float, end: float, bin_s: float,
                sigma_s: float | None = None) -> FiringRate:
    """Rate (Hz) in bins of ``bin_s`` over ``[start, end)``; the last bin may be cut short of
    ``bin_s`` only when the span is not a whole number of bins (edges stay evenly spaced)."""
    bin_s = _check_positive("bin_s", bin_s)
    if not end > start:
        raise ParameterError("t", f"the span must end after it starts, got {start} to {end}")
    n = _n_bins("bin_s", end - start, bin_s)
    edges = np.linspace(start, end, n + 1)
    inside = spikes[(spikes >= start) & (spikes < end)]
    counts = np.histogram(inside, edges)[0].astype(np.int64)
    width = (end - start) / n
    rate = counts / width
    if sigma_s:
        rate = gaussian_smooth(rate, _check_positive("sigma_s", sigma_s) / width)
    return FiringRate(edges, counts, rate, width, sigma_s or None)


def autocorrelogram(spikes: np.ndarray, window_ms: float = 50.0,
                    bin_ms: float = 1.0) -> Correlogram:
    """Pairs ``(i, j)``, ``i != j``, by lag ``t[j] - t[i]`` in ``[-window, +window]``.

    Sorted times and ``searchsorted`` find each spike's neighbours within the window (plus one
    bin of margin, so float rounding at the edge never drops a pair the histogram would
    count); only those pairs are differenced, in chunks, so the cost is the number of pairs,
    not n². Each pair is counted at ``+lag`` and ``-lag``, so the result is symmetric.
    """
    window_s = _check_positive("window_ms", window_ms) / 1000.0
    bin_s = _check_positive("bin_ms", bin_ms) / 1000.0
    n_bins = _n_bins("bin_ms", 2 * window_s, bin_s)
    edges_ms = np.linspace(-window_ms, window_ms, n_bins + 1)
    edges_s = edges_ms / 1000.0
    t = np.sort(np.asarray(spikes, dtype=np.float64))
    counts = np.zeros(n_bins, dtype=np.int64)
    n = len(t)
    if n < 2:
        return Correlogram(edges_ms, counts, float(window_ms), float(bin_ms), n)
    hi = np.searchsorted(t, t + window_s + bin_s, side="right")
    after = hi - np.arange(1, n + 1)  # neighbours after spike i (j > i)
    cumulative = np.cumsum(after)
    begin = 0
    while begin < n:
        base = int(cumulative[begin - 1]) if begin else 0
        stop = int(np.searchsorted(cumulative, base + ACG_PAIR_CHUNK, side="right"))
        stop = max(stop, begin + 1)
        per = after[begin:stop]
        total = int(per.sum())
        if total:
            first = np.repeat(np.arange(begin, stop), per)
            offsets = np.arange(total) - np.repeat(np.cumsum(per) - per, per)
            lags = t[first + 1 + offsets] - t[first]
            counts += np.histogram(lags, edges_s)[0]
            counts += np.histogram(-lags, edges_s)[0]
        begin = stop
    return Correlogram(edges_ms, counts, float(window_ms), float(bin_ms), n)


def isi_histogram(spikes: np.ndarray, n_bins: int = 100, max_s: float = 0.1,
                  log: bool = False, min_s: float = 1e-4,
                  refractory_s: float = REFRACTORY_S) -> IsiHistogram:
    """Histogram of the intervals between consecutive spikes (sorted first) up to ``max_s``;
    with ``log`` the edges are log-spaced from ``min_s`` (a log axis cannot start at 0)."""
    if not 1 <= int(n_bins) <= MAX_BINS:
        raise ParameterError("n_bins", f"must be 1 to {MAX_BINS}, got {n_bins}")
    max_s = _check_positive("max_s", max_s)
    if log:
        min_s = _check_positive("min_s", min_s)
        if min_s >= max_s:
            raise ParameterError("min_s", f"must be below max_s ({max_s:g} s), got {min_s:g}")
        edges = np.logspace(math.log10(min_s), math.log10(max_s), int(n_bins) + 1)
    else:
        edges = np.linspace(0.0, max_s, int(n_bins) + 1)
    isi = np.diff(np.sort(np.asarray(spikes, dtype=np.float64)))
    counts = np.histogram(isi, edges)[0].astype(np.int64)
    return IsiHistogram(edges, counts, bool(log), int(len(isi)),
                        int(np.count_nonzero(isi < refractory_s)), float(refractory_s))
