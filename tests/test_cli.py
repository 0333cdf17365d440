"""The ``nwbscope`` commands as a user runs them: real server processes, real HTTP.

``serve`` gets a tiny fake site (``--site``) instead of a real build; the demo file it writes
is real (pynwb), and is checked here by reading it back with pynwb.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from server_worker import cli, commands
from tests.services import NwbscopeServer, SeaweedFS, ServiceUnavailable, free_port, shared


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "server_worker", *args], capture_output=True, text=True,
        timeout=timeout, env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def fake_site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    (site / "index.html").write_text("<!doctype html><title>fake nwbscope site</title>")
    return site


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake_site: Path):
    with NwbscopeServer(tmp_path_factory.mktemp("serve"), site=fake_site, token="cli-token") as s:
        yield s


@pytest.fixture
def client_env(server: NwbscopeServer) -> dict[str, str]:
    """Environment of a user shell on the server's machine (no token exported)."""
    env = {"NWBSCOPE_RUNTIME_DIR": str(server.workdir / "runtime"), "NWBSCOPE_URL": server.url}
    return {**env, "NWBSCOPE_TOKEN": ""}


def test_serve_prints_url_and_token(server: NwbscopeServer) -> None:
    out = server.log_tail(5000)
    fragment = urlencode({"broker": server.url, "token": "cli-token"})
    expected = f"open:  {server.url}/?url={server.url}/files/demo.nwb#{fragment}"
    assert expected in out
    assert "token: cli-token" in out
    worker_token = json.loads((server.data_dir / "tokens.json").read_text())["worker_token"]
    assert f"nwbscope worker --broker {server.url} --token {worker_token}" in out


def test_serve_serves_the_site(server: NwbscopeServer) -> None:
    answer = httpx.get(f"{server.url}/?url={server.url}/files/demo.nwb")
    assert answer.status_code == 200
    assert "fake nwbscope site" in answer.text


def test_serve_serves_the_demo_with_range(server: NwbscopeServer) -> None:
    demo = server.data_dir / "demo.nwb"
    data = demo.read_bytes()
    assert 2_000_000 < len(data) < 12_000_000
    part = httpx.get(f"{server.url}/files/demo.nwb", headers={"Range": "bytes=0-7"})
    assert part.status_code == 206
    assert part.content == b"\x89HDF\r\n\x1a\n"
    assert part.headers["content-range"] == f"bytes 0-7/{len(data)}"
    tail = httpx.get(f"{server.url}/files/demo.nwb", headers={"Range": "bytes=-1000"})
    assert tail.content == data[-1000:]


def test_demo_file_content(server: NwbscopeServer) -> None:
    from pynwb import NWBHDF5IO

    from server_worker.demo import N_CHANNELS, N_UNITS, make_demo_arrays

    expected = make_demo_arrays()
    with NWBHDF5IO(str(server.data_dir / "demo.nwb"), "r") as io:
        nwb = io.read()
        raw = nwb.acquisition["ElectricalSeries"]
        assert raw.data.shape == (200_000, N_CHANNELS)
        assert raw.data[1000:1010, 3].tolist() == expected["raw"][1000:1010, 3].tolist()
        assert len(nwb.units) == N_UNITS
        assert nwb.units["spike_times"][0].tolist() == expected["trains"][0].tolist()
        assert len(nwb.trials) == 20
        assert nwb.subject.species == "Mus musculus"
        position = nwb.processing["behavior"]["Position"]["SpatialSeries"]
        assert position.data.shape == (500, 2)


def test_store_and_load_round_trip(server: NwbscopeServer, client_env, tmp_path: Path) -> None:
    source = tmp_path / "spikes.bin"
    source.write_bytes(os.urandom(1_234_567))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    stored = run_cli("store", str(source), "--server", server.url, "--token", "cli-token")
    assert stored.returncode == 0, stored.stderr
    assert stored.stdout.strip() == f"sha256://{digest}?label=spikes.bin"
    out = tmp_path / "back.bin"
    loaded = run_cli("load", stored.stdout.strip(), "-o", str(out), "--server", server.url)
    assert loaded.returncode == 0, loaded.stderr
    assert out.read_bytes() == source.read_bytes()
    ranged = httpx.get(f"{server.url}/api/store/{digest}", headers={"Range": "bytes=100-199"})
    assert ranged.content == source.read_bytes()[100:200]


def test_serve_with_an_s3_store(fake_site: Path, tmp_path: Path) -> None:
    try:
        weed = shared("seaweedfs", SeaweedFS)
    except ServiceUnavailable as exc:
        pytest.skip(f"S3 store not tested: {exc}")
    url = f"s3://nwbscope-test/serve-{tmp_path.name}?endpoint_url={weed.endpoint_url}"
    data = os.urandom(300_000)
    source = tmp_path / "on-s3.bin"
    source.write_bytes(data)
    with NwbscopeServer(tmp_path / "srv", site=fake_site, extra_args=["--store", url],
                        env=weed.env()) as server:
        assert f"store: s3://nwbscope-test/serve-{tmp_path.name}" in server.log_tail()
        stored = run_cli("store", str(source), "--server", server.url, "--token", server.token)
        assert stored.returncode == 0, stored.stderr
        digest = stored.stdout.strip()[len("sha256://"):][:64]
        # the broker redirects to a presigned URL of the bucket, which answers the range
        part = httpx.get(f"{server.url}/api/store/{digest}", headers={"Range": "bytes=-7"},
                         follow_redirects=True)
        assert (part.status_code, part.content) == (206, data[-7:])
        assert part.history and part.history[0].status_code == 307
    key = f"serve-{tmp_path.name}/sha256/{digest[:2]}/{digest[2:4]}/{digest}"
    assert weed.client().head_object(Bucket="nwbscope-test", Key=key)["ContentLength"] == 300_000


