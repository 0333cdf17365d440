"""``views.data.sweeps`` and the sweeps view: groups and values against pynwb's reading.

The groups at each level are composed here from pynwb's tables (``to_dataframe(index=True)``
gives each region cell as row numbers) down to rows of ``intracellular_recordings``; the
values are pynwb's ``data * conversion + offset`` of each referenced series. Both engines.
"""

from __future__ import annotations

import numpy as np
import pytest

from nwbscope import open as open_file
from nwbscope.errors import ParameterError
from nwbscope.views.data.sweeps import read_sweeps, sweep_trace
from nwbscope.views.panels import PanelSet
from nwbscope.views.sweeps import RESPONSE_SOURCE, STIMULUS_SOURCE, X_RANGE
from nwbscope.views.window import TimeWindow
from tests.bokeh_docs import models
from tests.fixtures import view_icephys_files as vi

ICEPHYS = "/general/intracellular_ephys"
WIDE = TimeWindow(0.0, 1.0, 400)  # fixture sweeps are short: drawn sample by sample


def pynwb_levels(ref) -> dict[str, list[list[int]]]:
    """Each level's groups as lists of intracellular_recordings rows, from pynwb."""
    tables = [("simultaneous", ref.get_icephys_simultaneous_recordings(), "recordings"),
              ("sequential", ref.get_icephys_sequential_recordings(),
               "simultaneous_recordings"),
              ("repetition", ref.get_icephys_repetitions(), "sequential_recordings"),
              ("condition", ref.get_icephys_experimental_conditions(), "repetitions")]
    n = len(ref.get_intracellular_recordings())
    below = [[r] for r in range(n)]
    levels = {"recording": below}
    for level, table, column in tables:
        cells = table.to_dataframe(index=True)[column]
        groups = []
        for cell in cells:
            rows: list[int] = []
            for m in np.asarray(cell, dtype=int).tolist():
                rows.extend(r for r in below[m] if r not in rows)
            groups.append(rows)
        levels[level] = below = groups
    return levels


def pynwb_parts(ref, category: str, column: str) -> list[tuple[str, int, int] | None]:
    table = ref.get_intracellular_recordings()[category][column]
    out = []
    for k in range(len(table)):
        item = table[k]
        out.append(None if item.idx_start is None or item.idx_start < 0 else
                   (item.timeseries.name, int(item.idx_start), int(item.count)))
    return out


def test_groups_equal_pynwb_tables(files, ref, engine: str) -> None:
    expected = pynwb_levels(ref)
    with open_file(files["view_icephys.nwb"], engine=engine) as f:
        sweeps = read_sweeps(f)
    assert sweeps.warnings == () and sweeps.missing == ()
    for level, groups in expected.items():
        assert [list(g.sweeps) for g in sweeps.levels[level]] == groups, level
    assert list(sweeps.levels["all"][0].sweeps) == list(range(len(expected["recording"])))
    stim_types = ref.get_icephys_sequential_recordings()["stimulus_type"].data[:]
    for group, stim in zip(sweeps.levels["sequential"], stim_types, strict=True):
        assert f"· {stim} (" in group.label


def test_references_equal_pynwb(files, ref, engine: str) -> None:
    with open_file(files["view_icephys.nwb"], engine=engine) as f:
        sweeps = read_sweeps(f)
    for role, category, column in (("response", "responses", "response"),
                                   ("stimulus", "stimuli", "stimulus")):
        expected = pynwb_parts(ref, category, column)
        got = [getattr(s, role) for s in sweeps.sweeps]
        assert [None if p is None else (p.path.rsplit("/", 1)[1], p.start, p.count)
                for p in got] == expected
    assert sweeps.sweeps[6].stimulus is None  # recorded without a stimulus


def test_sweep_values_equal_pynwb(files, ref, engine: str) -> None:
    with open_file(files["view_icephys.nwb"], engine=engine) as f:
        sweeps = read_sweeps(f)
        for sweep in sweeps.sweeps:
            for part in (sweep.response, sweep.stimulus):
                if part is None:
                    continue
                series = ref.get_acquisition(part.path.rsplit("/", 1)[1]) \
                    if part.path.startswith("/acquisition/") else \
                    ref.get_stimulus(part.path.rsplit("/", 1)[1])
                trace = sweep_trace(f, part, WIDE.width_px)
                raw = series.data[part.start:part.start + part.count]
                want = np.asarray(raw, dtype=np.float64) * series.conversion + series.offset
                assert not trace.decimated and trace.unit == series.unit
                np.testing.assert_allclose(trace.values, want, rtol=1e-12, atol=0)
                np.testing.assert_allclose(trace.t_ms, np.arange(part.count) / series.rate
                                           * 1000.0, rtol=0, atol=1e-9)


