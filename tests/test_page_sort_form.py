"""The sort form's schema checks and the Jobs panel's HTML, run in the page's own MicroPython.

``web/sort_form_check.py`` and ``web/jobs_render.py`` run in MicroPython on the main thread;
these tests run them there (``tests/micropython.py``), on the recording schema the workers
really register and a parameter schema shaped like SpikeInterface's (nested groups, numbers
with bounds, integers, enums, JSON-only objects). What the page accepts is also checked with
the broker's own validator (``server_worker.processors.validate``), so the page never flags
a value the broker would take, nor lets through one it would refuse, for these fields.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import micropython

WEB = Path(__file__).resolve().parent.parent / "web"
PAGE_MODULES = {"sort_form_check.py": WEB / "sort_form_check.py",
                "sort_fields.py": WEB / "sort_fields.py",
                "jobs_render.py": WEB / "jobs_render.py", "render.py": WEB / "render.py"}

PARAMETERS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "detection": {
            "type": ["object", "null"], "additionalProperties": True,
            "description": "peak detection",
            "default": {"method": "matched_filtering",
                        "method_kwargs": {"peak_sign": "neg", "detect_threshold": 5}},
            "properties": {
                "method": {"type": "string", "default": "matched_filtering"},
                "method_kwargs": {
                    "type": ["object", "null"], "additionalProperties": True,
                    "default": {"peak_sign": "neg", "detect_threshold": 5},
                    "properties": {
                        "peak_sign": {"type": "string", "enum": ["neg", "pos", "both"],
                                      "default": "neg"},
                        "detect_threshold": {"type": "number", "minimum": 0, "default": 5},
                    },
                },
            },
        },
        "job_kwargs": {"type": ["object", "null"], "properties": {},
                       "additionalProperties": True, "default": {}},
        "n_peaks": {"type": "integer", "minimum": 1, "default": 5000},
        "apply_motion_correction": {"type": "boolean", "default": True,
                                    "description": "motion correction"},
        "seed": {"default": None},
        "ms_before": {"type": "number", "exclusiveMinimum": 0, "maximum": 10, "default": 0.5},
    },
}


def recording_schema() -> dict:
    from server_worker.processors.schema import RECORDING_SCHEMA

    return RECORDING_SCHEMA


def run_mp(code: str, data: object, tmp_path: Path) -> object:
    """Run ``code`` in MicroPython with ``DATA`` loaded; it prints one JSON answer."""
    prelude = "import json\nDATA = json.load(open('/data.json'))\n"
    out = micropython.run(PAGE_MODULES, prelude + code, tmp_path, json.dumps(data))
    return json.loads(out.strip().splitlines()[-1])


FIELDS_CODE = """
import sort_form_check as c
def plain(fs):
    return [[f["name"], f["kind"], f["default"], f["nullable"],
             plain(f["children"]) if f["kind"] == "group" else None] for f in fs]
p = c.fields(DATA["parameters"], "parameters")
r = c.fields(DATA["recording"], "recording", skip=("electrical_series_path", "time_range"))
print(json.dumps({"p": plain(p), "r": plain(r), "names": c.all_names(p),
                  "shown": [c.shown_value(f) for f in c.leaves(p + r)]}))
"""


@micropython.needs_micropython
def test_each_parameter_gets_its_typed_input(tmp_path: Path) -> None:
    got = run_mp(FIELDS_CODE, {"parameters": PARAMETERS, "recording": recording_schema()},
                 tmp_path)
    kinds = {name: kind for name, kind, *_ in got["p"]}
    assert kinds == {"parameters.apply_motion_correction": "boolean",
                     "parameters.detection": "group", "parameters.job_kwargs": "json",
                     "parameters.ms_before": "number", "parameters.n_peaks": "integer",
                     "parameters.seed": "json"}
    detection = [f for f in got["p"] if f[0] == "parameters.detection"][0]
    assert [f[0] for f in detection[4]] == ["parameters.detection.method",
                                            "parameters.detection.method_kwargs"]
    inner = detection[4][1][4]
    assert inner == [["parameters.detection.method_kwargs.detect_threshold", "number", 5,
                      False, None],
                     ["parameters.detection.method_kwargs.peak_sign", "enum", "neg", False,
                      None]]
    assert "parameters.detection.method_kwargs" in got["names"]
    # the series and the time range are the form's own; the rest of the recording options
    assert [f[0] for f in got["r"]] == ["recording.freq_max", "recording.freq_min",
                                       "recording.preprocessing"]
    assert [f[1] for f in got["r"]] == ["number", "number", "boolean"]
    # defaults shown as typed: 300.0 as "300", objects as JSON, booleans as booleans
    assert "300" in got["shown"] and "6000" in got["shown"] and True in got["shown"]
    assert "{}" in got["shown"]


CHECK_CODE = """
import sort_form_check as c
fields = c.fields(DATA["parameters"], "parameters") + c.fields(DATA["recording"], "recording")
by_name = dict((f["name"], f) for f in c.leaves(fields))
out = []
for name, raw in DATA["cases"]:
    value, error = c.parse(by_name[name], raw)
    out.append([value, error])
