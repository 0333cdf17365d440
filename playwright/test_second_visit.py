"""A second visit: Python restored from the snapshot of the first, details before Python is up.

First visit: the worker boots Pyodide, keeps a memory snapshot of the fresh interpreter
(``web/boot.mjs``, Cache API ``nwbscope-snapshot-v1``), keeps the tree, and keeps what it
answered while the user browsed plus the top-level objects read ahead in the background
(``nwbscope.kept_browse``). After a reload the page must show a clicked object's details from
what was kept, before the worker has reopened the file, with the one probe request of the
unchanged file; the same details must come back from Python once it is up, and Python must
have been restored from the snapshot, not booted. A snapshot of another build of the site is
deleted unused, and one that Pyodide refuses is dropped and Python boots afresh.

Expected values come from the fixture recipe (``tests.fixtures.nwb_files.RICH``).
"""

from __future__ import annotations

import shutil

from viewer_helpers import (
    DONE,
    START_MS,
    goto,
    marks,
    tree_row,
    wait_details,
    wait_true,
)

from tests.fixtures import nwb_files as fx

NAME = "second-visit.nwb"
ES = fx.RICH_PATHS["electrical_series"]
SNAPSHOTS = "nwbscope-snapshot-v1"
KEPT_BROWSE = """([url, paths]) => caches.open('nwbscope-tree-v1').then(c => c.match(url))
  .then(r => r ? r.json() : null).then(e => !!(e && e.browse
    && paths.every(p => e.browse.details[p]) && e.browse.children['/acquisition']))"""
SNAPSHOT_KEPT = f"""() => caches.open('{SNAPSHOTS}').then(c => c.keys())
  .then(k => k.length === 1)"""
SNAPSHOT_KEYS = f"""() => caches.open('{SNAPSHOTS}').then(c => c.keys())
  .then(k => k.map(r => r.url))"""
# the key boot.mjs writes: the site's build stamp from manifest.json
CURRENT_KEY = """() => fetch('./manifest.json', {cache: 'no-cache'}).then(r => r.json())
  .then(m => new URL('./snapshot/' + encodeURIComponent(m.built_at + '-'
    + String(m.nwbscope_wheel_sha256).slice(0, 16)) + '.bin', location.href).href)"""
PUT = f"""([key, text]) => caches.open('{SNAPSHOTS}')
  .then(c => c.put(key, new Response(new TextEncoder().encode(text))))"""
TREE_SHOWN = (DONE + " && performance.getEntriesByName('nwbscope:tree-shown').length")


def file_requests(helper, since: int) -> int:
    return sum(1 for path, _ in helper["log"][since:] if path == "/range/" + NAME)


def details_text(page) -> str:
    return page.inner_text("#details")


def boot(page) -> str:
    return page.evaluate("document.body.dataset.boot || ''")


def test_second_visit_restores_python_and_shows_kept_details_before_it_is_up(
        fresh_page, site_url, helper, data_dir):
    page = fresh_page
    shutil.copyfile(data_dir / "files" / "rich.nwb", data_dir / "files" / NAME)
    url = helper["url"]("range", NAME)

    assert goto(page, site_url, url=url) == "ready"
    assert boot(page) == "booted"  # no snapshot yet: Python booted, and keeps one
    wait_true(page, SNAPSHOT_KEPT)
    tree_row(page, "/acquisition").click()
    wait_details(page, "/acquisition")
    # read ahead without a click: the top-level objects and one level below
    # (behind Bokeh's loading, in the same worker, on a busy machine: give it time)
    wait_true(page, KEPT_BROWSE, [url, ["/acquisition", "/session_description", ES]],
              timeout_s=90)
    tree_row(page, ES).click()
    wait_details(page, ES)
    from_python = details_text(page)

    # Python is held back (its loader is answered only later), so the clicks below are
    # certain to land on the kept tree before Python is up
    held = []
    page.context.route("**/boot.mjs", lambda route: held.append(route))
    start = len(helper["log"])
    page.reload()
    page.wait_for_function("performance.getEntriesByName('nwbscope:kept-tree-shown').length",
                           timeout=START_MS)
    # the kept tree, Python still starting: a branch and a never-clicked object's details
    tree_row(page, "/acquisition").locator(".toggle").click()
    tree_row(page, ES).wait_for(timeout=5_000)
    tree_row(page, "/session_description").click()
    wait_details(page, "/session_description")
    assert fx.RICH["session_description"] in details_text(page)
    tree_row(page, ES).click()
    wait_details(page, ES)
    kept_text = details_text(page)
    order = marks(page)
    assert "nwbscope:kept-details-shown" in order
    assert "nwbscope:python-ready" not in order
    assert kept_text == from_python

    assert len(held) == 1
    held[0].continue_()
    page.context.unroute("**/boot.mjs")
    page.wait_for_function(TREE_SHOWN, timeout=START_MS)
    wait_details(page, ES)  # selected again by the worker, from the address bar
    assert details_text(page) == from_python
    assert boot(page) == "restored"
    assert file_requests(helper, start) == 1  # the page's probe: nothing else was read
    assert not page.page_errors


def test_a_stale_or_refused_snapshot_is_not_used(fresh_page, site_url):
    page = fresh_page
    page.goto(site_url)
    page.wait_for_function(DONE, timeout=START_MS)
    wait_true(page, SNAPSHOT_KEPT)
    current = page.evaluate(CURRENT_KEY)
    assert page.evaluate(SNAPSHOT_KEYS) == [current]

    # another build's snapshot beside the current one: deleted at the next start, unused
    stale = current.replace("/snapshot/", "/snapshot/old-build-")
    page.evaluate(PUT, [stale, "a snapshot of another build"])
    page.reload()
    page.wait_for_function(DONE, timeout=START_MS)
    assert boot(page) == "restored"
    assert page.evaluate(SNAPSHOT_KEYS) == [current]

    # the current key holding bytes Pyodide refuses: dropped, Python boots afresh and works
    page.evaluate(PUT, [current, "not a memory snapshot"])
    page.reload()
    page.wait_for_function(DONE, timeout=START_MS)
    assert page.evaluate("document.body.dataset.state") == "ready"
    assert boot(page) == "booted"
    wait_true(page, SNAPSHOT_KEPT)
    assert not page.page_errors
