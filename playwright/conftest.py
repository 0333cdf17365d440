"""Browser tests of the viewer: one real nwbscope server, one Chromium, helper servers.

- ``server``: ``python3 -m server_worker.cli serve`` on a free port, serving the built site
  (``dist/site``, built by ``scripts/test.sh`` before pytest) and the fixture files, which are
  written by the recipes in ``tests/fixtures/nwb_files.py`` plus a sparse multi-GB HDF5 file,
  and the views' files (``view_series_files``, ``view_units_files``).
- ``helper``: a small threaded server on another port for what the real one does right and a
  bad server does not: it ignores ``Range`` (``/norange/<name>``, with CORS), sends no CORS
  headers at all (``/nocors/<name>``), and redirects (``/redirect/<name>`` to the real server).
  ``/range/<name>`` serves ranges with CORS and an ``ETag`` (mtime and size), never a 304, so
  every request the browser makes reaches it. It records every request so tests can check
  what the browser asked for.
- ``browser``/``context``: Debian Chromium (never a downloaded one), one context for the session
  so Pyodide's files come from the HTTP cache after the first page.
"""

from __future__ import annotations

import http.server
import importlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import h5py
import pytest
from viewer_helpers import HUGE_LAST, HUGE_SHAPE, new_watched_page

from tests.s3_service import s3  # noqa: F401 - the SeaweedFS fixture

ROOT = Path(__file__).resolve().parent.parent
# NWBSCOPE_TEST_SITE: a site built elsewhere (``nwbscope build --out``), so that sessions
# working side by side each test their own build
SITE = Path(os.environ.get("NWBSCOPE_TEST_SITE") or ROOT / "dist" / "site")
# The views' fixture recipes: each module's ``ensure_files(folder)`` writes its files once
VIEW_FIXTURES = ("view_imaging_files", "view_ophys_files", "view_table_files",
                 "view_probe_files", "view_icephys_files", "view_misc_files",
                 "view_video_files")
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
START_TIMEOUT = 60.0


