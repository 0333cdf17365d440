"""The ROI benchmark's machinery on a small file (no timing is checked)."""

from __future__ import annotations

import numpy as np

from bench import views_rois


def test_bench_file_and_cpython_case(tmp_path):
    path = tmp_path / "rois.nwb"
    info = views_rois._write_pixel(path, 30)
    assert info == {"rois": 30, "plane": [512, 512], "kind": "pixel_mask"}
    row = views_rois.cpython_case(str(path), "h5py")
    assert row["rois_drawn"] == 30 and row["mask_rows_read"] == 0
    assert "30 ROIs" in row["status"]
    for x, y, w in views_rois.blobs(30):
        assert x.min() >= 0 and y.min() >= 0 and x.max() < 512 and y.max() < 512
        assert np.all((w > 0) & (w <= 1))
