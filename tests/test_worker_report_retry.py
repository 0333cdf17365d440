"""A job that ends while the broker is unreachable is reported once the broker answers again.

Before, the daemon dropped the job from its running set before reporting it: a report that
failed (broker restarting, network cut) lost the result, and the job ran again after its lease
expired. The broker, the daemon and the HTTP calls here are real; only the executor is a stub
(its job "ends" at once with exit code 1) and the first report is made to fail as a dropped
connection does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from server_worker.worker.limits import WorkerLimits
from tests.test_ssrf import broker_factory, run_daemon, wait_final  # noqa: F401 - a fixture


def test_a_result_that_could_not_be_sent_is_sent_on_a_later_turn(
        broker_factory: Any, tmp_path: Path, capabilities: dict) -> None:  # noqa: F811
    broker = broker_factory()
    daemon, _recorder, thread = run_daemon(broker, tmp_path / "w", WorkerLimits(), capabilities)
    real_fail, calls = daemon.client.fail, []

    def fail_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            raise httpx.ConnectError("the broker is restarting")
        return real_fail(*args, **kwargs)

    daemon.client.fail = fail_once
    try:
        job = wait_final(broker, broker.submit(f"{broker.url}/files/demo.nwb").json()["id"])
    finally:
        daemon.stop()
        thread.join(30)
    assert job["status"] == "failed" and "exit code 1" in job["error"], job
    assert len(calls) == 2  # the report failed once, then went through
    assert job["attempts"] == 1  # reported by the same run, not run again after a lease
