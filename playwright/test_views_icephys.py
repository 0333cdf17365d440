"""The sweeps view (intracellular recordings) and the pose view in Chromium, against the real
``nwbscope serve``.

What a person would check: the sweeps drawn for a CurrentClampSeries are those of its
sequential recording as pynwb's icephys tables say, with pynwb's values (data × conversion);
changing the grouping shows the repetition's sweeps; the pose view's keypoints follow the
shared cursor and are pynwb's data at the nearest frame. Screenshots go to
``playwright/artifacts/`` for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from views_helpers import (
    open_views,
    panel_seq,
    read_source,
    screenshot,
    set_cursor,
    set_option,
    status_text,
    wait_frame,
)

from tests.fixtures import view_icephys_files as vi

pytestmark = pytest.mark.usefixtures("no_script_errors")  # (playwright/conftest.py)
SERIES = "/acquisition/cc_response_0"


@pytest.fixture(scope="module")
def icephys(data_dir: Path):
    """The served view_icephys.nwb as pynwb reads it (the reference)."""
    from pynwb import NWBHDF5IO

    io = NWBHDF5IO(str(data_dir / "files" / "view_icephys.nwb"), "r")
    yield io.read()
    io.close()


def recording_rows(table, column: str, below: list[list[int]]) -> list[list[int]]:
    """Each row of an icephys table as rows of intracellular_recordings (pynwb's cells)."""
    out = []
    for cell in table.to_dataframe(index=True)[column]:
        rows: list[int] = []
        for m in np.asarray(cell, dtype=int).tolist():
            rows.extend(r for r in below[m] if r not in rows)
        out.append(rows)
    return out


def response_names(ref) -> list[str]:
    column = ref.get_intracellular_recordings()["responses"]["response"]
    return [column[k].timeseries.name for k in range(len(column))]


def test_sweeps_of_a_current_clamp_series(vpage, site_url, file_urls, icephys) -> None:
    page = vpage
    n = len(icephys.get_intracellular_recordings())
    simultaneous = recording_rows(icephys.get_icephys_simultaneous_recordings(),
                                  "recordings", [[r] for r in range(n)])
    sequential = recording_rows(icephys.get_icephys_sequential_recordings(),
                                "simultaneous_recordings", simultaneous)
    repetitions = recording_rows(icephys.get_icephys_repetitions(), "sequential_recordings",
                                 sequential)
    names = response_names(icephys)
    row = names.index(SERIES.rsplit("/", 1)[1])
    group = next(g for g in sequential if row in g)
    (panel_id,) = open_views(page, site_url, file_urls["view_icephys.nwb"],
                             ["sweeps:" + SERIES])
    lines = read_source(page, panel_id, "sweep_responses")
    assert lines["path"] == [f"/acquisition/{names[r]}" for r in group]
    for k, r in enumerate(group):
        series = icephys.get_acquisition(names[r])
        want = np.asarray(series.data[:], dtype=np.float64) * series.conversion + series.offset
        np.testing.assert_allclose(lines["ys"][k], want, rtol=1e-12, atol=0)
        np.testing.assert_allclose(lines["xs"][k], np.arange(want.size) / series.rate * 1e3,
                                   rtol=0, atol=1e-9)
    stimuli = read_source(page, panel_id, "sweep_stimuli")
    assert len(stimuli["xs"]) == len(group)
    assert len(set(lines["color"])) == len(group)
    assert status_text(page, panel_id).startswith(f"{len(group)} sweeps")
    screenshot(page, "sweeps_sequential", panel_id)

    set_option(page, panel_id, "level", "repetition")
    repetition = next(g for g in repetitions if row in g)
    lines = read_source(page, panel_id, "sweep_responses")
    assert lines["path"] == [f"/acquisition/{names[r]}" for r in repetition]
    assert "different lengths" in status_text(page, panel_id)  # notes follow the status
    screenshot(page, "sweeps_repetition", panel_id)


def test_pose_follows_the_cursor(vpage, site_url, file_urls, data_dir) -> None:
    if "view_pose.nwb" not in file_urls:
        pytest.skip("ndx-pose was not installed to write view_pose.nwb")
    import ndx_pose  # noqa: F401 - pynwb reads the extension's types with it
    from pynwb import NWBHDF5IO

    page = vpage
    pose = vi.POSE
    (panel_id,) = open_views(page, site_url, file_urls["view_pose.nwb"], [pose["path"]],
                             t=(0.5, 10.5))
    with NWBHDF5IO(str(data_dir / "files" / "view_pose.nwb"), "r") as io:
        estimation = io.read().processing["behavior"][pose["path"].rsplit("/", 1)[1]]
        nodes = list(estimation.skeleton.nodes[:])
        data = {n: np.asarray(estimation.pose_estimation_series[n].data[:]) for n in nodes}
        n_edges = len(estimation.skeleton.edges)
    for t in (2.0, 7.5):
        seq = panel_seq(page, panel_id)
        set_cursor(page, panel_id, t)
        wait_frame(page, panel_id, after=seq)
        index = round((t - pose["start"]) * pose["rate"])
        points = read_source(page, panel_id, "pose_points")
        assert points["name"] == nodes
        assert points["x"] == [float(data[n][index, 0]) for n in nodes]
        assert points["y"] == [float(data[n][index, 1]) for n in nodes]
        assert len(read_source(page, panel_id, "pose_edges")["x0"]) == n_edges
    screenshot(page, "pose", panel_id)
    seq = panel_seq(page, panel_id)
    a, b = pose["lost"]
    set_cursor(page, panel_id, pose["start"] + (a + b) / 2 / pose["rate"])  # tail lost
    wait_frame(page, panel_id, after=seq)
    assert "tail" not in read_source(page, panel_id, "pose_points")["name"]
    assert "Not tracked" in status_text(page, panel_id)
