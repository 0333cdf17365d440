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


def test_startup_steps_cpu_shares_and_packages_split():
    from bench.browser_cold_start import boot_split, packages_split, step_figures

    marks = {"worker-created": 900.0, "python-ready": 5900.0, "packages-ready": 8400.0,
             "file-open": 9300.0, "tree-shown": 9310.0}
    seen = {"worker-created": (1.0, 0.5), "python-ready": (6.0, 4.5),
            "packages-ready": (8.5, 6.5), "file-open": (9.4, 7.5), "tree-shown": (9.4, 7.5)}
    got = step_figures(marks, seen, 7.5)
    assert got["page_s"] == pytest.approx(0.9) and got["cpu_page_s"] == pytest.approx(0.5)
    assert got["pyodide_s"] == pytest.approx(5.0) and got["cpu_python_s"] == pytest.approx(4.0)
    assert got["cpu_packages_s"] == pytest.approx(2.0) and got["cpu_open_s"] == pytest.approx(1.0)
    assert got["cpu_tree_step_s"] == 0.0  # seen in the same poll as file-open
    assert sum(got[f"cpu_{k}_share"] for k in ("page", "python", "packages", "open",
                                               "tree_step")) == pytest.approx(1.0)
    bare = step_figures({"python-ready": 5000.0}, {"python-ready": (5.0, None)}, None)
    assert bare == {"pyodide_s": 5.0}  # no worker-created, no CPU: from navigation, wall only
    assert packages_split('{"manifest": 0.1, "load": 1, "import": true}') == {
        "packages_manifest_s": 0.1, "packages_load_s": 1.0}
    assert packages_split("not json") == {} and packages_split(None) == {}
    assert packages_split('{"import": 0.5, "import_numpy": 0.3, "import_nwbscope": 0.1}') == {
        "packages_import_s": 0.5, "packages_import_numpy_s": 0.3,
        "packages_import_nwbscope_s": 0.1}
    assert boot_split('{"kind": "boot", "step": "booted", "ms": 2400, "wasm_ms": 800}') == {
        "boot_s": 2.4, "wasm_s": 0.8}
    assert boot_split(None) == {} and boot_split('{"ms": "x"}') == {}
    assert packages_split("[1, 2]") == {}


def test_details_after_click_and_summary_of_boots():
    from bench.browser_cold_start import details_after_click, summarize

    marks = {"kept-tree-shown": 700.0, "kept-details-shown": 1010.0, "packages-ready": 4000.0}
    got = details_after_click(marks, 1000.0, {"at": 0.0})
    assert got["details_after_click_s"] == pytest.approx(0.01) and "details_error" not in got
    late = details_after_click({"packages-ready": 900.0}, 1000.0, {"at": 0.0})
    assert late["clicked_after_python"] and "within" in late["details_error"]
    assert "nothing to click" in details_after_click(marks, None, None)["details_error"]
    assert "click failed" in details_after_click(marks, None, {"error": "click failed: x"})[
        "details_error"]
    rows = [{"state": "ready", "boot": "restored", "cpu_s": 3.0, "details_after_click_s": 0.02},
            {"state": "ready", "boot": "booted", "cpu_s": 5.0,
             "details_error": "no kept-details-shown within 5 s of the click"},
            {"state": "ready", "boot": "restored", "cpu_s": 4.0, "details_after_click_s": 0.04},
            {"state": "timeout", "error": "slow"}]
    s = summarize(rows)
    assert s["ok"] == 3 and s["cpu_s"] == 4.0 and s["cpu_s_range"] == [3.0, 5.0]
    assert s["boot"] == "restored 2, booted 1"
    assert s["details_after_click_s"] == pytest.approx(0.03)
    assert s["details_error"].endswith("(1 of 3 runs)") and s["failure"] == "timeout: slow"


def _startup_result(ours_cpu: float, theirs: dict, details: float | None = 0.02,
                    warm_requests: int = 1, cold_extra: dict | None = None) -> dict:
    cold = {**(cold_extra or {}), "ok": 3, "cpu_s": ours_cpu, "cpu_launch_s": ours_cpu + 0.05,
            "wall_s": 9.0,
            "tree_s": 8.8, "boot": "booted", "requests": 8, "bytes": 6e6, "full_gets": 0,
            "cpu_python_s": 4.0, "cpu_python_share": 0.6, "pyodide_s": 5.0}
    warm = {"ok": 3, "cpu_s": 3.0, "wall_s": 5.0, "boot": "restored", "kept_tree_s": 0.7,
            "requests": warm_requests, "details_after_click_s": details}
    loaded = {"cold": {**cold, "cpu_s": ours_cpu + 1, "cpu_launch_s": ours_cpu + 1},
              "warm": warm}
    return {"runs": 3, "machine": {**_machine(), "load_1min": 1.5},
            "site_stamp": {"built_at": "T", "precompiled": True},
            "cases": [{"file": "big", "delay_ms": 0.0, "cold": cold, "warm": warm,
                       "by_load": {"0": {"cold": cold, "warm": warm,
                                         "loadavg_before": [1.0], "loadavg_after": [2.0]},
                                   "2": loaded},
                       "neurosift": {"0": theirs, "2": {"measured": False,
                                                         "reason": "Neurosift is not built"}}}]}


