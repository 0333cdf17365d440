"""Spectrogram of one channel of a TimeSeries over the visible window, in dB.

Why one channel and these controls: a spectrogram answers "which rhythm, when" for one
signal, and its two trade-offs (time against frequency resolution: the segment length;
smoothness: the overlap) are the scientist's choice, as are the frequencies of interest.
The data step (``data.spectrogram``, scipy's definition) computes at most ``width_px``
segments, so the image never has more columns than the plot has pixels.

Source ``spectrogram``: one row, ``image`` = ``[[row per frequency]]`` (dB, float32; row 0
is the lowest frequency, so the image is drawn upright), ``x``/``dw`` the time extent,
``y``/``dh`` the frequency extent (each pixel centred on its segment's time and its
frequency), ``low``/``high`` the colour scale (the 2nd percentile to the peak, so the
200 dB floor of silent bins does not wash the picture out), applied by a ``CustomJS`` when
data arrive. No segment in the window: every column is empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ParameterError
from .base import Frame, Option
from .data.electrodes import read_electrodes
from .data.spectrogram import MAX_NPERSEG, Spectrogram, spectrogram
from .series_view import SeriesView
from .window import TimeWindow

SOURCE = "spectrogram"
DEFAULT_NPERSEG = 256
LOW_PERCENTILE = 2.0
SCALE_JS = """
const d = source.data;
if (d.low && d.low.length) { mapper.low = d.low[0]; mapper.high = d.high[0]; }
"""


class SpectrogramView(SeriesView):
    """One channel's power spectral density against time (image), with a dB colour bar."""

    height = 320


    @property
    def fs(self) -> float:
        """The sampling rate the controls are sized from (the mean rate of timestamps)."""
        return float(self.series.mean_rate or 1.0)

    def channel_labels(self) -> list[str]:
        """Electrode labels for an ElectricalSeries (what the traces' y axis says)."""
        series = self.series
        group = self.nwb.group(self.path)
        if self.nwb.is_a(group, "ElectricalSeries"):
            return list(read_electrodes(self.nwb, group, series.n_channels).labels)
        return [f"ch {c}" for c in range(series.n_channels)]

    def options(self) -> list[Option]:
        fs = self.fs
        nyquist = fs / 2.0
        segment = float(f"{min(DEFAULT_NPERSEG, max(2, self.series.n_samples)) / fs:.4g}")
        options = []
        if len(self.series.shape) == 2:
            labels = self.channel_labels()
            options.append(Option("channel", "Channel", "select", "0", choices=tuple(
                (str(c), f"#{c} {label}") for c, label in enumerate(labels))))
        options += [
            Option("segment_s", "Segment (s)", "number", segment, low=2.0 / fs,
                   high=MAX_NPERSEG / fs, help="Longer: finer frequencies, coarser times"),
            Option("overlap", "Overlap", "number", 0.5, low=0.0, high=0.95, step=0.05,
                   help="Fraction of a segment shared with the next"),
            Option("fmin", "From (Hz)", "number", 0.0, low=0.0, high=nyquist),
            Option("fmax", "To (Hz)", "number", nyquist, low=0.0, high=nyquist),
        ]
        return options

    def set_option(self, name: str, value: Any) -> bool:
        """As the base, and the band must stay a band (a value that empties it is refused
        and the previous one kept)."""
        before = dict(self.values)
        rebuild = super().set_option(name, value)
        if self.values["fmin"] >= self.values["fmax"]:
            self.values = before
            raise ParameterError(name, f"the lowest frequency must be below the highest; "
                                 f"got {value} Hz for {name} "
                                 f"(the band is {before['fmin']:g} to {before['fmax']:g} Hz)")
        return rebuild


    def compute(self, window: TimeWindow) -> Spectrogram:
        """The data step with the panel's options (what ``frames`` draws; tests use it)."""
        v = self.values
        return spectrogram(self.series, window, int(v.get("channel", "0")),
                           segment_s=float(v["segment_s"]), overlap=float(v["overlap"]),
                           fmin=float(v["fmin"]), fmax=float(v["fmax"]),
                           max_times=window.width_px)

    # -- drawing ----------------------------------------------------------------------------
    def figure(self, window: TimeWindow) -> Any:
        from bokeh.models import ColorBar, ColumnDataSource, CustomJS, LinearColorMapper, Range1d
        from bokeh.palettes import Viridis256

        from .bokeh_kit import assemble, time_figure

        source = ColumnDataSource(name=SOURCE, data={
            "image": [], "x": [], "y": [], "dw": [], "dh": [], "low": [], "high": []})
        band = Range1d(float(self.values["fmin"]), float(self.values["fmax"]), name="y_range")
        plot = time_figure(self, window, "frequency (Hz)", y_range=band)
        mapper = LinearColorMapper(palette=Viridis256, name="db_colors")
        source.js_on_change("data", CustomJS(args={"source": source, "mapper": mapper},
                                             code=SCALE_JS))
        plot.image(image="image", x="x", y="y", dw="dw", dh="dh", source=source,
                   color_mapper=mapper)
        plot.add_layout(ColorBar(color_mapper=mapper, title="dB", width=10), "right")
        return assemble(self, plot)

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        result = self.compute(window)
        n_f, n_t = result.power_db.shape
        band = (float(self.values["fmin"]), float(self.values["fmax"]))
        if n_f == 0 or n_t == 0:
            empty = np.zeros(0)
            yield Frame(sources={SOURCE: {"image": [], "x": empty, "y": empty, "dw": empty,
                                          "dh": empty, "low": empty, "high": empty}},
                        status="no segment to show", notes=result.warnings,
                        ranges={"y_range": band})
            return
        x0, dw = _extent(result.times, result.nperseg / result.fs)
        df = result.fs / result.nperseg
        y0, dh = result.freqs[0] - df / 2, n_f * df
        db = result.power_db
        low = float(np.percentile(db, LOW_PERCENTILE))
        high = float(db.max())
        seg_s = result.nperseg / result.fs
        status = (f"{n_t} of {result.n_segments_total} segments · {result.nperseg} samples "
                  f"({seg_s:.4g} s) per segment, {result.noverlap} overlap · "
                  f"{df:.4g} Hz per row · {result.fs:.6g} Hz sampling")
        yield Frame(
            sources={SOURCE: {"image": [[np.ascontiguousarray(r) for r in db]],
                              "x": np.array([x0]), "y": np.array([y0]),
                              "dw": np.array([dw]), "dh": np.array([dh]),
                              "low": np.array([low]), "high": np.array([high if high > low
                                                                        else low + 1.0])}},
            status=status, notes=result.warnings, ranges={"y_range": band})


def _extent(times: np.ndarray, segment_s: float) -> tuple[float, float]:
    """Left edge and width of the image: each column centred on its segment's time, as wide
    as the spacing of the columns (one segment's length for a single column)."""
    if times.size == 1:
        return float(times[0] - segment_s / 2), float(segment_s)
    spacing = float(times[-1] - times[0]) / (times.size - 1)
    return float(times[0] - spacing / 2), float(spacing * times.size)
