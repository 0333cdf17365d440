"""What the page asks of one open file, as JSON-ready dicts (called through the Web Worker).

Why a separate, pure layer: the worker glue only forwards calls; everything the page shows
(summary, tree rows, details with a bounded preview and code snippets, I/O counters) is
computed here and tested in CPython on both HDF5 engines. Errors are ``nwbscope.errors``
classes; the page shows ``str(error)``.
"""

from __future__ import annotations

import os
import posixpath
from typing import Any

from .errors import NotFoundError
from .h5.api import LinkInfo, ObjectRef, RegionRef
from .nwb.file import NWBFile, open_nwb
from .nwb.preview import (
    MAX_CHUNK_BYTES,
    dataset_preview,
    group_preview,
    table_preview,
    timeseries_preview,
)
from .nwb.snippets import Step, nwbscope_snippet, pynwb_snippet
from .nwb.tables import Table, is_table
from .nwb.tree import describe
from .nwb.values import display, dtype_text, shape_text, text, to_python, value_dtype_text
from .views.panels import tree_views

NOT_NWB_WARNING = (
    "This HDF5 file has no NWB metadata (no 'nwb_version' attribute at its root); its tree "
    "is shown as plain HDF5, without neurodata types."
)
NO_SPECS_WARNING = (
    "This NWB file has no cached specifications (/specifications): core types are known, "
    "but extension types are shown without their ancestors."
)


def normalize(path: str) -> str:
    """``acquisition//X/`` -> ``/acquisition/X``; the root is ``/``."""
    path = "/" + "/".join(p for p in str(path).split("/") if p)
    return posixpath.normpath(path) if path != "/" else "/"


