"""Sorting from the page, against the real ``nwbscope serve`` with its embedded worker.

What a scientist does: open the link ``nwbscope serve`` prints (broker and token in the
fragment, which the page takes and removes), click "Spike sort" on a series, pick a sorter,
submit, watch the job and its console output in the Jobs panel, open the result and count its
units; the same for a dropped file (uploaded once, with consent); wrong values flagged before
anything is sent and the broker's 422 beside its field; a cancel that stops the worker's
process; a broker that is down, and no broker at all. The sorted units are compared with the
ground truth by SpikeInterface, on the part of the recording that was sorted.

One server, one page for the module (Pyodide starts once); small recordings (16 channels,
8 units, 20 s; the quick test sorts 10 s), so real sorts finish in about a minute here.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qs, quote, urlsplit

import numpy as np
import pytest
from sort_helpers import (
    SortServer,
    free_port,
    open_sort_form,
    processes_mentioning,
    selected_job,
    wait_job,
    wait_new_job,
    write_truth,
)
from viewer_helpers import DONE, START_MS, mark_submitted, new_watched_page, open_by_form, wait_done
from views_helpers import ARTIFACTS, navigate, panel_ids, read_source, wait_panels_settled

SERIES = "/acquisition/ElectricalSeries"
SORTER = "spykingcircus2"
QUICK_S = 15  # of the 20 s file: a quick range that still holds enough spikes per unit
NUM_UNITS = 8
LONG_S = 60  # the recording whose sort is cancelled (a heartbeat may take 10 s to tell)
SORT_TIMEOUT_S = 240
# of the true units, found at accuracy >= 0.8. SpykingCircus2 is not deterministic across
# machines: CI found 6 of 8 on 10 s where this machine found 7-8. Timing or unit errors in
# the pipeline find none, so a lower bar still catches them.
WELL_FOUND = 0.6


@pytest.fixture(scope="module")
def sort_server(tmp_path_factory) -> SortServer:
    from server_worker.jobs.synthetic import write_ground_truth_nwb

    folder = tmp_path_factory.mktemp("sort-page")
    server = SortServer(folder / "data", free_port())
    try:
        server.truth, server.options = write_truth(  # written while the worker starts
            folder / "ground_truth.nwb", num_channels=16, num_units=NUM_UNITS, duration_s=20)
        server.local = write_ground_truth_nwb(folder / "local_rec.nwb", num_channels=16,
                                              num_units=6, duration_s=8, seed=11).path
        server.wait_ready((SORTER,))
        server.file_url = server.register(server.truth.path)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def spage(context, sort_server):
    page = new_watched_page(context)
    page.set_viewport_size({"width": 1400, "height": 1300})
    page.goto(sort_server.page_url(sort_server.file_url))
    page.wait_for_function(DONE, timeout=START_MS)
    yield page
    page.close()


@pytest.fixture(autouse=True)
def no_script_errors(spage):
    spage.page_errors.clear()
    yield
    assert spage.page_errors == []


def badge(page) -> tuple[str, str]:
    return page.evaluate("() => { const b = document.getElementById('broker-state');"
                         " return [b.dataset.state, b.textContent]; }")


def wait_badge(page, state: str, timeout: int = 30_000) -> str:
    page.wait_for_selector(f"#broker-state[data-state={state}]", timeout=timeout)
    return badge(page)[1]


def shot(locator, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def well_found(server: SortServer, nwb_uri: str, seconds: float) -> tuple[int, int, object]:
    """(true units found at accuracy >= 0.8, units sorted, the performance table)."""
    from pynwb import NWBHDF5IO
    from spikeinterface.comparison import compare_sorter_to_ground_truth
    from spikeinterface.core import NumpySorting

    path = server.data.parent / "units.nwb"
    path.write_bytes(server.fetch_store(nwb_uri))
    with NWBHDF5IO(str(path), "r") as io:
        trains = [np.asarray(t) for t in io.read().units.to_dataframe()["spike_times"]]
    fs = server.truth.sampling_frequency
    found = NumpySorting.from_unit_dict(
        {i: np.round(t * fs).astype("int64") for i, t in enumerate(trains)}, fs)
    truth = server.truth.sorting.frame_slice(0, int(seconds * fs))
    performance = compare_sorter_to_ground_truth(truth, found).get_performance()
    return int((performance["accuracy"] >= 0.8).sum()), len(trains), performance


def test_the_link_sets_the_broker_and_a_url_file_sorts_into_units(spage, sort_server):
    page, server = spage, sort_server
    # the fragment is taken, saved, and gone from the address bar at once
    href = page.evaluate("location.href")
    assert "#" not in href and server.token not in href and server.token not in page.url
    saved = json.loads(page.evaluate("localStorage.getItem('nwbscope.broker')"))
    assert saved == {"url": server.base, "token": server.token}
    assert "connected (3 sorters)" in wait_badge(page, "connected")

    open_sort_form(page, SERIES)
    page.wait_for_selector(f'#views [data-sort-path="{SERIES}"]', timeout=120_000)  # its panel
    page.select_option("#sort-processor", SORTER)
    assert page.input_value("#sort-series") == SERIES
    series = page.eval_on_selector_all("#sort-series option", "os => os.map(o => o.value)")
    if server.options.get("with_lfp"):  # the batch: other series of this file
        assert len(series) == 2
        assert page.locator(".sort-also-series").count() == 1
    help_text = page.get_attribute('label[for="sf-recording_freq_min"]', "title")
    assert "Low cut" in help_text  # the schema's description as the field's help
    assert page.get_attribute('[data-field="recording.freq_min"]', "min") == "0"
    assert page.is_checked("#sort-quick")
    page.fill("#sort-quick-seconds", str(QUICK_S))
    shot(page.locator("#sort-panel"), "sort-form")

    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/api/jobs")
                             ) as posted:
        page.click("#sort-submit")
    sent = posted.value.post_data_json
    assert sent["parameters"] == {}  # only what differs from the defaults
    assert sent["recording"] == {"time_range": [0, QUICK_S],
                                 "electrical_series_path": SERIES.strip("/")}
    assert sent["input"] == server.file_url
    assert posted.value.headers["authorization"] == f"Bearer {server.token}"
    page.wait_for_selector("#job-detail[data-status]", timeout=30_000)
    wait_job(page, ("running", "completed"), 60)
    job = wait_job(page, ("completed",), SORT_TIMEOUT_S)
    assert "running" in job["textWhile"].split(","), job  # the log streamed as it ran
    assert int(page.get_attribute("#job-log", "data-chunks")) >= 2
    shot(page.locator("#jobs-panel"), "jobs-panel")

    record = server.get(f"/api/jobs/{job['id']}")
    assert record["recording"]["time_range"] == [0, QUICK_S]
    assert record["recording"]["electrical_series_path"] == SERIES.strip("/")
    assert record["inputs"]["input"] == server.file_url
    provenance = page.inner_text("#job-summary .job-provenance")
    assert f"{SORTER} {record['processor_version']}" in provenance
    assert hashlib.sha256(server.truth.path.read_bytes()).hexdigest() in provenance
    assert "load" in provenance and "sort" in provenance  # timings
    assert (record.get("worker_name") or record["worker"]) in provenance

    mark_submitted(page)
    page.click("#job-summary [data-job-action=open]")
    assert wait_done(page, 60_000) == "ready"
    query = parse_qs(urlsplit(page.url).query)
    assert query["url"] == [record["outputs"]["nwb"]] and query["view"] == ["/units"]
    assert page.inner_text("#header .file-name") == "units.nwb"  # the label, not the hash
    wait_panels_settled(page, 1, timeout=120_000)
    (pid,) = panel_ids(page)
    shown_units = len(read_source(page, pid, "raster_units")["unit_id"])
    found, sorted_units, performance = well_found(server, record["outputs"]["nwb"], QUICK_S)
    assert shown_units == sorted_units > 0
    assert found >= WELL_FOUND * NUM_UNITS, performance


def test_a_dropped_file_is_uploaded_once_with_consent_then_sorted(spage, sort_server):
    page, server = spage, sort_server
    puts, posts = [], []

    def count(request):
        if request.method == "PUT" and "/api/store" in request.url:
            puts.append(request.url)
        elif request.method == "POST" and request.url.endswith("/api/jobs"):
            posts.append(request.url)

    page.on("request", count)
    mark_submitted(page)
    page.set_input_files("#file-input", str(server.local))
    assert wait_done(page) == "ready"
    open_sort_form(page, SERIES)
    consent = page.inner_text(".upload-consent").strip()
    size_mb = server.local.stat().st_size / 1e6
    assert consent == f"Upload local_rec.nwb ({size_mb:.1f} MB) to {server.base[7:]}"

    page.click("#sort-submit")  # not ticked: nothing leaves the machine
    page.wait_for_selector("#sort-error:not([hidden])")
    assert "tick" in page.inner_text("#sort-error") and puts == [] and posts == []

    page.check("#upload-consent")
    page.select_option("#sort-processor", SORTER)
    page.fill("#sort-quick-seconds", "5")
    before = selected_job(page)["id"]
    page.click("#sort-submit")
    page.wait_for_selector("#upload-state[data-step=stored]", timeout=60_000)
    seen = page.get_attribute("#upload-state", "data-seen").split(",")
    assert seen == ["hashing", "checking", "uploading", "stored"], seen
    assert page.evaluate("[document.getElementById('hash-bar').value,"
                         " document.getElementById('upload-bar').value]") == [1, 1]
    assert len(puts) == 1
    wait_new_job(page, before)
    job = wait_job(page, ("completed",), SORT_TIMEOUT_S)
    record = server.get(f"/api/jobs/{job['id']}")
    digest = hashlib.sha256(server.local.read_bytes()).hexdigest()
    assert record["inputs"]["input"] == f"sha256://{digest}?label=local_rec.nwb"
    assert server.head_status(f"/api/store/{digest}") == 200
    assert record["outputs"]["nwb"].endswith("label=units.nwb")

    page.click("#sort-submit")  # again: the store has it, nothing is sent
    page.wait_for_selector("#upload-state[data-step=already]", timeout=30_000)
    assert "already in the store" in page.inner_text("#upload-state")
    page.wait_for_function("document.getElementById('sort-result').textContent"
                           ".includes('reused')", timeout=30_000)
    assert len(puts) == 1

    first = selected_job(page)["id"]  # Resubmit: the same sort, run again
    page.click("#job-summary [data-job-action=resubmit]")
    wait_new_job(page, first)
    again = server.get(f"/api/jobs/{wait_job(page, ('completed',), SORT_TIMEOUT_S)['id']}")
    assert (again["parameters"], again["recording"], again["inputs"]["input"]) == (
        record["parameters"], record["recording"], record["inputs"]["input"])
    assert len(puts) == 1
    page.remove_listener("request", count)

    page.click("[data-jobs-tab=files]")  # the store's files, with where each came from
    upload = page.locator("#files-box tr.file-row[data-kind=upload]")
    upload.first.wait_for(timeout=30_000)
    assert "local_rec.nwb" in upload.first.inner_text()
    output = page.locator(f'#files-box tr.file-row[data-uri="{again["outputs"]["nwb"]}"]')
    assert f"of {SORTER} " in output.inner_text() and "local_rec.nwb" in output.inner_text()
    assert output.locator("a.file-open").count() == 1
    page.click("[data-jobs-tab=jobs]")


def test_bad_values_are_flagged_before_submit_and_a_422_beside_its_field(spage, sort_server):
    page, server = spage, sort_server
    if not page.locator("#sort-form").count():
        open_sort_form(page, SERIES)
    posts = []

    def count(request):
        if request.method == "POST" and request.url.endswith("/api/jobs"):
            posts.append(request.url)

    page.on("request", count)
    page.fill('[data-field="recording.freq_min"]', "-5")
    page.fill('[data-field="parameters.job_kwargs"]', "{n_jobs: 1")
    page.click("#sort-submit")
    error = page.locator('[data-error-for="recording.freq_min"]')
    error.wait_for(state="visible")
    assert error.inner_text() == "must be more than 0"
    assert page.inner_text('[data-error-for="parameters.job_kwargs"]') == "not valid JSON"
    assert "nothing was sent" in page.inner_text("#sort-error")
    assert posts == []

    page.fill('[data-field="recording.freq_min"]', "300")
    page.fill('[data-field="parameters.job_kwargs"]', "{}")
    field = "parameters.detection.method_kwargs.detect_threshold"
    refusal = {"detail": {"field": field, "message": f"{field}: 500 is too high (stub)"}}

    def refuse(route):
        if route.request.method == "POST":
            route.fulfill(status=422, content_type="application/json", body=json.dumps(refusal))
        else:
            route.continue_()

    page.route(f"{server.base}/api/jobs", refuse)
    try:
        for group in ("parameters.detection", "parameters.detection.method_kwargs"):
            page.click(f'[data-field-box="{group}"] > summary')  # folded groups of fields
        page.fill(f'[data-field="{field}"]', "500")
        for group in ("parameters.detection.method_kwargs", "parameters.detection"):
            page.click(f'[data-field-box="{group}"] > summary')  # folded again
        page.click("#sort-submit")
        beside = page.locator(f'[data-error-for="{field}"]')
        beside.wait_for(state="visible", timeout=30_000)  # its group was opened to show it
        assert "too high (stub)" in beside.inner_text()
        assert "flagged field" in page.inner_text("#sort-error")
        assert len(posts) == 1
    finally:
        page.unroute(f"{server.base}/api/jobs", refuse)
    page.fill(f'[data-field="{field}"]', "5")
    page.remove_listener("request", count)


def test_cancel_from_the_page_stops_the_job_on_the_worker(spage, sort_server):
    from server_worker.jobs.synthetic import write_ground_truth_nwb

    page, server = spage, sort_server
    long = write_ground_truth_nwb(server.data.parent / "long.nwb", num_channels=16,
                                  num_units=8, duration_s=LONG_S, seed=5).path
    assert open_by_form(page, server.register(long)) == "ready"
    open_sort_form(page, SERIES)
    page.select_option("#sort-processor", SORTER)
    page.uncheck("#sort-quick")  # the whole recording: long enough to cancel
    before = selected_job(page)["id"]
    page.click("#sort-submit")
    wait_new_job(page, before)
    job = wait_job(page, ("running",), 60)
    page.wait_for_function("document.getElementById('job-log').textContent.length > 0",
                           timeout=30_000)
    page.click("#job-summary [data-job-action=cancel]")
    page.wait_for_selector("#job-detail[data-status=cancelled]", timeout=15_000)
    assert selected_job(page)["id"] == job["id"]
    assert "Cancelled" in page.inner_text("#job-summary .job-failure")  # why, in words
    for _ in range(20):  # its process is gone (the worker ended it)
        if not processes_mentioning(job["id"]):
            break
        page.wait_for_timeout(500)
    assert processes_mentioning(job["id"]) == []


def test_the_demo_file_sorts_with_each_installed_sorter(spage, sort_server):
    """The file ``nwbscope serve`` writes (x/y/z positions only, an LFP beside the raw series)
    sorts from the page with every sorter the worker offers: a quick test of 3 s each."""
    page, server = spage, sort_server
    sorters = sorted(p["name"] for p in server.get("/api/processors")["processors"])
    assert {"spykingcircus2", "tridesclous2", "mountainsort5"} <= set(sorters)
    assert open_by_form(page, server.base + "/files/demo.nwb") == "ready"
    for sorter in sorters:
        open_sort_form(page, SERIES)
        page.select_option("#sort-processor", sorter)
        page.check("#sort-quick")
        page.fill("#sort-quick-seconds", "3")
        before = selected_job(page)["id"]
        page.click("#sort-submit")
        wait_new_job(page, before)
        job = wait_job(page, ("completed",), SORT_TIMEOUT_S)
        record = server.get(f"/api/jobs/{job['id']}")
        assert record["processor"] == sorter
        assert record["recording"]["electrical_series_path"] == SERIES.strip("/")
        log = server.get(f"/api/jobs/{job['id']}/log")["text"]
        assert "probe geometry from its " in log, log[-2000:]  # x/y/z, said in the log
        assert "already filtered" not in log and "needs a probe" not in log


def test_a_broker_down_or_absent_is_said_and_files_still_open(spage, sort_server):
    page, server = spage, sort_server
    closed = f"http://127.0.0.1:{free_port()}"
    page.click("#broker-settings")
    page.fill("#broker-url", closed)
    page.fill("#broker-token", "anything")
    page.click("#broker-save")
    assert wait_badge(page, "unreachable") == "broker: unreachable — retrying"
    assert open_by_form(page, server.file_url) == "ready"  # viewing needs no broker
    assert page.locator(f'#tree li[data-path="{SERIES.rsplit("/", 1)[0]}"]').count() == 1
    if page.is_hidden("#jobs-panel"):
        page.click("#jobs-button")
    page.wait_for_function("document.getElementById('jobs-status').textContent"
                           ".includes('does not answer')", timeout=30_000)

    # a static site elsewhere: no /api/health there, so no broker; a store link says why
    page.route("**/api/health", lambda route: route.fulfill(status=404, body="no"))
    try:
        page.click("#broker-settings")
        page.click("[data-broker-action=forget]")
        assert wait_badge(page, "none") == "no broker"
        units = server.get("/api/jobs?limit=50")["jobs"]
        result = next(j for j in units if j["status"] == "completed")["outputs"]["nwb"]
        mark_submitted(page)
        navigate(page, f"{server.base}/?url={quote(result, safe=':/')}")
        assert wait_done(page) == "error"
        assert "needs a broker/store: set one in settings" in page.inner_text("#error")
    finally:
        page.unroute("**/api/health")

    page.click("#broker-settings")  # the page's own origin again, a broker: no token
    page.click("[data-broker-action=forget]")
    assert "no token" in wait_badge(page, "no-token")
    # jobs and files are not public: the panel says a token is needed, not an error
    if page.is_hidden("#jobs-panel"):
        page.click("#jobs-button")
    page.wait_for_selector('#jobs-list [data-reason="no-token"]', timeout=30_000)
    assert "A token is needed to see jobs" in page.inner_text("#jobs-status")
    page.click("[data-jobs-tab=files]")
    page.wait_for_selector('#files-box [data-reason="no-token"]', timeout=30_000)
    page.click("[data-jobs-tab=jobs]")

    page.click("#broker-settings")
    page.fill("#broker-url", server.base)
    page.fill("#broker-token", server.token)
    page.click("#broker-save")
    wait_badge(page, "connected")
    mark_submitted(page)
    # the stored file, straight from its hash
    navigate(page, f"{server.base}/?url={quote(result, safe=':/')}")
    assert wait_done(page) == "ready"
    assert page.inner_text("#header .file-name") == "units.nwb"

    # a job that fails says why in words, with the last lines of its log
    failing = server.call("POST", "/api/jobs", {
        "processor": SORTER, "input": server.file_url,
        "recording": {"electrical_series_path": SERIES.strip("/"),
                      "time_range": [100, 200]}})  # past the end: the worker refuses it
    if page.is_hidden("#jobs-panel"):
        page.click("#jobs-button")
    page.click(f'#jobs-list tr[data-job-id="{failing["id"]}"]', timeout=30_000)
    page.wait_for_selector("#job-detail[data-status=failed]", timeout=120_000)
    error = page.inner_text("#job-summary .job-error")
    assert "recording.time_range" in error and "no samples" in error, error
    page.wait_for_selector("#job-summary .job-log-tail", timeout=30_000)
    shot(page.locator("#jobs-panel"), "jobs-panel-failed")
