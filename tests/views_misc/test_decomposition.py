"""``views.data.decomposition`` and the DecompositionSeries view: the per-pixel mean/max of
one channel's bands or one band's channels, against numpy on pynwb's reading of the data
(each pixel column's samples found by a plain loop over the columns)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from nwbscope.errors import ParameterError
from nwbscope.views.data.decimate import pixel_edges
from nwbscope.views.data.decomposition import band_image, read_decomposition
from nwbscope.views.panels import PanelSet
from nwbscope.views.window import TimeWindow
from tests.bokeh_docs import models
from tests.fixtures import view_misc_files as vm

SPEC = vm.MISC["decomposition"]
PATH = SPEC["path"]


def pynwb_series(ref):
    return ref.processing["ecephys"]["bands_power"]


def reference(ref, window: TimeWindow, axis: str, index: int, reduce: str) -> np.ndarray:
    """(rows, width_px): mean or max per pixel column, NaN where a column has no sample."""
    series = pynwb_series(ref)
    data = np.asarray(series.data[:], dtype=np.float64) * series.conversion + series.offset
    chosen = data[:, index, :] if axis == "channel" else data[:, :, index]
    times = series.starting_time + np.arange(data.shape[0]) / series.rate
    edges = pixel_edges(window)
    out = np.full((chosen.shape[1], window.width_px), np.nan)
    for k in range(window.width_px):
        rows = (times >= edges[k]) & (times < edges[k + 1])
        if rows.any():
            out[:, k] = (chosen[rows].mean(axis=0) if reduce == "mean"
                         else chosen[rows].max(axis=0))
    return out


@pytest.mark.parametrize(("axis", "index", "reduce"), [
    ("channel", 0, "mean"), ("channel", 3, "max"), ("band", 1, "mean"), ("band", 2, "max")])
def test_binned_against_numpy(misc, ref, axis: str, index: int, reduce: str) -> None:
    window = TimeWindow(1.0, 11.3, 300)  # 2575 samples in 300 columns: ~8.6 per column
    dec = read_decomposition(misc, misc.group(PATH))
    image = band_image(dec, window, axis, index, reduce)
    want = reference(ref, window, axis, index, reduce)
    assert image.mode == "binned" and image.values.shape == want.shape
    np.testing.assert_allclose(image.values, want, rtol=1e-12, equal_nan=True)
    assert image.x0 == window.start and image.per_column.sum() == np.count_nonzero(
        (SPEC["start"] + np.arange(SPEC["shape"][0]) / SPEC["rate"] >= window.start)
        & (SPEC["start"] + np.arange(SPEC["shape"][0]) / SPEC["rate"] < window.end))


def test_blocks_split_inside_a_column(misc, ref, monkeypatch) -> None:
    """Rows read in blocks of 7 (a column's samples are split between reads)."""
    from nwbscope.views.data import decomposition

    monkeypatch.setattr(decomposition, "BLOCK_BYTES", 7 * 3 * 4)
    window = TimeWindow(0.7, 9.1, 250)
    dec = read_decomposition(misc, misc.group(PATH))
    for reduce in ("mean", "max"):
        image = band_image(dec, window, "channel", 2, reduce)
        np.testing.assert_allclose(image.values, reference(ref, window, "channel", 2, reduce),
                                   rtol=1e-12, equal_nan=True)


def test_window_past_the_end_has_empty_columns(misc, ref) -> None:
    window = TimeWindow(10.0, 14.0, 100)  # the series ends at 12.496 s
    dec = read_decomposition(misc, misc.group(PATH))
    image = band_image(dec, window, "channel", 1, "mean")
    want = reference(ref, window, "channel", 1, "mean")
    np.testing.assert_allclose(image.values, want, rtol=1e-12, equal_nan=True)
    assert np.isnan(image.values[:, -1]).all() and not np.isnan(image.values[:, 0]).any()


def test_few_samples_are_drawn_as_they_are(misc, ref) -> None:
    window = TimeWindow(2.0, 2.2, 500)  # 50 samples for 500 pixels
    dec = read_decomposition(misc, misc.group(PATH))
    image = band_image(dec, window, "band", 0)
    series = pynwb_series(ref)
    times = series.starting_time + np.arange(series.data.shape[0]) / series.rate
    rows = np.flatnonzero((times >= 2.0) & (times < 2.2))
    assert image.mode == "samples" and image.values.shape == (4, rows.size)
    np.testing.assert_array_equal(image.values, np.asarray(series.data[:])[rows, :, 0].T)
    assert image.x0 == pytest.approx(times[rows[0]] - 0.5 / series.rate)


def test_labels_from_the_bands_table_and_source_channels(misc, ref, misc_files) -> None:
    dec = read_decomposition(misc, misc.group(PATH))
    bands = pynwb_series(ref).bands.to_dataframe()
    assert list(dec.band_names) == list(bands["band_name"])
    assert [list(x) for x in dec.band_limits] == [list(x) for x in bands["band_limits"]]
    # pynwb 4 writes source_channels as ``electrodes`` and does not read it back: h5py
    with h5py.File(misc_files[0], "r") as f:
        group = f[PATH]
        rows = list(group["source_channels" if "source_channels" in group else "electrodes"])
    assert rows == list(SPEC["channels"])
    assert [int(label.split()[0]) for label in dec.channel_labels] == rows
    assert dec.metric == pynwb_series(ref).metric and dec.unit == pynwb_series(ref).unit
    assert dec.row_labels("channel")[2] == "gamma (30-80 Hz)"


def test_bad_index_is_refused(misc) -> None:
    dec = read_decomposition(misc, misc.group(PATH))
    with pytest.raises(ParameterError, match="4 channels"):
        band_image(dec, TimeWindow(0, 1), "channel", 4)


def test_view_document_and_frame(misc, ref) -> None:
    panels = PanelSet(misc)
    doc = panels.open(PATH)
    assert doc.view == "decomposition" and doc.time_based
    named = models(doc.doc)
    assert {"decomposition", "x_range", "y_range", "cursor", "option:show", "option:channel",
            "option:band", "option:reduce", "colors"} <= set(named)
    labels = named["y_range"]  # rows -0.5 .. n-0.5
    assert labels["attributes"]["start"] == -0.5 and labels["attributes"]["end"] == 2.5
    panels.set_option(doc.panel_id, "show", "band")
    panels.set_option(doc.panel_id, "band", "2")
    panels.set_option(doc.panel_id, "reduce", "max")
    doc = panels.rebuild(doc.panel_id, None)
    assert models(doc.doc)["y_range"]["attributes"]["end"] == 3.5  # 4 channels now
    window = TimeWindow(1.0, 11.3, 300)
    frame = list(panels.frames(doc.panel_id, window))[-1]
    source = frame.sources["decomposition"]
    image = np.array(source["image"][0], dtype=np.float64)
    want = reference(ref, window, "band", 2, "max")
    np.testing.assert_allclose(image, want.astype(np.float32), rtol=1e-6, equal_nan=True)
    assert source["dw"][0] == pytest.approx(window.duration)
    assert source["low"][0] == pytest.approx(np.nanmin(want), rel=1e-6)
    assert "gamma" in frame.status and "max per pixel" in frame.status


def test_timestamps_nans_and_no_bands_table(generic) -> None:
    """The h5py-written series of view_generic.nwb: bins by its timestamps, NaN samples
    left out, conversion and offset applied, bands named by number."""
    times, data = vm.decomposition_stamps()
    values = data * 0.5 + 0.25
    dec = read_decomposition(generic, generic.group(vm.MISC["decomposition_stamps"]["path"]))
    assert dec.band_names == ("band 0", "band 1", "band 2") and dec.metric == "amplitude"
    assert dec.channel_labels == ("ch 0", "ch 1")
    window = TimeWindow(3.5, 9.0, 120)
    edges = pixel_edges(window)
    for reduce in ("mean", "max"):
        image = band_image(dec, window, "channel", 0, reduce)
        want = np.full((3, 120), np.nan)
        for k in range(120):
            rows = (times >= edges[k]) & (times < edges[k + 1])
            for band in range(3):
                cell = values[rows, 0, band]
                cell = cell[np.isfinite(cell)]
                if cell.size:
                    want[band, k] = cell.mean() if reduce == "mean" else cell.max()
        np.testing.assert_allclose(image.values, want, rtol=1e-12, equal_nan=True)
    assert np.isnan(data[:, 0, 1]).any() and np.isfinite(image.values[1]).sum() > 100