def test_store_finds_the_local_token(server: NwbscopeServer, client_env, tmp_path: Path) -> None:
    source = tmp_path / "found.txt"
    source.write_text("token from the runtime file")
    stored = run_cli("store", str(source), env=client_env)  # no --token, no NWBSCOPE_TOKEN
    assert stored.returncode == 0, stored.stderr
    assert stored.stdout.startswith("sha256://")


def test_store_with_wrong_token_fails_cleanly(server: NwbscopeServer, tmp_path: Path) -> None:
    source = tmp_path / "refused.txt"
    source.write_text("not allowed")
    stored = run_cli("store", str(source), "--server", server.url, "--token", "nope")
    assert stored.returncode == 1
    assert "refused the token" in stored.stderr
    assert "Traceback" not in stored.stderr


def test_load_of_unknown_uri_fails_cleanly(server: NwbscopeServer) -> None:
    uri = "sha256://" + hashlib.sha256(b"absent").hexdigest()
    loaded = run_cli("load", uri, "--server", server.url)
    assert loaded.returncode == 1
    assert "HTTP 404" in loaded.stderr


def test_open_reuses_running_server(server: NwbscopeServer, client_env, tmp_path: Path) -> None:
    target = tmp_path / "session.nwb"
    target.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(5000))
    port = str(server.port)
    opened = run_cli("open", str(target), "--no-browser", "--port", port, env=client_env)
    assert opened.returncode == 0, opened.stderr
    viewer = opened.stdout.strip().splitlines()[-1]
    base = re.escape(server.url)
    fragment = re.escape(urlencode({"broker": server.url, "token": "cli-token"}))
    match = re.fullmatch(rf"{base}/\?url=({base}/files/\w+/session\.nwb)#{fragment}", viewer)
    assert match, viewer
    part = httpx.get(match.group(1), headers={"Range": "bytes=8-15"})
    assert (part.status_code, part.content) == (206, target.read_bytes()[8:16])


def test_open_starts_a_server(fake_site: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {"NWBSCOPE_RUNTIME_DIR": str(tmp_path / "runtime"), "NWBSCOPE_TOKEN": ""}
    target = tmp_path / "alone.nwb"
    target.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    opened = run_cli("open", str(target), "--no-browser", "--port", str(port), "--site",
                     str(fake_site), "--data-dir", str(tmp_path / "data"), "--no-worker", env=env)
    runtime = tmp_path / "runtime" / f"server-{port}.json"
    try:
        assert opened.returncode == 0, opened.stderr + opened.stdout
        assert "starting an nwbscope server" in opened.stdout
        log = tmp_path / "data" / f"server-{port}.log"  # it holds the tokens: owner only
        assert log.stat().st_mode & 0o077 == 0, oct(log.stat().st_mode)
        file_url = opened.stdout.strip().splitlines()[-1].split("?url=")[1].split("#")[0]
        assert httpx.get(file_url, headers={"Range": "bytes=0-3"}).content == b"\x89HDF"
        second = run_cli("open", str(target), "--no-browser", "--port", str(port), env=env)
        assert second.returncode == 0, second.stderr
        assert "starting" not in second.stdout  # reused, found its token in the runtime file
    finally:
        if runtime.is_file():
            os.kill(json.loads(runtime.read_text())["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 15
    while runtime.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not runtime.exists()  # the server cleaned up on SIGTERM


def test_serve_refuses_a_busy_port(server: NwbscopeServer, fake_site: Path, tmp_path: Path) -> None:
    busy = run_cli("serve", "--port", str(server.port), "--site", str(fake_site),
                   "--data-dir", str(tmp_path), "--no-worker")
    assert busy.returncode == 1
    assert f"port {server.port}" in busy.stderr and "in use" in busy.stderr


def test_serve_refuses_a_site_without_index(tmp_path: Path) -> None:
    empty = tmp_path / "empty-site"
    empty.mkdir()
    answer = run_cli("serve", "--port", str(free_port()), "--site", str(empty),
                     "--data-dir", str(tmp_path / "d"), "--no-worker")
    assert answer.returncode == 1
    assert "no index.html" in answer.stderr


def test_build_runs_the_build_script(tmp_path: Path, monkeypatch, capsys) -> None:
    script = tmp_path / "build_site.py"
    script.write_text(
        "import sys, pathlib\n"
        "out = pathlib.Path(sys.argv[sys.argv.index('--out') + 1])\n"
        "out.mkdir(parents=True, exist_ok=True)\n"
        "(out / 'index.html').write_text('built')\n"
    )
    monkeypatch.setattr(commands, "BUILD_SCRIPT", script)
    assert cli.main(["build", "--out", str(tmp_path / "site")]) == 0
    assert (tmp_path / "site" / "index.html").read_text() == "built"
    assert f"site built in {tmp_path / 'site'}" in capsys.readouterr().out


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == "nwbscope 0.1.0"
