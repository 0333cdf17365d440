"""A second visit: an unchanged file reopens from the metadata kept in the browser.

After the tree shows, the worker keeps the blocks the open read and the tree it answered
(Cache API, keyed by the file's URL, stamped with its size and ETag). Reloading the page must
draw the kept tree before Python is up (from the page's own probe), then show the same header
and tree with that one request for the file; after the file changes at the same URL (same
size, so only the ETag tells), the new content must show, read afresh.

The file is served by the helper's ``/range/`` mode, which answers every request itself (no
304s), so its log counts exactly what the browser asked for. Expected values come from the
fixture recipe's constants.
"""

from __future__ import annotations

import os
import shutil

import h5py
from viewer_helpers import (
    goto,
    io_stats,
    marks,
    tree_row,
    wait_details,
    wait_true,
)

from tests.fixtures import nwb_files as fx

NAME = "warm-test.nwb"
CHANGED_ID = "nwbscope-rich-0002"  # as long as fx.RICH["identifier"]: the size may not change
KEPT = """url => caches.open('nwbscope-metadata-v1')
  .then(c => c.match(url)).then(r => !!r).catch(() => false)"""
CONTRACT = ["nwbscope:python-ready", "nwbscope:packages-ready", "nwbscope:file-open",
            "nwbscope:tree-shown"]


def file_requests(helper, since: int) -> int:
    return sum(1 for path, _ in helper["log"][since:] if path == "/range/" + NAME)


def shown(page) -> tuple[str, list[str]]:
    identifier = page.inner_text('#header [data-field="identifier"] .value')
    return identifier, page.locator("#tree > ul > li > .row .name").all_inner_texts()


def test_unchanged_file_reopens_with_one_request_and_a_changed_one_is_read_again(
        fresh_page, site_url, helper, data_dir):
    page = fresh_page
    path = data_dir / "files" / NAME
    shutil.copyfile(data_dir / "files" / "rich.nwb", path)
    url = helper["url"]("range", NAME)

    start = len(helper["log"])
    assert goto(page, site_url, url=url) == "ready"
    first = shown(page)
    assert first[0] == fx.RICH["identifier"]
    assert "acquisition" in first[1]
    cold_requests = file_requests(helper, start)
    assert cold_requests >= 2  # the probe, then the metadata reads
    wait_true(page, KEPT, url, timeout_s=10)

    start = len(helper["log"])
    page.reload()
    page.wait_for_function("['ready', 'error'].includes(document.body.dataset.state)"
                           " && performance.getEntriesByName('nwbscope:tree-shown').length",
                           timeout=60_000)
    assert shown(page) == first
    assert file_requests(helper, start) == 1  # the probe that checked size and ETag
    assert io_stats(page)["requests"] == 1
    assert [m for m in marks(page) if m in CONTRACT] == CONTRACT
    # the kept tree was drawn from the page's own probe before Python was up
    assert marks(page).index("nwbscope:kept-tree-shown") < marks(page).index(
        "nwbscope:python-ready")

    # a row clicked on the kept tree (Python still starting) is selected once Python is up
    page.reload()
    page.wait_for_function(
        "performance.getEntriesByName('nwbscope:kept-tree-shown').length", timeout=60_000)
    tree_row(page, "/acquisition").click()
    wait_details(page, "/acquisition")
    assert page.evaluate("new URL(location.href).searchParams.get('path')") == "/acquisition"

    size = path.stat().st_size
    with h5py.File(path, "r+") as f:  # rewritten in place, same length
        f["identifier"][()] = CHANGED_ID
    assert path.stat().st_size == size  # only the ETag can tell the change
    mtime = path.stat().st_mtime_ns + 5_000_000_000
    os.utime(path, ns=(mtime, mtime))  # a new ETag even where mtimes are coarse
    start = len(helper["log"])
    page.reload()
    page.wait_for_function("['ready', 'error'].includes(document.body.dataset.state)"
                           " && performance.getEntriesByName('nwbscope:tree-shown').length",
                           timeout=60_000)
    identifier, names = shown(page)
    assert identifier == CHANGED_ID
    assert names == first[1]
    assert file_requests(helper, start) >= 2, "stale blocks were used for a changed file"
    assert "nwbscope:kept-tree-shown" not in marks(page)
    assert not page.page_errors
