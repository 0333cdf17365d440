"""Open a job's input: check it is NWB, find the ElectricalSeries, attach its probe, cut
and preprocess it.

The checks come first and raise nwbscope errors with a message a scientist can act on (the
sorter's own failure on a wrong file would be a long trace about something else). The probe
comes from the best positions the file holds (``geometry``), and the job log says which, since
a sort on a made-up layout is worth knowing about.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nwbscope.errors import FormatError, NotHDF5Error, ParameterError

from ..inputs import list_electrical_series, resolve_series
from .electrodes import Electrodes, read_electrodes
from .geometry import GeometrySource, attach_geometry
from .spec import RecordingOptions


@dataclass
class LoadedRecording:
    raw: Any  # the whole series, as SpikeInterface reads it, with its probe
    recording: Any  # cut to the time range and preprocessed: what the sorter sees
    series_path: str
    start_frame: int
    session: dict[str, Any]  # session_description, session_start_time, identifier
    path: Path | None = None  # the local input file
    electrodes: Electrodes | None = None  # its electrodes table and the series' rows
    geometry: GeometrySource | None = None  # where the probe positions came from


def check_nwb(path: Path, name: str) -> None:
    """Raise NotHDF5Error / FormatError unless ``path`` is an HDF5 file with NWB in it."""
    import h5py

    if not h5py.is_hdf5(path):
        with open(path, "rb") as f:
            head = f.read(64)
        raise NotHDF5Error(name, head)
    with h5py.File(path, "r") as f:
        if "nwb_version" not in f.attrs:
            raise FormatError(
                f"{name} is an HDF5 file but not an NWB file (no 'nwb_version' attribute at "
                "its root). Submit an NWB file written by pynwb, MatNWB or NeuroConv."
            )


def find_series(path: Path, wanted: str | None, name: str) -> str:
    """The ElectricalSeries path to read: ``wanted`` checked, or the only one in the file
    (``inputs.resolve_series`` words every refusal, as the broker's submit-time check)."""
    return resolve_series(list_electrical_series(path), wanted, name)


def _print(line: str) -> None:
    print(line, flush=True)  # the job log is streamed to the user as it is written


def session_metadata(path: Path) -> dict[str, Any]:
    import h5py

    with h5py.File(path, "r") as f:
        def text(key: str, default: str = "") -> str:
            if key not in f:
                return default
            value = f[key][()]
            return value.decode() if isinstance(value, bytes) else str(value)

        return {
            "identifier": text("identifier"),
            "session_description": text("session_description", "unknown session"),
            "session_start_time": text("session_start_time"),
        }


def load_recording(
    path: Path, options: RecordingOptions, name: str, log: Callable[[str], Any] | None = None
) -> LoadedRecording:
    """Read, attach the probe, cut to ``time_range`` and (optionally) bandpass +
    common-reference the series; ``log`` gets the line saying where the geometry came from.

    The filter writes float32: a sorter that then skips its own filter (the default, so
    nothing filters twice) gets what its own filter would have given it, not int16 rounding.
    """
    import spikeinterface.preprocessing as spre
    from spikeinterface.extractors.nwbextractors import NwbRecordingExtractor

    check_nwb(path, name)
    series_path = find_series(path, options.electrical_series_path, name)
    raw = NwbRecordingExtractor(file_path=path, electrical_series_path=series_path)
    electrodes = read_electrodes(path, series_path)
    geometry = attach_geometry(raw, electrodes, path)
    (log or _print)(geometry.message)
    recording = raw
    start_frame = 0
    time_range = options.time_range
    if time_range:
        fs = raw.get_sampling_frequency()
        total = raw.get_num_samples()
        start_frame = min(int(round(time_range[0] * fs)), total)
        stop_frame = min(int(round(time_range[1] * fs)), total)
        if stop_frame <= start_frame:
            raise ParameterError(
                "recording.time_range",
                f"[{time_range[0]}, {time_range[1]}] s holds no samples of a "
                f"{total / fs:.1f} s recording.",
            )
        recording = recording.frame_slice(start_frame=start_frame, end_frame=stop_frame)
    if options.preprocessing:
        recording = spre.bandpass_filter(
            recording, freq_min=options.freq_min, freq_max=options.freq_max, dtype="float32",
        )
        recording = spre.common_reference(recording, reference="global", operator="median")
    return LoadedRecording(raw, recording, series_path, start_frame, session_metadata(path),
                           path=path, electrodes=electrodes, geometry=geometry)
