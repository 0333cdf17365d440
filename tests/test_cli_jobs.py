"""``nwbscope sort`` and ``nwbscope jobs`` as a user types them, against real servers.

Two in-process uvicorn servers: one where the test plays the worker through the worker API
(with the capabilities this machine would register, so the 422s are the real schema's), and
one with a real worker daemon for an end-to-end ``sort FILE --quick 5 --wait``. The CLI is
called through ``server_worker.cli.main`` and its output read with capsys.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from server_worker import cli
from server_worker.app import create_app
from server_worker.broker.local_server import LocalServer, free_port
from server_worker.jobs_cli import duration, parse_assignments, parse_value, short_input
from server_worker.jobs_client import JobsClient, NotFound
from server_worker.settings import Settings

USER = "user-token-clijobs-0123456789"
WORKER = "worker-token-clijobs-0123456789"
W = {"Authorization": f"Bearer {WORKER}"}


class Server:
    """A broker on a free port, and an HTTP client with the user token for checks."""

    def __init__(self, root: Path) -> None:
        port = free_port()
        settings = Settings(data_dir=root / "data", user_token=USER, worker_token=WORKER,
                            port=port, embedded_worker=False,
                            extra={"lease_seconds": 30, "heartbeat_seconds": 0.5}).with_tokens()
        self.root = root
        #: The played worker's own credential (set by the ``broker`` fixture).
        self.worker_auth: dict[str, str] = {}
        self.server = LocalServer(create_app(settings), port).start()
        self.url = self.server.url
        self.http = httpx.Client(base_url=self.url, timeout=60,
                                 headers={"Authorization": f"Bearer {USER}"})

    def has(self, uri: str) -> bool:
        hexdigest = uri.removeprefix("sha256://").split("?")[0]
        return self.http.head(f"/api/store/{hexdigest}").status_code == 200

    def close(self) -> None:
        self.http.close()
        self.server.stop()


def nwbscope(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``nwbscope ARGV`` in this process: ``(exit code, stdout, stderr)``."""
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No token or server from the developer's shell; no runtime file of a real server."""
    monkeypatch.delenv("NWBSCOPE_TOKEN", raising=False)
    monkeypatch.delenv("NWBSCOPE_URL", raising=False)
    monkeypatch.setenv("NWBSCOPE_RUNTIME_DIR", str(tmp_path / "runtime"))


# ---- without a worker: the test plays it -----------------------------------------------------

@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    from server_worker.worker.capabilities import capabilities

    server = Server(tmp_path_factory.mktemp("broker"))
    answer = server.http.post("/api/workers/register", headers=W, json={
        "name": "played", "capabilities": capabilities(slots=1, executor="host")})
    assert answer.status_code == 200, answer.text
    server.worker_auth = {"Authorization": f"Bearer {answer.json()['credential']}"}
    yield server, answer.json()["worker_id"]
    server.close()


_seeds = itertools.count(100)


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    """A tiny real NWB recording (the broker may look inside at submission), other bytes in
    each test, so no test's job is another's identical twin."""
    from server_worker.jobs.synthetic import write_ground_truth_nwb

    return write_ground_truth_nwb(tmp_path / "rec.nwb", num_channels=4, num_units=2,
                                  duration_s=1.0, seed=next(_seeds)).path


def connect(server: Server) -> list[str]:
    return ["--server", server.url, "--token", USER]


def cancel_pending(server: Server) -> None:
    """The played worker claims the oldest pending job: leave only the test's own."""
    for job in server.http.get("/api/jobs", params={"status": "pending"}).json()["jobs"]:
        server.http.post(f"/api/jobs/{job['id']}/cancel")


def submitted_id(out: str) -> str:
    line = next(line for line in out.splitlines() if line.startswith("job "))
    return line.split()[1]