print(json.dumps(out))
"""

# (field, what the form holds, the broker takes it)
CASES = [
    ("recording.freq_min", "-5", False),
    ("recording.freq_min", "0", False),
    ("recording.freq_min", "250", True),
    ("recording.freq_min", "abc", False),
    ("recording.freq_min", "", False),
    ("parameters.n_peaks", "2.5", False),
    ("parameters.n_peaks", "0", False),
    ("parameters.n_peaks", "12", True),
    ("parameters.ms_before", "10", True),
    ("parameters.ms_before", "10.5", False),
    ("parameters.detection.method_kwargs.detect_threshold", "-1", False),
    ("parameters.detection.method_kwargs.detect_threshold", "4.5", True),
    ("parameters.detection.method_kwargs.peak_sign", "sideways", False),
    ("parameters.detection.method_kwargs.peak_sign", "pos", True),
    ("parameters.job_kwargs", '{"n_jobs": 1}', True),
    ("parameters.job_kwargs", "{n_jobs: 1}", False),
    ("parameters.job_kwargs", "[1, 2]", False),
    ("parameters.job_kwargs", "", True),
    ("parameters.seed", "42", True),
    ("parameters.apply_motion_correction", False, True),
    ("recording.time_range", "[0, 10]", True),
    ("recording.time_range", "[-1, 10]", False),
    ("recording.time_range", "[0, 10, 20]", False),
]


def broker_takes(name: str, value: object) -> bool:
    """The broker's verdict on one value (its own validator, on the whole object)."""
    from nwbscope.errors import ParameterError
    from server_worker.processors.validate import validate

    prefix, *parts = name.split(".")
    schema = PARAMETERS if prefix == "parameters" else recording_schema()
    instance: dict = {}
    target = instance
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
    try:
        validate(instance, schema, prefix=prefix)
    except ParameterError:
        return False
    return True


@micropython.needs_micropython
def test_bad_values_are_flagged_as_the_broker_would(tmp_path: Path) -> None:
    got = run_mp(CHECK_CODE, {"parameters": PARAMETERS, "recording": recording_schema(),
                              "cases": [[n, raw] for n, raw, _ in CASES]}, tmp_path)
    for (name, raw, takes), (value, error) in zip(CASES, got, strict=True):
        assert (error is None) == takes, (name, raw, error)
        if error is None:
            assert broker_takes(name, value), (name, raw, value)
        elif raw not in ("", "abc", "{n_jobs: 1}"):  # those never reach the broker as values
            assert not broker_takes(name, json.loads(raw) if raw[:1] in "[{-0123456789"
                                    else raw), (name, raw)
    messages = dict((f"{n}={raw}", e) for (n, raw, _), (_, e) in zip(CASES, got, strict=True))
    assert messages["recording.freq_min=-5"] == "must be more than 0"
    assert messages["recording.freq_min=abc"] == "not a number"
    assert messages["parameters.n_peaks=2.5"] == "a whole number is needed"
    assert messages["parameters.job_kwargs={n_jobs: 1}"] == "not valid JSON"


CHANGED_CODE = """
import sort_form_check as c
fields = c.fields(DATA["parameters"], "parameters")
raw = dict((f["name"], c.shown_value(f)) for f in c.leaves(fields))
untouched = c.check_form(fields, raw)
raw["parameters.detection.method_kwargs.detect_threshold"] = "6"
raw["parameters.apply_motion_correction"] = False
raw["parameters.n_peaks"] = "5000"
values, errors = c.check_form(fields, raw)
print(json.dumps({"untouched": c.changed(fields, untouched[0], "parameters"),
                  "changed": c.changed(fields, values, "parameters"), "errors": errors,
                  "targets": [c.error_target(n, c.all_names(fields)) for n in DATA["names"]],
                  "quick": [c.quick_range(True, "10"), c.quick_range(True, "-2"),
                            c.quick_range(False, "x")]}))
"""


@micropython.needs_micropython
def test_only_changed_values_are_sent(tmp_path: Path) -> None:
    names = ["parameters.detection.method_kwargs.detect_threshold",
             "parameters.detection.method_kwargs.unknown_key", "parameters.nothing", "input"]
    got = run_mp(CHANGED_CODE, {"parameters": PARAMETERS, "names": names}, tmp_path)
    assert got["untouched"] == {}  # the defaults as shown come back as the defaults
    assert got["errors"] == {}
    assert got["changed"] == {"detection": {"method_kwargs": {"detect_threshold": 6}},
                              "apply_motion_correction": False}
    assert got["targets"] == ["parameters.detection.method_kwargs.detect_threshold",
                              "parameters.detection.method_kwargs", None, None]
    assert got["quick"] == [[[0, 10], None], [None, "must be more than 0 seconds"],
                            [None, None]]


