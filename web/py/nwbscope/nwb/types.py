"""The neurodata type hierarchy, read from the file's own ``/specifications``.

Why from the file: an NWB file caches the schema it was written with (core, hdmf-common and
every extension), so an extension type such as ``TetrodeSeries`` knows that it is an
``ElectricalSeries`` and therefore a ``TimeSeries``, without the viewer knowing the extension.
A small built-in table of core types serves files written without cached specs.

Specs are JSON documents (one per schema source) under ``/specifications/<ns>/<version>/``.
Types are declared with ``neurodata_type_def``/``neurodata_type_inc`` (NWB) or
``data_type_def``/``data_type_inc`` (hdmf-common), possibly nested inside other specs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import NwbscopeError

# Parents of common core / hdmf-common types, for files without cached specifications.
FALLBACK_PARENTS: dict[str, str] = {
    "NWBFile": "NWBContainer", "NWBContainer": "Container", "NWBData": "Data",
    "NWBDataInterface": "NWBContainer", "TimeSeries": "NWBDataInterface",
    "ProcessingModule": "NWBContainer", "Images": "NWBDataInterface", "Image": "NWBData",
    "GrayscaleImage": "Image", "RGBImage": "Image", "RGBAImage": "Image",
    "ElectricalSeries": "TimeSeries", "SpikeEventSeries": "ElectricalSeries",
    "SpatialSeries": "TimeSeries", "ImageSeries": "TimeSeries",
    "ImageMaskSeries": "ImageSeries", "OpticalSeries": "ImageSeries",
    "TwoPhotonSeries": "ImageSeries", "OnePhotonSeries": "ImageSeries",
    "RoiResponseSeries": "TimeSeries", "DecompositionSeries": "TimeSeries",
    "AnnotationSeries": "TimeSeries", "IntervalSeries": "TimeSeries",
    "AbstractFeatureSeries": "TimeSeries", "OptogeneticSeries": "TimeSeries",
    "PatchClampSeries": "TimeSeries", "CurrentClampSeries": "PatchClampSeries",
    "VoltageClampSeries": "PatchClampSeries", "Position": "NWBDataInterface",
    "BehavioralEvents": "NWBDataInterface", "BehavioralTimeSeries": "NWBDataInterface",
    "CompassDirection": "NWBDataInterface", "EyeTracking": "NWBDataInterface",
    "PupilTracking": "NWBDataInterface", "LFP": "NWBDataInterface",
    "FilteredEphys": "NWBDataInterface", "Fluorescence": "NWBDataInterface",
    "DfOverF": "NWBDataInterface", "ImageSegmentation": "NWBDataInterface",
    "Device": "NWBContainer", "ElectrodeGroup": "NWBContainer", "Subject": "NWBContainer",
    "LabMetaData": "NWBContainer", "DynamicTable": "Container",
    "AlignedDynamicTable": "DynamicTable", "Units": "DynamicTable",
    "TimeIntervals": "DynamicTable", "ElectrodesTable": "DynamicTable",
    "PlaneSegmentation": "DynamicTable", "FrequencyBandsTable": "DynamicTable",
    "VectorData": "Data", "VectorIndex": "VectorData", "DynamicTableRegion": "VectorData",
    "ElementIdentifiers": "Data", "SimpleMultiContainer": "Container",
}
_FALLBACK_NAMESPACE = {
    name: "hdmf-common" for name in (
        "Container", "Data", "DynamicTable", "AlignedDynamicTable", "VectorData",
        "VectorIndex", "DynamicTableRegion", "ElementIdentifiers", "SimpleMultiContainer")
}


@dataclass(frozen=True)
class TypeSpec:
    """One neurodata type: where it is defined, what it extends, and its documentation."""

    name: str
    namespace: str
    parent: str | None
    doc: str = ""
    kind: str = "group"  # "group" or "dataset"


def _def_and_inc(spec: Mapping[str, Any]) -> tuple[str | None, str | None]:
    name = spec.get("neurodata_type_def", spec.get("data_type_def"))
    parent = spec.get("neurodata_type_inc", spec.get("data_type_inc"))
    return name, parent


def iter_type_specs(document: Mapping[str, Any], namespace: str) -> Iterable[TypeSpec]:
    """Every type defined in one schema document, including types nested in other specs."""
    stack: list[tuple[str, Mapping[str, Any]]] = []
    for kind in ("groups", "datasets"):
        stack.extend((kind[:-1], spec) for spec in document.get(kind) or ())
    while stack:
        kind, spec = stack.pop()
        name, parent = _def_and_inc(spec)
        if name:
            yield TypeSpec(name, namespace, parent, str(spec.get("doc", "")), kind)
        for sub in ("groups", "datasets"):
            stack.extend((sub[:-1], child) for child in spec.get(sub) or ())


def version_key(text: str) -> tuple:
    """Sort key for version folder names: 2.10.0 after 2.9.1; odd names sort first."""
    parts = re.findall(r"\d+|[A-Za-z]+", text)
    return tuple((0, int(p), "") if p.isdigit() else (-1, 0, p) for p in parts)


class TypeHierarchy:
    """Types by (namespace, name), with ancestors resolved across namespaces."""

    def __init__(self, specs: Iterable[TypeSpec] = (), use_fallback: bool = True) -> None:
        self._specs: dict[tuple[str, str], TypeSpec] = {}
        self._by_name: dict[str, list[TypeSpec]] = {}
        self._fallback: dict[str, TypeSpec] = {}
        self.namespaces: dict[str, str] = {}  # namespace name -> version read
        self.warnings: list[str] = []
        if use_fallback:
            self._fallback = {
                name: TypeSpec(name, _FALLBACK_NAMESPACE.get(name, "core"), parent)
                for name, parent in FALLBACK_PARENTS.items()
            }
        for spec in specs:
            self.add(spec)

    def add(self, spec: TypeSpec) -> None:
        self._specs[(spec.namespace, spec.name)] = spec
        self._by_name.setdefault(spec.name, []).append(spec)

    @classmethod
    def from_documents(
        cls, documents: Mapping[str, Mapping[str, Iterable[Mapping[str, Any]]]]
    ) -> TypeHierarchy:
        """``{namespace: {version: [schema documents]}}``; the newest version of each is used."""
        hierarchy = cls()
        for namespace, versions in documents.items():
            if not versions:
                continue
            version = max(versions, key=version_key)
            hierarchy.namespaces[namespace] = version
            for document in versions[version]:
                for spec in iter_type_specs(document, namespace):
                    hierarchy.add(spec)
        return hierarchy

    def get(self, name: str, namespace: str | None = None) -> TypeSpec | None:
        """The spec of a type: from ``namespace`` if it defines it, else from any namespace
        the file caches (core first, then hdmf-common), else from the built-in table."""
        if namespace is not None and (namespace, name) in self._specs:
            return self._specs[(namespace, name)]
        candidates = self._by_name.get(name)
        if candidates:
            return min(candidates, key=lambda s: {"core": 0, "hdmf-common": 1}.get(
                s.namespace, 2))
        return self._fallback.get(name)

    def ancestors(self, name: str, namespace: str | None = None) -> list[str]:
        """Parent, grandparent, ... of a type (nearest first); [] for an unknown type."""
        chain: list[str] = []
        spec = self.get(name, namespace)
        seen = {name}
        while spec is not None and spec.parent and spec.parent not in seen:
            chain.append(spec.parent)
            seen.add(spec.parent)
            # an included type is looked up in the including namespace first
            spec = self.get(spec.parent, spec.namespace)
        return chain

    def is_a(self, name: str | None, base: str, namespace: str | None = None) -> bool:
        """True when ``name`` is ``base`` or extends it, directly or not."""
        if not name:
            return False
        return name == base or base in self.ancestors(name, namespace)

    def doc(self, name: str, namespace: str | None = None) -> str:
        spec = self.get(name, namespace)
        return spec.doc if spec is not None else ""


def read_hierarchy(root: Any) -> TypeHierarchy:
    """The hierarchy from a file's ``/specifications`` (the ``.specloc`` group when set).

    A missing or unreadable specification leaves the built-in table in place and adds a
    warning, because the tree must still show for a file with a damaged schema cache.
    """
    location = root.attrs.get(".specloc")
    path = getattr(location, "path", None) or "/specifications"
    warnings: list[str] = []
    documents: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
    specs = root[path] if path in root else None
    if specs is not None and specs.kind == "group":
        for namespace in specs.keys():
            ns_group = specs[namespace]
            if getattr(ns_group, "kind", "") != "group":
                continue
            versions = [v for v in ns_group.keys() if ns_group[v].kind == "group"]
            if not versions:
                continue
            version = max(versions, key=version_key)
            docs = []
            for source in ns_group[version].keys():
                if source == "namespace":
                    continue
                try:
                    docs.append(_load_json(ns_group[version][source][()]))
                except (ValueError, NwbscopeError) as exc:
                    warnings.append(f"Specification {namespace}/{version}/{source}: {exc}")
            documents[namespace] = {version: docs}
    hierarchy = TypeHierarchy.from_documents(documents)
    hierarchy.warnings.extend(warnings)
    return hierarchy


def _load_json(value: Any) -> Mapping[str, Any]:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if hasattr(value, "item") and not isinstance(value, str):  # numpy 0-d array of str
        value = value.item()
    try:
        document = json.loads(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return document