def test_sort_uploads_and_submits_then_jobs_lists_and_cancels(
    broker: tuple[Server, str], recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, _wid = broker
    code, out, err = nwbscope(capsys, "sort", str(recording), "--sorter", "spykingcircus2",
                              "--param", "detection.detect_threshold=6", "--quick", "2.5",
                              *connect(server))
    assert code == 0, err
    uri = "sha256://" + hashlib.sha256(recording.read_bytes()).hexdigest() + "?label=rec.nwb"
    assert f"stored {recording} as {uri}" in err and server.has(uri)
    job_id = submitted_id(out)
    assert len(job_id) == 32 and "(pending)" in out
    assert f"nwbscope jobs log {job_id[:8]} -f" in out
    job = server.http.get(f"/api/jobs/{job_id}").json()
    assert job["parameters"]["detection"]["detect_threshold"] == 6
    assert job["recording"]["time_range"] == [0, 2.5]

    code, out, _ = nwbscope(capsys, "jobs", *connect(server))
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "PROCESSOR", "STATUS", "INPUT", "WORKER", "CREATED",
                              "DURATION"]
    mine = next(row for row in rows if row.startswith(job_id[:8]))
    assert mine.split()[1:4] == ["spykingcircus2", "pending", "rec.nwb"]
    code, out, _ = nwbscope(capsys, "jobs", "--status", "completed", *connect(server))
    assert code == 0 and job_id[:8] not in out

    # options before the subcommand count too; a prefix is enough
    code, out, err = nwbscope(capsys, "jobs", *connect(server), "cancel", job_id[:8])
    assert code == 0, err
    assert out.strip() == f"job {job_id} cancelled"
    code, out, _ = nwbscope(capsys, "jobs", "show", job_id[:10], *connect(server))
    shown = json.loads(out)
    assert shown["status"] == "cancelled" and shown["id"] == job_id
    code, _, err = nwbscope(capsys, "jobs", "cancel", job_id, *connect(server))
    assert code == 1 and "already cancelled" in err


