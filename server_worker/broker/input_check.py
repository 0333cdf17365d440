"""Check a job's input at submission: is it NWB, and which ElectricalSeries is sorted.

Why at submission: a file with a raw series and an LFP used to be queued, claimed, downloaded
and only then refused ("has several ElectricalSeries; say which one") minutes later. The
broker reads the file's metadata with nwbscope's own reader (a few range reads, no sorter,
no pynwb) and answers a 422 naming the series at once. When the broker cannot reach the
input itself (a URL only the workers can see), the check is left to the worker.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from nwbscope.errors import FormatError, NotFoundError, ParameterError, SourceError

from ..settings import Settings
from ..store import Store
from .inputs_ref import InputRef

log = logging.getLogger("nwbscope.broker")

#: Seconds per range request of the check: a URL this slow is left to the worker.
CHECK_TIMEOUT_S = 10.0



def check_input(
    source: InputRef, recording: dict[str, Any], store: Store, settings: Settings, field: str
) -> dict[str, Any]:
    """``recording`` with the series to sort filled in; ParameterError for a wrong input."""
    from ..inputs import list_electrical_series, resolve_series  # reads NWB: only when used

    target = _readable(source, store, settings)
    name = InputRef.label_of(source.uri)
    started = time.monotonic()
    try:
        series = list_electrical_series(target, timeout=CHECK_TIMEOUT_S)
    except (SourceError, TimeoutError) as error:  # unreachable from here: the worker will say
        log.info("input %s not checked at submission: %s", source.uri, error)
        return recording
    except FormatError as error:
        raise ParameterError(field, f"{name}: {error}") from error
    finally:
        log.debug("input check of %s: %.2f s", source.uri, time.monotonic() - started)
    wanted = recording.get("electrical_series_path")
    try:
        chosen = resolve_series(series, wanted, name)
    except NotFoundError as error:  # no series at all: the input is what is wrong
        raise ParameterError(field, str(error)) from error
    return {**recording, "electrical_series_path": chosen}


def _readable(source: InputRef, store: Store, settings: Settings) -> str:
    """A local path or a URL this process can read the input from."""
    if source.uri.startswith("sha256://") and source.sha256:
        path = store.local_path(source.sha256)
        if path is not None:
            return str(path)
        return f"{settings.base_url}/api/store/{source.sha256}"
    return source.uri


