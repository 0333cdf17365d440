"""``report_scale.splice`` replaces only the scale-out sections, and twice is the same as once."""

from __future__ import annotations

from pathlib import Path

from bench import report_scale

MACHINE = {"date_utc": "2026-12-03 17:00 UTC", "nproc": 2, "cpu": "test CPU"}


def results() -> dict:
    queue = [{"database": "sqlite", "workers": 4, "jobs": 200, "jobs_per_s": 43.2,
              "submit_to_last_s": 4.8, "claim_to_done_median_ms": 53.0, "runs": 200,
              "distinct": 200}]
    store = {"size_mb": 64, "runs": 1, "MB_per_s": {"up_broker": 100, "up_direct": 140,
                                                    "down_broker": 650, "down_direct": 660},
             "ratio_upload": 0.71, "ratio_download": 0.98, "broker_body_bytes_per_download": 0}
    return {"queue": {"machine": MACHINE, "data": queue, "load_before": 1.0},
            "store_s3": {"machine": MACHINE, "data": store},
            "slurm": {"machine": MACHINE, "data": {"skipped": "no slurmd here"}}}


def test_splice_keeps_the_other_sections(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\n## Broker under load\n\nkept\n\n"
                   "## Where the time and the bytes go\n\nanalysis\n")
    report_scale.splice(results(), doc)
    once = doc.read_text()
    assert once.index("## Broker under load") < once.index(report_scale.HEADINGS["queue"])
    assert once.index(report_scale.HEADINGS["slurm"]) < once.index("## Where the time")
    assert "kept" in once and "analysis" in once
    assert "| sqlite | 4 | 200 | 43.2 |" in once
    assert "| upload | 100 MB/s | 140 MB/s | 71% | met |" in once
    assert "Not run: no slurmd here." in once
    report_scale.splice(results(), doc)
    assert doc.read_text() == once
