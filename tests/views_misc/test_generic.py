"""The generic view, per shape: lines (1-D/2-D numbers, against time when the group has a
time base), a picture of a slice (3-D+), a table of the first rows (text, records); each
bounded, and each saying what it shows. Values against pynwb (view_misc.nwb) or, for the
lab's own types pynwb cannot read, against the recipe's values read back with h5py."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from nwbscope.views.data.generic import kind_of, read_lines, read_slice, read_table
from nwbscope.views.panels import PanelSet
from nwbscope.views.window import TimeWindow
from tests.bokeh_docs import all_models, models
from tests.fixtures import view_misc_files as vm

WINDOW = TimeWindow(0.0, 1.0)
M = vm.MISC


def last_frame(nwb, path: str, **options):
    panels = PanelSet(nwb)
    doc = panels.open(path, options=options or None)
    return doc, list(panels.frames(doc.panel_id, WINDOW))[-1]


def test_kinds_by_shape_and_dtype() -> None:
    assert kind_of((10,), "f8") == kind_of((10, 3), "i2") == "lines"
    assert kind_of((4, 5, 6), "u1") == kind_of((2, 3, 4, 5), "f4") == "image"
    assert kind_of((10,), np.dtype("O")) == kind_of((0, 3), "f8") == kind_of((), "f8") == "table"
    assert kind_of((5,), vm.EVENTS_DTYPE) == "table"


def test_3d_time_series_is_a_slice_picture(misc, ref) -> None:
    want = np.asarray(ref.acquisition["series_3d"].data[:])
    doc, frame = last_frame(misc, M["series_3d"]["path"], index_0=17)
    assert doc.view == "generic" and not doc.time_based
    image = np.array(frame.sources["picture"]["image"][0])
    np.testing.assert_array_equal(image, want[17].T.astype(np.float32))  # glyph rows: axis 2
    assert "shape 120 × 12 × 20, int16" in frame.status and "data[17, :, :]" in frame.status
    t = ref.acquisition["series_3d"].starting_time + 17 / ref.acquisition["series_3d"].rate
    assert f"index 17 at {t:.6g} s" in frame.status


def test_4d_volume_has_an_index_per_leading_axis(generic) -> None:
    doc, frame = last_frame(generic, M["volume_4d"]["path"], index_0=3, index_1=5)
    names = set(models(doc.doc))
    assert {"option:index_0", "option:index_1", "picture"} <= names
    assert "option:index_2" not in names
    image = np.array(frame.sources["picture"]["image"][0])
    np.testing.assert_array_equal(image, vm.volume_4d_data()[3, 5].T)
    assert "data[3, 5, :, :]" in frame.status and "time" not in frame.status


def test_slice_is_strided_beyond_the_bound(generic) -> None:
    data = generic.group(M["volume_4d"]["path"])["data"]
    values, step, where = read_slice(data, {0: 1, 1: 2}, max_pixels=20)
    assert step == 2 and where == "data[1, 2, ::2, ::2]"
    np.testing.assert_array_equal(values, vm.volume_4d_data()[1, 2, ::2, ::2])


def test_2d_lines_against_the_index(generic) -> None:
    doc, frame = last_frame(generic, M["signal_2d"]["path"])
    assert doc.view == "generic" and "lines" in models(doc.doc)
    lines = frame.sources["lines"]
    want = vm.signal_2d_data()
    assert len(lines["ys"]) == want.shape[1]
    for c, ys in enumerate(lines["ys"]):
        np.testing.assert_array_equal(ys, want[:, c])
        np.testing.assert_array_equal(lines["xs"][c], np.arange(want.shape[0]))
    assert "shape 300 × 3, float64" in frame.status and "against index" in frame.status


def test_lines_against_time_and_bounded(misc, ref) -> None:
    series = ref.acquisition["features"]
    lines = read_lines(misc.group(M["features"]["path"]), max_rows=50, max_lines=2)
    assert (lines.n_rows, lines.n_shown, lines.columns) == (400, 50, (0, 1))
    np.testing.assert_allclose(lines.x, series.starting_time + np.arange(50) / series.rate,
                               rtol=0, atol=1e-12)
    np.testing.assert_array_equal(np.stack(lines.ys, axis=1),
                                  np.asarray(series.data[:50, :2]) * series.conversion)
    assert lines.x_label == "time (s)"


def test_text_is_a_table_of_the_first_rows(generic) -> None:
    doc, frame = last_frame(generic, M["notes"]["path"])
    table = frame.sources["table"]
    assert list(table["value"]) == vm.notes_data()
    assert list(table["row"]) == list(range(M["notes"]["n"]))
    assert "table of the first 40 of 40 rows" in frame.status and "str" in frame.status
    columns, n = read_table(generic.group(M["notes"]["path"])["data"], max_rows=5)
    assert n == 40 and columns["value"] == vm.notes_data()[:5]


def test_records_are_a_table_by_field(generic, misc_files) -> None:
    doc, frame = last_frame(generic, M["events"]["path"])
    table = frame.sources["table"]
    with h5py.File(misc_files[2], "r") as f:
        stored = f[M["events"]["path"]]["data"][()]
    assert {"option:index_0"}.isdisjoint(models(doc.doc))
    for field in vm.EVENTS_DTYPE.names:
        got = [float(v) for v in table[field]]
        np.testing.assert_allclose(got, stored[field].astype(np.float64), rtol=1e-5)  # 6 digits
    assert "compound{time: float64, code: int32, weight: float32}" in frame.status


def test_generic_only_when_nothing_else_fits(misc) -> None:
    panels = PanelSet(misc)
    assert panels.open(M["features"]["path"]).view != "generic"
    with pytest.raises(Exception, match="cannot draw"):
        panels.open(M["features"]["path"], view="generic")


@pytest.mark.parametrize(("key", "source", "absent"), [
    ("signal_2d", "lines", "table"), ("notes", "table", "lines"),
    ("volume_4d", "picture", "lines")])
def test_documents_hold_one_empty_named_source(generic, key: str, source: str,
                                               absent: str) -> None:
    doc = PanelSet(generic).open(M[key]["path"])
    named = models(doc.doc)
    assert source in named and absent not in named and "status" in named
    entries = named[source]["attributes"]["data"]["entries"]
    assert entries and all(len(values) == 0 for _, values in entries)
    if key == "notes":
        columns = [m for m in all_models(doc.doc) if m.get("name") == "TableColumn"]
        assert [c["attributes"]["field"] for c in columns] == ["row", "value"]


def test_empty_and_scalar_data_are_tables(tmp_path, engine: str) -> None:
    """Edge shapes written with h5py: no rows, a scalar, a 2-D text array."""
    import nwbscope

    path = tmp_path / "edge.h5"
    with h5py.File(path, "w") as f:
        for name, data in (("empty", np.zeros((0, 3))), ("scalar", np.float64(2.5)),
                           ("text_2d", np.array([["a", "b"], ["c", "d"]], dtype="S1"))):
            group = f.create_group(name)
            group.attrs["neurodata_type"] = "LabThing"
            group.create_dataset("data", data=data)
    with nwbscope.open(path, engine=engine) as nwb:
        assert read_table(nwb["/empty"]["data"]) == ({"value": []}, 0)
        assert read_table(nwb["/scalar"]["data"]) == ({"value": ["2.5"]}, 1)
        columns, n = read_table(nwb["/text_2d"]["data"])
        assert n == 2 and columns == {"column 0": ["a", "c"], "column 1": ["b", "d"]}
        panels = PanelSet(nwb)
        for name in ("empty", "scalar", "text_2d"):
            doc = panels.open("/" + name)
            assert doc.view == "generic"
            frame = list(panels.frames(doc.panel_id, WINDOW))[-1]
            assert "table of the first" in frame.status
