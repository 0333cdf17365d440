"""The view frame: registry matching, tree rows marked with their views, panels and windows.

Checks what a user relies on without drawing anything: a typed object gets the view of its
nearest registered type (an extension type included, through the file's /specifications),
an object with no view says why, and a panel's document and frames come through
``PanelSet`` exactly as the worker calls it.
"""

from __future__ import annotations

import numpy as np
import pytest

from nwbscope.errors import ParameterError, ViewError
from nwbscope.viewer import ViewerSession
from nwbscope.views.panels import PanelSet, initial_window
from nwbscope.views.registry import REGISTRY, ViewSpec, spec, views_for
from nwbscope.views.window import TimeWindow
from tests.bokeh_docs import models
from tests.fixtures.nwb_files import RICH_PATHS, es_data

CORE_SERIES = ["ElectricalSeries", "TimeSeries", "NWBDataInterface", "NWBContainer"]


def names(specs: list[ViewSpec]) -> list[str]:
    return [s.name for s in specs]


def test_nearest_registered_type_comes_first() -> None:
    assert names(views_for({}, CORE_SERIES))[:2] == ["electrical", "traces"]
    assert names(views_for({}, ["TetrodeSeries", *CORE_SERIES]))[0] == "electrical"
    assert names(views_for({}, ["TimeSeries", "NWBDataInterface"]))[0] == "traces"
    assert names(views_for({}, ["Units", "DynamicTable"]))[0] == "raster"


def test_non_default_views_follow_the_defaults() -> None:
    found = views_for({}, CORE_SERIES)
    defaults = [s.default for s in found]
    assert defaults == sorted(defaults, reverse=True)  # all True before any False
    assert "spectrogram" in names(found) and "psth" in names(found)


def test_image_series_get_no_trace_view() -> None:
    chain = ["TwoPhotonSeries", "ImageSeries", "TimeSeries", "NWBDataInterface"]
    assert not {"traces", "spectrogram", "psth"} & set(names(views_for({}, chain)))


def test_predicate_reads_the_row_only() -> None:
    # 3-D data no trace view draws: only the generic view (the fallback) is left
    assert names(views_for({"data_shape": [10, 4, 4]}, ["TimeSeries"])) == ["generic"]
    assert "traces" in names(views_for({"data_shape": [10, 4]}, ["TimeSeries"]))


def test_untyped_objects_have_no_view() -> None:
    assert views_for({}, []) == []
    assert views_for({"has_data": True}, []) == []  # untyped: not even the generic one
    assert views_for({}, ["SomethingNobodyDraws"]) == []


def test_fallback_only_when_nothing_fits() -> None:
    assert names(views_for({"has_data": True}, ["SomethingNobodyDraws"])) == ["generic"]
    assert "generic" not in names(views_for({"has_data": True}, ["TimeSeries"]))


def test_cursor_views_and_window_cursor() -> None:
    from nwbscope.errors import ParameterError
    from nwbscope.views.window import TimeWindow

    assert spec("frames").follows_cursor and not spec("traces").follows_cursor
    window = TimeWindow(1.0, 3.0, 100, cursor=2.5)
    assert window.moment == 2.5 and TimeWindow(1.0, 3.0).moment == 1.0
    assert window.clipped(2.0, None) == TimeWindow(2.0, 3.0, 100, cursor=2.5)
    with pytest.raises(ParameterError):
        TimeWindow(0.0, 1.0, cursor=float("nan"))


def test_every_record_names_an_importable_view() -> None:
    for record in REGISTRY:
        view_class = record.load()
        assert callable(getattr(view_class, "frames", None)), record.name
    with pytest.raises(ParameterError, match="no view is called"):
        spec("nope")


def test_tree_rows_carry_their_views(rich_nwb, engine) -> None:
    session = ViewerSession(rich_nwb, engine=engine)
    rows = {r["path"]: r["views"] for r in session.children("/acquisition")}
    assert rows[RICH_PATHS["electrical_series"]][0] == "electrical"
    assert rows[RICH_PATHS["extension"]][0] == "electrical"  # TetrodeSeries, via the specs
    assert rows[RICH_PATHS["rate_series"]][0] == "traces"
    assert rows["/acquisition/video"][0] == "frames"  # an ImageSeries: one frame at a time
    units = [r for r in session.children("/") if r["path"] == "/units"][0]
    assert units["views"][0] == "raster"


def test_panel_document_and_frames(rich_nwb, engine) -> None:
    session = ViewerSession(rich_nwb, engine=engine)
    panels = PanelSet(session.file)
    doc = panels.open(RICH_PATHS["electrical_series"])
    assert doc.view == "electrical" and doc.time_based
    names_in_doc = set(models(doc.doc))
    assert {"x_range", "cursor", "status", "traces"} <= names_in_doc
    expected = es_data()
    window = TimeWindow(0.0, 0.01, 2000)  # few samples: drawn raw
    frame = list(panels.frames(doc.panel_id, window))[-1]
    source = frame.sources["traces"]
    assert len(source["ys"]) == expected.shape[1]
    row = 3
    y = source["ys"][row].astype(np.float64)
    value = (y - source["offset"][row]) / source["gain"][row] + source["baseline"][row]
    x = source["xs"][row]
    rate = session.file.timebase(RICH_PATHS["electrical_series"]).rate
    idx = np.rint(x * rate).astype(int)
    conversion = float(session.file[RICH_PATHS["electrical_series"] + "/data"].attrs.get(
        "conversion", 1.0))
    np.testing.assert_allclose(value, expected[idx, row] * conversion, rtol=1e-5, atol=1e-9)


def test_panel_errors_say_why(rich_nwb) -> None:
    panels = PanelSet(ViewerSession(rich_nwb).file)
    with pytest.raises(ViewError, match="no view draws"):
        panels.open("/general")
    with pytest.raises(ViewError, match="cannot draw"):
        panels.open(RICH_PATHS["rate_series"], "raster")
    with pytest.raises(ParameterError, match="no panel"):
        panels.get("p99")
    with pytest.raises(ParameterError, match="scale"):
        doc = panels.open(RICH_PATHS["rate_series"])
        panels.set_option(doc.panel_id, "scale", "loud")


def test_initial_window_is_the_first_seconds() -> None:
    assert initial_window((5.0, 3600.0)) == TimeWindow(5.0, 15.0)
    assert initial_window((5.0, 6.0)) == TimeWindow(5.0, 6.0)
    assert initial_window(None) == TimeWindow(0.0, 1.0)
    with pytest.raises(ParameterError):
        TimeWindow(2.0, 1.0)
    with pytest.raises(ParameterError):
        TimeWindow(0.0, float("nan"))

