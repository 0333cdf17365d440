"""``report_views2``: each part's printed table lands under its heading with the goal, a
failed part says how it ended, and a splice replaces only these sections (twice = once)."""

from __future__ import annotations

from pathlib import Path

from bench import common, report_views2


def test_collect_and_splice(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    common.write_result("views_table", {"chromium": {"page_s": 0.111}})
    report_views2.collect("views_table", {"returncode": 0, "stdout_tail": "| a | b |\n",
                                          "seconds": 12.0})
    report_views2.collect("views_rois", {"returncode": 1, "output_tail": "boom\nTraceback"})
    results = report_views2.read_results()
    assert results["views_table"]["chromium"] == {"page_s": 0.111}  # the script's own kept
    assert results["views_rois"]["error"].startswith("ended with 1: boom")
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\n## Broker under load\n\nkept\n\n"
                   "## Where the time and the bytes go\n\nanalysis\n")
    report_views2.splice(results, doc)
    once = doc.read_text()
    table = once.index(report_views2.HEADINGS["views_table"])
    assert once.index("## Broker under load") < table < once.index("## Where the time")
    assert "| a | b |" in once[table:] and "≤ 300 ms" in once[table:]
    assert "Failed: ended with 1: boom" in once and "Not run yet." in once  # imaging: none
    report_views2.splice(results, doc)
    assert doc.read_text() == once
