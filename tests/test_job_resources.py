"""Per-job resources: asked at submission, checked once, recorded, handed to the worker.

Issue #13: a Slurm job's request comes from the processor's requirements and the job's own
options (CPUs, memory, GPUs, time limit). These tests play the worker through the worker
API, on SQLite (the record is a JSON column like the others; PostgreSQL runs the same code
in ``test_jobs_broker``).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nwbscope.errors import ParameterError
from server_worker.broker.catalog import can_run, job_resources, requirements
from server_worker.jobs.spec import JobResources, JobSpec
from server_worker.processors.base import Resources
from tests.test_jobs_broker import U, as_worker, make_client, register, stored, submit


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path, f"sqlite:///{tmp_path / 'jobs.sqlite'}") as c:
        yield c


def claim(client: TestClient, wid: str) -> JobSpec:
    answer = client.post(f"/api/workers/{wid}/claim", json={}, headers=as_worker(wid))
    assert answer.status_code == 200, answer.text
    return JobSpec.model_validate(answer.json()["job"])


def declared(capabilities: dict, name: str = "spykingcircus2") -> dict[str, Any]:
    return next(p for p in capabilities["processors"] if p["name"] == name)["resources"]


def test_a_job_without_resources_gets_the_processors(client: TestClient,
                                                     capabilities: dict) -> None:
    wid = register(client, capabilities)
    job = submit(client, stored(client)).json()
    mine = declared(capabilities)
    assert job["resources"] == {"cpus": mine["cpus"], "memory_gb": mine["memory_gb"],
                                "gpus": 0, "time_limit_minutes": None}
    spec = claim(client, wid)
    assert spec.resources is not None and spec.resources.cpus == mine["cpus"]
    assert spec.resources.to_resources() == Resources(cpus=mine["cpus"],
                                                      memory_gb=mine["memory_gb"])


def test_given_resources_are_recorded_and_reach_the_worker(client: TestClient,
                                                           capabilities: dict) -> None:
    wid = register(client, capabilities)
    asked = {"cpus": 1, "memory_gb": 0.5, "time_limit_minutes": 30}
    job = submit(client, stored(client), resources=asked).json()
    assert job["resources"] == {**asked, "gpus": 0}
    assert client.get(f"/api/jobs/{job['id']}", headers=U).json()["resources"] == job[
        "resources"]
    spec = claim(client, wid)
    assert spec.job_id == job["id"]
    assert spec.resources.to_resources() == Resources(cpus=1, memory_gb=0.5,
                                                      time_limit_minutes=30)
    # more CPUs do not change a sort's result: the completed twin rule ignores resources
    again = submit(client, stored(client), resources={"cpus": 1, "memory_gb": 0.25})
    assert again.status_code == 201  # the first one is running, not completed: a new job


@pytest.mark.parametrize("resources, field", [
    ({"cpus": 0}, "cpus"), ({"cpus": 1.5}, "cpus"), ({"memory_gb": 0}, "memory_gb"),
    ({"memory_gb": -2}, "memory_gb"), ({"gpus": -1}, "gpus"),
    ({"time_limit_minutes": 0}, "time_limit_minutes"), ({"cpu": 2}, "cpu"),
])
def test_bad_resources_are_422_naming_the_field(client: TestClient, capabilities: dict,
                                                resources: dict, field: str) -> None:
    register(client, capabilities)
    answer = submit(client, stored(client), resources=resources)
    assert answer.status_code == 422, answer.text
    locations = [tuple(e["loc"]) for e in answer.json()["detail"]]
    assert ("body", "resources", field) in locations
    assert client.get("/api/jobs", headers=U).json()["jobs"] == []  # nothing was queued


def test_resources_no_worker_has_are_refused_naming_them(client: TestClient,
                                                         capabilities: dict) -> None:
    register(client, {**capabilities, "cpus": 4, "memory_bytes": 8 * 2**30, "gpus": []})
    uri = stored(client)
    answer = submit(client, uri, resources={"cpus": 64})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail["field"] == "processor" and "64 CPUs (it has 4)" in detail["message"]
    answer = submit(client, uri, resources={"memory_gb": 512, "gpus": 2})
    message = answer.json()["detail"]["message"]
    assert "a GPU (it has none)" in message and "512 GB of memory" in message
    assert submit(client, uri, resources={"cpus": 4}).status_code == 201


def test_merge_rules() -> None:
    gpu_sorter = {"resources": {"cpus": 4, "memory_gb": 16, "gpu": "required"}}
    merged = job_resources(gpu_sorter, {}, JobResources(cpus=8))
    assert merged == JobResources(cpus=8, memory_gb=16, gpus=1, time_limit_minutes=None)
    with pytest.raises(ParameterError) as refused:
        job_resources(gpu_sorter, {}, JobResources(gpus=0))
    assert refused.value.field == "resources.gpus"
    optional = {"resources": {"cpus": 2, "gpu": "optional"}}
    assert job_resources(optional, {"torch_device": "cpu"}).gpus == 0
    assert job_resources(optional, {"torch_device": "cuda"}).gpus == 1
    need = requirements(optional, {}, JobResources(gpus=2))
    assert need.gpu and need.gpus == 2
    caps = {"processors": [{"name": "ks", **optional}], "gpus": ["H100"], "cpus": 8}
    assert can_run(caps, "ks", {}, {"gpus": 1})
    assert not can_run(caps, "ks", {}, {"gpus": 2})  # one GPU where two are asked
    assert not can_run(caps, "ks", {}, {"cpus": 16})
    assert JobResources(gpus=2).to_resources() == Resources(gpu="required", gpus=2)


def test_sort_flags_become_resources() -> None:
    from server_worker.jobs_cli import register as register_commands
    from server_worker.jobs_cli import resources_of

    parser = argparse.ArgumentParser()
    register_commands(parser.add_subparsers())
    args = parser.parse_args(["sort", "x.nwb", "--sorter", "sc2", "--cpus", "8",
                              "--memory-gb", "12.5", "--gpus", "0", "--time-limit", "1:30"])
    assert resources_of(args) == {"cpus": 8, "memory_gb": 12.5, "gpus": 0,
                                  "time_limit_minutes": 90}
    args = parser.parse_args(["sort", "x.nwb", "--sorter", "sc2", "--time-limit", "45"])
    assert resources_of(args) == {"time_limit_minutes": 45}


def test_a_claim_gives_a_job_only_to_a_worker_with_the_resources_it_asked(
        client: TestClient, capabilities: dict) -> None:
    small = register(client, {**capabilities, "cpus": 2}, name="small")
    big = register(client, {**capabilities, "cpus": 16}, name="big")
    job = submit(client, stored(client), resources={"cpus": 8}).json()
    answer = client.post(f"/api/workers/{small}/claim", json={}, headers=as_worker(small))
    assert answer.status_code in (200, 204), answer.text
    assert not (answer.content and answer.json().get("job"))  # too small: not given
    assert claim(client, big).job_id == job["id"]