def test_unknown_parameter_is_named_with_exit_2(
    broker: tuple[Server, str], recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, _wid = broker
    before = len(server.http.get("/api/jobs").json()["jobs"])
    code, out, err = nwbscope(capsys, "sort", str(recording), "--sorter", "spykingcircus2",
                              "--param", "detect_treshold=5", *connect(server))
    assert code == 2
    assert "nwbscope sort: parameters.detect_treshold: unknown parameter" in err
    assert err.count("parameters.detect_treshold") == 1  # the field is said once
    code, _, err = nwbscope(capsys, "sort", str(recording), "--sorter", "spykingcircus2",
                            "--recording", "time_range=[5]", *connect(server))
    assert code == 2 and "recording.time_range" in err
    code, _, err = nwbscope(capsys, "sort", str(recording), "--sorter", "kilosort9",
                            *connect(server))
    assert code == 2 and "processor: unknown processor 'kilosort9'" in err
    assert "spykingcircus2" in err
    code, _, err = nwbscope(capsys, "sort", str(recording), "--sorter", "spykingcircus2",
                            "--param", "no_equals_sign", *connect(server))
    assert code == 2 and "KEY=VALUE" in err
    assert len(server.http.get("/api/jobs").json()["jobs"]) == before  # nothing queued


def play_worker(server: Server, wid: str, job_id: str, *, fail: bool) -> None:
    """Claim ``job_id``, write some log in two pieces, then fail it or complete it."""
    auth = server.worker_auth  # the played worker's own credential
    spec = server.http.post(f"/api/workers/{wid}/claim", json={}, headers=auth).json()["job"]
    assert spec is not None and spec["job_id"] == job_id
    base = f"/api/workers/{wid}/jobs/{job_id}"
    for text in ("sorting the first part...\n", "found 3 units\n"):
        server.http.post(f"{base}/log", json={"text": text}, headers=auth)
        time.sleep(1.2)  # the follower polls every second: it sees the pieces apart
    if fail:
        server.http.post(f"{base}/fail", json={"error": "MemoryError: boom"}, headers=auth)
        return
    put = server.http.put(f"{base}/outputs", params={"label": "units.nwb"},
                          content=b"\x89HDF\r\n\x1a\n units " + job_id.encode(), headers=auth)
    server.http.post(f"{base}/complete", headers=auth, json={"outputs": {"nwb": put.json()["uri"]}})


def test_wait_follows_the_log_to_the_end(
    broker: tuple[Server, str], recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, wid = broker
    cancel_pending(server)
    with JobsClient(server.url, USER) as client:  # the test submits; the CLI follows
        stored = client.submit("spykingcircus2", _store(server, recording))
    worker = threading.Thread(target=play_worker, args=(server, wid, stored["id"]),
                              kwargs={"fail": False})
    worker.start()
    code, out, err = nwbscope(capsys, "jobs", "log", stored["id"][:8], "-f", *connect(server))
    worker.join()
    assert code == 0, err
    assert "sorting the first part...\nfound 3 units\n" in out
    assert f"job {stored['id']} completed" in err

    code, out, _ = nwbscope(capsys, "jobs", "log", stored["id"][:8], *connect(server))
    assert code == 0 and out.endswith("found 3 units\n")
    code, out, _ = nwbscope(capsys, "jobs", "--status", "completed", *connect(server))
    row = next(line for line in out.splitlines() if line.startswith(stored["id"][:8])).split()
    assert row[1:5] == ["spykingcircus2", "completed", "rec.nwb", "played"]
    assert row[-1].endswith("s")  # its run time
    # the same job again: reused at once, outputs and the viewer URL printed
    code, out, err = nwbscope(capsys, "sort", str(recording), "--sorter", "spykingcircus2",
                              "--wait", *connect(server))
    assert code == 0, err
    assert f"job {stored['id']} reused" in out
    units = server.http.get(f"/api/jobs/{stored['id']}").json()["outputs"]["nwb"]
    hexdigest = units.removeprefix("sha256://").split("?")[0]
    assert f"  nwb: {units}" in out
    inner = f"{server.url}/api/store/{hexdigest}?label=units.nwb"
    assert f"open: {server.url}/?url={quote(inner, safe=':/')}" in out
    assert "%3Flabel%3Dunits.nwb" in out


def test_wait_on_a_failing_job_exits_1_with_its_error(
    broker: tuple[Server, str], recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, wid = broker
    cancel_pending(server)
    result: dict[str, Any] = {}

    def sort() -> None:  # the CLI submits; the played worker then claims its job
        result["code"] = cli.main(["sort", str(recording), "--sorter", "spykingcircus2",
                                   "--force", "--wait", *connect(server)])

    capsys.readouterr()
    runner = threading.Thread(target=sort)
    runner.start()
    deadline = time.monotonic() + 20
    while not (pending := server.http.get("/api/jobs", params={"status": "pending"}).json()[
            "jobs"]):
        assert time.monotonic() < deadline, "the CLI did not submit"
        time.sleep(0.1)
    play_worker(server, wid, pending[0]["id"], fail=True)
    runner.join(30)
    out, err = capsys.readouterr()
    assert result["code"] == 1
    assert "found 3 units" in out
    assert f"job {pending[0]['id']} failed: MemoryError: boom" in err


def _store(server: Server, path: Path) -> str:
    from nwbscope.store import store_file

    return store_file(path, server=server.url, token=USER)


def test_token_from_the_local_servers_runtime_file(
    broker: tuple[Server, str], recording: Path, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    server, _wid = broker
    uri = _store(server, recording)
    code, _, err = nwbscope(capsys, "sort", uri, "--sorter", "spykingcircus2", "--force",
                            "--server", server.url)
    assert code == 1 and "refused the token" in err and "--token" in err
    code, _, err = nwbscope(capsys, "sort", str(recording), "--sorter", "spykingcircus2",
                            "--server", server.url)
    assert code == 1 and "needs the server's token: pass --token" in err
    runtime = tmp_path / "runtime" / f"server-{server.server.port}.json"
    runtime.parent.mkdir(parents=True)
    runtime.write_text(json.dumps({"token": USER}))
    code, out, err = nwbscope(capsys, "sort", uri, "--sorter", "spykingcircus2", "--force",
                              "--server", server.url)
    assert code == 0, err
    cancel_pending(server)


def test_connection_refused_names_the_server(
    capsys: pytest.CaptureFixture[str], recording: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for argv in (["jobs", "--server", url], ["sort", str(recording), "--sorter", "x",
                                             "--server", url]):
        code, _, err = nwbscope(capsys, *argv)
        assert code == 1
        assert f"cannot reach the nwbscope server at {url}" in err and "Traceback" not in err
    monkeypatch.setenv("NWBSCOPE_URL", url)  # the server from the environment
    code, _, err = nwbscope(capsys, "jobs", "show", "ab12")
    assert code == 1 and url in err


# ---- pure parts ------------------------------------------------------------------------------

def test_param_values_are_json_else_strings() -> None:
    assert parse_value("5") == 5 and parse_value("4.5") == 4.5
    assert parse_value("true") is True and parse_value("null") is None
    assert parse_value("[0, 5]") == [0, 5] and parse_value('{"a": 1}') == {"a": 1}
    assert parse_value("matched_filtering") == "matched_filtering"
    assert parse_value('"5"') == "5" and parse_value("") == ""
    assert parse_value("NaN") == "NaN" and parse_value("Infinity") == "Infinity"


def test_dotted_keys_nest() -> None:
    assert parse_assignments(["detection.detect_threshold=5", "detection.method=x", "seed=1",
                              "a.b.c=[1]"]) == {
        "detection": {"detect_threshold": 5, "method": "x"}, "seed": 1, "a": {"b": {"c": [1]}}}
    assert parse_assignments(['d={"x": 1}', "d.y=2"]) == {"d": {"x": 1, "y": 2}}
    assert parse_assignments(["url=http://a/b?c=d"]) == {"url": "http://a/b?c=d"}
    for bad in (["novalue"], ["=5"], ["a..b=1"], ["a=1", "a.b=2"]):
        with pytest.raises(Exception, match="--param"):
            parse_assignments(bad)


def test_prefixes_resolve_to_one_job() -> None:
    ids = ["abc1" + "0" * 28, "abc2" + "0" * 28, "f" * 32]

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer t"
        return httpx.Response(200, json={"jobs": [{"id": i, "extra": 1} for i in ids]})

    with JobsClient("http://x", "t", transport=httpx.MockTransport(answer)) as client:
        assert client.resolve("ABC1") == ids[0]
        assert client.resolve("f" * 32) == ids[2]
        with pytest.raises(NotFound, match="matches 2 jobs"):
            client.resolve("abc")
        with pytest.raises(NotFound, match="no job id starts with"):
            client.resolve("99")
        with pytest.raises(NotFound, match="not a job id"):
            client.resolve("xyz")


def test_table_cells() -> None:
    assert short_input("sha256://" + "ab" * 32 + "?label=rec.nwb") == "rec.nwb"
    assert short_input("sha256://" + "ab" * 32) == "sha256:abababababab"
    long = "https://dandiarchive.s3.amazonaws.com/blobs/abc/def/0123456789abcdef"
    cut = short_input(long)
    assert len(cut) <= 40 and cut.startswith("https://") and cut.endswith("0123456789abcdef")
    assert duration({"status": "completed", "timings": {"run_s": 12.34}}) == "12.3s"
    assert duration({"status": "completed", "timings": {"run_s": 184}}) == "3m04s"
    assert duration({"status": "completed", "timings": {"run_s": 3720}}) == "1h02m"
    assert duration({"status": "pending", "timings": {"run_s": None}}) == ""


# ---- with a real worker ----------------------------------------------------------------------

#: SpikeInterface's numba kernels, compiled once and kept between runs: a cold compile is most
#: of this sort (~60 s of ~75 s on two busy cores). Numba keys each entry on the kernel's source
#: file, its modification time, the signature and the CPU, so a stale entry is never used.
NUMBA_CACHE = Path(os.environ.get("NWBSCOPE_TEST_NUMBA_CACHE")
                   or Path.home() / ".cache" / "nwbscope" / "test-numba")


@pytest.fixture(scope="module")
def with_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from server_worker.worker.embedded import start_worker_process

    server = Server(tmp_path_factory.mktemp("sorting"))
    log = open(server.root / "worker.log", "ab")  # noqa: SIM115 (closed below)
    process = start_worker_process(server.url, WORKER, server.root / "worker", name="cli-sorter",
                                   poll_seconds=0.2, stdout=log, numba_cache=NUMBA_CACHE)
    try:
        yield server
    finally:
        process.terminate()
        process.wait(20)
        log.close()
        server.close()


def test_sort_file_quick_wait_end_to_end(
    with_worker: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from server_worker.jobs.synthetic import write_ground_truth_nwb

    server = with_worker
    truth = write_ground_truth_nwb(tmp_path / "gt.nwb", num_channels=8, num_units=4,
                                   duration_s=10)
    deadline = time.monotonic() + 60
    while not server.http.get("/api/processors").json()["processors"]:
        assert time.monotonic() < deadline, (server.root / "worker.log").read_text()[-3000:]
        time.sleep(0.2)

    code, out, err = nwbscope(capsys, "sort", str(truth.path), "--sorter", "spykingcircus2",
                              "--quick", "5", "--wait", *connect(server))
    assert code == 0, err + out[-3000:]
    assert "attempt 1 on worker cli-sorter" in out and "units found" in out  # the log, followed
    job_id = submitted_id(out)
    job = server.http.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "completed" and job["recording"]["time_range"] == [0, 5]
    units = job["outputs"]["nwb"]
    assert units.endswith("?label=units.nwb") and f"  nwb: {units}" in out
    assert server.has(units)
    hexdigest = units.removeprefix("sha256://").split("?")[0]
    assert server.http.get(f"/api/store/{hexdigest}").content[:8] == b"\x89HDF\r\n\x1a\n"
    inner = f"{server.url}/api/store/{hexdigest}?label=units.nwb"
    assert f"open: {server.url}/?url={quote(inner, safe=':/')}" in out
