"""Open a job's input: check it is NWB, find the ElectricalSeries, cut and preprocess it.

The checks come first and raise nwbscope errors with a message a scientist can act on (the
sorter's own failure on a wrong file would be a long trace about something else).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nwbscope.errors import FormatError, NotFoundError, NotHDF5Error, ParameterError


@dataclass
class LoadedRecording:
    raw: Any  # the whole series, as SpikeInterface reads it
    recording: Any  # cut to the time range and preprocessed: what the sorter sees
    series_path: str
    start_frame: int
    session: dict[str, Any]  # session_description, session_start_time, identifier


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
    """The ElectricalSeries path to read: ``wanted`` checked, or the only one in the file."""
    from spikeinterface.extractors.nwbextractors import NwbRecordingExtractor

    available = list(NwbRecordingExtractor.fetch_available_electrical_series_paths(path))
    if not available:
        raise NotFoundError("ElectricalSeries", name)
    if wanted:
        wanted = wanted.strip("/")
        if wanted not in available:
            listed = ", ".join(available)
            raise ParameterError(
                "recording.electrical_series_path",
                f"{wanted!r} is not an ElectricalSeries in {name}; it has: {listed}.",
            )
        return wanted
    if len(available) > 1:
        listed = ", ".join(available)
        raise ParameterError(
            "recording.electrical_series_path",
            f"{name} has several ElectricalSeries ({listed}); say which one to sort.",
        )
    return available[0]


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


def load_recording(path: Path, options: dict[str, Any], name: str) -> LoadedRecording:
    """Read, cut to ``time_range`` and (optionally) bandpass + common-reference the series."""
    import spikeinterface.preprocessing as spre
    from spikeinterface.extractors.nwbextractors import NwbRecordingExtractor

    check_nwb(path, name)
    series_path = find_series(path, options.get("electrical_series_path"), name)
    raw = NwbRecordingExtractor(file_path=path, electrical_series_path=series_path)
    recording = raw
    start_frame = 0
    time_range = options.get("time_range")
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
    if options.get("preprocessing", True):
        recording = spre.bandpass_filter(
            recording, freq_min=options.get("freq_min", 300.0),
            freq_max=options.get("freq_max", 6000.0),
        )
        recording = spre.common_reference(recording, reference="global", operator="median")
    return LoadedRecording(raw, recording, series_path, start_frame, session_metadata(path))
