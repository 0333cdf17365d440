"""``PanelSet.select``: rows chosen in one panel reach the others, and only those that show
that table say they changed; ``TimeWindow.cursor`` reaches the views through the worker's
window spec. Stub views stand in for real ones (the real ones are tested with their views)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nwbscope import open as open_file
from nwbscope.errors import ParameterError
from nwbscope.views.base import Frame, View
from nwbscope.views.panels import PanelDoc, PanelSet
from nwbscope.views.registry import ViewSpec
from nwbscope.views.window import TimeWindow

SPEC = ViewSpec("stub", "Stub", ("TimeSeries",), __name__, "StubView")


class StubView(View):
    """Shows rows of one table; says "rebuild" or "frames" for them as it was told."""

    def __init__(self, *args: Any, table: str = "", answer: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.table, self.answer, self.seen = table, answer, []

    def figure(self, window: TimeWindow) -> Any:
        from bokeh.models import Div

        return Div(text=f"{self.seen}")

    def frames(self, window: TimeWindow) -> Iterator[Frame]:
        yield Frame(sources={})

    def select_rows(self, table: str, rows: list[int]) -> str:
        if table != self.table:
            return ""
        self.seen.append(rows)
        return self.answer


@pytest.fixture
def group(minimal_nwb: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PanelSet]:
    # the stub is in no registry: a rebuild chooses it and offers no other view
    monkeypatch.setattr(PanelSet, "_choose", lambda self, path, view: (SPEC, []))
    with open_file(minimal_nwb) as nwb:
        panels = PanelSet(nwb)
        for pid, table, answer in (("p1", "/t", "rebuild"), ("p2", "/t", "frames"),
                                   ("p3", "/other", "rebuild"), ("p4", "/t", "")):
            panels.panels[pid] = StubView(nwb, "/", pid, SPEC, table=table, answer=answer)
        yield panels


def test_only_panels_of_that_table_change(group: PanelSet) -> None:
    changed = group.select("t/", [3, 1, 3], source="p9", window=TimeWindow(0.0, 1.0))
    assert set(changed) == {"p1", "p2"}
    assert isinstance(changed["p1"], PanelDoc) and "[[1, 3]]" in changed["p1"].doc
    assert changed["p2"] is None
    assert group.panels["p4"].seen == [[1, 3]]  # asked, and said it does not change


def test_the_choosing_panel_is_not_asked(group: PanelSet) -> None:
    changed = group.select("/t", [0], source="p1")
    assert "p1" not in changed and group.panels["p1"].seen == []


def test_rows_must_be_numbers(group: PanelSet) -> None:
    with pytest.raises(ParameterError, match="row numbers"):
        group.select("/t", ["a"])


def test_window_spec_carries_the_cursor() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web" / "workers"))
    try:
        from view_calls import window_of
    finally:
        sys.path.pop(0)
    window = window_of({"start": 1, "end": 2, "width": 300, "cursor": 1.25})
    assert window == TimeWindow(1.0, 2.0, 300, cursor=1.25) and window.moment == 1.25
    assert window_of({"start": 1, "end": 2, "cursor": None}).moment == 1.0