class ViewerSession:
    """One open file for the page.

    ``target`` is anything ``nwbscope.open`` takes (a path, a URL, bytes, a byte source such
    as the worker's browser source); ``source`` is the URL shown in code snippets and
    ``name`` the file name shown in the summary (both default to what ``target`` says).
    """

    def __init__(self, target: Any, engine: str = "auto", name: str | None = None,
                 source: str | None = None, **options: Any) -> None:
        self.file: NWBFile = open_nwb(target, engine=engine, **options)
        if source is None:
            is_path = isinstance(target, str | os.PathLike)
            source = os.fspath(target) if is_path else self.file.name
        self.source: str = str(source)
        self.name: str = name or posixpath.basename(self.source.split("?")[0]) or self.source

    # -- the page's calls -----------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        nwb = self.file
        warnings = [] if nwb.is_nwb else [NOT_NWB_WARNING]
        version = nwb.metadata.nwb_version or ""
        if nwb.is_nwb and version.startswith("1."):
            warnings.append(f"This file is NWB {version}; nwbscope reads NWB 2.x, so types "
                            "and metadata may be missing. Convert it with pynwb to update it.")
        if nwb.is_nwb and "specifications" not in nwb.h5 and ".specloc" not in nwb.h5.attrs:
            warnings.append(NO_SPECS_WARNING)
        return {
            "name": self.name, "size": nwb.size, "engine": nwb.engine, "is_nwb": nwb.is_nwb,
            "metadata": nwb.metadata.as_dict(), "warnings": warnings,
        }

    def children(self, path: str = "/") -> list[dict[str, Any]]:
        """Tree rows, each with the names of the views that draw it (``views``, best first;
        matched on the row's metadata, so listing reads nothing more)."""
        rows = [entry.as_dict() for entry in self.file.children(normalize(path))]
        for row in rows:
            row["views"] = tree_views(self.file, row)
        return rows

    def stats(self) -> dict[str, int]:
        """The file's I/O record as it is (``sources.cache.IOStats.snapshot``)."""
        return self.file.stats

    def details(self, path: str, max_chunk_bytes: int = MAX_CHUNK_BYTES) -> dict[str, Any]:
        """Everything about one object; the preview decodes at most ``max_chunk_bytes`` of
        chunks (the page may ask again with more when the user wants the values)."""
        path = normalize(path)
        link = self._link_of(path)
        if link is not None and link.kind == "external":
            return self._external_details(path, link)
        node = self.file[path]
        name = posixpath.basename(path)
        info = describe(node, name, path, link)
        ntype, namespace = info.neurodata_type, info.namespace
        types = self.file.types if ntype else None
        result: dict[str, Any] = {
            "path": path, "name": name or "/", "kind": info.kind,
            "target_kind": info.target_kind, "neurodata_type": ntype, "namespace": namespace,
            "type_ancestors": types.ancestors(ntype, namespace) if types else [],
            "type_doc": types.doc(ntype, namespace) if types else "",
            "description": info.description, "attrs": self._attrs(node),
            "links": self._links(node, name, link), "dtype": None, "shape": None,
            "shape_text": None, "storage": None, "n_children": info.n_children,
        }
        if node.kind == "dataset":
            storage = node.storage
            result.update(
                dtype=dtype_text(node.dtype), shape=[int(n) for n in node.shape],
                shape_text=shape_text(dtype_text(node.dtype), node.shape),
                storage={"layout": storage.layout,
                         "chunks": list(storage.chunks) if storage.chunks else None,
                         "filters": list(storage.filters)},
            )
        result["preview"] = self._preview(node, result["type_ancestors"], ntype,
                                          max_chunk_bytes)
        result["snippet"] = self._snippets(path, node, result["type_ancestors"], ntype)
        return result

    def close(self) -> None:
        self.file.close()

    # -- helpers --------------------------------------------------------------------------
    def _link_of(self, path: str) -> LinkInfo | None:
        """How the last component of ``path`` is stored in its parent (None at the root)."""
        if path == "/":
            return None
        parent = posixpath.dirname(path)
        if parent not in self.file:
            raise NotFoundError(path, self.name)
        group = self.file[parent]
        if group.kind != "group":
            raise NotFoundError(path, self.name)
        return group.links().get(posixpath.basename(path))

    def _external_details(self, path: str, link: LinkInfo) -> dict[str, Any]:
        name = posixpath.basename(path)
        return {
            "path": path, "name": name, "kind": "link", "target_kind": None,
            "neurodata_type": None, "namespace": None, "type_ancestors": [], "type_doc": "",
            "description": None, "attrs": [], "dtype": None, "shape": None,
            "shape_text": None, "storage": None, "n_children": None,
            "links": [{"name": name, "kind": "external", "target": link.target}],
            "preview": {"kind": "external_link", "target": link.target},
            "snippet": {"nwbscope": "", "pynwb": ""},
        }

    @staticmethod
    def _attrs(node: Any) -> list[dict[str, str]]:
        return [{"name": key, "value": display(value), "dtype": value_dtype_text(value)}
                for key, value in node.attrs.items()]

    @staticmethod
    def _links(node: Any, name: str, link: LinkInfo | None) -> list[dict[str, Any]]:
        """Where this object and its members point: soft links, object/region references."""
        found: list[dict[str, Any]] = []
        if link is not None and link.kind != "hard":
            found.append({"name": name, "kind": link.kind, "target": link.target})
        for key, value in node.attrs.items():
            if isinstance(value, ObjectRef):
                found.append({"name": key, "kind": "object_ref", "target": value.path})
            elif isinstance(value, RegionRef):
                found.append({"name": key, "kind": "region_ref",
                              "target": to_python(value)})
        if node.kind == "group":
            for member, info in node.links().items():
                if info.kind != "hard":
                    found.append({"name": member, "kind": info.kind, "target": info.target})
        return found

    def _preview(self, node: Any, ancestors: list[str], ntype: str | None,
                 max_chunk_bytes: int) -> dict[str, Any]:
        if node.kind == "dataset":
            return dataset_preview(node, max_chunk_bytes)
        if is_table(node):
            return table_preview(Table(node))
        is_series = ntype == "TimeSeries" or "TimeSeries" in ancestors
        if is_series or ("data" in node and ("timestamps" in node or "starting_time" in node)):
            preview = timeseries_preview(node, max_chunk_bytes)
            preview["n_members"] = len(node.keys())
            return preview
        return group_preview(node)

    def _snippets(self, path: str, node: Any, ancestors: list[str], ntype: str | None
                  ) -> dict[str, str]:
        shape = list(node.shape) if node.kind == "dataset" else None
        is_series = ntype == "TimeSeries" or "TimeSeries" in ancestors
        pynwb = pynwb_snippet(self.source, self._steps(path), shape) if self.file.is_nwb else ""
        return {
            "nwbscope": nwbscope_snippet(self.source, path, node.kind, shape, is_series,
                                         node.kind == "group" and is_table(node)),
            "pynwb": pynwb,
        }

    def _steps(self, path: str) -> list[Step]:
        """Each component of the path with its kind and type (for the pynwb expression)."""
        steps: list[Step] = []
        current = ""
        for part in [p for p in path.split("/") if p]:
            current += "/" + part
            node = self.file[current]
            ntype = text(node.attrs.get("neurodata_type"))
            namespace = text(node.attrs.get("namespace"))
            ancestors = tuple(self.file.types.ancestors(ntype, namespace)) if ntype else ()
            steps.append(Step(part, node.kind, ntype, ancestors))
        return steps
