"""Intracellular sweeps: which series belong together (the icephys tables), and their values.

Why the tables decide the groups: NWB 2.4+ files say how sweeps belong together in five
nested tables under ``/general/intracellular_ephys``: ``intracellular_recordings`` (one row
per stimulus/response pair, as ``TimeSeriesReference``s: ``idx_start``, ``count``, series),
``simultaneous_recordings`` (rows of the first), ``sequential_recordings`` (rows of the
second, one stimulus type), ``repetitions`` and ``experimental_conditions``. A group at any
level is resolved down to recording rows, so the view overlays the same sweeps a pynwb user
gets from ``to_dataframe``. Older files have no tables: their series share a
``sweep_number`` attribute, and that is the group.

Why each sweep has its own time zero: sweeps of one protocol start at different session
times; overlaid from their own first sample (x in ms) their responses are comparable.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ViewError
from ...h5.api import ObjectRef
from ...nwb.tables import Table
from ...nwb.values import text
from ..window import TimeWindow
from .columns import column_values, read_ragged
from .decimate import decimate
from .series import read_series_time
from .walk import find_typed

ICEPHYS = "/general/intracellular_ephys"
# grouping levels, finest first: (level, table type, default table name, region column)
LEVELS = (
    ("recording", "IntracellularRecordingsTable", "intracellular_recordings", None),
    ("simultaneous", "SimultaneousRecordingsTable", "simultaneous_recordings", "recordings"),
    ("sequential", "SequentialRecordingsTable", "sequential_recordings",
     "simultaneous_recordings"),
    ("repetition", "RepetitionsTable", "repetitions", "sequential_recordings"),
    ("condition", "ExperimentalConditionsTable", "experimental_conditions", "repetitions"),
)
LEVEL_OF_TYPE = {t: level for level, t, _, _ in LEVELS}
LEVEL_TITLES = {"recording": "recording", "simultaneous": "simultaneous recording",
                "sequential": "sequential recording", "repetition": "repetition",
                "condition": "condition", "sweep_number": "sweep number", "all": "all sweeps"}
STIMULUS_TYPES = ("CurrentClampStimulusSeries", "VoltageClampStimulusSeries")
MAX_POINTS_PER_PX = 2  # a sweep longer than 2 samples per pixel is min/max decimated ...
RAW_SAMPLES = 10_000  # ... unless it has at most this many (drawn sample by sample)


@dataclass(frozen=True)
class Part:
    """A ``TimeSeriesReference``: rows ``start..start+count`` of the series at ``path``;
    ``path`` None when the reference points at no object of the file."""

    path: str | None
    start: int
    count: int


@dataclass(frozen=True)
class Sweep:
    """One recording: a response and its stimulus (either may be absent)."""

    label: str
    response: Part | None
    stimulus: Part | None


@dataclass(frozen=True)
class Group:
    """Sweeps shown together: a row of one icephys table, a sweep number, or all."""

    key: str  # value of the "group" option
    label: str
    sweeps: tuple[int, ...]  # indices into ``Sweeps.sweeps``


@dataclass(frozen=True)
class Sweeps:
    """Every sweep of a file and its groups at each level the file has (finest first)."""

    sweeps: tuple[Sweep, ...]
    levels: dict[str, tuple[Group, ...]]
    warnings: tuple[str, ...]  # about the tables' structure (shown with every group)
    missing: tuple[str, ...] = ()  # recordings whose series are not in the file

    def level_of(self, sweep: int, level: str) -> Group | None:
        """The first group of ``level`` that holds sweep ``sweep``."""
        return next((g for g in self.levels.get(level, ()) if sweep in g.sweeps), None)

    def sweeps_of_series(self, path: str) -> list[int]:
        return [i for i, s in enumerate(self.sweeps)
                if any(p is not None and p.path == path for p in (s.response, s.stimulus))]


@dataclass(frozen=True, eq=False)
class SweepTrace:
    """One part of one sweep, ready to draw: ``ms`` from the sweep's first sample and the
    values in ``unit`` (conversion and offset applied), perhaps min/max decimated."""

    path: str
    t_ms: np.ndarray
    values: np.ndarray
    unit: str
    n_samples: int
    duration_ms: float  # from the first to the last sample of the sweep
    decimated: bool
    warnings: tuple[str, ...]


def is_stimulus(nwb: Any, group: Any) -> bool:
    return any(nwb.is_a(group, t) for t in STIMULUS_TYPES) or str(group.path).startswith(
        "/stimulus/")


def table_paths(nwb: Any, base: str = ICEPHYS) -> dict[str, str]:
    """Level -> path of the icephys tables in ``base`` (by type, else by their usual name)."""
    if base not in nwb:
        return {}
    group = nwb.group(base)
    found: dict[str, str] = {}
    for name in group.keys():
        node = group[name]
        if node.kind != "group":
            continue
        level = LEVEL_OF_TYPE.get(text(node.attrs.get("neurodata_type")) or "")
        if level and level not in found:
            found[level] = node.path
    for level, _, name, _ in LEVELS:
        if level not in found and name in group and group[name].kind == "group":
            found[level] = group[name].path
    return found


def read_sweeps(nwb: Any, base: str = ICEPHYS) -> Sweeps:
    """The sweeps and groups of the icephys tables in ``base``, else by sweep number."""
    paths = table_paths(nwb, base)
    if "recording" in paths:
        return _from_tables(nwb, paths)
    return _by_sweep_number(nwb)


def _part(value: Any) -> Part | None:
    start, count, ref = int(value["idx_start"]), int(value["count"]), value["timeseries"]
    if start < 0 or count < 0:
        return None  # NWB's "no stimulus/response" reference
    path = ref.path if isinstance(ref, ObjectRef) else None
    if path is not None and path.startswith("<"):
        path = None  # the facade names an unreachable object by its address
    return Part(path, start, count)


def _reference_column(nwb: Any, recordings: str, category: str, column: str,
                      n_rows: int) -> list[Part | None]:
    path = f"{recordings}/{category}/{column}"
    if path not in nwb:
        return [None] * n_rows
    values = np.asarray(nwb[path][:])
    if len(values) != n_rows:
        raise ViewError(f"{path} has {len(values)} rows, the recordings table {n_rows}; the "
                        "file is inconsistent.")
    return [_part(v) for v in values]


def _from_tables(nwb: Any, paths: dict[str, str]) -> Sweeps:
    recordings = paths["recording"]
    table = Table(nwb.group(recordings))
    n = table.n_rows
    ids = table.ids().astype(np.int64)
    responses = _reference_column(nwb, recordings, "responses", "response", n)
    stimuli = _reference_column(nwb, recordings, "stimuli", "stimulus", n)
    warnings: list[str] = []
    missing: list[str] = []
    sweeps = []
    for row in range(n):
        response, stimulus = responses[row], stimuli[row]
        label = f"recording {int(ids[row])}"
        for what, part in (("response", response), ("stimulus", stimulus)):
            if part is not None and (part.path is None or part.path not in nwb):
                missing.append(f"Row {row} (id {int(ids[row])}) of {recordings} points at a "
                                f"{what} series that is not in the file; it is not drawn.")
        if response is not None and response.path:
            label = f"{label} · {posixpath.basename(response.path)}"
        sweeps.append(Sweep(label, response, stimulus))
    levels: dict[str, tuple[Group, ...]] = {
        "recording": tuple(Group(f"recording:{r}", sweeps[r].label, (r,)) for r in range(n))}
    below = levels["recording"]
    for level, _, _, region in LEVELS[1:]:
        if level not in paths or region is None:
            break  # a level's rows point into the level below: a gap ends the chain
        groups = _level_groups(nwb, paths[level], level, region, below, warnings)
        if groups is None:
            break
        levels[level] = below = groups
    levels["all"] = (Group("all", f"all {n} recordings", tuple(range(n))),)
    return Sweeps(tuple(sweeps), levels, tuple(warnings), tuple(missing))


def _level_groups(nwb: Any, path: str, level: str, region: str, below: tuple[Group, ...],
                  warnings: list[str]) -> tuple[Group, ...] | None:
    """Each row of the table at ``path`` as the union of the rows of the level below."""
    table = Table(nwb.group(path))
    if region not in table.columns or not table.column(region).ragged:
        warnings.append(f"{path} has no '{region}' column; grouping stops below it.")
        return None
    ragged = read_ragged(table, region)
    ids = table.ids().astype(np.int64)
    extra = _describe_column(table, level)
    groups = []
    for row, members in enumerate(ragged.rows()):
        sweeps: list[int] = []
        for m in np.asarray(members, dtype=np.int64).tolist():
            if not 0 <= m < len(below):
                warnings.append(f"Row {row} of {path} points at row {m} of the table below, "
                                f"which has {len(below)} rows; that entry is left out.")
                continue
            sweeps.extend(s for s in below[m].sweeps if s not in sweeps)
        label = f"{LEVEL_TITLES[level]} {int(ids[row])}"
        if extra is not None:
            label += f" · {extra[row]}"
        label += f" ({len(sweeps)} sweep{'s' if len(sweeps) != 1 else ''})"
        groups.append(Group(f"{level}:{row}", label, tuple(sweeps)))
    return tuple(groups)


def _describe_column(table: Table, level: str) -> list[str] | None:
    """A text column that names the rows: the stimulus type, a condition's first text."""
    names = ["stimulus_type"] if level == "sequential" else []
    names += [c.name for c in table.columns.values() if c.dtype == "str" and not c.ragged]
    for name in names:
        if name in table.columns and not table.column(name).ragged:
            try:
                return [str(v) for v in column_values(table, name).tolist()]
            except ViewError:
                continue
    return None