def pytest_collection_modifyitems(config, items):
    """Skip the whole browser suite, saying why, when its prerequisites are missing."""
    reason = None
    if not (SITE / "index.html").is_file():
        reason = f"no built site in {SITE}: run `python3 build/build_site.py` first"
    elif not Path(CHROMIUM).is_file():
        reason = f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` (scripts/test.sh does)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "Python Playwright is not installed (pip install playwright==1.65.2)"
    if reason is None:
        return
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.skip(reason=reason))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_huge(path: Path) -> Path:
    """A valid NWB file with a 3.2 GB contiguous int16 series, only its last value written.

    The file is sparse (cheap on disk), but every byte of it exists for a reader: opening it
    must cost what opening a small file costs.
    """
    from tests.fixtures.nwb_files import write_minimal

    write_minimal(path)
    with h5py.File(path, "a") as f:
        series = f["acquisition"].create_group("huge_series")
        series.attrs.update(neurodata_type="TimeSeries", namespace="core",
                            description="a long recording, mostly never written",
                            comments="no comments", object_id="huge-series-0001")
        data = series.create_dataset("data", shape=HUGE_SHAPE, dtype="<i2")
        data[-1] = HUGE_LAST
        data.attrs.update(unit="a.u.", conversion=1.0, resolution=-1.0, offset=0.0)
        start = series.create_dataset("starting_time", data=0.0)
        start.attrs.update(rate=30000.0, unit="seconds")
    return path


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """The fixture files the servers offer (written once per session), registered with the
    real server's file registry before it starts (as ``nwbscope open`` registers a file).
    The server's own data directory is ``server/`` beside them: files in it are never served."""
    from server_worker.files import FileRegistry
    from tests.fixtures import view_series_files, view_units_files
    from tests.fixtures.nwb_files import write_all, write_minimal

    folder = tmp_path_factory.mktemp("viewer-data")
    files = folder / "files"
    write_all(files)
    write_huge(files / "huge.nwb")
    view_series_files.ensure_files(files)  # view_ephys.nwb, view_odd.h5: the views' tests
    view_units_files.write_view_units(files / "view_units.nwb")
    for name in VIEW_FIXTURES:
        importlib.import_module("tests.fixtures." + name).ensure_files(files)
    (folder / "server").mkdir()
    write_minimal(folder / "server" / "demo.nwb")  # the demo slot: no need to generate one
    registry = FileRegistry(folder / "server" / "files.json")
    for path in sorted(files.iterdir()):
        registry.register(path)
    return folder


@pytest.fixture(scope="session")
def server(data_dir: Path) -> Iterator[str]:
    """The real nwbscope server (site at /, fixture files registered under /files/...)."""
    port = free_port()
    cmd = [sys.executable, "-m", "server_worker.cli", "serve", "--port", str(port),
           "--data-dir", str(data_dir / "server"), "--site", str(SITE), "--no-worker"]
    log = open(data_dir / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/api/health", proc, data_dir / "server.log")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def wait_until_up(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url} in {START_TIMEOUT} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def file_urls(server: str, data_dir: Path) -> dict[str, str]:
    """name -> URL of each fixture file on the real server."""
    from server_worker.files import FileRegistry

    registry = FileRegistry(data_dir / "server" / "files.json")
    urls = {}
    for path in sorted((data_dir / "files").iterdir()):
        file_id = registry.register(path)  # already there: gives the same id
        urls[path.name] = f"{server}/files/{file_id}/{quote(path.name)}"
    return urls


class HelperHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the fixture files badly on purpose; records (path, Range header) per request."""

    log: list[tuple[str, str | None]]
    target_base: str = ""

    def log_message(self, format, *args):  # noqa: A002 - silence per-request lines
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.log.append((self.path, self.headers.get("Range")))
        mode, _, name = self.path.lstrip("/").partition("/")
        if mode == "redirect":
            self.send_response(302)
            self.send_header("Location", self.target_base.rstrip("/") + "/" + name)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            return
        if mode == "range":
            self.send_range(Path(self.directory) / name)
            return
        self.cors = mode == "norange"
        self.path = "/" + name
        try:
            super().do_GET()  # ignores Range: always 200 with the whole file
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser aborted a body it did not want

    def send_range(self, path: Path) -> None:
        """One ``bytes=a-b`` range (206) or the whole file (200), with CORS and an ETag."""
        if not path.is_file():
            self.send_error(404)
            return
        stat = path.stat()
        size = stat.st_size
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        start, stop = 0, size
        if wanted:
            start = min(int(wanted[1]), size)
            stop = min(int(wanted[2]) + 1, size) if wanted[2] else size
        self.send_response(206 if wanted else 200)
        if wanted:
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{size}")
        self.send_header("Content-Length", str(stop - start))
        self.send_header("ETag", f'"{stat.st_mtime_ns:x}-{size:x}"')
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers", "Content-Range, Content-Length, ETag")
        self.end_headers()
        with path.open("rb") as fh:
            fh.seek(start)
            self.wfile.write(fh.read(stop - start))

    def end_headers(self):
        if getattr(self, "cors", False):
            self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()


@pytest.fixture(scope="session")
def helper(data_dir: Path, file_urls: dict[str, str]) -> Iterator[dict]:
    """The bad-server helper; ``helper["url"](mode, name)`` and ``helper["log"]``."""
    log: list[tuple[str, str | None]] = []
    target = file_urls["rich.nwb"].rsplit("/", 1)[0]

    handler = type("Handler", (HelperHandler,), {"log": log, "target_base": target})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0),
        lambda *a, **k: handler(*a, directory=str(data_dir / "files"), **k),
    )
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield {"url": lambda mode, name: f"{base}/{mode}/{name}", "log": log, "base": base}
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def context(browser):
    """One context: after the first page, Pyodide's files come from the HTTP cache."""
    ctx = browser.new_context()
    ctx.add_init_script(STATUS_RECORDER)
    yield ctx
    ctx.close()


# Records every text the progress line shows (the page changes it faster than a poll sees).
STATUS_RECORDER = """
window.__statusLog = [];
document.addEventListener('DOMContentLoaded', () => {
  const el = document.getElementById('status');
  if (!el) return;
  window.__statusLog.push(el.textContent);
  new MutationObserver(() => window.__statusLog.push(el.textContent))
    .observe(el, {childList: true, characterData: true, subtree: true});
});
"""


@pytest.fixture(scope="session")
def site_url(server: str) -> str:
    return server + "/index.html"


@pytest.fixture
def fresh_page(browser):
    """A context of its own: its caches (kept tree, metadata, snapshot) start empty and
    nothing of it leaks to other tests."""
    ctx = browser.new_context()
    yield new_watched_page(ctx)
    ctx.close()


@pytest.fixture
def page(context):
    pg = new_watched_page(context)
    yield pg
    pg.close()


@pytest.fixture(scope="module")
def vpage(context):
    """One tall page per view test module (panels fit on screen: screenshots show them
    whole); Pyodide starts once for the module."""
    page = new_watched_page(context)
    page.set_viewport_size({"width": 1280, "height": 1500})
    yield page
    page.close()


@pytest.fixture
def no_script_errors(vpage):
    """The test ends without an uncaught script error on the module's page (view test
    modules use it for every test with ``pytestmark``)."""
    vpage.page_errors.clear()
    yield
    assert vpage.page_errors == []

