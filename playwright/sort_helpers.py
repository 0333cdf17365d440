"""Steps the sort-from-the-page tests share: a real server with its worker, the form, jobs.

Why a server of its own (not the session ``server``, which runs ``--no-worker``): these tests
run real sorts, so they need ``nwbscope serve`` with its embedded worker, on a data folder of
their own. Its files are registered as ``nwbscope open`` does (``POST /api/files`` from
loopback with the user token from ``<data>/tokens.json``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.services import processes_mentioning  # noqa: F401 - the tests import it here

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "dist" / "site"
FINAL = ("completed", "failed", "cancelled")
WORKER_READY_S = 180.0  # the embedded worker imports SpikeInterface before it registers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SortServer:
    """``nwbscope serve`` with its embedded worker on ``port``, data in ``data``."""

    def __init__(self, data: Path, port: int) -> None:
        self.data = data
        self.base = f"http://127.0.0.1:{port}"
        data.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT / "web" / "py"), str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
        self.log = open(data.parent / "sort-server.log", "w")  # noqa: SIM115 - closed in stop
        cmd = [sys.executable, "-m", "server_worker.cli", "serve", "--port", str(port),
               "--data-dir", str(data), "--site", str(SITE)]
        # its own process group: stopping it stops its embedded worker and sorts too
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        self.token = ""

    def wait_ready(self, sorters: tuple[str, ...]) -> None:
        """Until the broker answers and a worker offers ``sorters``."""
        deadline = time.monotonic() + WORKER_READY_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log_text()}")
            try:
                names = {p["name"] for p in self.get("/api/processors")["processors"]}
                if set(sorters) <= names:
                    self.token = json.loads((self.data / "tokens.json").read_text())[
                        "user_token"]
                    return
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"no worker offered {sorters} in {WORKER_READY_S} s:\n"
                           f"{self.log_text()}")

    def log_text(self) -> str:
        self.log.flush()
        return (self.data.parent / "sort-server.log").read_text()[-4000:]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                raw = answer.read()
        except urllib.error.HTTPError as error:  # say what the broker said
            raise AssertionError(f"{method} {path}: {error.code} {error.read()[:2000]!r}"
                                 ) from error
        return json.loads(raw) if raw else None

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def head_status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(urllib.request.Request(self.base + path,
                                                               method="HEAD"), timeout=10):
                return 200
        except urllib.error.HTTPError as error:
            return error.code

    def register(self, path: Path) -> str:
        """The URL the server serves a local file at (as ``nwbscope open`` does)."""
        return self.base + self.call("POST", "/api/files", {"path": str(path)})["url"]

    def fetch_store(self, uri: str) -> bytes:
        hexdigest = uri.split("://", 1)[1].split("?")[0]
        with urllib.request.urlopen(f"{self.base}/api/store/{hexdigest}", timeout=60) as f:
            return f.read()

    def page_url(self, file_url: str | None = None) -> str:
        """The page as ``nwbscope serve`` prints it: broker and token in the fragment."""
        query = f"?url={quote(file_url, safe=':/')}" if file_url else ""
        return f"{self.base}/{query}#broker={quote(self.base, safe='')}&token={self.token}"

    def stop(self) -> None:
        """The server, then anything left of its group (a worker, a sort) after 20 s."""
        group = self.proc.pid  # the group's id is the server's pid (start_new_session)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                break
            time.sleep(2)
        self.log.close()


def write_truth(path: Path, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    """The ground-truth file with the richer layout (3-D positions, an LFP series) where the
    writer offers it and writes it cleanly; ``(GroundTruth, the options used)``."""
    import inspect

    from server_worker.jobs.synthetic import write_ground_truth_nwb

    known = inspect.signature(write_ground_truth_nwb).parameters
    wanted = {key: value for key, value in (("positions", "xyz"), ("with_lfp", True))
              if key in known}
    while True:
        try:
            return write_ground_truth_nwb(path, **kwargs, **wanted), wanted
        except Warning as warning:  # an option still in the works: without it
            if not wanted:
                raise
            dropped = wanted.popitem()
            print(f"write_ground_truth_nwb: {dropped} left out ({warning})")


def open_sort_form(page, series: str, timeout: int = 60_000) -> None:
    """Select the series in the tree (its details have "Spike sort") and open the form."""
    parent = series.rsplit("/", 1)[0]
    page.locator(f'#tree li[data-path="{parent}"] > .row').click()
    page.locator(f'#tree li[data-path="{series}"] > .row').click(timeout=timeout)
    button = page.locator(f'#details [data-sort-path="{series}"]')
    button.click(timeout=timeout)
    page.wait_for_function(
        "s => { const p = document.getElementById('sort-series');"
        " return p && p.value === s && document.getElementById('sort-processor'); }",
        arg=series, timeout=timeout)


def selected_job(page) -> dict[str, str]:
    """The job the Jobs panel shows: id, status, and what its log saw."""
    return page.evaluate("""() => { const d = document.getElementById('job-detail');
        const log = document.getElementById('job-log');
        return {id: d.dataset.jobId || '', status: d.dataset.status || '',
                log: log.textContent, textWhile: log.dataset.textWhile || ''}; }""")


def wait_job(page, statuses: tuple[str, ...], timeout_s: float) -> dict[str, str]:
    """Until the selected job's status is one of ``statuses`` (a final other one fails)."""
    deadline = time.monotonic() + timeout_s
    while True:
        job = selected_job(page)
        if job["status"] in statuses:
            return job
        assert job["status"] not in FINAL, (job["status"], job["log"][-3000:],
                                            page.inner_text("#job-summary"))
        assert time.monotonic() < deadline, f"job still {job['status']} after {timeout_s} s"
        time.sleep(0.5)


def wait_new_job(page, before: str, timeout: int = 120_000) -> None:
    """Until the Jobs panel shows another job than ``before`` (a submission's answer)."""
    page.wait_for_function("id => { const d = document.getElementById('job-detail');"
                           " return !!d.dataset.jobId && d.dataset.jobId !== id; }",
                           arg=before, timeout=timeout)
