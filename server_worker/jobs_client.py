"""A small client of the broker's job API, for ``nwbscope sort`` / ``nwbscope jobs``, benchmarks
and tests (anything that drives jobs over HTTP without the page).

    with JobsClient("http://127.0.0.1:8000", token) as client:
        job = client.submit("spykingcircus2", "sha256://<hex>?label=rec.nwb",
                            recording={"time_range": [0, 5]})
        for text in client.follow(job["id"]):
            print(text, end="")
        client.get(job["id"])["outputs"]          # {"nwb": "sha256://...?label=units.nwb", ...}

It knows the routes and their JSON field names (``jobs_service.job_view``), nothing of how the
broker works inside, and tolerates fields it does not know. Every call sends the token it was
given: reads of jobs and logs need one too (the user token, or a read token for reads only).
Errors are one family (``JobsClientError``) with messages a user can act on, so callers print
them instead of a traceback.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx

#: States after which a job never changes again.
FINAL_STATES = ("completed", "failed", "cancelled")
_JOB_ID = re.compile(r"[0-9a-f]{32}")


class JobsClientError(Exception):
    """The server could not be reached or refused a call; the message says what to do."""


class ServerUnreachable(JobsClientError):
    """Nothing answered at the server URL (not running, wrong port or host)."""


class Rejected(JobsClientError):
    """A 422: a field of the request is wrong; ``field`` names it (``parameters.x``)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        # The broker's messages usually start with the field already: do not say it twice.
        text = message if message.startswith(f"{field}:") or not field else f"{field}: {message}"
        super().__init__(text)


class NotFound(JobsClientError):
    """A 404, or a job id prefix that matches no job."""


class Conflict(JobsClientError):
    """A 409: the job's state does not allow this (cancelling a finished job)."""


class JobsClient:
    """Synchronous calls on ``/api/jobs`` and ``/api/processors`` of one nwbscope server."""

    def __init__(self, server: str, token: str | None = None, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.server = server.rstrip("/")
        self.token = token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=self.server, headers=headers, timeout=timeout,
                                 transport=transport)

    def __enter__(self) -> JobsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    # ---- the calls ----------------------------------------------------------------------------

    def processors(self, *, include_offline: bool = False) -> list[dict[str, Any]]:
        """What the workers offer (``include_offline``: also those of workers not heard from
        lately, which the broker still queues jobs for)."""
        params = {"include_offline": "true"} if include_offline else {}
        return self._call("GET", "/api/processors", params=params)["processors"]

    def submit(self, processor: str, input_uri: str, *, parameters: dict[str, Any] | None = None,
               recording: dict[str, Any] | None = None, force: bool = False,
               resources: dict[str, Any] | None = None) -> dict[str, Any]:
        """Queue a job on one input (a store URI or an http(s) URL).

        The answer is the job; ``reused`` is true when the broker returned an identical
        completed job instead of queuing a new one (``force`` runs it again). ``resources``
        (``cpus``, ``memory_gb``, ``gpus``, ``time_limit_minutes``) replace the processor's.
        """
        body = {"processor": processor, "input": input_uri, "parameters": parameters or {},
                "recording": recording or {}, "force": force}
        if resources:
            body["resources"] = resources
        return self._call("POST", "/api/jobs", json=body)

    def list(self, *, status: str | None = None, processor: str | None = None,
             limit: int = 100) -> list[dict[str, Any]]:
        """Jobs, newest first."""
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        if processor:
            params["processor"] = processor
        return self._call("GET", "/api/jobs", params=params)["jobs"]

    def get(self, job_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/jobs/{job_id}")

    def log(self, job_id: str, offset: int = 0) -> dict[str, Any]:
        """``{"text", "next_offset", "status", "complete", ...}`` from character ``offset`` on."""
        return self._call("GET", f"/api/jobs/{job_id}/log", params={"offset": offset})

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel now (pending) or at the worker's next heartbeat (running)."""
        return self._call("POST", f"/api/jobs/{job_id}/cancel")

    def workers(self) -> list[dict[str, Any]]:
        return self._call("GET", "/api/workers")["workers"]

    def resolve(self, id_or_prefix: str) -> str:
        """The full id of a job from its id or a unique prefix (people type 8 characters)."""
        wanted = id_or_prefix.strip().lower()
        if _JOB_ID.fullmatch(wanted):
            return wanted
        if not wanted or not re.fullmatch(r"[0-9a-f]+", wanted):
            raise NotFound(f"{id_or_prefix!r} is not a job id (32 hex characters, or a prefix)")
        matches = [j["id"] for j in self.list(limit=1000) if j["id"].startswith(wanted)]
        if not matches:
            raise NotFound(f"no job id starts with {wanted!r} (see `nwbscope jobs`)")
        if len(matches) > 1:
            raise NotFound(f"{wanted!r} matches {len(matches)} jobs: give more characters")
        return matches[0]

    def follow(self, job_id: str, *, offset: int = 0, poll_s: float = 1.0) -> Iterator[str]:
        """Yield the job's console output as it arrives, until the job has ended.

        The broker reads the job's state before its log in one answer, so once ``complete``
        is true that answer already holds the last of the log.
        """
        while True:
            part = self.log(job_id, offset)
            if part.get("text"):
                yield part["text"]
            offset = int(part.get("next_offset", offset))
            if part.get("complete") or part.get("status") in FINAL_STATES:
                return
            time.sleep(poll_s)

    def wait(self, job_id: str, *, poll_s: float = 1.0, timeout: float | None = None
             ) -> dict[str, Any]:
        """The job once it has ended (without reading its log); TimeoutError past ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job.get("status") in FINAL_STATES:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job.get('status')}")
            time.sleep(poll_s)

    # ---- HTTP -----------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            answer = self.http.request(method, path, **kw)
        except httpx.ConnectError as exc:
            raise ServerUnreachable(
                f"cannot reach the nwbscope server at {self.server} ({exc}). Is `nwbscope "
                "serve` running there? Give another with --server URL or $NWBSCOPE_URL."
            ) from None
        except httpx.TimeoutException:
            raise ServerUnreachable(f"the server at {self.server} did not answer in time "
                                    f"({method} {path})") from None
        if answer.is_success:
            return answer.json()
        raise _error(answer, f"{method} {self.server}{path}")


def _error(answer: httpx.Response, what: str) -> JobsClientError:
    """The exception for an error answer, from its ``detail`` (FastAPI's error body)."""
    try:
        detail: Any = answer.json().get("detail", answer.text)
    except (ValueError, AttributeError):
        detail = answer.text or answer.reason_phrase
    status = answer.status_code
    if status == 422:
        if isinstance(detail, dict):
            return Rejected(str(detail.get("field", "")), str(detail.get("message", detail)))
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):  # pydantic's
            first = detail[0]
            field = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
            return Rejected(field, str(first.get("msg", first)))
        return Rejected("", str(detail))
    if status == 401:
        return JobsClientError(
            f"the server refused the token ({detail}); pass --token or set NWBSCOPE_TOKEN "
            "(`nwbscope serve` prints it)")
    if status == 404:
        return NotFound(str(detail))
    if status == 409:
        return Conflict(str(detail))
    return JobsClientError(f"{what}: HTTP {status}: {detail}")
