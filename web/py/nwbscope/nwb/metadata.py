"""Session metadata of an NWB file: the fields a scientist checks first.

Why tolerant: files from many writers (pynwb, MatNWB, older schema versions) store some fields
as scalars and others as arrays, and omit most optional ones; a missing field is ``None`` or an
empty list, never an error, so the summary shows whatever the file has.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .values import text, text_list

SUBJECT_FIELDS = (
    "subject_id", "species", "age", "sex", "description", "genotype", "strain",
    "date_of_birth", "weight",
)
GENERAL_TEXT_FIELDS = (
    "session_id", "experiment_description", "lab", "institution", "protocol", "notes",
    "surgery", "virus", "pharmacology", "data_collection", "stimulus", "slices",
    "source_script",
)


@dataclass
class Metadata:
    """What ``NWBFile.metadata`` holds; ``as_dict()`` is JSON-ready."""

    session_description: str | None = None
    identifier: str | None = None
    session_start_time: str | None = None
    timestamps_reference_time: str | None = None
    nwb_version: str | None = None
    file_create_date: list[str] = field(default_factory=list)
    experimenter: list[str] = field(default_factory=list)
    lab: str | None = None
    institution: str | None = None
    related_publications: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    experiment_description: str | None = None
    session_id: str | None = None
    subject: dict[str, str] | None = None
    other: dict[str, str] = field(default_factory=dict)  # protocol, notes, surgery, ...

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read(group: Any, name: str) -> Any:
    """The value of a member dataset, or None when it is absent or not a dataset."""
    if name not in group:
        return None
    node = group[name]
    if getattr(node, "kind", None) != "dataset":
        return None
    return node[()]


def read_subject(general: Any) -> dict[str, str] | None:
    """Every scalar field of ``/general/subject``, known ones first, as text."""
    if "subject" not in general:
        return None
    subject = general["subject"]
    result: dict[str, str] = {}
    names = list(SUBJECT_FIELDS) + [n for n in subject.keys() if n not in SUBJECT_FIELDS]
    for name in names:
        value = _read(subject, name)
        if value is None:
            continue
        result[name] = text(value) or ""
        unit = subject[name].attrs.get("unit") if name == "weight" else None
        if unit and not result[name].endswith(str(unit)):
            result[name] = f"{result[name]} {unit}"
    return result


def read_metadata(root: Any) -> Metadata:
    """Read the metadata of an NWB file's root group (a few small datasets)."""
    meta = Metadata(
        session_description=text(_read(root, "session_description")),
        identifier=text(_read(root, "identifier")),
        session_start_time=text(_read(root, "session_start_time")),
        timestamps_reference_time=text(_read(root, "timestamps_reference_time")),
        nwb_version=text(root.attrs.get("nwb_version")),
        file_create_date=text_list(_read(root, "file_create_date")),
    )
    if "general" not in root or root["general"].kind != "group":
        return meta
    general = root["general"]
    meta.experimenter = text_list(_read(general, "experimenter"))
    meta.related_publications = text_list(_read(general, "related_publications"))
    meta.keywords = text_list(_read(general, "keywords"))
    for name in GENERAL_TEXT_FIELDS:
        value = text(_read(general, name))
        if value is None:
            continue
        if hasattr(meta, name):
            setattr(meta, name, value)
        else:
            meta.other[name] = value
    meta.subject = read_subject(general)
    return meta
