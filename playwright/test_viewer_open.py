"""Opening an NWB file by URL: progress, header, tree, details, snippets, URL state.

Expected values come from the fixture recipe's constants (tests/fixtures/nwb_files.py), never
from the file the page reads.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from viewer_helpers import (
    attr_value,
    click_row,
    goto,
    io_stats,
    marks,
    open_by_form,
    preview_values,
    tree_row,
    wait_details,
)

from tests.fixtures import nwb_files as fx


def table_column(page, name: str) -> list[str]:
    """The cells of one column of the table preview, top to bottom."""
    table = page.locator("#details .table-preview")
    index = table.locator("th").all_inner_texts().index(name)
    return [row.locator("td").nth(index).inner_text()
            for row in table.locator("tr").all()[1:]]


ROOT_ORDER = ["acquisition", "processing", "units", "intervals", "stimulus", "general",
              "analysis", "specifications"]


def test_open_by_url_shows_progress_header_and_tree(page, site_url, file_urls, data_dir):
    assert goto(page, site_url, url=file_urls["rich.nwb"]) == "ready"
    log = page.evaluate("window.__statusLog")
    for step in ("starting Python", "loading numpy", "reading file"):
        assert step in log, f"progress line never said {step!r}: {log}"
    contract = ["nwbscope:python-ready", "nwbscope:packages-ready", "nwbscope:file-open",
                "nwbscope:tree-shown"]
    assert [m for m in marks(page) if m in contract] == contract  # each once, in this order

    header = page.locator("#header")
    for key in ("session_description", "identifier", "lab", "institution"):
        assert header.locator(f'[data-field="{key}"] .value').inner_text() == fx.RICH[key]
    assert header.locator('[data-field="experimenter"] .value').inner_text() == (
        "; ".join(fx.RICH["experimenter"]))
    assert header.locator('[data-field="related_publications"] .value').inner_text() == (
        "; ".join(fx.RICH["related_publications"]))
    assert header.locator('[data-field="session_start_time"] .value').inner_text() == (
        fx.SESSION_START.isoformat())
    with h5py.File(data_dir / "files" / "rich.nwb", "r") as f:
        version = f.attrs["nwb_version"]
    version = version.decode() if isinstance(version, bytes) else str(version)
    assert header.locator('[data-field="nwb_version"] .value').inner_text() == version
    for key in ("subject_id", "species", "age", "sex"):
        text = header.locator(f'[data-field="subject.{key}"]').inner_text()
        assert text.endswith(fx.RICH["subject"][key])

    names = page.locator("#tree > ul > li > .row .name").all_inner_texts()
    assert [n for n in names if n in ROOT_ORDER] == ROOT_ORDER
    assert names[: len(ROOT_ORDER)] == ROOT_ORDER
    stats = io_stats(page)
    assert stats["requests"] >= 1 and stats["bytes"] > 0
    assert stats["bytes"] < (data_dir / "files" / "rich.nwb").stat().st_size
    assert not page.page_errors


def test_tree_and_details_show_types_shapes_values(page, site_url, file_urls):
    goto(page, site_url, url=file_urls["rich.nwb"])
    tree_row(page, "/acquisition").click()
    es = tree_row(page, "/acquisition/ElectricalSeries")
    es.wait_for()
    assert es.locator(".ntype").inner_text() == "ElectricalSeries"
    assert es.locator(".desc").inner_text() == "raw voltage"
    tetrode = tree_row(page, "/acquisition/tetrode0")
    assert tetrode.locator(".ntype").inner_text() == fx.EXT_TYPE

    click_row(page, "/acquisition/ElectricalSeries")
    data = tree_row(page, "/acquisition/ElectricalSeries/data")
    data.wait_for()
    assert data.locator(".shape").inner_text() == (
        f"int16 [{fx.ES_SHAPE[0]}, {fx.ES_SHAPE[1]}]")
    details = page.locator("#details")
    assert "10000 Hz" in details.locator(".preview").inner_text()

    click_row(page, "/acquisition/ElectricalSeries/data")
    expected = fx.es_data()
    shown = np.array(preview_values(page))
    assert shown.shape[0] >= 2 and shown.shape[1] >= 2
    np.testing.assert_array_equal(shown, expected[: shown.shape[0], : shown.shape[1]])
    assert float(attr_value(page, "conversion")) == fx.ES_CONVERSION
    assert attr_value(page, "unit") == "volts"
    assert f"int16 [{fx.ES_SHAPE[0]}, {fx.ES_SHAPE[1]}]" in details.locator(
        ".obj-meta").inner_text()

    nwbscope_code = details.locator('[data-snippet="nwbscope"] code').inner_text()
    assert "nwbscope.open(" in nwbscope_code and file_urls["rich.nwb"] in nwbscope_code
    assert "/acquisition/ElectricalSeries/data" in nwbscope_code
    pynwb_code = details.locator('[data-snippet="pynwb"] code').inner_text()
    assert "NWBHDF5IO" in pynwb_code and 'acquisition["ElectricalSeries"]' in pynwb_code
    button = details.locator('[data-snippet="nwbscope"] button.copy')
    button.click()
    assert button.inner_text() == "Copied"
    assert page.url.endswith("path=%2Facquisition%2FElectricalSeries%2Fdata")


def test_path_in_url_opens_tree_down_to_object(page, site_url, file_urls):
    path = "/acquisition/temperature/data"
    goto(page, site_url, url=file_urls["rich.nwb"], path=path)
    wait_details(page, path)
    np.testing.assert_allclose(preview_values(page), fx.temperature_data()[:10], rtol=1e-6)
    assert page.locator('#tree li[data-path="/acquisition"]').get_attribute("class").count(
        "open") == 1
    selected = page.locator("#tree li.selected")
    assert selected.get_attribute("data-path") == path


def test_back_and_forward_reopen_selected_objects(page, site_url, file_urls):
    goto(page, site_url, url=file_urls["rich.nwb"])
    tree_row(page, "/units").click()
    wait_details(page, "/units")
    table = page.locator("#details .table-preview")
    assert f"{fx.N_UNITS} rows" in page.inner_text("#details .preview .rows")
    qualities = [t for t in table.locator("td").all_inner_texts() if t in ("good", "mua")]
    assert qualities == ["good", "mua", "good", "mua", "good"]

    tree_row(page, "/intervals").click()
    tree_row(page, "/intervals/trials").click()
    wait_details(page, "/intervals/trials")
    assert f"{fx.N_TRIALS} rows" in page.inner_text("#details .preview .rows")
    assert table_column(page, "stimulus") == [r["stimulus"] for r in fx.trial_rows()[:5]]
    assert [float(v) for v in table_column(page, "stop_time")] == pytest.approx(
        [r["stop_time"] for r in fx.trial_rows()[:5]])

    page.go_back()  # clicking /intervals selected it too: one entry per selection
    wait_details(page, "/intervals")
    page.go_back()
    wait_details(page, "/units")
    assert page.url.endswith("path=%2Funits")
    assert f"{fx.N_UNITS} rows" in page.inner_text("#details .preview .rows")
    page.go_forward()
    page.go_forward()
    wait_details(page, "/intervals/trials")
    assert page.locator("#tree li.selected").get_attribute("data-path") == "/intervals/trials"


def test_links_resolve_to_paths_and_can_be_followed(page, site_url, file_urls):
    link_path = "/acquisition/events_smoothed/timestamps"
    goto(page, site_url, url=file_urls["rich.nwb"], path=link_path)
    wait_details(page, link_path)
    row = tree_row(page, link_path)
    assert row.locator(".link-target").inner_text() == "→ /acquisition/events/timestamps"
    link = page.locator("#details .links a.ref", has_text="/acquisition/events/timestamps")
    np.testing.assert_allclose(preview_values(page), fx.event_timestamps()[:10])
    link.first.click()
    wait_details(page, "/acquisition/events/timestamps")
    assert page.locator("#tree li.selected").get_attribute(
        "data-path") == "/acquisition/events/timestamps"


def test_back_across_files_reopens_the_previous_file(page, site_url, file_urls):
    goto(page, site_url, url=file_urls["rich.nwb"], path="/units")
    wait_details(page, "/units")
    assert open_by_form(page, file_urls["minimal.nwb"]) == "ready"
    assert page.inner_text('#header [data-field="identifier"] .value') == "nwbscope-minimal"
    page.go_back()
    wait_details(page, "/units")
    assert page.inner_text('#header [data-field="identifier"] .value') == fx.RICH["identifier"]
    page.go_forward()
    page.wait_for_function("document.querySelector('#header [data-field=\"identifier\"] .value')"
                           "?.textContent === 'nwbscope-minimal'")
    assert page.inner_text("#details") == ""


def test_relative_url_is_relative_to_the_page(page, site_url, file_urls, server):
    relative = file_urls["minimal.nwb"].removeprefix(server)
    assert relative.startswith("/files/")
    assert goto(page, site_url, url=relative) == "ready"
    assert page.inner_text('#header [data-field="identifier"] .value') == "nwbscope-minimal"
