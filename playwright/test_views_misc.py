"""The DecompositionSeries view, the generic view of a 3-D TimeSeries and every core data
type's default view in Chromium against the real ``nwbscope serve``.

Values are read from the panels' Bokeh documents and compared with pynwb's reading of the
served files (binned here with numpy, as ``tests/views_misc`` does natively). Screenshots go
to ``playwright/artifacts/`` for a person to look at. One page serves the module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from views_helpers import (
    open_views,
    panel_error,
    read_source,
    screenshot,
    set_option,
    status_text,
    x_range,
)

from nwbscope.views.window import TimeWindow
from tests.fixtures import view_coverage_files as vc
from tests.fixtures import view_misc_files as vm
from tests.views_misc.test_decomposition import reference

DEC = vm.MISC["decomposition"]
S3D = vm.MISC["series_3d"]
BATCH = 6  # coverage panels open at once

pytestmark = pytest.mark.usefixtures("no_script_errors")  # (playwright/conftest.py)


@pytest.fixture(scope="module")
def misc_ref(data_dir: Path):
    """The served view_misc.nwb as pynwb reads it (the reference values)."""
    from pynwb import NWBHDF5IO

    io = NWBHDF5IO(str(data_dir / "files" / "view_misc.nwb"), "r")
    yield io.read()
    io.close()


def test_decomposition_heatmap(vpage, site_url, file_urls, misc_ref) -> None:
    page = vpage
    (pid,) = open_views(page, site_url, file_urls["view_misc.nwb"], [DEC["path"]],
                        t=(1.0, 11.3))
    start, end = x_range(page, pid)
    image = np.asarray(read_source(page, pid, "decomposition")["image"][0], dtype=np.float64)
    assert image.shape[0] == len(DEC["bands"]) and image.shape[1] > 100
    want = reference(misc_ref, TimeWindow(start, end, image.shape[1]), "channel", 0, "mean")
    np.testing.assert_allclose(image, want, rtol=1e-6, equal_nan=True)
    assert "mean per pixel" in status_text(page, pid)
    screenshot(page, "decomposition_channel", pid)
    set_option(page, pid, "show", "band")
    set_option(page, pid, "band", "2")
    set_option(page, pid, "reduce", "max")
    image = np.asarray(read_source(page, pid, "decomposition")["image"][0], dtype=np.float64)
    start, end = x_range(page, pid)
    want = reference(misc_ref, TimeWindow(start, end, image.shape[1]), "band", 2, "max")
    assert image.shape[0] == len(DEC["channels"])
    np.testing.assert_allclose(image, want, rtol=1e-6, equal_nan=True)
    assert "gamma" in status_text(page, pid)
    screenshot(page, "decomposition_band", pid)


def test_generic_view_of_a_3d_series(vpage, site_url, file_urls, misc_ref) -> None:
    page = vpage
    data = np.asarray(misc_ref.acquisition["series_3d"].data[:])
    (pid,) = open_views(page, site_url, file_urls["view_misc.nwb"],
                        ["generic:" + S3D["path"]])
    image = np.asarray(read_source(page, pid, "picture")["image"][0])
    np.testing.assert_array_equal(image, data[0].T)
    set_option(page, pid, "index_0", 17)
    image = np.asarray(read_source(page, pid, "picture")["image"][0])
    np.testing.assert_array_equal(image, data[17].T)
    status = status_text(page, pid)
    assert "shape 120 × 12 × 20, int16" in status and "data[17, :, :]" in status
    screenshot(page, "generic_3d", pid)


def test_retinotopy_maps(vpage, site_url, file_urls, misc_ref) -> None:
    page = vpage
    group = misc_ref.processing["ophys"]["retinotopy"]
    (pid,) = open_views(page, site_url, file_urls["view_misc.nwb"],
                        [vm.MISC["retinotopy"]["path"]])
    image = np.asarray(read_source(page, pid, "picture")["image"][0])
    np.testing.assert_array_equal(image, np.asarray(group.axis_1_phase_map[()]))
    set_option(page, pid, "map", "vasculature_image")
    image = np.asarray(read_source(page, pid, "picture")["image"][0])
    np.testing.assert_array_equal(image, np.asarray(group.vasculature_image[()]))
    assert status_text(page, pid).startswith("vasculature_image")
    screenshot(page, "retinotopy_vasculature", pid)


def test_every_core_data_type_opens_without_error(vpage, site_url, file_urls, data_dir
                                                  ) -> None:
    page = vpage
    objects = vc.coverage_objects(data_dir / "files" / "view_coverage.nwb")
    kinds = vc.data_types()
    failed = []
    for i in range(0, len(kinds), BATCH):
        batch = kinds[i:i + BATCH]
        open_views(page, site_url, file_urls["view_coverage.nwb"],
                   [objects[k] for k in batch])
        boxes = page.locator("#views section.panel").all()
        assert len(boxes) == len(batch)
        for kind, box in zip(batch, boxes, strict=True):
            error = panel_error(page, box)
            if error or "failed" in (box.get_attribute("class") or ""):
                failed.append(f"{kind}: {error}")
        if i == 0:
            screenshot(page, "coverage_first_batch")
    assert not failed, "\n".join(failed)
