"""Walk a file through the NWB model, exactly as the page asks for it (``ViewerSession``).

The model is the layer the viewer really uses, so its figures are the ones to hold against the
CPython references. ``nwbscope.viewer.ViewerSession(url, engine=...)`` opens the file through
``nwbscope.open`` (byte source + block cache + HDF5 facade) and answers the page's calls:

- ``model``: the summary (NWB header), then ``children(path)`` for every group, down to the
  leaves: every object's tree row (type, description, dtype and shape);
- ``view``: what the page asks before the tree shows: the summary, the root's rows and the
  rows of each group at the root (the tree's top two levels).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from bench import walkers


def _opener(engine: str):
    def open_session(url: str) -> walkers.Opened:
        from nwbscope.viewer import ViewerSession

        session = ViewerSession(url, engine=engine)
        return session, session.close, session.stats

    return open_session


def _rows(session: Any, path: str, count: walkers.WalkCount) -> list[dict]:
    try:
        rows = session.children(path)
    except Exception as exc:  # noqa: BLE001 - reported in the doc
        count.fail(path, exc)
        return []
    count.visited += len(rows)
    return rows


def _summary(session: Any, count: walkers.WalkCount) -> None:
    try:
        session.summary()
        count.visited += 1
    except Exception as exc:  # noqa: BLE001
        count.fail("summary", exc)


def walk_model(session: Any) -> walkers.WalkCount:
    """Summary, then every group's rows (links are listed, not followed)."""
    count = walkers.WalkCount()
    _summary(session, count)
    queue: deque[str] = deque(["/"])
    while queue:
        for row in _rows(session, queue.popleft(), count):
            if row.get("kind") == "group":
                queue.append(row["path"])
    return count


def walk_view(session: Any) -> walkers.WalkCount:
    """Summary, the root's rows and the rows of each group at the root."""
    count = walkers.WalkCount()
    _summary(session, count)
    for row in _rows(session, "/", count):
        if row.get("kind") == "group":
            _rows(session, row["path"], count)
    return count


walkers.WALKS["model"] = walk_model
walkers.WALKS["view"] = walk_view
READERS = [
    walkers.Reader("nwbscope-model-pyfive", "nwbscope.open, pyfive engine", _opener("pyfive")),
    walkers.Reader("nwbscope-model-h5py", "nwbscope.open, h5py engine", _opener("h5py")),
]
