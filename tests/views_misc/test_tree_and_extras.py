"""The tree row's ``has_data`` (a group with a ``data`` member, known from the member list
the row already reads) and the views it leads to; the AbstractFeatureSeries and
OptogeneticSeries traces, named from their own metadata as pynwb reads it."""

from __future__ import annotations

import contextlib

import h5py
import numpy as np
import pytest

from nwbscope.viewer import ViewerSession
from nwbscope.views.panels import PanelSet
from nwbscope.views.window import TimeWindow
from tests.fixtures import view_misc_files as vm

M = vm.MISC


@pytest.mark.parametrize("parent", ["/acquisition", "/analysis", "/"])
def test_has_data_matches_h5py(misc_files, engine: str, parent: str) -> None:
    path = misc_files[2] if parent == "/analysis" else misc_files[0]
    with h5py.File(path, "r") as f:
        want = {name: isinstance(node, h5py.Group) and isinstance(node.get("data"), h5py.Dataset)
                for name, node in f[parent].items()}
    with contextlib.closing(ViewerSession(path, engine=engine)) as viewer:
        rows = {row["name"]: row for row in viewer.children(parent)}
    assert {name: row["has_data"] for name, row in rows.items()} == want
    assert any(want.values()) == (parent != "/")  # the root's members have no data


def test_tree_rows_offer_the_generic_view_for_unknown_types(misc_files, engine: str) -> None:
    with contextlib.closing(ViewerSession(misc_files[2], engine=engine)) as viewer:
        rows = {row["name"]: row for row in viewer.children("/analysis")}
    for key in ("signal_2d", "volume_4d", "notes", "events"):
        row = rows[M[key]["path"].rsplit("/", 1)[-1]]
        assert row["has_data"] and row["views"] == ["generic"], row


def test_tree_rows_of_the_misc_types(misc_files) -> None:
    with contextlib.closing(ViewerSession(misc_files[0], engine="pyfive")) as viewer:
        acq = {row["name"]: row for row in viewer.children("/acquisition")}
        ecephys = {row["name"]: row for row in viewer.children("/processing/ecephys")}
        ophys = {row["name"]: row for row in viewer.children("/processing/ophys")}
    assert acq["features"]["views"][0] == "features"
    assert ecephys["bands_power"]["views"][0] == "decomposition"
    assert ophys["retinotopy"]["views"] == ["retinotopy"]
    assert not ophys["retinotopy"]["has_data"]


def test_feature_traces_are_named_by_feature(misc, ref) -> None:
    series = ref.acquisition["features"]
    panels = PanelSet(misc)
    doc = panels.open(M["features"]["path"])
    assert doc.view == "features" and ("traces", "Traces") in doc.alternatives
    frame = list(panels.frames(doc.panel_id, TimeWindow(0.0, 5.0, 800)))[-1]
    want = [f"{f} ({u})" for f, u in zip(series.features, series.feature_units, strict=True)]
    assert list(frame.sources["traces"]["label"]) == want
    traces = frame.sources["traces"]
    rows = np.flatnonzero(np.arange(series.data.shape[0]) / series.rate < 5.0)
    for k in range(3):  # values read back through each line's offset, gain and baseline
        y = (traces["ys"][k] - traces["offset"][k]) / traces["gain"][k] + traces["baseline"][k]
        np.testing.assert_allclose(y[: rows.size], np.asarray(series.data[:])[rows, k],
                                   rtol=1e-5, atol=1e-5)


def test_optogenetic_status_names_the_site(misc, ref) -> None:
    site = ref.stimulus["opto"].site
    panels = PanelSet(misc)
    doc = panels.open(M["opto"]["path"])
    assert doc.view == "optogenetic"
    frame = list(panels.frames(doc.panel_id, TimeWindow(0.0, 5.0, 800)))[-1]
    assert frame.status.startswith(f"site: {site.description} · "
                                   f"{site.excitation_lambda:g} nm · {site.location}")
