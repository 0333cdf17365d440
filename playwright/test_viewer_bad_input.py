"""Bad input: each case shows a clear message on the page, and the same page opens the next file.

One page serves the whole module on purpose: every test opens its input in the page the
previous test left (possibly in an error state), which is what "the page keeps working" means.
"""

from __future__ import annotations

import pytest
from viewer_helpers import (
    HUGE_SHAPE,
    click_row,
    error_text,
    goto,
    io_stats,
    open_by_form,
    preview_values,
    tree_row,
)

from tests.fixtures import nwb_files as fx


@pytest.fixture(scope="module")
def viewer(context, site_url):
    page = context.new_page()
    assert goto(page, site_url) == "ready"
    yield page
    page.close()


def assert_error(page, *phrases: str) -> None:
    assert page.evaluate("document.body.dataset.state") == "error"
    text = error_text(page)
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} not in the message: {text!r}"
    assert page.inner_text("#tree") == ""


def test_not_hdf5(viewer, helper):
    # served by the helper: nwbscope's own server refuses to serve a file that is not HDF5
    assert open_by_form(viewer, helper["url"]("range", "not_hdf5.nwb")) == "error"
    assert_error(viewer, "not an HDF5 file", "HTML page")


def test_truncated_nwb(viewer, file_urls):
    assert open_by_form(viewer, file_urls["truncated.nwb"]) == "error"
    assert_error(viewer, "truncated")


def test_http_404(viewer, file_urls):
    missing = file_urls["rich.nwb"].replace("rich.nwb", "missing.nwb")
    assert open_by_form(viewer, missing) == "error"
    assert_error(viewer, "HTTP 404", "missing.nwb")


def test_hdf5_that_is_not_nwb_shows_its_tree_with_a_note(viewer, file_urls):
    assert open_by_form(viewer, file_urls["plain.h5"]) == "ready"
    assert "no NWB metadata" in viewer.inner_text("#notice")
    assert error_text(viewer) == ""
    names = viewer.locator("#tree > ul > li > .row .name").all_inner_texts()
    assert {"measurements", "empty", "shortcut"} <= set(names)
    tree_row(viewer, "/measurements").click()
    click_row(viewer, "/measurements/signal")
    assert viewer.inner_text("#details .obj-meta .shape") == "float32 [100, 3]"
    assert preview_values(viewer)[:2] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_server_without_range_small_file_is_read_whole(viewer, helper):
    before = len(helper["log"])
    assert open_by_form(viewer, helper["url"]("norange", "minimal.nwb")) == "ready"
    assert "does not support HTTP Range" in viewer.inner_text("#notice")
    assert viewer.inner_text('#header [data-field="identifier"] .value') == "nwbscope-minimal"
    seen = helper["log"][before:]
    assert len(seen) == 1 and seen[0][1] is not None  # one request, and it asked for a Range


def test_server_without_range_big_file_is_refused(viewer, helper, data_dir):
    before = len(helper["log"])
    size = (data_dir / "files" / "huge.nwb").stat().st_size
    assert open_by_form(viewer, helper["url"]("norange", "huge.nwb")) == "error"
    assert_error(viewer, "does not support HTTP Range requests", f"{size / 1e6:.1f} MB")
    assert io_stats(viewer)["bytes"] < 100_000_000  # the body was abandoned, not read
    assert [r for _, r in helper["log"][before:]] == ["bytes=0-65535"]


def test_cors_blocked_url_says_what_server_must_allow(viewer, helper):
    assert open_by_form(viewer, helper["url"]("nocors", "minimal.nwb")) == "error"
    assert_error(viewer, "Access-Control-Allow-Origin", "Range", "Content-Range")


def test_redirect_followed_once_and_final_url_reused(viewer, helper, file_urls):
    before = len(helper["log"])
    assert open_by_form(viewer, helper["url"]("redirect", "rich.nwb")) == "ready"
    assert viewer.inner_text('#header [data-field="identifier"] .value') == fx.RICH["identifier"]
    tree_row(viewer, "/acquisition").click()
    click_row(viewer, "/acquisition/ElectricalSeries")
    click_row(viewer, "/acquisition/ElectricalSeries/data")
    assert len(helper["log"][before:]) == 1  # later reads went straight to the final URL
    assert io_stats(viewer)["requests"] >= 2
    # the snippet keeps the URL that was given (a redirect target may be short-lived)
    code = viewer.inner_text('#details [data-snippet="nwbscope"] code')
    assert helper["url"]("redirect", "rich.nwb") in code


def test_multi_gigabyte_file_opens_like_a_small_one(viewer, file_urls, data_dir):
    assert (data_dir / "files" / "huge.nwb").stat().st_size > 3_000_000_000
    assert open_by_form(viewer, file_urls["huge.nwb"]) == "ready"
    assert error_text(viewer) == ""
    stats = io_stats(viewer)
    assert stats["requests"] <= 10 and stats["bytes"] < 2_000_000
    tree_row(viewer, "/acquisition").click()
    click_row(viewer, "/acquisition/huge_series")
    data = tree_row(viewer, "/acquisition/huge_series/data")
    assert data.locator(".shape").inner_text() == f"int16 [{HUGE_SHAPE[0]}]"
    click_row(viewer, "/acquisition/huge_series/data")
    assert preview_values(viewer) == [0] * 10  # only the last value was ever written
    assert io_stats(viewer)["bytes"] < 4_000_000


def test_page_still_opens_a_good_file_after_errors(viewer, file_urls, helper):
    assert open_by_form(viewer, helper["url"]("range", "not_hdf5.nwb")) == "error"
    assert open_by_form(viewer, file_urls["rich.nwb"]) == "ready"
    assert error_text(viewer) == ""
    assert viewer.inner_text('#header [data-field="lab"] .value') == fx.RICH["lab"]
