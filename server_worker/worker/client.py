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

from ..jobs.spec import WORKER_UNKNOWN, JobSpec

_CHUNK = 1 << 20


class WorkerGone(RuntimeError):
    """The broker does not know this worker (its database was reset): register again."""


class BrokerClient:
    def __init__(self, broker_url: str, token: str, timeout: float = 60.0) -> None:
        self.broker_url = broker_url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.broker_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def close(self) -> None:
        self.http.close()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.http.post(path, json=body)
        if answer.status_code == 404 and _code(answer) == WORKER_UNKNOWN:
            raise WorkerGone(answer.text)
        answer.raise_for_status()
        return answer.json()

    def register(self, name: str, capabilities: dict[str, Any]) -> dict[str, Any]:
        return self._post("/api/workers/register", {"name": name, "capabilities": capabilities})

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
        answer.raise_for_status()
        return answer.json()["uri"]

    def complete(self, worker_id: str, job_id: str, outputs: dict[str, str],
                 timings: dict[str, float], input_sha256: str | None) -> dict[str, Any]:
        return self._post(f"/api/workers/{worker_id}/jobs/{job_id}/complete",
                          {"outputs": outputs, "timings": timings, "input_sha256": input_sha256})

    def fail(self, worker_id: str, job_id: str, error: str, cancelled: bool = False
             ) -> dict[str, Any]:
        return self._post(f"/api/workers/{worker_id}/jobs/{job_id}/fail",
                          {"error": error, "cancelled": cancelled})

    # ---- inputs --------------------------------------------------------------------------

    def fetch_input(self, uri: str, dest: Path, cache_dir: Path, expected: str | None = None
                    ) -> str:
        """Put the input at ``dest``; return its SHA-256, checked against a store URI's, or
        against ``expected`` (a URL of another store names the hash it serves)."""
        if uri.startswith("sha256://"):
            hexdigest, _label = parse_uri(uri)
            cached = cache_dir / hexdigest
            if not cached.is_file():
                url = f"{self.broker_url}/api/store/{hexdigest}"
                got = self._download(url, cached)
                if got != hexdigest:
                    cached.unlink(missing_ok=True)
                    raise HashMismatchError(hexdigest, got)
            _link_or_copy(cached, dest)
            return hexdigest
        got = self._download(uri, dest)
        if expected and got != expected:
            dest.unlink(missing_ok=True)
            raise HashMismatchError(expected, got)
        return got

    def _download(self, url: str, dest: Path) -> str:
        dest.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as out, httpx.stream(
                "GET", url, timeout=60.0, follow_redirects=True
            ) as answer:
                if answer.status_code >= 400:
                    raise FetchError(url, answer.status_code, answer.reason_phrase)
                for chunk in answer.iter_bytes(_CHUNK):
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
