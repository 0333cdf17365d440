"""The open view panels of one file: open, feed with frames, change options, close.

Why here and not in the worker entry: everything about panels except moving bytes across the
thread boundary is plain Python, so it is tested in CPython with the real Bokeh; the worker
entry only turns ``Frame`` arrays into typed arrays and posts them.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import NotFoundError, ParameterError, ViewError
from ..nwb.file import NWBFile
from ..nwb.values import text
from .base import Frame, View
from .registry import ViewSpec, spec, views_for
from .window import TimeWindow

FILE_LINEAGE = ["NWBFile"]


@dataclass(frozen=True)
class PanelDoc:
    """What the page needs to show a panel (JSON-ready)."""

    panel_id: str
    path: str
    view: str
    title: str
    time_based: bool
    follows_cursor: bool  # the page asks for a new frame when the cursor moves
    span: tuple[float, float] | None
    window: tuple[float, float]  # the window the document was built for
    doc: str  # Bokeh's json_item as JSON text: BokehJS needs each model defined before it
    # is referenced, i.e. the key order as written, which a MicroPython dict does not keep
    alternatives: tuple[tuple[str, str], ...]  # other views of this object: (name, title)

    def as_dict(self) -> dict[str, Any]:
        return {"panel_id": self.panel_id, "path": self.path, "view": self.view,
                "title": self.title, "time_based": self.time_based,
                "follows_cursor": self.follows_cursor,
                "span": list(self.span) if self.span else None,
                "window": list(self.window), "doc": self.doc,
                "alternatives": [list(a) for a in self.alternatives]}


def lineage(nwb: NWBFile, path: str) -> list[str]:
    """The object's type and its ancestors, nearest first (``["NWBFile"]`` for the root)."""
    if path == "/":
        return list(FILE_LINEAGE)
    node = nwb[path]
    name, _ = nwb.neurodata_type(node)
    return [name, *nwb.ancestors(node)] if name else []


def tree_views(nwb: NWBFile, row: dict[str, Any]) -> list[str]:
    """View names for one tree row (metadata only: type, namespace, shape)."""
    ntype = row.get("neurodata_type")
    if not ntype:
        return []
    chain = [ntype, *nwb.types.ancestors(ntype, row.get("namespace"))]
    return [v.name for v in views_for(row, chain)]


