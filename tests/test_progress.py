"""The start-up progress model (``web/progress.py``): steps in order, bytes, the clock.

Why: the page reads these words while Python starts (issue #14), and they must never go
backwards (a late boot event after the packages began) nor claim a fraction nobody knows.
``Progress`` is pure, so it runs here and, because the page runs it in MicroPython, in the
page's own MicroPython too (``tests/micropython.py``); ``Bar`` is driven with a fake
document and window to check the one interval is started once and cleared.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from tests import micropython

WEB = Path(__file__).resolve().parent.parent / "web"
if str(WEB) not in sys.path:
    sys.path.insert(0, str(WEB))

import progress  # noqa: E402 - web/progress.py, the page's own module

# A start told as the page hears it; the same lines run in CPython and in MicroPython.
SCENARIO = """
import json
from progress import Progress, format_bytes
out = {}
p = Progress(0.0)
out["page"] = [p.label(), p.value(), p.detail()]
p.enter("python", 500.0)
p.totals = {"python": 12300000}
out["python"] = [p.label(), p.value(), p.detail(), p.elapsed(1234.0)]
p.boot({"kind": "boot", "step": "restore", "text": "restoring Python from a snapshot",
        "bytes": 9000000})
out["restore"] = [p.label(), p.detail()]
p.boot({"kind": "boot", "step": "booted", "text": "Python started"})
out["booted"] = p.label()
p.enter("packages", 2000.0)
out["late_boot"] = p.boot({"kind": "boot", "step": "kept", "text": "snapshot kept",
                           "bytes": 7})
p.update({"names": ["numpy", "pyfive", "nwbscope"]})
out["packages"] = [p.label(), p.detail()]
out["back"] = p.enter("python", 2100.0)
p.enter("file", 3000.0)
p.update({"bytes": 65536, "requests": 1, "hits": 0})
out["file1"] = p.detail()
p.update({"bytes": 2500000, "requests": 7})
out["file7"] = [p.detail(), p.value()]
p.update({"done": 3, "total": 4})
out["fraction"] = [p.detail(), p.value()]
p.enter("tree", 3500.0)
out["tree"] = [p.label(), p.value(), p.elapsed(3550.0)]
p.finish()
out["finished"] = p.value()
p.enter("file", 10000.0)
out["again"] = [p.label(), p.elapsed(10500.0), p.detail()]
out["bytes"] = [format_bytes(n) for n in (0, 999, 1000, 64512, 999499, 1e6, 3.14e9, -5)]
out["junk"] = p.update({"bytes": "x", "requests": None, "names": [], "total": True})
print(json.dumps(out))
"""

EXPECTED = {
    "page": ["loading the page (step 1 of 5)", 0, ""],
    # the first run's clock counts from the page's time origin, not from the step
    "python": ["downloading and starting Python (step 2 of 5)", 1,
               "up to 12.3 MB (less when cached)", "1.2 s"],
    # the snapshot's size is no progress: the planned download stays what is said
    "restore": ["restoring Python from a snapshot (step 2 of 5)",
                "up to 12.3 MB (less when cached)"],
    "booted": "restoring Python from a snapshot (step 2 of 5)",
    "late_boot": False,
    "packages": ["loading packages (step 3 of 5)", "numpy, pyfive, nwbscope"],
    "back": False,
    "file1": "66 kB read in 1 request",
    "file7": ["2.5 MB read in 7 requests", 3],
    "fraction": ["3 B of 4 B", 3.75],
    "tree": ["drawing the tree (step 5 of 5)", 4, "3.5 s"],
    "finished": 5,
    "again": ["reading the file (step 4 of 5)", "0.5 s", ""],
    "bytes": ["0 B", "999 B", "1 kB", "65 kB", "999 kB", "1.0 MB", "3.14 GB", "0 B"],
    "junk": False,
}


def run_here() -> dict:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(SCENARIO, {})  # noqa: S102 - our own scenario, the same text MicroPython runs
    return json.loads(buffer.getvalue())


def test_the_model_tells_a_start_in_order() -> None:
    assert run_here() == EXPECTED


@micropython.needs_micropython
def test_the_page_micropython_tells_it_the_same(tmp_path: Path) -> None:
    out = micropython.run({"progress.py": WEB / "progress.py"}, SCENARIO, tmp_path)
    assert json.loads(out.strip().splitlines()[-1]) == EXPECTED


class Node:
    def __init__(self) -> None:
        self.hidden = False
        self.textContent = ""
        self.dataset = types.SimpleNamespace()
        self.max = self.value = None


class FakePage:
    """Just enough of ``document`` and ``window`` for ``Bar``: elements, a clock, intervals."""

    def __init__(self) -> None:
        self.nodes = {name: Node() for name in ("progress", "progress-bar", "progress-step",
                                                "progress-detail", "progress-elapsed")}
        self.ms = 0.0
        self.intervals: dict[int, object] = {}
        self.started = 0
        self.performance = types.SimpleNamespace(now=lambda: self.ms)

    def getElementById(self, name: str) -> Node | None:  # noqa: N802 - the DOM's name
        return self.nodes.get(name)

    def setInterval(self, callback, ms: int) -> int:  # noqa: N802
        self.started += 1
        self.intervals[self.started] = callback
        return self.started

    def clearInterval(self, timer: int) -> None:  # noqa: N802
        del self.intervals[timer]


@pytest.fixture
def fake_ffi(monkeypatch):
    ffi = types.ModuleType("pyscript.ffi")
    ffi.create_proxy = lambda f: f
    package = types.ModuleType("pyscript")
    package.ffi = ffi
    monkeypatch.setitem(sys.modules, "pyscript", package)
    monkeypatch.setitem(sys.modules, "pyscript.ffi", ffi)


def test_one_interval_ticks_while_shown_and_is_cleared(fake_ffi) -> None:
    page = FakePage()
    bar = progress.Bar(page, page)
    for key in ("python", "packages", "packages", "file"):
        bar.step(key)
    assert page.started == 1 and len(page.intervals) == 1
    page.ms = 2345.0
    next(iter(page.intervals.values()))()
    assert page.nodes["progress-elapsed"].textContent == "2.3 s"
    assert page.nodes["progress"].dataset.step == "file"
    assert page.nodes["progress-bar"].value == 3 and page.nodes["progress-bar"].max == 5
    bar.finish()
    assert page.intervals == {} and page.nodes["progress"].hidden
    bar.update({"bytes": 10})  # a view's read after the page was ready: the bar stays down
    assert page.nodes["progress"].hidden
    page.ms = 9000.0
    bar.step("file")  # a later open: shown again, its own clock, a new interval
    assert not page.nodes["progress"].hidden and len(page.intervals) == 1
    assert page.nodes["progress-elapsed"].textContent == "0.0 s"
    bar.finish()
    assert page.intervals == {}


def test_progress_events_without_a_known_step_change_nothing(fake_ffi) -> None:
    page = FakePage()
    bar = progress.Bar(page, page)
    bar.step("python")
    bar.progress({"kind": "progress", "text": "loading numpy"})  # an old worker: no step
    bar.progress({"kind": "progress", "step": "nonsense", "names": ["x"]})
    assert page.nodes["progress"].dataset.step == "python"
    assert page.nodes["progress-detail"].textContent == ""
    bar.progress({"kind": "progress", "step": "packages", "names": ["numpy"]})
    assert page.nodes["progress-detail"].textContent == "numpy"
