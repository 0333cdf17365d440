"""Opening a local file (file button, drag and drop): read in slices, nothing uploaded."""

from __future__ import annotations

import base64

import numpy as np
from viewer_helpers import (
    START_MS,
    click_row,
    goto,
    io_stats,
    mark_submitted,
    preview_values,
    wait_done,
)

from tests.fixtures import nwb_files as fx

DROP_SCRIPT = """
([name, b64]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const file = new File([bytes], name, {type: 'application/x-hdf5'});
  const dt = new DataTransfer();
  dt.items.add(file);
  const target = document.querySelector('#details');
  target.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true,
                                                  cancelable: true}));
  target.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true,
                                              cancelable: true}));
}
"""


def uploads(requests: list) -> list:
    """Requests that carried a body (an upload would): there must be none."""
    return [r for r in requests if r.method not in ("GET", "HEAD") or r.post_data]


def test_file_button_opens_local_file(page, site_url, data_dir):
    requests = []
    page.on("request", lambda request: requests.append(request))
    assert goto(page, site_url) == "ready"
    mark_submitted(page)
    page.set_input_files("#file-input", str(data_dir / "files" / "rich.nwb"))
    assert wait_done(page) == "ready"
    assert page.inner_text('#header [data-field="identifier"] .value') == fx.RICH["identifier"]
    assert page.inner_text("#header .file-name") == "rich.nwb"
    assert "file=rich.nwb" in page.url
    stats = io_stats(page)
    assert stats["requests"] >= 1
    assert 0 < stats["bytes"] < (data_dir / "files" / "rich.nwb").stat().st_size

    page.locator('#tree li[data-path="/acquisition"] > .row').click()
    click_row(page, "/acquisition/temperature")
    click_row(page, "/acquisition/temperature/data")
    np.testing.assert_allclose(preview_values(page), fx.temperature_data()[:10], rtol=1e-6)
    code = page.inner_text('#details [data-snippet="nwbscope"] code')
    assert "nwbscope.open('rich.nwb')" in code
    assert not uploads(requests)


def test_drop_opens_local_file(page, site_url, data_dir):
    requests = []
    page.on("request", lambda request: requests.append(request))
    assert goto(page, site_url) == "ready"
    payload = base64.b64encode((data_dir / "files" / "minimal.nwb").read_bytes()).decode()
    mark_submitted(page)
    page.evaluate(DROP_SCRIPT, ["dropped.nwb", payload])
    assert wait_done(page) == "ready"
    assert page.inner_text('#header [data-field="identifier"] .value') == "nwbscope-minimal"
    assert page.inner_text('#header [data-field="session_description"] .value') == "minimal"
    assert page.inner_text("#header .file-name") == "dropped.nwb"
    assert page.is_hidden("#drop-overlay")
    assert not uploads(requests)

    # a second drop replaces the first file: the page keeps working
    payload = base64.b64encode((data_dir / "files" / "not_hdf5.nwb").read_bytes()).decode()
    mark_submitted(page)
    page.evaluate(DROP_SCRIPT, ["page.nwb", payload])
    assert wait_done(page) == "error"
    assert "not an HDF5 file" in page.inner_text("#error")
    assert page.inner_text("#tree") == ""


def test_drop_while_python_starts_opens_when_ready(page, site_url, data_dir):
    page.goto(site_url)
    page.wait_for_function("performance.getEntriesByName('nwbscope:page-ready').length",
                           timeout=START_MS)
    payload = base64.b64encode((data_dir / "files" / "minimal.nwb").read_bytes()).decode()
    dropped_at = page.evaluate("performance.now()")
    page.evaluate(DROP_SCRIPT, ["early.nwb", payload])
    page.wait_for_function(
        "document.querySelector('#header .file-name')?.textContent === 'early.nwb'",
        timeout=START_MS)
    ready_at = page.evaluate(
        "performance.getEntriesByName('nwbscope:packages-ready')[0].startTime")
    assert dropped_at < ready_at  # the drop really came before Python was ready
    assert page.inner_text('#header [data-field="identifier"] .value') == "nwbscope-minimal"


def test_reloading_a_local_file_link_asks_for_the_file_again(page, site_url):
    assert goto(page, site_url, file="rich.nwb", path="/units") == "ready"
    assert "Drop rich.nwb again" in page.inner_text("#status")
    assert page.inner_text("#tree") == "" and page.inner_text("#error") == ""