class PanelSet:
    """The panels open on one file, by id (``p1``, ``p2``, ...)."""

    def __init__(self, nwb: NWBFile) -> None:
        self.nwb = nwb
        self.panels: dict[str, View] = {}
        self._next = 0

    def open(self, path: str, view: str | None = None, options: dict[str, Any] | None = None,
             window: TimeWindow | None = None) -> PanelDoc:
        """A new panel on ``path`` with ``view`` (default: the best view for its type)."""
        path = "/" + "/".join(p for p in str(path).split("/") if p)
        chosen, others = self._choose(path, view)
        self._next += 1
        panel_id = f"p{self._next}"
        instance = chosen.load()(self.nwb, path, panel_id, chosen, options)
        self.panels[panel_id] = instance
        try:
            return self._document(instance, window, others)
        except BaseException:
            del self.panels[panel_id]
            raise

    def rebuild(self, panel_id: str, window: TimeWindow | None) -> PanelDoc:
        instance = self.get(panel_id)
        _, others = self._choose(instance.path, instance.spec.name)
        return self._document(instance, window, others)

    def frames(self, panel_id: str, window: TimeWindow) -> Iterator[Frame]:
        return self.get(panel_id).frames(window)

    def set_option(self, panel_id: str, name: str, value: Any) -> bool:
        """True when the panel's figure must be rebuilt (``rebuild``)."""
        return self.get(panel_id).set_option(name, value)

    def close(self, panel_id: str) -> None:
        self.panels.pop(panel_id, None)

    def select(self, table: str, rows: list[int], source: str | None = None,
               window: TimeWindow | None = None) -> dict[str, PanelDoc | None]:
        """Tell every other panel that ``rows`` of ``table`` were chosen (in panel
        ``source``); the panels that changed, each with its rebuilt document or None (then
        only new frames are needed)."""
        table = "/" + "/".join(p for p in str(table).split("/") if p)
        try:
            chosen = sorted({int(r) for r in rows})
        except (TypeError, ValueError):
            raise ParameterError("rows", f"rows must be row numbers, got {rows!r}") from None
        changed: dict[str, PanelDoc | None] = {}
        for panel_id, instance in list(self.panels.items()):
            if panel_id == source:
                continue
            what = instance.select_rows(table, chosen)
            if what == "rebuild":
                changed[panel_id] = self.rebuild(panel_id, window)
            elif what == "frames":
                changed[panel_id] = None
        return changed

    def get(self, panel_id: str) -> View:
        try:
            return self.panels[panel_id]
        except KeyError:
            raise ParameterError("panel", f"no panel {panel_id!r} is open") from None

    # -- helpers ----------------------------------------------------------------------------
    def _choose(self, path: str, view: str | None) -> tuple[ViewSpec, list[ViewSpec]]:
        if path != "/" and path not in self.nwb:
            raise NotFoundError(path)
        row = self._row(path)
        fits = views_for(row, lineage(self.nwb, path))
        # the views' predicates refuse by the data's shape: say it, or "no view" misleads
        shape = (f" with data of shape {tuple(row['data_shape'])}" if "data_shape" in row
                 else "")
        if view is None:
            if not fits:
                kind = (lineage(self.nwb, path) or ["an untyped object"])[0]
                what = "type and shape" if shape else "type"
                raise ViewError(f"{path} is {kind}{shape}; no view draws this {what} yet. Its "
                                "details and preview are beside the tree.")
            return fits[0], fits[1:]
        chosen = spec(view)
        if chosen not in fits:
            raise ViewError(f"The {chosen.title} view cannot draw {path}{shape} (it draws "
                            f"{', '.join(chosen.neurodata_types)}).")
        return chosen, [f for f in fits if f is not chosen]

    def _row(self, path: str) -> dict[str, Any]:
        """The tree row's metadata the predicates read (the data's shape, when known)."""
        if path == "/":
            return {"neurodata_type": "NWBFile"}
        node = self.nwb[path]
        row: dict[str, Any] = {"neurodata_type": text(node.attrs.get("neurodata_type")),
                               "name": posixpath.basename(path), "path": path}
        if node.kind == "group" and "data" in node and node["data"].kind == "dataset":
            data = node["data"]
            row["data_shape"] = list(data.shape)
            row["has_data"] = True
            kind = getattr(getattr(data, "dtype", None), "kind", None)
            row["data_numeric"] = kind is None or kind in "biuf"  # unknown: maybe numbers
        return row

    def _document(self, instance: View, window: TimeWindow | None,
                  others: list[ViewSpec]) -> PanelDoc:
        from .bokeh_kit import document_json

        span = instance.span()
        if window is None:
            window = initial_window(span, longest=instance.initial_duration())
        doc = json.dumps(document_json(instance.figure(window)))
        name = posixpath.basename(instance.path) or "file"
        return PanelDoc(instance.panel_id, instance.path, instance.spec.name,
                        f"{instance.spec.title}: {name}", instance.spec.time_based,
                        instance.spec.follows_cursor, span,
                        (window.start, window.end), doc,
                        tuple((o.name, o.title) for o in others))


def initial_window(span: tuple[float, float] | None, width_px: int = 1000,
                   longest: float = 10.0) -> TimeWindow:
    """The first window of a view opened with no window set: the first ``longest`` seconds
    of the object (a whole long recording would be a grey band at first)."""
    if span is None or not span[1] > span[0]:
        start = span[0] if span else 0.0
        return TimeWindow(start, start + 1.0, width_px)
    return TimeWindow(span[0], min(span[1], span[0] + longest), width_px)

