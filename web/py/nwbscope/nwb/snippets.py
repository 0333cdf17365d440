"""Python code that reads one object of the file, with nwbscope and with pynwb.

Why: the viewer is a way in; the analysis happens in a notebook. Each object offers code a
scientist can paste: ``nwbscope.open(url)`` (light, lazy) or pynwb over remfile (the full
object model). The pynwb expression follows pynwb's attribute names
(``nwbfile.acquisition["X"]``, ``nwbfile.processing["behavior"]["Position"]``,
``nwbfile.units``, ``nwbfile.trials``), derived from the path and the neurodata types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

ROOT_FIELDS = {"session_description", "identifier", "session_start_time",
               "timestamps_reference_time", "file_create_date"}
INTERVALS = {"trials": "trials", "epochs": "epochs", "invalid_times": "invalid_times"}
GENERAL_GROUPS = {  # /general/<group>/<name> -> nwbfile.<dict>["name"]
    "devices": "devices", "optophysiology": "imaging_planes",
    "intracellular_ephys": "icephys_electrodes", "optogenetics": "ogen_sites",
}


@dataclass(frozen=True)
class Step:
    """One component of a path, with what the snippet needs to know about it."""

    name: str
    kind: str  # "group" or "dataset"
    neurodata_type: str | None = None
    ancestors: tuple[str, ...] = field(default_factory=tuple)

    def is_a(self, base: str) -> bool:
        return self.neurodata_type == base or base in self.ancestors


def _member(parent: Step | None, child: Step, expr: str) -> str:
    """How pynwb reaches ``child`` from the container ``parent`` (expression ``expr``)."""
    if parent is not None and parent.is_a("DynamicTable") and child.kind == "dataset":
        return f"{expr}.id" if child.name == "id" else f'{expr}["{_column(child.name)}"]'
    multi = parent is not None and (
        parent.is_a("ProcessingModule")
        or (parent.is_a("NWBDataInterface") and not parent.is_a("TimeSeries")
            and not parent.is_a("DynamicTable") and child.neurodata_type is not None)
    )
    if multi:
        return f'{expr}["{child.name}"]'
    if child.name.isidentifier():
        return f"{expr}.{child.name}"
    return f'{expr}["{child.name}"]'


def _column(name: str) -> str:
    """``spike_times_index`` is reached through its column ``spike_times``."""
    while name.endswith("_index"):
        name = name[: -len("_index")]
    return name


def pynwb_expression(steps: Sequence[Step]) -> str:
    """The pynwb expression for the object at the end of ``steps`` (root excluded)."""
    names = [s.name for s in steps]
    if not names:
        return "nwbfile"
    head, rest = names[0], steps
    if head in ROOT_FIELDS:
        return f"nwbfile.{head}"
    if head in ("acquisition", "analysis") and len(names) > 1:
        expr, used = f'nwbfile.{head}["{names[1]}"]', 2
    elif head == "processing" and len(names) > 1:
        expr, used = f'nwbfile.processing["{names[1]}"]', 2
    elif head == "stimulus" and len(names) > 2 and names[1] in ("presentation", "templates"):
        attr = "stimulus" if names[1] == "presentation" else "stimulus_template"
        expr, used = f'nwbfile.{attr}["{names[2]}"]', 3
    elif head == "units":
        expr, used = "nwbfile.units", 1
    elif head == "intervals" and len(names) > 1:
        attr = INTERVALS.get(names[1])
        expr = f"nwbfile.{attr}" if attr else f'nwbfile.intervals["{names[1]}"]'
        used = 2
    elif head == "general" and len(names) > 1:
        expr, used = _general(names)
    elif head in ("acquisition", "analysis", "processing", "intervals", "general"):
        return f"nwbfile.{head}"
    elif head == "stimulus":
        return "nwbfile.stimulus"
    else:
        return ""  # outside the NWB object model (e.g. /specifications)
    if not expr:
        return ""
    for index in range(used, len(names)):
        expr = _member(rest[index - 1], rest[index], expr)
    return expr


def _general(names: Sequence[str]) -> tuple[str, int]:
    sub = names[1]
    if sub == "subject":
        return "nwbfile.subject", 2
    if sub == "extracellular_ephys" and len(names) > 2:
        if names[2] == "electrodes":
            return "nwbfile.electrodes", 3
        return f'nwbfile.electrode_groups["{names[2]}"]', 3
    if sub in GENERAL_GROUPS and len(names) > 2:
        return f'nwbfile.{GENERAL_GROUPS[sub]}["{names[2]}"]', 3
    if sub.isidentifier() and len(names) == 2:
        return f"nwbfile.{sub}", 2
    return "", 0


def _read_line(step: Step | None, shape: Sequence[int] | None, var: str,
               raw: bool = False) -> list[str]:
    """What to print about the object in a snippet: a few values, a few rows, or itself."""
    if step is None:
        return [f"print({var})"]
    if step.is_a("DynamicTable"):
        return [f"print({var}[0:5])  # the first rows as a pandas DataFrame"]
    if step.is_a("TimeSeries"):
        return [f"print({var}.data[:10])", f"print({var}.timestamps[:10] if {var}.timestamps "
                f"is not None else ({var}.starting_time, {var}.rate))"]
    if step.kind == "dataset" and shape:
        return [f"print({var}[:10])"]
    if step.kind == "dataset" and raw:  # an h5py scalar dataset (pynwb gives the value)
        return [f"print({var}[()])"]
    return [f"print({var})"]


def _open_h5py(source: str) -> list[str]:
    if source.lower().startswith(("http://", "https://")):
        return ["import h5py", "import remfile", "",
                f"file = h5py.File(remfile.File({source!r}), \"r\")"]
    return ["import h5py", "", f"file = h5py.File({source!r}, \"r\")"]


def pynwb_snippet(source: str, steps: Sequence[Step], shape: Sequence[int] | None) -> str:
    """Code that opens ``source`` with pynwb (over remfile for a URL) and reads the object;
    h5py alone for what pynwb does not map (e.g. ``/specifications``)."""
    expr = pynwb_expression(steps)
    if not expr:
        path = "/" + "/".join(s.name for s in steps)
        return "\n".join([*_open_h5py(source), f"obj = file[{path!r}]",
                          *_read_line(steps[-1] if steps else None, shape, "obj", True)])
    if source.lower().startswith(("http://", "https://")):
        lines = [*_open_h5py(source)[:2], "from pynwb import NWBHDF5IO", "",
                 _open_h5py(source)[-1], "io = NWBHDF5IO(file=file)"]
    else:
        lines = ["from pynwb import NWBHDF5IO", "", f"io = NWBHDF5IO({source!r}, \"r\")"]
    lines.append("nwbfile = io.read()")
    if steps and steps[-1].kind == "dataset" and expr.endswith(".id"):
        expr += ".data"
    return "\n".join([*lines, f"obj = {expr}",
                      *_read_line(steps[-1] if steps else None, shape, "obj")])


def nwbscope_snippet(source: str, path: str, kind: str, shape: Sequence[int] | None,
                     is_timeseries: bool, is_table: bool) -> str:
    """Code that reads the object with ``nwbscope.open`` (lazy, numpy only)."""
    lines = ["import nwbscope", "", f"f = nwbscope.open({source!r})"]
    if is_table:
        lines += [f"table = f.table({path!r})", "print(table.n_rows, table.colnames)",
                  "print(table.cell(table.colnames[0], 0))  # the first row of the first column"]
    elif is_timeseries:
        lines += [f"series = f[{path!r}]", f"print(f.timebase({path!r}).summary())",
                  'print(series["data"][:10])']
    elif kind == "dataset":
        lines += [f"data = f[{path!r}]", "print(data.shape, data.dtype)",
                  "print(data[:10])" if shape else "print(data[()])"]
    else:
        lines += [f"group = f[{path!r}]", "print(group.keys())",
                  "print(dict(group.attrs))"]
    return "\n".join(lines)
