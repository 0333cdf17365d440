"""The page's preview HTML (``web/render.py``, pure, so it runs here) says what it left out.

Why: the worker's answer had the reason a preview read nothing (a 1 s chunk of a raw recording
is more than a click may decode) and an ImageSeries' external file names, and the page drew
``null`` and nothing; a cut spike train was drawn as if whole. Each case starts from what the
worker answers for a fixture file (``ViewerSession.details``) and reads the HTML back.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from nwbscope.nwb.preview import MAX_CHUNK_BYTES
from nwbscope.nwb.tables import MAX_CELL_VALUES
from nwbscope.viewer import ViewerSession
from tests import micropython
from tests.fixtures import nwb_files as rec

WEB = Path(__file__).resolve().parent.parent / "web"
if str(WEB) not in sys.path:
    sys.path.insert(0, str(WEB))

import render  # noqa: E402 - web/render.py, the page's own module

ES = "/acquisition/ElectricalSeries"


class Elements(HTMLParser):
    """Each element's tag, attributes and text (its own and its children's)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None], list[str]]] = []
        self._open: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        text: list[str] = []
        self.found.append((tag, dict(attrs), text))
        self._open.append(text)

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for text in self._open:
            text.append(data)


def elements(html: str, tag: str) -> list[tuple[dict[str, str | None], str]]:
    parser = Elements()
    parser.feed(html)
    return [(attrs, "".join(text)) for t, attrs, text in parser.found if t == tag]


@pytest.fixture(scope="module")
def raw_nwb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rec.write_raw(tmp_path_factory.mktemp("raw") / "raw.nwb")


@contextlib.contextmanager
def session_of(path: Path, engine: str) -> Iterator[ViewerSession]:
    with contextlib.closing(ViewerSession(path, engine=engine)) as session:
        yield session


def test_the_fixture_chunk_is_over_the_preview_budget() -> None:
    chunk_bytes = rec.RAW_CHUNKS[0] * rec.RAW_CHUNKS[1] * 2  # int16
    assert chunk_bytes > MAX_CHUNK_BYTES


@pytest.mark.parametrize("path", [ES, f"{ES}/data"])
def test_skipped_preview_shows_the_reason_and_a_view_button(raw_nwb: Path, engine: str,
                                                             path: str) -> None:
    with session_of(raw_nwb, engine) as session:
        details = session.details(path)
    html = render.details_html(details)
    notes = [text for attrs, text in elements(html, "p") if "skipped" in (attrs["class"] or "")]
    assert len(notes) == 1 and "1.9 MB uncompressed" in notes[0]
    assert "open a view to read them" in notes[0]
    buttons = [e for e in elements(html, "button") if e[0].get("class") == "open-view"]
    assert buttons == [({"class": "open-view", "data-view-path": path}, "View")]
    assert "null" not in html


def test_view_button_path_is_escaped() -> None:
    preview = {"kind": "values", "values": None, "truncated": True, "skipped": "too big"}
    html = render.preview_body(preview, '/a/"b"<c>')
    assert 'data-view-path="/a/&quot;b&quot;&lt;c&gt;"' in html


def test_external_file_names_are_shown(rich_nwb: Path, engine: str) -> None:
    with session_of(rich_nwb, engine) as session:
        html = render.details_html(session.details(rec.RICH_PATHS["external_video"]))
    [(_, text)] = [e for e in elements(html, "p") if e[0].get("class") == "external-file"]
    assert text == "frames in external file: video_0001.mp4"


def table_cells(html: str) -> list[list[tuple[dict[str, str | None], str]]]:
    """The preview table's body rows, each a list of (attributes, text) of its cells."""
    parser = Elements()
    parser.feed(html)
    rows, current = [], None
    for tag, attrs, text in parser.found:
        if tag == "tr":
            current = []
            rows.append(current)
        elif tag == "td" and current is not None:
            current.append((attrs, "".join(text)))
    return [row for row in rows if row]


def test_cut_spike_trains_say_so_row_by_row(raw_nwb: Path, engine: str) -> None:
    with session_of(raw_nwb, engine) as session:
        html = render.preview_body(session.details("/units")["preview"])
    spikes = [row[1] for row in table_cells(html)]  # id, spike_times, electrodes
    counts = rec.RAW_SPIKE_COUNTS
    for (attrs, text), count in zip(spikes, counts, strict=True):
        cut = count > MAX_CELL_VALUES
        assert (attrs.get("class") == "cut") is cut, text
        marker = f"… {count - MAX_CELL_VALUES} more, {count} in all"
        assert text.endswith(marker) is cut, text
    assert spikes[1][1] == "[]"  # truly empty: no marker
    assert spikes[2][1] == "[0.001, 1.0, 1.999]"  # whole


def test_doubly_ragged_cut_names_values_and_lists() -> None:
    column = {"name": "laps", "kind": "ragged_data", "ragged": 2, "values": [[[0.9, 0.95]], []],
              "lengths": [3, 2], "more": [2, 0], "truncated": True}
    html = render.preview_body({"kind": "table", "n_rows": 2, "ids": [0, 1],
                                "columns": [column], "truncated": False})
    cells = [row[1][1] for row in table_cells(html)]
    assert cells == ["[[0.9, 0.95]] … 2 more values, 3 lists in all",
                     "[] … 2 more lists, 2 lists in all"]


def test_a_column_that_failed_is_not_drawn_empty() -> None:
    column = {"name": "x", "kind": "data", "values": None, "truncated": True,
              "error": "gzip is not available"}
    html = render.preview_body({"kind": "table", "n_rows": 1, "ids": [0], "columns": [column]})
    [row] = table_cells(html)
    assert row[1] == ({"class": "error", "title": "gzip is not available"}, "not read")


@micropython.needs_micropython
def test_the_page_micropython_draws_the_same_marks(raw_nwb: Path, tmp_path: Path) -> None:
    """render.py runs in MicroPython on the page: the marks and the button come out there too
    (values may print with other float digits, so the marks are compared, not the text)."""
    with session_of(raw_nwb, "h5py") as session:
        answers = [session.details("/units"), session.details(ES)]
    code = ("import json, render\n"
            "for d in json.load(open('/data.json')):\n"
            "    print(render.details_html(d))\n")
    out = micropython.run({"render.py": WEB / "render.py"}, code, tmp_path, json.dumps(answers))
    html = "".join(render.details_html(d) for d in answers)
    marks = ([e for e in elements(html, "span") if e[0].get("class") == "more"]
             + [e for e in elements(html, "button") if e[0].get("class") == "open-view"])
    got = ([e for e in elements(out, "span") if e[0].get("class") == "more"]
           + [e for e in elements(out, "button") if e[0].get("class") == "open-view"])
    assert got == marks and len(marks) == 3  # two cut spike trains, one View button
