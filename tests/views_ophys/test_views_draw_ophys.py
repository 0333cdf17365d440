"""The Bokeh documents of the ROI and ROI-trace views: named sources, tools, aspect ratio."""

from __future__ import annotations

from nwbscope.views.panels import PanelSet
from tests.bokeh_docs import all_models, models
from tests.fixtures import view_ophys_files as vo


def of_type(doc: str, name: str) -> list[dict]:
    return [m for m in all_models(doc) if m.get("name") == name]


def test_rois_document(nwb):
    doc = PanelSet(nwb).open(vo.OPHYS["image"])
    assert doc.view == "rois" and not doc.time_based
    named = models(doc.doc)
    assert {"background", "rois", "outlines", "selected_roi", "roi_trace", "plane_x",
            "plane_y", "trace_x", "status", "option:roi", "option:series",
            "option:background"} <= set(named)
    plot = next(m for m in of_type(doc.doc, "Figure") if "frame_width" in m["attributes"])
    attrs = plot["attributes"]
    # square pixels (to the pixel of the frame's size)
    assert abs(attrs["frame_width"] - attrs["frame_height"] * vo.NX / vo.NY) < 1
    assert named["plane_y"]["attributes"]["start"] == vo.NY  # y downwards
    hover = of_type(doc.doc, "HoverTool")[0]["attributes"]["tooltips"]
    assert ["id", "@id"] in hover and ["quality", "@{c_quality}"] in hover
    assert of_type(doc.doc, "TapTool")
    codes = [m["attributes"]["code"] for m in of_type(doc.doc, "CustomJS")]
    assert any("nwbscopeViews.select" in c and "widget.value" in c for c in codes)
    assert of_type(doc.doc, "Patches") and of_type(doc.doc, "Image")


def test_rois_of_an_image_segmentation_has_a_plane_choice(nwb):
    panels = PanelSet(nwb)
    doc = panels.open(vo.OPHYS["segmentation"])
    named = models(doc.doc)
    assert "option:plane" in named
    assert panels.set_option(doc.panel_id, "plane", vo.OPHYS["voxel"]) is True
    rebuilt = panels.rebuild(doc.panel_id, None)
    assert "option:z" in models(rebuilt.doc)


def test_stacked_roi_traces_document(nwb):
    doc = PanelSet(nwb).open(vo.OPHYS["raw"])
    named = models(doc.doc)
    assert doc.view == "roi_traces" and doc.time_based
    assert {"traces", "x_range", "y_range", "cursor", "option:mode"} <= set(named)
    assert "heatmap" not in named
    axis = next(m for m in all_models(doc.doc)
                if (m.get("attributes") or {}).get("major_label_overrides"))
    labels = dict(axis["attributes"]["major_label_overrides"]["entries"])
    assert labels[0] == "roi 100" and labels[11] == "roi 133"


def test_heatmap_document(nwb):
    doc = PanelSet(nwb).open(vo.OPHYS["dff"])  # 40 ROIs: heatmap by default
    named = models(doc.doc)
    assert {"heatmap", "heatmap_colors", "x_range", "y_range", "cursor"} <= set(named)
    assert "traces" not in named
    assert of_type(doc.doc, "ColorBar") and of_type(doc.doc, "Image")
    axis = next(m for m in all_models(doc.doc)
                if (m.get("attributes") or {}).get("major_label_overrides"))
    labels = dict(axis["attributes"]["major_label_overrides"]["entries"])
    assert labels[0] == "roi 217" and labels[39] == "roi 100"  # the region is reversed


def test_pixels_keep_the_grid_spacing(odd):
    doc = PanelSet(odd).open(vo.OPHYS["image"])  # grid spacing 2 (x) by 1 (y)
    plot = next(m for m in of_type(doc.doc, "Figure") if "frame_width" in m["attributes"])
    attrs = plot["attributes"]
    ratio = attrs["frame_width"] / attrs["frame_height"]  # (each rounded to a pixel)
    assert abs(ratio - 2 * vo.NX / vo.NY) < 2 * vo.NX / vo.NY / attrs["frame_height"]
