"""Tests of the benchmark machinery (not of timings: those are reported, never asserted).

What must be right for the figures in docs/performance.md to mean anything: the range server
answers ranges correctly and counts exactly what it sent, the delay is really added, the
benchmark file has what its recipe says, the walks visit every object, the server's counts
agree with nwbscope's own cache counters, and the report says "missed" when a goal is missed.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

import h5py
import pytest

from bench import common, model_walk, report, walkers
from bench.make_big_nwb import SMALL, count_objects, make
from bench.range_server import ServerProcess, parse_range, start_in_thread


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bench-data")
    return Path(make(SMALL, folder=folder)["path"])


@pytest.fixture()
def server(small):
    srv = start_in_thread(small.parent)
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(url: str, headers: dict | None = None, method: str = "GET"):
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, dict(resp.headers), resp.read()


def test_parse_range_forms():
    assert parse_range("bytes=0-99", 1000) == (0, 100)
    assert parse_range("bytes=990-2000", 1000) == (990, 1000)
    assert parse_range("bytes=-10", 1000) == (990, 1000)
    assert parse_range("bytes=500-", 1000) == (500, 1000)
    assert parse_range("bytes=1000-", 1000) == "416"
    assert parse_range("bytes=0-1,5-6", 1000) is None  # multi-range: whole file
    assert parse_range(None, 1000) is None


def test_range_server_serves_and_counts_exactly(server, small):
    data = small.read_bytes()
    url = server.url(small.name)
    status, headers, body = _get(url, {"Range": "bytes=100-1123"})
    assert status == 206 and body == data[100:1124]
    assert headers["Content-Range"] == f"bytes 100-1123/{len(data)}"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Content-Range" in headers["Access-Control-Expose-Headers"]
    status, _, body = _get(url, {"Range": "bytes=-16"})
    assert status == 206 and body == data[-16:]
    status, _, body = _get(url)
    assert status == 200 and body == data
    with pytest.raises(urllib.error.HTTPError) as info:
        _get(url, {"Range": f"bytes={len(data)}-"})
    info.value.close()
    assert info.value.code == 416
    assert info.value.headers["Content-Range"] == f"bytes */{len(data)}"
    status, headers, _ = _get(url, method="OPTIONS")
    assert status == 204 and "Range" in headers["Access-Control-Allow-Headers"]
    stats = server.counters.snapshot()
    assert stats["requests"] == 4 and stats["range_requests"] == 3
    assert stats["full_gets"] == 1 and stats["options"] == 1
    assert stats["bytes"] == 1024 + 16 + len(data)
    server.counters.reset()
    assert server.counters.snapshot()["requests"] == 0


def test_range_server_adds_the_delay(server, small):
    server.delay_s = 0.05
    t0 = time.perf_counter()
    _get(server.url(small.name), {"Range": "bytes=0-9"})
    assert time.perf_counter() - t0 >= 0.05
    with pytest.raises(urllib.error.HTTPError) as info:  # outside the root: refused
        _get(server.url("../" + small.name))
    info.value.close()
    assert info.value.code == 404


def test_small_file_follows_its_recipe(small):
    with h5py.File(small, "r") as f:
        assert f["acquisition/ElectricalSeries/data"].shape == (SMALL.samples, SMALL.channels)
        assert f["acquisition/ElectricalSeries/data"].chunks == (SMALL.chunk_rows,
                                                                 SMALL.channels)
        assert len(f["units/id"]) == SMALL.units
        assert len(f["intervals/trials/id"]) == SMALL.trials
        assert f.attrs["nwb_version"]


def test_walks_visit_every_object(small):
    with h5py.File(small, "r") as f:
        full = walkers.walk_full(f)
        tree = walkers.walk_tree(f)
        expected_tree = 1 + len(f) + sum(len(f[k]) for k in f if isinstance(f[k], h5py.Group))
    assert full.errors == 0 and full.visited == count_objects(small) + 1  # + the root
    assert tree.errors == 0 and tree.visited == expected_tree


def test_server_counts_match_nwbscope_cache_counts(small):
    """Two independent counters of the same walk: the range server's and nwbscope's."""
    with ServerProcess(small.parent) as srv:
        from bench.walk_cpython import measure

        reader = model_walk.READERS[0]
        row = measure(srv, small.name, reader, "model", runs=1)
    assert "error" not in row, row.get("error")
    assert row["errors"] == 0 and row["visited"] >= count_objects(small)
    assert row["requests"] == row["cache"]["requests"]
    assert row["bytes"] == row["cache"]["bytes"]
    assert row["full_gets"] == 0  # never a plain GET of the file


def _machine() -> dict:
    return {"date_utc": "d", "nproc": 2, "cpu": "c", "mem_gib": 1, "os": "o",
            "python": "3", "chromium": "ch", "versions": {"h5py": "x"}}


def test_report_says_missed_and_failed(tmp_path):
    results = {
        "machine": _machine(),
        "browser": {"runs": 1, "console": ["error: boom"], "cases": [
            {"file": "big", "delay_ms": 0.0, "cold": {
                "ok": 1, "tree_s": 4.2, "requests": 20, "bytes": 5e6, "full_gets": 0},
             "warm": {}},
            {"file": "big", "delay_ms": 30.0, "cold": {"ok": 0, "failure": "timeout: x"},
             "warm": {}},
        ]},
        "store": {"size_bytes": 2**20, "error": "server did not start"},
    }
    path = report.write(results, ["- nothing"], tmp_path / "perf.md")
    text = path.read_text()
    assert "| 4.20 s | **missed** |" in text  # 4.2 s against the 3 s goal
    assert "| 20 | **missed** |" in text  # 20 requests against 15
    assert "| 5.00 MB | **met** |" in text
    assert "**failed**: timeout: x" in text
    assert "**Failed** (1 MiB): server did not start" in text
    assert "error: boom" in text


def test_report_views_goals_failures_and_missing_keys():
    from bench.report_views import views_section

    series = {"tree_s": 1.5, "view_complete_s": 1.4, "view_bytes": 4e6, "channels": 64,
              "pan_s": 0.25, "pan_bytes": 4e6, "pan_worker_s": 0.2, "pan_post_s": 0.05,
              "zoomed_first_paint_s": 0.5, "zoomed_complete_s": 3.0, "zoomed_ratio": 1.5,
              "zoomed_bytes": 2e9, "bandwidth_MBps": 1000.0, "zoomed_ideal_s": 2.0}
    res = {"files": {"series": {"name": "dense64", "bytes": 2e9,
                                "recipe": {"channels": 64, "seconds": 600.0}},
                     "units": {"name": "units500", "units": 500, "seconds": 3600.0}},
           "cases": [
               {"delay_ms": 0.0, "series": series, "raster": {},  # every raster run failed
                "runs": [{"tree_s": 1.5}, {"error": "TimeoutError: raster | slow\nmore"}]},
               {"delay_ms": 30.0, "series": {"pan_s": 0.1}, "raster": {}, "runs": []},
           ]}
    browser = {"cases": [{"file": "big", "delay_ms": 0.0, "cold": {"ok": 1, "tree_s": 2.9}}]}
    text = "\n".join(views_section(res, browser))
    assert "| 1.40 s (first paint –, 64 channels drawn) | **missed** |" in text
    assert "| 4.00 MB | **met** |" in text
    assert "| 250 ms | **met** |" in text
    assert "200 ms (80% of the pan), of which converting and posting frames 50 ms" in text
    assert "3.00 s = 1.50 × (2000.00 MB / 1000 MB/s = 2.00 s) | **missed** |" in text
    assert "Raster runs: 1 of 1 failed: TimeoutError: raster \\| slow more." in text
    assert "| 4 units per view | **failed** | not measured |" in text
    assert "2.90 s against 2.91 s before" in text and "a different file" in text
    assert "| 100 ms | **met** |" in text and "not run at 30 ms" in text
    assert "A smoke run" not in text
    assert views_section(None) == views_section({})
    assert "Not run." in views_section(None)
    assert "no Chromium" in "\n".join(views_section({"skipped": "no built site or no Chromium"}))
    assert "ended with 1" in "\n".join(views_section({"error": "ended with 1"}))
    bare = "\n".join(views_section({"files": {}, "cases": [{"runs": [{"error": "E"}] * 2}]}))
    assert "Series runs: 1 of 1 failed: E." in bare and "not measured" in bare


def test_report_engines_before_after_and_failed_run(tmp_path):
    from bench.report_views import engines_section

    rows = [{"workload": "a_first", "step": "3 samples", "reader": "pyfive", "seconds": 0.05,
             "cpu_s": 0.02, "requests": 8.0, "bytes": 1.6e6, "vs_h5py": 1.5, "agrees": True},
            {"workload": "c_stream", "step": "10 min", "reader": "h5py", "seconds": 11.0,
             "cpu_s": 4.0, "read_cpu_s": 3.0, "requests": 550.0, "bytes": 2.3e9,
             "vs_h5py": 1.0, "agrees": False}]
    before = {"benchmark": "engines_old", "rows": [{**rows[0], "cpu_s": 0.08, "bytes": 12.5e6}]}
    text = "\n".join(engines_section({"runs": 3, "rows": rows}, before))
    assert "| a_first | 3 samples | pyfive | 0.080 → 0.020 | 1.50 |" in text
    assert "| 12.5 → 1.6 | same |" in text
    assert "| 4.000 (reads 3.000) | 1.00 |" in text and "**DIFFER**" in text
    assert "engines_old.json" in text and "a_first 3 samples 4.0×" in text
    alone = "\n".join(engines_section({"runs": 1, "rows": rows}, None))
    assert "→" not in alone and "Before → after" not in alone
    assert "ended with 1" in "\n".join(engines_section({"markdown": "ended with 1"}))
    assert "Not run." in engines_section(None)
    results = {"machine": _machine(), "views": {"cases": [{"delay_ms": 0.0, "runs": []}]},
               "engines": {"runs": 1, "rows": rows}, "engines_before": before}
    doc = report.write(results, [], tmp_path / "perf.md").read_text()
    assert doc.index("## Browser: views") < doc.index("## CPython: time-series view reads")


def test_machine_description_is_complete():
    m = common.machine()
    assert m["nproc"] >= 1 and m["mem_gib"] > 0
    assert m["versions"]["h5py"] == h5py.__version__


@pytest.fixture(scope="module")
def view_files(tmp_path_factory) -> dict:
    """Both view benchmark files, 4 s long (the layouts of the real ones, scaled)."""
    from bench.make_view_files import DENSE64, SPARSE384
    from bench.make_view_files import make as make_view

    folder = tmp_path_factory.mktemp("view-data")
    return {r.name: (r.scaled(4.0), make_view(r.scaled(4.0), folder=folder))
            for r in (SPARSE384, DENSE64)}


def test_view_files_follow_their_recipes(view_files):
    from bench.make_view_files import SERIES

    for recipe, info in view_files.values():
        with h5py.File(info["path"], "r") as f:
            ds = f[SERIES]
            assert ds.shape == (recipe.samples, recipe.channels) and ds.chunks == recipe.chunks
            assert ds.compression == ("gzip" if recipe.gzip else None)
            written = info["chunks"]["signal"] + info["chunks"]["zeros"]
            assert ds.id.get_num_chunks() == written
    sparse = view_files["sparse384"][1]["chunks"]
    assert sparse["unallocated"] > 0 and sparse["zeros"] > sparse["signal"] > 0


def test_engine_bench_runs_and_engines_agree(view_files):
    from bench import bench_engines

    files = tuple(Path(view_files[name][1]["path"]) for name in ("sparse384", "dense64"))
    rows = bench_engines.measure(["a_first", "a_index", "b_window", "c_stream"],
                                 list(bench_engines.READERS), 1, files, None)
    assert {(r["workload"], r["reader"]) for r in rows} == {
        (w, reader) for w in ("a_first", "a_index", "b_window", "c_stream")
        for reader in bench_engines.READERS}
    assert all(r.get("agrees", True) for r in rows)
    repeat = next(r for r in rows if r["step"] == "same again" and r["reader"] == "pyfive")
    assert repeat["requests"] == 0
    index = [r for r in rows if r["workload"] == "a_index"]
    assert len({r["check"] for r in index}) == 1  # every reader finds the same chunks
    assert "| b_window | 1 s x 384 | pyfive |" in bench_engines.markdown(rows)
