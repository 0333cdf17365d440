"""The h5py engine (CPython only; h5py is imported here and nowhere else, lazily).

It reads through the same ``CachedFile`` as pyfive, so both engines' request counts come from
one wrapper. Links are listed with ``get_link(getlink=True)`` so soft and external links are
reported, never followed, here: the facade follows soft links itself.
"""

from __future__ import annotations

import weakref
from typing import Any, Literal

import numpy as np

from .api import StorageInfo
from .engine import DatasetMeta, RawLink, RawRegion, RefAddress
from .filters import Filter, describe_filter
from .values import convert_value, object_dtype


class H5pyEngine:
    name: Literal["h5py"] = "h5py"

    def __init__(self, fileobj: Any) -> None:
        import h5py

        self._h5py = h5py
        self._file = h5py.File(fileobj, "r")
        # libhdf5 must let go of the Python file object before interpreter teardown, or it
        # may call into a half-destroyed object (a crash at exit for files left open).
        self._finalizer = weakref.finalize(self, _close_quietly, self._file)

    # -- navigation ---------------------------------------------------------------------
    def root(self) -> Any:
        return self._file["/"]  # a Group: the File's own id carries the file's plist

    def address(self, node: Any) -> int:
        return int(self._h5py.h5o.get_info(node.id).addr)

    def is_group(self, node: Any) -> bool:
        return isinstance(node, self._h5py.Group)

    def links(self, group: Any) -> list[RawLink]:
        h5py = self._h5py
        tracked = bool(
            group.id.get_create_plist().get_link_creation_order()
            & h5py.h5p.CRT_ORDER_TRACKED
        )
        names: list[bytes] = []
        index = h5py.h5.INDEX_CRT_ORDER if tracked else h5py.h5.INDEX_NAME
        group.id.links.iterate(lambda n: names.append(n), idx_type=index)
        out = []
        for order, raw_name in enumerate(names):
            name = raw_name.decode("utf-8", errors="replace")
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.SoftLink):
                out.append(RawLink(name, "soft", target=link.path))
            elif isinstance(link, h5py.ExternalLink):
                out.append(
                    RawLink(name, "external", target=link.path, filename=link.filename)
                )
            else:
                info = h5py.h5o.get_info(group.id, raw_name, lapl=None)
                out.append(RawLink(name, "hard", address=int(info.addr)))
            if tracked:
                out[-1] = RawLink(**{**out[-1].__dict__, "order": order})
        return out

    def open_link(self, group: Any, link: RawLink) -> Any:
        return group[link.name]

    # -- values ---------------------------------------------------------------------------
    def attrs(self, node: Any) -> dict[str, Any]:
        out = {}
        for name in node.attrs:
            try:
                value = node.attrs[name]
            except (OSError, TypeError, ValueError):  # a type h5py cannot map, bad text
                value = None
            if isinstance(value, self._h5py.Empty):
                value = None
            out[name] = self._convert(value)
        return out

    def meta(self, dataset: Any, path: str = "") -> DatasetMeta:
        h5py = self._h5py
        dcpl = dataset.id.get_create_plist()
        layout_code = dcpl.get_layout()
        layout = {
            h5py.h5d.COMPACT: "compact",
            h5py.h5d.CONTIGUOUS: "contiguous",
            h5py.h5d.CHUNKED: "chunked",
            h5py.h5d.VIRTUAL: "virtual",
        }.get(layout_code, "contiguous")
        if layout == "contiguous" and dcpl.get_external_count() > 0:
            layout = "external"
        filters = []
        for i in range(dcpl.get_nfilters()):
            code, _flags, values, _name = dcpl.get_filter(i)
            filters.append(describe_filter(Filter(int(code), tuple(int(v) for v in values))))
        null = dataset.shape is None
        dtype = self._dtype(dataset.dtype)
        fill = None if null else self._convert(self._fill(dataset))
        storage = StorageInfo(
            layout=layout,  # type: ignore[arg-type]
            chunks=tuple(dataset.chunks) if dataset.chunks else None,
            filters=tuple(filters),
            fillvalue=fill,
        )
        shape = (0,) if null else tuple(int(n) for n in dataset.shape)
        return DatasetMeta(shape, dtype, storage, null)

    def read(self, dataset: Any, selection: Any, path: str = "") -> Any:
        if dataset.shape is None:
            return np.empty((0,), dtype=self._dtype(dataset.dtype))[selection]
        return self._convert(dataset[selection])

    def close(self) -> None:
        self._finalizer()

    # -- helpers --------------------------------------------------------------------------
    def _fill(self, dataset: Any) -> Any:
        """h5py leaves variable-length string members of a compound fill value as None."""
        fill = dataset.fillvalue
        names = dataset.dtype.names
        if names and isinstance(fill, np.void):
            fill = np.array(fill, dtype=dataset.dtype)
            for name in names:
                sub = dataset.dtype.fields[name][0]
                if self._h5py.check_string_dtype(sub) is not None and fill[name][()] is None:
                    fill[name] = b""
            fill = fill[()]
        return fill

    def _dtype(self, dtype: np.dtype) -> np.dtype:
        h5py = self._h5py
        if dtype.kind == "b":
            return np.dtype(bool)
        return object_dtype(dtype, lambda d: h5py.check_dtype(ref=d) is not None)

    def _convert(self, value: Any) -> Any:
        return convert_value(value, self._scalar)

    def _scalar(self, value: Any) -> Any:
        h5py = self._h5py
        if isinstance(value, h5py.RegionReference):
            if not value:
                return None
            target = self._file[value]
            return RawRegion(self.address(target), region_text(h5py, value, target))
        if isinstance(value, h5py.Reference):
            if not value:
                return None
            return RefAddress(self.address(self._file[value]))
        return value


def region_text(h5py: Any, ref: Any, dataset: Any) -> str:
    """A region reference's selection as text, the same format the pyfive engine makes."""
    from .regions import format_blocks, format_points

    space = h5py.h5r.get_region(ref, dataset.id)
    kind = space.get_select_type()
    if kind == h5py.h5s.SEL_POINTS:
        return format_points(space.get_select_elem_pointlist().tolist())
    if kind == h5py.h5s.SEL_ALL:
        return format_blocks([([0] * len(dataset.shape), [n - 1 for n in dataset.shape])])
    if kind == h5py.h5s.SEL_NONE:
        return "none"
    blocks = space.get_select_hyper_blocklist()
    return format_blocks([(b[0].tolist(), b[1].tolist()) for b in blocks])


def _close_quietly(file: Any) -> None:
    try:
        file.close()
    except Exception:  # noqa: BLE001 - closing at exit: nothing left to report to
        pass
