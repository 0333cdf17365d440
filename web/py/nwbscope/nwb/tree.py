"""The object tree: one entry per member of a group, with its neurodata type and shape.

Why here and not in the viewer: which members a group has, what type each one is and where a
link points is NWB knowledge that the notebook API and the page share. Reading one level costs
the group's member list and each member's object header; nothing below is touched.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import NwbscopeError
from ..h5.api import LinkInfo
from .values import dtype_text, shape_text, text

# The root's members in the order a scientist looks for them; the rest follow by name.
ROOT_ORDER = ("acquisition", "processing", "units", "intervals", "stimulus", "general",
              "analysis", "specifications")


@dataclass
class NodeInfo:
    """One row of the tree (``as_dict()`` is what the page receives)."""

    name: str
    path: str
    kind: str  # "group", "dataset" or "link"
    neurodata_type: str | None = None
    namespace: str | None = None
    description: str | None = None
    dtype: str | None = None
    shape: list[int] | None = None
    n_children: int | None = None
    link: dict[str, str | None] | None = None  # {"kind": "soft"|"external", "target": ...}
    target_kind: str | None = None  # for a link: "group" or "dataset" (None when dangling)
    # a group with a member named ``data`` (by name: its kind would cost one more object
    # header per row; the view that opens checks that it is a dataset)
    has_data: bool = False

    @property
    def shape_text(self) -> str | None:
        if self.dtype is None or self.shape is None:
            return None
        return shape_text(self.dtype, self.shape)

    def as_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["shape_text"] = self.shape_text
        return result


def order_names(path: str, names: list[str]) -> list[str]:
    """Members in display order: the NWB groups first at the root, else the file's order."""
    if path != "/":
        return list(names)
    known = [n for n in ROOT_ORDER if n in names]
    return known + [n for n in names if n not in ROOT_ORDER]


def join(path: str, name: str) -> str:
    return f"/{name}" if path in ("", "/") else f"{path.rstrip('/')}/{name}"


def describe(node: Any, name: str, path: str, link: LinkInfo | None = None) -> NodeInfo:
    """The tree entry of an opened node (reached by ``path``, possibly through ``link``)."""
    attrs = node.attrs
    info = NodeInfo(
        name=name, path=path, kind=node.kind,
        neurodata_type=text(attrs.get("neurodata_type")),
        namespace=text(attrs.get("namespace")),
        description=text(attrs.get("description")),
    )
    if node.kind == "dataset":
        info.dtype = dtype_text(node.dtype)
        info.shape = [int(n) for n in node.shape]
    else:
        keys = node.keys()
        info.n_children = len(keys)
        info.has_data = "data" in keys
    if link is not None and link.kind != "hard":
        info.target_kind = info.kind
        info.kind = "link"
        info.link = {"kind": link.kind, "target": link.target}
    return info


def list_children(group: Any) -> list[NodeInfo]:
    """The entries of a group's members, in display order; a dangling or external link is
    listed with its target and no type (it cannot be opened)."""
    links = group.links()
    entries = []
    for name in order_names(group.path, list(group.keys())):
        link = links.get(name)
        path = join(group.path, name)
        if link is not None and link.kind == "external":
            entries.append(NodeInfo(name=name, path=path, kind="link",
                                    link={"kind": "external", "target": link.target}))
            continue
        try:
            node = group[name]
        except NwbscopeError:
            entries.append(NodeInfo(name=name, path=path, kind="link", link={
                "kind": link.kind if link else "soft", "target": link.target if link else None}))
            continue
        entries.append(describe(node, name, path, link))
    return entries