def _by_sweep_number(nwb: Any) -> Sweeps:
    """Older files: PatchClampSeries paired into sweeps by their ``sweep_number``."""
    numbers: dict[int, dict[str, list[str]]] = {}
    alone: list[str] = []
    for info in find_typed(nwb, "PatchClampSeries"):
        group = nwb.group(info.path)
        number = group.attrs.get("sweep_number")
        role = "stimulus" if is_stimulus(nwb, group) else "response"
        if number is None:
            alone.append(info.path)
            continue
        key = int(np.asarray(number).reshape(-1)[0])
        numbers.setdefault(key, {"response": [], "stimulus": []})[role].append(info.path)
    sweeps: list[Sweep] = []
    groups: list[Group] = []
    for number in sorted(numbers):
        roles = numbers[number]
        first = len(sweeps)
        for k in range(max(len(roles["response"]), len(roles["stimulus"]))):
            response = _whole(nwb, roles["response"], k)
            stimulus = _whole(nwb, roles["stimulus"], k)
            name = posixpath.basename((response or stimulus).path or "")
            sweeps.append(Sweep(f"sweep {number} · {name}", response, stimulus))
        groups.append(Group(f"sweep_number:{number}", f"sweep {number} "
                            f"({len(sweeps) - first} series pair(s))",
                            tuple(range(first, len(sweeps)))))
    for path in alone:
        role = "stimulus" if is_stimulus(nwb, nwb.group(path)) else "response"
        part = _whole(nwb, [path], 0)
        sweeps.append(Sweep(posixpath.basename(path), part if role == "response" else None,
                            part if role == "stimulus" else None))
    levels: dict[str, tuple[Group, ...]] = {"sweep_number": tuple(groups)} if groups else {}
    levels["all"] = (Group("all", f"all {len(sweeps)} sweeps", tuple(range(len(sweeps)))),)
    return Sweeps(tuple(sweeps), levels, ())