RENDER_CODE = """
import jobs_render as j
job = DATA["job"]
print(json.dumps({
    "failure": j.failure_html(job, DATA["log"], True),
    "summary": j.summary_html(job, DATA["log"], True, "", {"freq": 1}),
    "completed": j.summary_html(DATA["done"], "", True, "index.html?url=x"),
    "uris": [j.parse_store_uri(u) for u in DATA["uris"]],
    "labels": [j.input_label(u) for u in DATA["uris"]],
    "list": j.list_html([job, DATA["done"]], job["id"], {job["id"]: ["today", 12.5]}),
}))
"""

HEX = "ab" * 32


@pytest.fixture
def failed_job() -> dict:
    return {"id": "f1", "processor": "spykingcircus2", "processor_version": "2025.12",
            "status": "failed", "parameters": {"a": 1}, "recording": {"time_range": [0, 10]},
            "inputs": {"input": f"sha256://{HEX}?label=rec.nwb", "input_sha256": HEX},
            "outputs": {}, "error": "ParameterError: recording.electrical_series_path: "
            "'x' is not an ElectricalSeries in rec.nwb", "worker": "w1", "worker_name": "lab-pc",
            "attempts": 1, "max_attempts": 3,
            "timings": {"created_at": "2026-01-01T00:00:00+00:00", "run_s": 3.5}}


@micropython.needs_micropython
def test_a_failed_job_says_why_in_words_with_its_last_log_lines(
        tmp_path: Path, failed_job: dict) -> None:
    log = "\n".join(f"line {i}" for i in range(1, 31)) + "\n"
    done = dict(failed_job, id="d1", status="completed", error=None,
                outputs={"nwb": f"sha256://{HEX}?label=units.nwb"})
    uris = [f"sha256://{HEX}?label=units.nwb", f"sha256://{HEX}", "sha256://nothex",
            "http://h/files/1/rec.nwb?x=1"]
    got = run_mp(RENDER_CODE, {"job": failed_job, "log": log, "done": done, "uris": uris},
                 tmp_path)
    failure = got["failure"]
    assert "ParameterError: recording.electrical_series_path" in failure
    assert "line 11\n" in failure and "line 30" in failure and "line 10\n" not in failure
    summary = got["summary"]
    assert 'data-job-action="resubmit"' in summary and 'data-job-action="cancel"' not in summary
    assert "lab-pc" in summary and HEX in summary and "2025.12" in summary
    assert 'data-job-action="open"' in got["completed"] and "units.nwb" in got["completed"]
    assert got["uris"] == [[HEX, "units.nwb"], [HEX, None], None, None]
    assert got["labels"] == ["units.nwb", "sha256:abababababab…", "nothex", "rec.nwb"]
    assert 'data-job-id="f1"' in got["list"] and "12.5 s" in got["list"]
    assert 'class="job-row selected"' in got["list"]


FIELDS_HTML_CODE = """
import sort_form_check as c, sort_fields
fields = c.fields(DATA["parameters"], "parameters")
print(json.dumps("".join(sort_fields.field_html(f) for f in fields)))
"""


@micropython.needs_micropython
def test_fields_are_typed_inputs_with_bounds_help_and_error_places(tmp_path: Path) -> None:
    html = run_mp(FIELDS_HTML_CODE, {"parameters": PARAMETERS}, tmp_path)
    assert ('<input type="number" step="1" id="sf-parameters_n_peaks" data-field='
            '"parameters.n_peaks" data-kind="integer" min="1" value="5000">') in html
    assert 'data-field="parameters.ms_before" data-kind="number" min="0" max="10"' in html
    assert ('<input type="checkbox" id="sf-parameters_apply_motion_correction" data-field='
            '"parameters.apply_motion_correction" data-kind="boolean" checked>') in html
    assert '<option value="neg" selected>neg</option>' in html  # the enum, its default chosen
    assert 'data-field="parameters.job_kwargs" data-kind="json">{}</textarea>' in html
    assert '<details class="sort-group" data-field-box="parameters.detection">' in html
    assert 'title="motion correction"' in html  # the schema's description as help
    for name in ("parameters.n_peaks", "parameters.detection",
                 "parameters.detection.method_kwargs.detect_threshold"):
        assert f'data-error-for="{name}" hidden' in html


COMPILE_CODE = """
ok = []
for name in DATA:
    compile(open("/" + name).read(), name, "exec")
    ok.append(name)
print(json.dumps(ok))
"""


@micropython.needs_micropython
def test_the_sorting_page_modules_compile_in_micropython(tmp_path: Path) -> None:
    """The modules that import ``pyscript`` cannot run in node, but they must parse there."""
    names = ["broker.py", "sorting.py", "sort_form.py", "upload.py", "jobs_panel.py",
             "files_panel.py", "main.py"]
    modules = {name: WEB / name for name in names}
    out = micropython.run(modules, "import json\nDATA = " + json.dumps(names) + "\n"
                          + COMPILE_CODE, tmp_path)
    assert json.loads(out.strip().splitlines()[-1]) == names
