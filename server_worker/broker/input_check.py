"""Check a job's input at submission: is it NWB, and which ElectricalSeries is sorted.

Why at submission: a file with a raw series and an LFP used to be queued, claimed, downloaded
and only then refused ("has several ElectricalSeries; say which one") minutes later. The
broker reads the file's metadata with nwbscope's own reader (a few range reads, no sorter,
no pynwb) and answers a 422 naming the series at once. When the broker cannot reach the
input itself (a URL only the workers can see), the check is left to the worker.

A URL is first checked by the URL policy (``url_policy``: no loopback or private addresses
unless ``allow_private_urls``, this server's own files always) and probed by range, so a URL
into the lab's network, a web page or an input over ``max_input_bytes`` is a 422 naming the
input before more than a few hundred bytes are read.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from typing import Any

from nwbscope.errors import FormatError, NotFoundError, ParameterError, SourceError
from nwbscope.sources import is_url

from ..redact import redact_url
from ..settings import Settings
from ..store import Store
from ..url_policy import BlockedUrlError, UrlPolicy
from .inputs_ref import InputRef

log = logging.getLogger("nwbscope.broker")

#: Seconds per range request of the check: a URL this slow is left to the worker.
CHECK_TIMEOUT_S = 10.0


def check_input(
    source: InputRef, recording: dict[str, Any], store: Store, settings: Settings, field: str
) -> dict[str, Any]:
    """``recording`` with the series to sort filled in; ParameterError for a wrong input."""
    from ..inputs import (  # reads NWB: only when used
        InputTooLargeError,
        NotNwbInputError,
        list_electrical_series,
        resolve_series,
    )

    target = _readable(source, store, settings)
    name = InputRef.label_of(source.uri)
    policy = UrlPolicy.for_server(settings)
    started = time.monotonic()
    try:
        series = _known_series(source.sha256)
        if series is None:
            _probe(target, policy, settings)
            series = list_electrical_series(target, timeout=CHECK_TIMEOUT_S, policy=policy)
            _remember_series(source.sha256, series)
    except (BlockedUrlError, InputTooLargeError, NotNwbInputError) as error:
        raise ParameterError(field, redact_url(str(error))) from error
    except (SourceError, TimeoutError) as error:  # unreachable from here: the worker will say
        log.info("input %s not checked at submission: %s", redact_url(source.uri),
                 redact_url(str(error)))
        return recording
    except FormatError as error:
        raise ParameterError(field, redact_url(f"{name}: {error}")) from error
    finally:
        log.debug("input check of %s: %.2f s", redact_url(source.uri),
                  time.monotonic() - started)
    wanted = recording.get("electrical_series_path")
    try:
        chosen = resolve_series(series, wanted, name)
    except NotFoundError as error:  # no series at all: the input is what is wrong
        raise ParameterError(field, redact_url(str(error))) from error
    return {**recording, "electrical_series_path": chosen}


#: The series of inputs already checked, by content hash: the bytes behind a hash never
#: change, so a second sort of the same stored file (another sorter, other parameters, a
#: batch) is not read again. Opening the file was 80 % of a submission's time.
_series_by_hash: OrderedDict[str, list[Any]] = OrderedDict()
_SERIES_KEPT = 512
_series_lock = threading.Lock()


def _known_series(sha256: str | None) -> list[Any] | None:
    if not sha256:
        return None
    with _series_lock:
        found = _series_by_hash.get(sha256)
        if found is not None:
            _series_by_hash.move_to_end(sha256)
        return found


def _remember_series(sha256: str | None, series: list[Any]) -> None:
    if not sha256:
        return
    with _series_lock:
        _series_by_hash[sha256] = series
        while len(_series_by_hash) > _SERIES_KEPT:
            _series_by_hash.popitem(last=False)


def _probe(target: str, policy: UrlPolicy, settings: Settings) -> None:
    """Refuse a URL the policy forbids, an input over ``max_input_bytes`` (when its size is
    known) and a URL whose first bytes are not HDF5, before the NWB reader reads more than
    a few hundred bytes."""
    from ..inputs import check_size, probe_input

    if is_url(target):
        probe_input(target, policy, settings.max_input_bytes, CHECK_TIMEOUT_S)
    else:
        check_size(os.path.getsize(target), settings.max_input_bytes)


def _readable(source: InputRef, store: Store, settings: Settings) -> str:
    """A local path or a URL this process can read the input from."""
    if source.uri.startswith("sha256://") and source.sha256:
        path = store.local_path(source.sha256)
        if path is not None:
            return str(path)
        return f"{settings.base_url}/api/store/{source.sha256}?redirect=false"  # see routes
    return source.uri


