"""Write a sorting as an NWB file with pynwb: units, electrodes, waveforms and provenance.

The units table is NWB's own (``/units``): spike times in seconds on the input's time base,
the main electrode of each unit, its mean waveform (volts) when templates could be computed,
and SNR / firing-rate columns. The job's provenance sits in a ``spike_sorting`` processing
module as a one-row ``DynamicTable`` named ``provenance`` (pynwb reads it back as a table;
the parameters are a JSON string column). The same figures go to a small JSON summary.
"""

from __future__ import annotations

import json
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
        analyzer.compute("templates", ms_before=1.0, ms_after=2.0)
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
    _add_electrodes(nwb, raw)
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
        if main is not None:
            kwargs["electrodes"] = [int(main[index])]
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


def _add_electrodes(nwb: Any, raw: Any) -> None:
    """Electrodes of the sorted series: ids, groups, probe positions (as SpikeInterface read)."""
    device = nwb.create_device(name="probe", description="probe of the sorted recording")
    locations = raw.get_channel_locations()
    group_names = raw.get_property("group_name")
    groups: dict[str, Any] = {}
    nwb.add_electrode_column(name="channel_id", description="channel id in the input file")
    nwb.add_electrode_column(name="rel_x", description="x position on the probe (µm)")
    nwb.add_electrode_column(name="rel_y", description="y position on the probe (µm)")
    for index, channel_id in enumerate(raw.get_channel_ids()):
        group_name = str(group_names[index]) if group_names is not None else "group0"
        if group_name not in groups:
            groups[group_name] = nwb.create_electrode_group(
                name=group_name, description="electrode group of the input",
                location="unknown", device=device,
            )
        nwb.add_electrode(
            group=groups[group_name], location="unknown", channel_id=str(channel_id),
            rel_x=float(locations[index, 0]), rel_y=float(locations[index, 1]),
        )


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
