"""Replace named ``## `` sections of docs/performance.md, leaving the others as they are.

Why one function: the start-up, scale-out and views II parts each run alone on a machine
where the other parts' figures are not; each splices only its own sections into the doc
(a missing one goes before the analysis), and twice is the same as once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

#: A new section goes before this one (the analysis), or at the end.
BEFORE = "## Where the time and the bytes go"


def splice(path: Path, sections: Sequence[tuple[str, list[str]]], before: str = BEFORE) -> Path:
    """Each ``(heading, lines)``: the lines (their first one is the heading) replace the
    section from that heading to the next ``## ``, or are inserted before ``before``."""
    lines = path.read_text().splitlines()
    for heading, new in sections:
        new = list(new)
        while new and not new[-1]:
            new.pop()
        start = next((i for i, line in enumerate(lines) if line == heading), None)
        if start is None:
            start = end = next((i for i, line in enumerate(lines) if line == before),
                               len(lines))
        else:
            end = next((i for i in range(start + 1, len(lines))
                        if lines[i].startswith("## ")), len(lines))
        lines = [*lines[:start], *new, "", *lines[end:]]
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path
