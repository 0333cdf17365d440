"""Small steps the browser tests share: open the page, open a file, read what it shows.

The page says what it is doing in ``body[data-state]`` (starting, loading, ready, error); a
helper marks the state "submitted" before it acts, so waiting for ready/error cannot see the
state left over from the previous file.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

START_MS = 60_000  # Pyodide's first start on a loaded 2-core machine
OPEN_MS = 30_000

HUGE_SHAPE = (1_600_000_000,)  # the sparse file's int16 series: 3.2 GB on paper
HUGE_LAST = 7  # its only written value, the last one

DONE = "['ready', 'error'].includes(document.body.dataset.state)"


def new_watched_page(context):
    """A page whose uncaught script errors collect in ``page.page_errors`` (tests assert none)."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.page_errors = errors
    return page


def viewer_url(site_url: str, **params: str) -> str:
    return site_url + ("?" + urlencode(params) if params else "")


def goto(page, site_url: str, **params: str) -> str:
    """Load the page (with ``url``/``path`` parameters) and wait until it settles."""
    page.goto(viewer_url(site_url, **params))
    page.wait_for_function(DONE, timeout=START_MS)
    return state(page)


def wait_true(page, script: str, arg=None, timeout_s: float = 30.0) -> None:
    """Poll a check that returns a Promise (caches, fetch) until it resolves true:
    ``wait_for_function`` takes the returned Promise itself for true and waits for nothing."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(script, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s:.0f} s: {script[:80]}")
        time.sleep(0.2)


def state(page) -> str:
    return page.evaluate("document.body.dataset.state")


def wait_done(page, timeout: int = OPEN_MS) -> str:
    page.wait_for_function(DONE, timeout=timeout)
    return state(page)


def mark_submitted(page) -> None:
    page.evaluate("document.body.dataset.state = 'submitted'")


def open_by_form(page, url: str) -> str:
    """Type a URL into the page's form and open it; returns the final state."""
    page.wait_for_function("window.performance.getEntriesByName('nwbscope:packages-ready').length",
                           timeout=START_MS)
    mark_submitted(page)
    page.fill("#url-input", url)
    page.click("#open-button")
    return wait_done(page)


def error_text(page) -> str:
    return page.inner_text("#error") if page.is_visible("#error") else ""


def tree_row(page, path: str):
    return page.locator(f'#tree li[data-path="{path}"] > .row')


def click_row(page, path: str) -> None:
    """Click an object in the tree and wait until its details are shown."""
    tree_row(page, path).click()
    wait_details(page, path)


def wait_details(page, path: str) -> None:
    page.wait_for_function(
        "p => { const h = document.querySelector('#details .obj-path');"
        " return h && h.textContent === p; }", arg=path, timeout=OPEN_MS)


def preview_values(page):
    """The values shown in the details preview (``[0:5, 0:8] = [[...]]``), parsed."""
    text = page.inner_text("#details .preview pre.values")
    return json.loads(text.split(" = ", 1)[1])


def attr_value(page, name: str) -> str:
    return page.inner_text(f'#details tr[data-attr="{name}"] td')


def io_stats(page) -> dict[str, int]:
    data = page.evaluate("Object.assign({}, document.getElementById('io-stats').dataset)")
    return {key: int(value) for key, value in data.items()}


def marks(page) -> list[str]:
    return page.evaluate(
        "performance.getEntriesByType('mark').map(m => m.name)"
        ".filter(n => n.startsWith('nwbscope:'))")
