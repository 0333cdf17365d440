"""The Views II parts of the benchmarks (issue #12): frames, ROIs, tables.

Three parts ``bench/run_all.py`` runs like the others (``--parts views_imaging views_rois
views_table``). Each script writes its figures to ``bench/results/<part>.json`` and prints a
markdown table with its machine and load; ``collect`` adds that table and how the run ended
to the result, and ``sections`` puts each one under its heading with the issue's goal.
``splice`` replaces only these sections of ``docs/performance.md`` (``--splice-views2``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import common, doc_sections  # noqa: E402

DOC = common.ROOT / "docs" / "performance.md"
PARTS = ("views_imaging", "views_rois", "views_table")
HEADINGS = {"views_imaging": "## Views II: imaging frames (512×512 TwoPhotonSeries)",
            "views_rois": "## Views II: ROIs of a PlaneSegmentation",
            "views_table": "## Views II: a table of a million rows"}
GOALS = {
    "views_imaging": "Goal (issue #12): per step of the frame slider ≤ 150 ms on loopback; "
                     "the time to the first frame is reported. Each step reads one frame.",
    "views_rois": "Goal (issue #12): 2,000 ROIs drawn ≤ 1 s.",
    "views_table": "Goal (issue #12): the first page and each further page ≤ 300 ms.",
}
HOW = {
    "views_imaging": "`bench/views_imaging.py` (a 10,000-frame file written once under "
                     "`bench/data/`; `--quick`: fewer frames), served by "
                     "`bench/range_server.py` over loopback.",
    "views_rois": "`bench/views_rois.py --browser` (pixel and image masks; `--quick`: 200 "
                  "ROIs).",
    "views_table": "`bench/views_table.py` (1,000,000 rows: numbers, text, a ragged column; "
                   "`--quick`: 100,000 rows).",
}


def commands(quick: bool, site: str) -> dict[str, tuple[list[str], int]]:
    """Each part's command line and time limit in seconds."""
    py, bench = sys.executable, common.BENCH
    fast = ["--quick"] if quick else []
    return {
        "views_imaging": ([py, str(bench / "views_imaging.py"), "--site", site, *fast], 2400),
        "views_rois": ([py, str(bench / "views_rois.py"), "--browser", "--site", site, *fast],
                       1800),
        "views_table": ([py, str(bench / "views_table.py"), "--site", site, *fast], 1800),
    }


def collect(name: str, run: dict[str, Any]) -> None:
    """Add the script's printed table and how it ended to its result (or store the failure
    when it wrote none)."""
    result = common.read_result(name) or {}
    shown = (run.get("stdout_tail") or "").strip()
    payload = {k: v for k, v in result.items() if k not in ("benchmark", "measured_utc")}
    payload.update({"markdown": shown if run.get("returncode") == 0 else "",
                    **{k: run.get(k) for k in ("returncode", "seconds", "load_before",
                                               "load_after")}})
    if run.get("returncode") != 0 or not result:
        tail = (run.get("output_tail") or "").strip().splitlines()[-3:]
        payload["error"] = f"ended with {run.get('returncode')}: " + " / ".join(tail)
    common.write_result(name, payload)


def read_results() -> dict[str, dict[str, Any] | None]:
    return {name: common.read_result(name) for name in PARTS}


def section(name: str, result: dict[str, Any] | None) -> list[str]:
    lines = [HEADINGS[name], "", GOALS[name], "", HOW[name], ""]
    if not result:
        return [*lines, "Not run yet.", ""]
    if result.get("error"):
        lines += [f"Failed: {result['error']}", ""]
    if result.get("markdown"):
        lines += [result["markdown"], ""]
    return lines


def sections(results: dict[str, dict[str, Any] | None]) -> list[str]:
    return [line for name in PARTS for line in section(name, results.get(name))]


def splice(results: dict[str, dict[str, Any] | None], path: Path = DOC) -> Path:
    """Replace the three Views II sections of ``path``; nothing else changes."""
    return doc_sections.splice(path, [(HEADINGS[name], section(name, results.get(name)))
                                      for name in PARTS])