def test_startup_report_verdicts_and_ratio():
    from bench.report_browser import browser_section

    theirs = {"measured": True, "ok": 3, "medians": {"cpu_s": 2.5, "wall_s": 2.0}}
    text = "\n".join(browser_section(_startup_result(6.95, theirs)))
    assert "| quiet | 6.95 s | **met** |" in text  # ≤ 7 CPU s
    assert "| 2 busy | 7.95 s | **missed** |" in text
    assert "| quiet | 2.80× (7.00 s against 2.50 s) | **missed** |" in text
    assert "| 2 busy | not measured: Neurosift is not built | not measured |" in text
    assert "| quiet | 20 ms | **met** |" in text and "| quiet | 1 | **met** |" in text
    assert "**has a `precompiled` record**" in text and "4.00 (60%) / 5.00" in text
    split = dict(cold_extra={"wasm_s": 0.8, "boot_s": 2.4, "packages_load_s": 1.0,
                             "packages_import_numpy_s": 0.3})
    assert "wasm 0.80 of 2.40 · – / 1.00 / – · (numpy 0.30)" in "\n".join(
        browser_section(_startup_result(6.0, theirs, **split)))
    assert "1.0 → 2.0" in text  # the load average around the block
    better = "\n".join(browser_section(_startup_result(
        2.0, {"measured": True, "ok": 1, "medians": {"cpu_s": 2.5}}, details=1.5,
        warm_requests=3)))
    assert "| quiet | 0.82× (2.05 s against 2.50 s) | **met** |" in better
    assert "| quiet | 1500 ms | **missed** |" in better and "| quiet | 3 | **missed** |" in better
    waited = "\n".join(browser_section(_startup_result(
        2.0, {"measured": True, "ok": 1, "medians": {"cpu_s": 2.5, "wall_s": 80.0},
              "rows": [{"settle": "timeout"}]})))
    assert "did not settle (1 of 1 runs)" in waited and "80.0 s wall for 2.5 CPU s" in waited
    failed = _startup_result(7.0, {"measured": True, "ok": 0, "failure": "timeout: x"})
    assert "not measured: failed (timeout: x)" in "\n".join(browser_section(failed))


def test_neurosift_runs_merge_into_one_result():
    from bench.browser_cold_start import merge_neurosift

    def one(cpu: float, load: float) -> dict:
        return {"measured": True, "file": "big", "load": 2, "loadavg_before": [load],
                "loadavg_after": [load + 1], "runs": 1, "ok": 1, "medians": {"cpu_s": cpu},
                "rows": [{"state": "ready", "cpu_s": cpu, "wall_s": cpu + 1}]}

    merged = merge_neurosift([one(2.0, 1.0), one(4.0, 3.0), one(3.0, 2.0)])
    assert merged["runs"] == 3 and merged["ok"] == 3 and merged["medians"]["cpu_s"] == 3.0
    assert merged["cpu_s_range"] == [2.0, 4.0] and [r["run"] for r in merged["rows"]] == [0, 1, 2]
    assert merged["loadavg_before"] == [1.0] and merged["loadavg_after"] == [3.0]
    skipped = {"measured": False, "reason": "Neurosift is not built"}
    assert merge_neurosift([skipped, skipped]) == skipped
    assert merge_neurosift([])["measured"] is False


def test_splice_browser_replaces_only_its_section(tmp_path):
    doc = tmp_path / "perf.md"
    doc.write_text("# Performance\n\n## Machine\n\nkept\n\n## Browser: cold start to the visible "
                   "tree\n\nold figures\n\n### Goals\n\nold goals\n\n## Browser: views\n\nalso "
                   "kept\n")
    report.splice_browser({"skipped": "no Chromium"}, doc)
    text = doc.read_text()
    assert "old figures" not in text and "old goals" not in text
    assert "## Browser: start-up to the visible tree" in text and "no Chromium" in text
    assert text.index("kept") < text.index("start-up") < text.index("## Browser: views")
    assert text.endswith("also kept\n")
    report.splice_browser({"skipped": "again"}, doc)  # the new heading is found too
    assert "no Chromium" not in doc.read_text() and "again" in doc.read_text()
    doc.write_text("# nothing here\n")
    with pytest.raises(ValueError):
        report.splice_browser({}, doc)


def test_keep_replaces_only_the_measured_cases():
    from bench.browser_cold_start import kept_cases

    last = {"machine": {"date_utc": "then"}, "cases": [
        {"file": "big", "delay_ms": 0.0, "by_load": {}, "cpu": "old"},
        {"file": "small", "delay_ms": 0.0, "by_load": {}, "cpu": "old"},
        {"file": "small", "delay_ms": 30.0, "cold": {}}]}  # before #14: no by_load, dropped
    new = [{"file": "small", "delay_ms": 0.0, "by_load": {}, "cpu": "new",
            "measured_utc": "now"}]
    got = kept_cases(last, new)
    assert [(c["file"], c["cpu"], c["measured_utc"]) for c in got] == [
        ("small", "new", "now"), ("big", "old", "then")]
    assert kept_cases({"skipped": "x"}, new) == new and kept_cases(None, new) == new
    assert kept_cases({"cases": last["cases"]}, new) == new  # an older format: nothing kept