def _whole(nwb: Any, paths: list[str], k: int) -> Part | None:
    if k >= len(paths):
        return None
    data = nwb.group(paths[k])["data"] if "data" in nwb.group(paths[k]) else None
    return Part(paths[k], 0, int(data.shape[0]) if data is not None and data.shape else 0)


def sweep_trace(nwb: Any, part: Part, width_px: int = 1000,
                max_raw: int = RAW_SAMPLES) -> SweepTrace:
    """The values of ``part`` against ms from its first sample: every sample of a sweep of
    at most ``max_raw`` samples (or two per pixel); a longer one min/max decimated to about
    two points per pixel, so no spike is lost."""
    if part.path is None or part.path not in nwb:
        raise ViewError("A sweep points at a series that is not in the file.")
    series = read_series_time(nwb.group(part.path))
    warnings = list(series.warnings)
    if series.n_channels != 1:
        warnings.append(f"{part.path} has {series.n_channels} columns; the first is drawn.")
    i0 = min(part.start, series.n_samples)
    i1 = min(part.start + part.count, series.n_samples)
    if i1 - i0 < part.count:
        warnings.append(f"The sweep asks for rows {part.start} to {part.start + part.count} "
                        f"of {part.path}, which has {series.n_samples}; the rows there are "
                        "drawn.")
    if i1 <= i0:
        return SweepTrace(part.path, np.zeros(0), np.zeros(0), series.unit, 0, 0.0, False,
                          tuple(warnings))
    t0 = series.time_of(i0)
    last = series.time_of(i1 - 1)
    duration = (last - t0) * 1000.0
    if i1 - i0 <= max(max_raw, MAX_POINTS_PER_PX * width_px):
        times = series.times(i0, i1)
        raw = np.asarray(series.data[i0:i1]).reshape(i1 - i0, -1)[:, 0]
        values = series.values(raw, np.array([0]))
        return SweepTrace(part.path, (times - t0) * 1000.0, values, series.unit, i1 - i0,
                          duration, False, tuple(warnings))
    end = last + (1.0 / series.mean_rate if series.mean_rate else 1e-9)
    block = decimate(series, TimeWindow(t0, max(end, t0 + 1e-9), width_px), [0])
    x, y = block.polyline(0)
    keep = np.isfinite(y)
    return SweepTrace(part.path, (x[keep] - t0) * 1000.0, y[keep].astype(np.float64),
                      series.unit, i1 - i0, duration, True, tuple(warnings))
