"""The imaging benchmark's machinery (never its timings): the movie it writes is what its
recipe says (pynwb reads it back, one frame per chunk) and its CPython case, over the range
server, steps to the frames it asks for and reads about one frame per step."""

from __future__ import annotations

import numpy as np

from bench import views_imaging as bench
from bench.range_server import start_in_thread


def test_movie_and_cpython_case(tmp_path) -> None:
    from pynwb import NWBHDF5IO

    path = tmp_path / "movie.nwb"
    info = bench.write_movie(path, 4)
    with NWBHDF5IO(str(path), "r") as io:
        series = io.read().acquisition["TwoPhotonSeries"]
        assert series.data.shape == (4, bench.SIZE, bench.SIZE)
        assert series.data.chunks == (1, bench.SIZE, bench.SIZE)
        np.testing.assert_array_equal(series.data[3], bench.frame(3))
    server = start_in_thread(tmp_path)
    try:
        row = bench.cpython_case(server.url(path.name), {**info, "path": str(path)}, 2)
    finally:
        server.shutdown()
        server.server_close()
    frame_bytes = bench.SIZE * bench.SIZE
    assert frame_bytes <= row["step_bytes"] <= 2 * frame_bytes
    assert sorted(bench.step_targets(4, 2)) == sorted(set(bench.step_targets(4, 2)))
    assert "cpython" in bench.table({"machine": {"date_utc": "now", "nproc": 2,
                                                 "load_1min": 1.0},
                                     "file": {"frames": 4, "bytes": path.stat().st_size},
                                     "delay_ms": 0, "cpython": row, "browser": {}})
