"""The worker's HTTP client of the broker: every call a worker makes, and input downloads.

Inputs are streamed to disk and hashed on the way; a store input lands in a cache named by its
hash (checked before it is used), so a worker downloads a recording once for all its jobs.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx

from nwbscope.errors import FetchError, HashMismatchError
from nwbscope.store import parse_uri

from ..inputs import InputTooLargeError, NotNwbInputError, check_size, probe_input
from ..jobs.spec import WORKER_UNKNOWN, JobSpec
from ..url_policy import UrlPolicy
from .limits import WorkerLimits

_CHUNK = 1 << 20


class WorkerGone(RuntimeError):
    """The broker does not know this worker (its database was reset, or it was pruned) or
    refuses its credential (the server's secret changed): register again."""


class BrokerClient:
    """``token`` is the shared worker token: it only registers. Registration answers this
    worker's own credential, which every later call carries (no worker can act for another).
    """

    def __init__(self, broker_url: str, token: str, timeout: float = 60.0) -> None:
        self.broker_url = broker_url.rstrip("/")
        self._register_auth = {"Authorization": f"Bearer {token}"}
        self.http = httpx.Client(base_url=self.broker_url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def _checked(self, answer: httpx.Response) -> dict[str, Any]:
        if answer.status_code in (401, 403) or (
            answer.status_code == 404 and _code(answer) == WORKER_UNKNOWN
        ):
            raise WorkerGone(f"{answer.status_code}: {answer.text}")
        answer.raise_for_status()
        return answer.json()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._checked(self.http.post(path, json=body))

    def register(self, name: str, capabilities: dict[str, Any]) -> dict[str, Any]:
        """Register (again): answers ``worker_id`` and the credential the client keeps."""
        self.http.headers.pop("Authorization", None)
        answer = self.http.post("/api/workers/register", headers=self._register_auth,
                                json={"name": name, "capabilities": capabilities})
        answer.raise_for_status()  # a refused shared token is no reason to register again
        registered = answer.json()
        self.http.headers["Authorization"] = f"Bearer {registered['credential']}"
        return registered

    def claim(self, worker_id: str) -> JobSpec | None:
        job = self._post(f"/api/workers/{worker_id}/claim", {})["job"]
        return None if job is None else JobSpec.model_validate(job)

    def heartbeat(self, worker_id: str, job_ids: list[str]) -> dict[str, Any]:
        return self._post(f"/api/workers/{worker_id}/heartbeat", {"jobs": job_ids})

    def append_log(self, worker_id: str, job_id: str, text: str) -> None:
        self._post(f"/api/workers/{worker_id}/jobs/{job_id}/log", {"text": text})

    def upload_output(self, worker_id: str, job_id: str, path: Path) -> str:
        with open(path, "rb") as f:
            answer = self.http.put(
                f"/api/workers/{worker_id}/jobs/{job_id}/outputs",
                params={"label": path.name},
                content=iter(lambda: f.read(_CHUNK), b""),
            )
        return self._checked(answer)["uri"]

    def complete(self, worker_id: str, job_id: str, outputs: dict[str, str],
                 timings: dict[str, float], input_sha256: str | None) -> dict[str, Any]:
        return self._post(f"/api/workers/{worker_id}/jobs/{job_id}/complete",
                          {"outputs": outputs, "timings": timings, "input_sha256": input_sha256})

    def fail(self, worker_id: str, job_id: str, error: str, cancelled: bool = False
             ) -> dict[str, Any]:
        return self._post(f"/api/workers/{worker_id}/jobs/{job_id}/fail",
                          {"error": error, "cancelled": cancelled})

    # ---- inputs --------------------------------------------------------------------------

    def fetch_input(self, uri: str, dest: Path, cache_dir: Path, expected: str | None = None,
                    limits: WorkerLimits | None = None) -> str:
        """Put the input at ``dest``; return its SHA-256, checked against a store URI's, or
        against ``expected`` (a URL of another store names the hash it serves).

        ``limits`` (default: the safe defaults) say which URLs may be fetched (the broker's
        own files always) and how large an input may be. A URL is probed first (its first
        bytes and size, by range): one that is not HDF5 or is over ``max_input_bytes`` fails
        before anything is downloaded, and a download that runs past the limit is stopped.
        """
        limits = limits or WorkerLimits()
        policy = UrlPolicy.for_worker(limits.allow_private_urls, self.broker_url)
        if uri.startswith("sha256://"):
            hexdigest, _label = parse_uri(uri)
            cached = cache_dir / hexdigest
            if not cached.is_file():
                # through the broker: its store may sit on a private address (store/routes)
                url = f"{self.broker_url}/api/store/{hexdigest}?redirect=false"
                got = self._download(url, cached, policy, limits.max_input_bytes)
                if got != hexdigest:
                    cached.unlink(missing_ok=True)
                    raise HashMismatchError(hexdigest, got)
            _link_or_copy(cached, dest)
            return hexdigest
        probe_input(uri, policy, limits.max_input_bytes)
        got = self._download(uri, dest, policy, limits.max_input_bytes)
        if expected and got != expected:
            dest.unlink(missing_ok=True)
            raise HashMismatchError(expected, got)
        return got

    def _download(self, url: str, dest: Path, policy: UrlPolicy, max_bytes: int) -> str:
        """Stream ``url`` to ``dest``, hashing on the way; every hop of a redirect is checked
        by ``policy`` before it is sent, and at most ``max_bytes`` are written whatever the
        server said its size was. The first bytes must be HDF5's (a server that ignores
        ``Range`` could not be probed)."""
        from nwbscope.h5.superblock import find_signature
        from nwbscope.sources.memory import MemorySource
        from nwbscope.sources.probe import content_length

        dest.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        received = 0
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=dest.parent)
        hooks = {"request": [policy.httpx_hook()]}
        try:
            with os.fdopen(fd, "wb") as out, httpx.Client(
                timeout=60.0, follow_redirects=True, event_hooks=hooks
            ) as http, http.stream("GET", url) as answer:
                if answer.status_code >= 400:
                    raise FetchError(url, answer.status_code, answer.reason_phrase)
                check_size(content_length(answer.headers.get("Content-Length")), max_bytes)
                for chunk in answer.iter_bytes(_CHUNK):
                    if not received and find_signature(MemorySource(chunk)) is None:
                        raise NotNwbInputError(url.rsplit("/", 1)[-1].split("?")[0], chunk)
                    received += len(chunk)
                    if received > max_bytes:
                        raise InputTooLargeError(None, max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
            os.replace(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return digest.hexdigest()


def _code(answer: httpx.Response) -> str | None:
    """The ``code`` of a broker error answer (None when the body is not one)."""
    try:
        body = answer.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def _link_or_copy(source: Path, dest: Path) -> None:
    import shutil

    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)
