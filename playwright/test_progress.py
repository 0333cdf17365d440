"""Start-up progress a person can read (issue #14), and the empty page's demo link.

A first visit takes seconds (Pyodide downloads and boots in a worker); the page must say
which step it is in, in order, with a clock that never sits still for a second, and take the
bar down when the file is shown or opening failed. The empty page offers the demo recording
when the server has one (``nwbscope serve``: ``/files/demo.nwb``), and shows no dead link when
it has none. What the bar shows over time is recorded in the page by a MutationObserver
(``RECORDER``): a poll from here would miss steps that last a few milliseconds.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from viewer_helpers import OPEN_MS, START_MS, goto, new_watched_page, state, tree_row, wait_done

STEPS = ["page", "python", "packages", "file", "tree"]
MAX_STILL_MS = 1000  # the issue: never still for more than a second while starting

# Every value #progress[data-step] takes (from each mutation's old value, then the last),
# each text the step name and the clock are given (from the text node added: a read in the
# callback would see only the last of several writes), with page times in milliseconds.
RECORDER = """
window.__progress = {steps: [], names: [], details: [], ticks: [], states: []};
document.addEventListener('DOMContentLoaded', () => {
  const log = window.__progress;
  const box = document.getElementById('progress');
  if (!box) return;
  const added = r => Array.from(r.addedNodes).map(n => n.textContent).join('');
  log.names.push(document.getElementById('progress-step').textContent);
  new MutationObserver(records => {
    for (const r of records) {
      if (r.type === 'attributes' && r.attributeName === 'data-step') log.steps.push(r.oldValue);
      if (r.type === 'attributes' && r.attributeName === 'data-state')
        log.states.push([performance.now(), document.body.dataset.state]);
      if (r.type !== 'childList' || !r.addedNodes.length) continue;
      if (r.target.id === 'progress-step') log.names.push(added(r));
      if (r.target.id === 'progress-detail') log.details.push(added(r));
      if (r.target.id === 'progress-elapsed') log.ticks.push([performance.now(), added(r)]);
    }
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                             attributeOldValue: true,
                             attributeFilter: ['data-step', 'data-state']});
});
"""


def recorded(page) -> dict:
    log = page.evaluate("window.__progress")
    log["steps"] = log["steps"] + [page.get_attribute("#progress", "data-step")]
    return log


def collapse(values: list[str]) -> list[str]:
    """The values in order, repeats of the one before dropped."""
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


@pytest.fixture
def first_visit(browser):
    """A context of its own, with empty caches: Python is downloaded, as on a first visit."""
    ctx = browser.new_context()
    ctx.add_init_script(RECORDER)
    page = new_watched_page(ctx)
    yield page
    ctx.close()


@pytest.fixture
def watched(context):
    page = new_watched_page(context)
    page.add_init_script(RECORDER)
    yield page
    page.close()


def test_first_visit_passes_the_steps_in_order_and_the_clock_never_stops(
        first_visit, site_url, file_urls):
    page = first_visit
    assert goto(page, site_url, url=file_urls["rich.nwb"]) == "ready"
    log = recorded(page)
    assert collapse(log["steps"]) == STEPS, log["steps"]
    names = collapse(log["names"])
    for i, word in enumerate(["loading the page", "downloading and starting Python",
                              "loading packages", "reading the file", "drawing the tree"]):
        assert any(n.startswith(word) and f"(step {i + 1} of 5)" in n for n in names), names
    ready_at = next(t for t, s in log["states"] if s == "ready")
    ticks = [(t, text) for t, text in log["ticks"] if t <= ready_at]
    assert len(ticks) >= 3, log["ticks"]
    changes = [t for i, (t, text) in enumerate(ticks) if i == 0 or text != ticks[i - 1][1]]
    gaps = [b - a for a, b in zip(changes, changes[1:] + [ready_at], strict=True)]
    assert max(gaps) < MAX_STILL_MS, (max(gaps), ticks)
    seconds = [float(text.split()[0]) for _, text in ticks]
    assert seconds == sorted(seconds) and seconds[-1] > seconds[0]
    assert page.is_hidden("#progress")
    assert page.get_attribute("#progress-bar", "max") == "5"
    details = log["details"]
    assert any(d.startswith("numpy") and "nwbscope" in d for d in details), details
    assert any(re.fullmatch(r"[\d.]+ [kM]?B read in \d+ requests?", d) for d in details), details
    print(f"\nfirst visit: ready after {ready_at / 1000:.1f} s; the clock's longest pause "
          f"{max(gaps):.0f} ms; first tick at {changes[0] / 1000:.2f} s")
    assert not page.page_errors


def test_the_bar_goes_when_ready_and_comes_back_for_a_later_open(watched, site_url, file_urls):
    page = watched
    assert goto(page, site_url, url=file_urls["rich.nwb"]) == "ready"
    assert page.is_hidden("#progress")
    still = page.inner_text("#progress-elapsed")
    page.wait_for_timeout(700)  # the interval was cleared: the hidden clock no longer moves
    assert page.evaluate("document.getElementById('progress-elapsed').textContent") == still
    # a later open brings the bar back for its own steps, with a clock of its own
    page.evaluate("document.body.dataset.state = 'submitted'")
    page.fill("#url-input", file_urls["minimal.nwb"])
    page.click("#open-button")
    assert wait_done(page) == "ready"
    log = recorded(page)
    assert collapse(log["steps"])[-2:] == ["file", "tree"], log["steps"]
    assert page.is_hidden("#progress")
    assert not page.page_errors


def test_the_bar_goes_on_error_and_the_error_stays(watched, site_url, server):
    page = watched
    assert goto(page, site_url, url=server + "/files/no-such-id/missing.nwb") == "error"
    assert page.is_hidden("#progress")
    assert page.is_visible("#error") and page.inner_text("#error")
    assert page.is_hidden("#landing")


def test_empty_page_offers_the_demo_and_it_opens(watched, site_url, server):
    page = watched
    assert goto(page, site_url) == "ready"
    assert "Open a URL, or drop an .nwb file" in page.inner_text("#status")
    link = page.locator("#demo-link")
    link.wait_for(state="visible", timeout=OPEN_MS)
    assert link.inner_text() == "Open the demo recording"
    target = parse_qs(urlparse(link.get_attribute("href")).query)["url"]
    assert target == [server + "/files/demo.nwb"]
    assert page.is_hidden("#progress")
    link.click()
    page.wait_for_function("document.body.dataset.state !== 'ready'", timeout=OPEN_MS)
    assert wait_done(page) == "ready"
    tree_row(page, "/acquisition").wait_for(timeout=OPEN_MS)
    assert parse_qs(urlparse(page.url).query)["url"] == [server + "/files/demo.nwb"]
    assert page.is_hidden("#landing") and page.is_hidden("#progress")
    page.go_back()  # the empty entry again: the link is offered again
    page.locator("#demo-link").wait_for(state="visible", timeout=OPEN_MS)
    assert state(page) == "ready"
    assert not page.page_errors


def test_demo_link_can_be_clicked_while_python_starts(first_visit, site_url, server):
    page = first_visit
    page.goto(site_url)
    link = page.locator("#demo-link")
    link.wait_for(state="visible", timeout=START_MS)
    starting = state(page) == "starting"  # usually: the probe is one HEAD, Python takes seconds
    link.click()
    assert wait_done(page, timeout=START_MS) == "ready"
    tree_row(page, "/acquisition").wait_for(timeout=OPEN_MS)
    print(f"\nthe demo link was clicked while Python was starting: {starting}")
    assert not page.page_errors


def test_static_host_without_demo_shows_no_link(watched, site_url):
    page = watched
    page.route("**/files/demo.nwb", lambda route: route.fulfill(status=404, body=""))
    assert goto(page, site_url) == "ready"
    page.wait_for_timeout(300)  # the HEAD has answered by now (it went before Python)
    assert page.is_hidden("#landing") and page.is_hidden("#demo-link")
    assert "Open a URL, or drop an .nwb file" in page.inner_text("#status")
    assert not page.page_errors