def test_long_sweep_decimated_keeps_extremes(files, ref, engine: str) -> None:
    series = ref.get_acquisition("cc_response_0")
    # the min/max step keeps float32 values (``TraceBlock``): compared at that precision
    want = (np.asarray(series.data[:], dtype=np.float64) * series.conversion).astype(
        np.float32).astype(np.float64)
    with open_file(files["view_icephys.nwb"], engine=engine) as f:
        part = read_sweeps(f).sweeps[0].response
        trace = sweep_trace(f, part, width_px=300, max_raw=0)
    assert trace.decimated and trace.values.size <= 2 * 300
    assert trace.values.min() == want.min() and trace.values.max() == want.max()
    assert np.isin(trace.values, want).all()  # every point drawn is a sample's value
    assert trace.t_ms.min() >= 0 and trace.t_ms.max() <= 1000 * want.size / series.rate


def test_old_layout_groups_by_sweep_number(files, engine: str) -> None:
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(files["view_icephys_old.nwb"]), "r") as io:
        old = io.read()
        numbers = {name: int(s.sweep_number) for name, s in
                   [*old.acquisition.items(), *old.stimulus.items()]
                   if s.sweep_number is not None}
    with open_file(files["view_icephys_old.nwb"], engine=engine) as f:
        sweeps = read_sweeps(f)
    groups = sweeps.levels["sweep_number"]
    assert [g.key for g in groups] == [f"sweep_number:{n}" for n in sorted(set(
        numbers.values()))]
    for group in groups:
        number = int(group.key.split(":")[1])
        names = {p.path.rsplit("/", 1)[1] for k in group.sweeps
                 for p in (sweeps.sweeps[k].response, sweeps.sweeps[k].stimulus) if p}
        assert names == {n for n, v in numbers.items() if v == number}
        assert all(sweeps.sweeps[k].response.path.startswith("/acquisition/")
                   for k in group.sweeps)


# -- the view -----------------------------------------------------------------------------
def last(panels: PanelSet, panel_id: str, window: TimeWindow = WIDE):
    return list(panels.frames(panel_id, window))[-1]


