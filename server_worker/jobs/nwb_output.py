"""Write a sorting as an NWB file with pynwb: units, electrodes, waveforms and provenance.

The units table is NWB's own (``/units``): spike times in seconds on the input's time base,
the main electrode of each unit, its mean waveform (volts) when templates could be computed,
and SNR / firing-rate columns. The electrodes table is the input's, copied row for row (ids,
groups with their descriptions, locations and devices, positions and the other simple
columns), so a unit's electrode is the same row, with the same id, as in the input. The
job's provenance sits in a ``spike_sorting`` processing module as a one-row ``DynamicTable``
named ``provenance`` (pynwb reads it back as a table; the parameters are a JSON string
column). The same figures go to a small JSON summary.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

PROVENANCE_MODULE = "spike_sorting"
PROVENANCE_TABLE = "provenance"


def unit_metrics(sorting: Any, recording: Any, log: Any = print) -> dict[str, Any]:
    """Templates, main channels, SNR and firing rates; empty parts if they cannot be made."""
    from spikeinterface.core import create_sorting_analyzer

    metrics: dict[str, Any] = {"templates_uv": None, "main_channel_index": None, "snr": None}
    duration = recording.get_total_duration()
    counts = sorting.count_num_spikes_per_unit(outputs="array")
    metrics["num_spikes"] = np.asarray(counts, dtype=int)
    metrics["firing_rate"] = metrics["num_spikes"] / max(duration, 1e-9)
    if len(sorting.unit_ids) == 0:
        return metrics
    try:
        analyzer = create_sorting_analyzer(sorting, recording, format="memory", sparse=False)
        analyzer.compute("random_spikes", max_spikes_per_unit=200, seed=0)
        # the filtered recording is read again chunk by chunk: threads halve it on 2 cores
        # (3.6 s -> 2.2 s for 32 channels x 60 s), and no progress bar floods the job log
        analyzer.compute("templates", ms_before=1.0, ms_after=2.0, progress_bar=False,
                         n_jobs=min(4, os.cpu_count() or 1), pool_engine="thread")
        analyzer.compute("noise_levels")
        templates = analyzer.get_extension("templates").get_data(operator="average")
        metrics["templates_uv"] = np.asarray(templates, dtype="float32")
        metrics["main_channel_index"] = np.abs(templates).max(axis=1).argmax(axis=1)
        quality = analyzer.compute("quality_metrics", metric_names=["snr"]).get_data()
        metrics["snr"] = quality["snr"].to_numpy(dtype=float)
    except Exception as error:  # waveforms are a bonus: the spike times are the result
        log(f"nwbscope: unit templates / SNR skipped: {type(error).__name__}: {error}")
    return metrics


def write_units_nwb(
    path: Path,
    *,
    sorting: Any,
    loaded: Any,
    metrics: dict[str, Any],
    provenance: dict[str, Any],
) -> None:
    """Write ``sorting`` (found on ``loaded.recording``) and ``provenance`` to ``path``."""
    from hdmf.common import DynamicTable, VectorData
    from pynwb import NWBHDF5IO, NWBFile, ProcessingModule

    raw = loaded.raw
    session = loaded.session
    start_time = _parse_time(session.get("session_start_time"))
    nwb = NWBFile(
        session_description=session.get("session_description") or "spike sorting",
        identifier=f"nwbscope-job-{provenance['job_id']}-attempt-{provenance['attempt']}",
        session_start_time=start_time,
        source_script=f"nwbscope job {provenance['job_id']}: {provenance['processor']} "
        f"{provenance['processor_version']} on {provenance['input_uri']}",
        source_script_file_name="server_worker/jobs/runner.py",
    )
    electrodes = loaded.electrodes
    if electrodes is None:
        from .electrodes import read_electrodes

        electrodes = read_electrodes(loaded.path, loaded.series_path)
    _add_electrodes(nwb, electrodes)
    templates = metrics.get("templates_uv")
    main = metrics.get("main_channel_index")
    snr = metrics.get("snr")
    nwb.units = None
    description = (
        f"Units found by {provenance['processor']} {provenance['processor_version']} "
        f"(spikeinterface {provenance['spikeinterface_version']}) in "
        f"{loaded.series_path} of {provenance['input_uri']}; nwbscope job {provenance['job_id']}."
    )
    from pynwb.misc import Units

    nwb.units = Units(name="units", description=description)
    nwb.add_unit_column(name="unit_name", description="unit id given by the sorter")
    nwb.add_unit_column(name="num_spikes", description="number of spikes")
    nwb.add_unit_column(name="firing_rate", description="spikes per second over the sorted part")
    nwb.add_unit_column(name="snr", description="peak amplitude / noise (NaN when unknown)")
    for index, unit_id in enumerate(sorting.unit_ids):
        frames = sorting.get_unit_spike_train(unit_id, segment_index=0)
        times = raw.sample_index_to_time(np.asarray(frames) + loaded.start_frame)
        kwargs: dict[str, Any] = {}
        if main is not None:  # the series' channel -> its row of the (copied) table
            kwargs["electrodes"] = [int(electrodes.rows[int(main[index])])]
        if templates is not None:
            kwargs["waveform_mean"] = templates[index] * 1e-6  # µV -> volts, as NWB wants
        nwb.add_unit(
            spike_times=np.asarray(times, dtype="float64"),
            unit_name=str(unit_id),
            num_spikes=int(metrics["num_spikes"][index]),
            firing_rate=float(metrics["firing_rate"][index]),
            snr=float(snr[index]) if snr is not None else float("nan"),
            **kwargs,
        )
    columns = [
        VectorData(name=key, description=key.replace("_", " "), data=[_cell(value)])
        for key, value in provenance.items()
    ]
    table = DynamicTable(
        name=PROVENANCE_TABLE,
        description="How these units were made: one row per nwbscope job (JSON where nested).",
        columns=columns,
    )
    module = ProcessingModule(name=PROVENANCE_MODULE, description="nwbscope spike sorting job")
    module.add(table)
    nwb.add_processing_module(module)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def summary(sorting: Any, metrics: dict[str, Any], provenance: dict[str, Any]) -> dict[str, Any]:
    """The small JSON result: units with counts, rates and SNR, plus the provenance."""
    main = metrics.get("main_channel_index")
    snr = metrics.get("snr")
    units = []
    for index, unit_id in enumerate(sorting.unit_ids):
        units.append({
            "unit_id": str(unit_id),
            "num_spikes": int(metrics["num_spikes"][index]),
            "firing_rate_hz": round(float(metrics["firing_rate"][index]), 4),
            "snr": _rounded(snr, index),
            "main_channel_index": None if main is None else int(main[index]),
        })
    return {"num_units": len(units), "units": units, "provenance": provenance}


def read_provenance(nwbfile: Any) -> dict[str, Any]:
    """The provenance row of an output file opened with pynwb, JSON cells decoded."""
    frame = nwbfile.processing[PROVENANCE_MODULE][PROVENANCE_TABLE].to_dataframe()
    row = frame.iloc[0].to_dict()
    decoded = {}
    for key, value in row.items():
        if isinstance(value, str) and value[:1] in "{[":
            try:
                value = json.loads(value)
            except ValueError:
                pass
        decoded[key] = value
    return decoded


#: Optional columns of NWB's electrodes table that pynwb takes as arguments, and their type.
_NWB_COLUMNS = {"x": float, "y": float, "z": float, "imp": float, "rel_x": float,
                "rel_y": float, "rel_z": float, "filtering": str, "reference": str}


def _add_electrodes(nwb: Any, electrodes: Any) -> None:
    """The input's electrodes table, row for row: ids, groups (description, location,
    device), location and every simple column that copies with its type."""
    from .electrodes import STRUCTURAL

    devices = {
        path: nwb.create_device(name=info.name, description=info.description or None,
                                manufacturer=info.manufacturer or None)
        for path, info in electrodes.devices.items()
    }
    groups: dict[str, Any] = {}
    for name, info in electrodes.groups.items():
        device = devices.get(info.device)
        if device is None:
            device = devices.setdefault(None, nwb.create_device(
                name=_free_name("probe", electrodes.devices),
                description="device of the input's electrodes (not found in the input)"))
        groups[name] = nwb.create_electrode_group(
            name=name, description=info.description or "electrode group of the input",
            location=info.location or "unknown", device=device)
    columns = {}
    for name, values in electrodes.columns.items():
        if name in STRUCTURAL:
            continue
        kind = _NWB_COLUMNS.get(name)
        numeric = values.dtype.kind in "biuf"
        if kind is float and not numeric or kind is str and numeric:
            continue  # a column pynwb would refuse under that name
        if kind is None:
            nwb.add_electrode_column(name=name, description=electrodes.descriptions[name])
        columns[name] = values.astype(float) if kind is float else values
    locations = electrodes.columns.get("location")
    for row, electrode_id in enumerate(electrodes.ids):
        group = electrodes.group_of_row[row]
        location = str(locations[row]) if locations is not None else ""
        nwb.add_electrode(
            id=int(electrode_id), group=groups[group],
            location=location or electrodes.groups[group].location or "unknown",
            **{name: _scalar(values[row]) for name, values in columns.items()},
        )


def _free_name(name: str, taken: dict[str, Any]) -> str:
    names = {str(path).rsplit("/", 1)[-1] for path in taken}
    candidate, k = name, 1
    while candidate in names:
        candidate, k = f"{name}{k}", k + 1
    return candidate


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _rounded(values: Any, index: int) -> float | None:
    if values is None or not np.isfinite(values[index]):
        return None
    return round(float(values[index]), 3)


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list | tuple) or value is None:
        return json.dumps(value, default=str, sort_keys=True)
    if isinstance(value, bool):
        return str(value)
    return value


def _parse_time(text: str | None) -> datetime:
    if text:
        try:
            parsed = datetime.fromisoformat(text)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)
