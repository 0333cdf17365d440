"""pynwb expressions derived from paths and neurodata types (pure), and the snippet texts."""

from __future__ import annotations

import pytest

from nwbscope.nwb.snippets import Step, nwbscope_snippet, pynwb_expression, pynwb_snippet

TS = ("NWBDataInterface", "NWBContainer", "Container")
SERIES = ("TimeSeries", *TS)
TABLE = ("DynamicTable", "Container")


def g(name: str, ntype: str | None = None, ancestors: tuple[str, ...] = ()) -> Step:
    return Step(name, "group", ntype, ancestors)


def d(name: str, ntype: str | None = None, ancestors: tuple[str, ...] = ()) -> Step:
    return Step(name, "dataset", ntype, ancestors)


CASES = [
    ([], "nwbfile"),
    ([d("session_description")], "nwbfile.session_description"),
    ([g("acquisition")], "nwbfile.acquisition"),
    ([g("acquisition"), g("ElectricalSeries", "ElectricalSeries", SERIES)],
     'nwbfile.acquisition["ElectricalSeries"]'),
    ([g("acquisition"), g("ElectricalSeries", "ElectricalSeries", SERIES), d("data")],
     'nwbfile.acquisition["ElectricalSeries"].data'),
    ([g("processing"), g("behavior", "ProcessingModule", ("NWBContainer",)),
      g("Position", "Position", TS), g("position", "SpatialSeries", SERIES)],
     'nwbfile.processing["behavior"]["Position"]["position"]'),
    ([g("processing"), g("ecephys", "ProcessingModule", ("NWBContainer",)),
      g("spectral", "DecompositionSeries", SERIES), g("bands", "FrequencyBandsTable", TABLE)],
     'nwbfile.processing["ecephys"]["spectral"].bands'),
    ([g("units", "Units", TABLE)], "nwbfile.units"),
    ([g("units", "Units", TABLE), d("spike_times_index", "VectorIndex")],
     'nwbfile.units["spike_times"]'),
    ([g("units", "Units", TABLE), d("id", "ElementIdentifiers")], "nwbfile.units.id"),
    ([g("intervals"), g("trials", "TimeIntervals", TABLE)], "nwbfile.trials"),
    ([g("intervals"), g("epochs", "TimeIntervals", TABLE)], "nwbfile.epochs"),
    ([g("intervals"), g("sleep", "TimeIntervals", TABLE)], 'nwbfile.intervals["sleep"]'),
    ([g("stimulus"), g("presentation"), g("stim", "TimeSeries", TS)],
     'nwbfile.stimulus["stim"]'),
    ([g("stimulus"), g("templates"), g("tpl", "TimeSeries", TS)],
     'nwbfile.stimulus_template["tpl"]'),
    ([g("analysis"), g("place_fields", "DynamicTable", ("Container",))],
     'nwbfile.analysis["place_fields"]'),
    ([g("general"), g("subject", "Subject"), d("age")], "nwbfile.subject.age"),
    ([g("general"), d("experimenter")], "nwbfile.experimenter"),
    ([g("general"), g("devices"), g("probe", "Device")], 'nwbfile.devices["probe"]'),
    ([g("general"), g("extracellular_ephys"), g("electrodes", "ElectrodesTable", TABLE)],
     "nwbfile.electrodes"),
    ([g("general"), g("extracellular_ephys"), g("shank0", "ElectrodeGroup"),
      g("device", "Device")], 'nwbfile.electrode_groups["shank0"].device'),
    ([g("acquisition"), g("reference_images", "Images", TS), d("gray", "GrayscaleImage")],
     'nwbfile.acquisition["reference_images"]["gray"]'),
    ([g("specifications")], ""),
]


@pytest.mark.parametrize(("steps", "expected"), CASES,
                         ids=[e or "outside" for _, e in CASES])
def test_pynwb_expression(steps: list[Step], expected: str) -> None:
    assert pynwb_expression(steps) == expected


def test_url_snippets_use_remfile_and_the_url() -> None:
    url = "https://example.org/data/sub-1.nwb"
    steps = [g("acquisition"), g("ElectricalSeries", "ElectricalSeries", SERIES)]
    code = pynwb_snippet(url, steps, None)
    assert f"remfile.File({url!r})" in code
    assert 'obj = nwbfile.acquisition["ElectricalSeries"]' in code
    assert "print(obj.data[:10])" in code
    light = nwbscope_snippet(url, "/acquisition/ElectricalSeries", "group", None, True, False)
    assert f"nwbscope.open({url!r})" in light
    assert "timebase('/acquisition/ElectricalSeries')" in light
    compile(code, "pynwb", "exec")
    compile(light, "nwbscope", "exec")
