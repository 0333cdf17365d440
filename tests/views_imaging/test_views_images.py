"""The Images view's data step against pynwb (order, values, orientation) and the drawing
step of both picture views: their Bokeh models (sources, slider, controls, ranges)."""

from __future__ import annotations

import numpy as np
import pytest

from nwbscope.errors import ViewError
from nwbscope.views.data.images import image_names, picture_columns, picture_kind
from nwbscope.views.panels import PanelSet
from nwbscope.views.window import TimeWindow
from tests.bokeh_docs import models
from tests.fixtures import view_imaging_files as vi

GROUP = vi.IMAGES["path"]


def last(panels: PanelSet, panel_id: str, window: TimeWindow):
    return list(panels.frames(panel_id, window))[-1]


def test_image_names_follow_order_of_images(nwb, ref) -> None:
    order = [image.name for image in ref.stimulus_template["stimuli"].order_of_images.data[:]]
    assert image_names(nwb[GROUP]) == order


@pytest.mark.parametrize("name", vi.IMAGES["names"])
def test_each_image_drawn_as_stored(nwb, ref, name: str) -> None:
    stored = np.asarray(ref.stimulus_template["stimuli"].images[name].data[:])
    panels = PanelSet(nwb)
    doc = panels.open(GROUP, options={"image": name})
    assert doc.view == "images" and not doc.time_based
    frame = last(panels, doc.panel_id, TimeWindow(0, 1))
    nx, ny = stored.shape[:2]
    assert frame.ranges == {"image_x": (0.0, nx), "image_y": (ny, 0.0)}
    if stored.ndim == 2:
        rows = np.array(frame.sources["picture"]["image"][0])
        np.testing.assert_array_equal(rows, stored.T)  # row r of the screen is y = r
        assert len(frame.sources["picture_rgba"]["image"]) == 0
    else:
        packed = np.array(frame.sources["picture_rgba"]["image"][0], dtype=np.uint32)
        as_bytes = packed.view(np.uint8).reshape(ny, nx, 4)
        channels = stored.shape[2]
        np.testing.assert_array_equal(as_bytes[..., :channels], np.transpose(stored, (1, 0, 2)))
        if channels == 3:
            assert np.all(as_bytes[..., 3] == 255)
    assert f"{nx} × {ny} px" in frame.status


def test_single_image_dataset(nwb, ref) -> None:
    stored = np.asarray(ref.stimulus_template["stimuli"].images["gray"].data[:])
    panels = PanelSet(nwb)
    doc = panels.open(GROUP + "/gray")
    frame = last(panels, doc.panel_id, TimeWindow(0, 1))
    np.testing.assert_array_equal(np.array(frame.sources["picture"]["image"][0]), stored.T)
    assert "2 pixels/cm" in frame.status  # the GrayscaleImage's resolution
    assert "option:image" not in models(doc.doc)


def test_contrast_percentiles() -> None:
    picture = np.arange(100, dtype=np.float64).reshape(10, 10)
    columns = picture_columns(picture, 10.0, 90.0)
    assert columns["low"][0] == pytest.approx(np.percentile(picture, 10))
    assert columns["high"][0] == pytest.approx(np.percentile(picture, 90))
    flat = picture_columns(np.zeros((3, 2)), 0.5, 99.5)
    assert flat["high"][0] > flat["low"][0]  # a flat picture still has a scale


def test_picture_shapes() -> None:
    assert picture_kind((4, 3), "p") == "gray" and picture_kind((4, 3, 4), "p") == "color"
    for shape in [(4,), (4, 3, 2), (0, 3), (2, 2, 2, 2)]:
        with pytest.raises(ViewError):
            picture_kind(shape, "p")


# -- drawing ------------------------------------------------------------------------------
def test_frames_document(nwb, ref) -> None:
    panels = PanelSet(nwb)
    doc = panels.open(vi.SERIES["two_photon"]["path"])
    assert doc.view == "frames" and doc.time_based
    named = models(doc.doc)
    assert {"picture", "picture_rgba", "frame_slider", "image_x", "image_y", "status",
            "picture_colors", "option:show", "option:colormap", "option:low",
            "option:high"} <= set(named)
    assert "x_range" not in named  # the picture's axes are pixels, not session time
    assert "option:plane" not in named
    slider = named["frame_slider"]["attributes"]
    n = ref.acquisition["two_photon"].data.shape[0]
    assert (slider["start"], slider["end"], slider.get("step", 1)) == (0, n - 1, 1)
    assert "frame_times" not in named  # a rate: the slider computes the time
    image_x = named["image_x"]["attributes"]
    image_y = named["image_y"]["attributes"]
    nx, ny = vi.SERIES["two_photon"]["shape"][1:]
    assert (image_x.get("start", 0), image_x["end"], image_y["start"],
            image_y.get("end", 0)) == (0, nx, ny, 0)  # (0 is Range1d's default: not sent)


def test_frames_document_with_timestamps_and_plane(nwb, ref) -> None:
    panels = PanelSet(nwb)
    doc = panels.open(vi.SERIES["image_ts"]["path"])
    named = models(doc.doc)
    assert "frame_times" in named
    assert "option:plane" not in named
    doc = panels.open(vi.SERIES["volume"]["path"])
    assert "option:plane" in models(doc.doc)


def test_colormap_rebuilds(nwb) -> None:
    panels = PanelSet(nwb)
    doc = panels.open(vi.SERIES["two_photon"]["path"])
    assert panels.set_option(doc.panel_id, "colormap", "viridis") is True
    rebuilt = panels.rebuild(doc.panel_id, TimeWindow(0, 2))
    palette = models(rebuilt.doc)["picture_colors"]["attributes"]["palette"]
    from bokeh.palettes import Viridis256

    assert list(palette) == list(Viridis256)
    assert panels.set_option(doc.panel_id, "low", 5) is False  # contrast: new frames only


def test_images_document(nwb) -> None:
    panels = PanelSet(nwb)
    doc = panels.open(GROUP)
    named = models(doc.doc)
    assert {"picture", "picture_rgba", "option:image", "option:colormap", "status"} <= set(named)
    assert "frame_slider" not in named
    choices = [c[0] for c in named["option:image"]["attributes"]["options"]]
    assert choices == vi.IMAGES["order"]