def test_series_opens_on_its_sequential_group(files, ref, engine: str) -> None:
    expected = pynwb_levels(ref)["sequential"]
    names = [p[0] for p in pynwb_parts(ref, "responses", "response")]
    with open_file(files["view_icephys.nwb"], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open("/acquisition/cc_response_2", "sweeps", window=WIDE)
        named = models(doc.doc)
        for name in (RESPONSE_SOURCE, STIMULUS_SOURCE, X_RANGE, "option:level",
                     "option:group", "status"):
            assert name in named
        # the axes (unnamed models) carry the units of the group's series
        assert "response (volts)" in doc.doc and "stimulus (amperes)" in doc.doc
        frame = last(panels, doc.panel_id)
        group = next(g for g in expected if names.index("cc_response_2") in g)
        drawn = frame.sources[RESPONSE_SOURCE]
        assert list(drawn["path"]) == [f"/acquisition/{names[r]}" for r in group]
        assert len(set(drawn["color"])) == len(group)
        assert frame.status.startswith(f"{len(group)} sweeps · sequential recording")
        response = ref.get_acquisition("cc_response_2")
        k = list(drawn["path"]).index("/acquisition/cc_response_2")
        np.testing.assert_allclose(drawn["ys"][k], np.asarray(response.data[:], float)
                                   * response.conversion, rtol=1e-12)
        longest = max(len(ref.get_acquisition(names[r]).data) for r in group) / vi.CC_RATE
        assert frame.ranges[X_RANGE][1] == pytest.approx(1000 * longest, rel=1e-3)
        assert any("different lengths" in n for n in frame.notes)  # cc_response_2 is short


def test_switch_level_and_group(files, ref, engine: str) -> None:
    expected = pynwb_levels(ref)
    with open_file(files["view_icephys.nwb"], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open("/acquisition/cc_response_0", "sweeps", window=WIDE)
        assert panels.set_option(doc.panel_id, "level", "repetition") is True
        view = panels.get(doc.panel_id)
        assert view.values["group"] == "repetition:0"
        frame = last(panels, doc.panel_id)
        assert len(frame.sources[RESPONSE_SOURCE]["xs"]) == len(expected["repetition"][0])
        panels.set_option(doc.panel_id, "group", "repetition:1")
        frame = last(panels, doc.panel_id)
        vc = expected["repetition"][1]
        assert len(frame.sources[RESPONSE_SOURCE]["xs"]) == len(vc)
        assert len(frame.sources[STIMULUS_SOURCE]["xs"]) == len(vc) - 1  # one without
        with pytest.raises(ParameterError):
            panels.set_option(doc.panel_id, "group", "repetition:9")


def test_table_opens_on_its_rows(files, ref, engine: str) -> None:
    expected = pynwb_levels(ref)["condition"]
    with open_file(files["view_icephys.nwb"], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open(f"{ICEPHYS}/experimental_conditions", window=WIDE)
        assert doc.view == "sweeps"
        view = panels.get(doc.panel_id)
        assert view.values["level"] == "condition"
        choices = next(o for o in view.options_cached() if o.name == "group").choices
        assert [v for v, _ in choices] == [f"condition:{k}" for k in range(len(expected))]
        frame = last(panels, doc.panel_id)
        assert len(frame.sources[RESPONSE_SOURCE]["xs"]) == len(expected[0])


def test_mixed_units_are_not_overlaid(files, engine: str) -> None:
    with open_file(files["view_icephys.nwb"], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open("/acquisition/cc_response_0", "sweeps", options={"level": "all"},
                          window=WIDE)
        frame = last(panels, doc.panel_id)
        paths = list(frame.sources[RESPONSE_SOURCE]["path"])
        assert paths and all("cc_response" in p for p in paths)
        assert any("not drawn" in n and "volts" in n for n in frame.notes)


def test_missing_series_is_said_and_not_drawn(files, engine: str) -> None:
    with open_file(files["view_icephys_missing.nwb"], engine=engine) as f:
        sweeps = read_sweeps(f)
        assert sweeps.sweeps[1].response.path is None
        assert any("not in the file" in w for w in sweeps.missing)
        panels = PanelSet(f)
        doc = panels.open("/acquisition/cc_response_0", "sweeps", window=WIDE)
        frame = last(panels, doc.panel_id)
    assert list(frame.sources[RESPONSE_SOURCE]["path"]) == ["/acquisition/cc_response_0"]
    assert len(frame.sources[STIMULUS_SOURCE]["xs"]) == 2
    assert any("not in the file" in n for n in frame.notes)


def test_region_past_the_table_is_left_out(files, ref, engine: str) -> None:
    groups = pynwb_levels(ref)["sequential"]
    expected = groups[-1]  # the intact file's last group
    column, row = vi.ICEPHYS["bad_region"]
    with open_file(files["view_icephys_missing.nwb"], engine=engine) as f:
        sweeps = read_sweeps(f)
    assert list(sweeps.levels["sequential"][-1].sweeps) == expected[:-1]
    assert any(f"points at row {row}" in w for w in sweeps.warnings)
    with open_file(files["view_icephys_missing.nwb"], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open(f"{ICEPHYS}/sequential_recordings", window=WIDE)
        panels.set_option(doc.panel_id, "group", f"sequential:{len(groups) - 1}")
        frame = last(panels, doc.panel_id)
    assert len(frame.sources[RESPONSE_SOURCE]["xs"]) == len(expected) - 1
    assert any(f"points at row {row}" in n for n in frame.notes)


def test_series_of_a_sweep_number(files, engine: str) -> None:
    with open_file(files["view_icephys_old.nwb"], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open("/acquisition/resp_1", "sweeps", window=WIDE)
        view = panels.get(doc.panel_id)
        assert (view.values["level"], view.values["group"]) == ("sweep_number",
                                                                 "sweep_number:1")
        frame = last(panels, doc.panel_id)
    assert list(frame.sources[RESPONSE_SOURCE]["path"]) == ["/acquisition/resp_1"]
    assert list(frame.sources[STIMULUS_SOURCE]["path"]) == ["/stimulus/presentation/stim_1"]


def test_series_of_no_group_is_alone(files, engine: str) -> None:
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(files["view_icephys_old.nwb"]), "r") as io:
        series = io.read().get_acquisition("resp_unnumbered")
        assert series.sweep_number is None
        want = np.asarray(series.data[:], dtype=np.float64) * series.conversion
    with open_file(files["view_icephys_old.nwb"], engine=engine) as f:
        panels = PanelSet(f)
        doc = panels.open("/acquisition/resp_unnumbered", "sweeps", window=WIDE)
        view = panels.get(doc.panel_id)
        assert (view.values["level"], view.values["group"]) == ("alone", "alone")
        frame = last(panels, doc.panel_id)
    assert list(frame.sources[RESPONSE_SOURCE]["path"]) == ["/acquisition/resp_unnumbered"]
    np.testing.assert_allclose(frame.sources[RESPONSE_SOURCE]["ys"][0], want, rtol=1e-12)
    assert len(frame.sources[STIMULUS_SOURCE]["xs"]) == 0
    assert frame.status.startswith("1 sweep ·")
