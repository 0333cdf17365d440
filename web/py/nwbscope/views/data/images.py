"""Still pictures as the image views draw them: Image datasets, Images groups, IndexSeries,
and one picture turned into the columns of an ``image`` / ``image_rgba`` glyph.

Orientation (the one rule of every picture view): NWB stores a picture as ``(x, y)``
(``GrayscaleImage``; ``ImageSeries`` frames are ``(frame, x, y)``) and colour as
``(x, y, 3|4)``. Array axis ``x`` is drawn left to right and axis ``y`` top to bottom
(``y = 0`` at the top, as a picture is read); pixel ``(i, j)`` covers ``[i, i+1) x [j, j+1)``
of the plot. The glyph's rows are screen rows, so its image is the transpose, ``picture.T``,
and the plot's y range runs from the height down to 0.

Contrast: the colour scale spans two percentiles of the picture's values (``low_pct``,
``high_pct``), so a few hot pixels do not wash out the rest; colour pictures of ``uint8`` are
drawn as stored, others are scaled by the same percentiles.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ViewError
from ...h5.api import ObjectRef

IMAGE_TYPES = ("Image", "GrayscaleImage", "RGBImage", "RGBAImage")


def picture_kind(array_shape: tuple[int, ...], where: str) -> str:
    """``gray`` for (x, y), ``color`` for (x, y, 3|4); ``ViewError`` for anything else."""
    if len(array_shape) == 2 and 0 not in array_shape:
        return "gray"
    if len(array_shape) == 3 and array_shape[2] in (3, 4) and 0 not in array_shape:
        return "color"
    raise ViewError(f"{where} has shape {tuple(array_shape)}; a picture is (x, y), or "
                    "(x, y, 3) / (x, y, 4) for colour.")


def read_picture(dataset: Any) -> np.ndarray:
    """An Image dataset's values (checked: numbers, a picture's shape)."""
    where = str(getattr(dataset, "path", "the image"))
    if getattr(dataset, "kind", "dataset") != "dataset":
        raise ViewError(f"{where} is a group, not an image dataset.")
    if np.dtype(dataset.dtype).kind not in "biuf":
        raise ViewError(f"{where} holds {dataset.dtype}, not numbers.")
    picture_kind(tuple(int(n) for n in dataset.shape), where)
    return np.asarray(dataset[()])


def image_names(group: Any) -> list[str]:
    """The pictures of an Images group: in ``order_of_images`` when it is there, then any
    others by name."""
    members = [name for name in group.keys()
               if name != "order_of_images" and group[name].kind == "dataset"]
    ordered: list[str] = []
    if "order_of_images" in group:
        for ref in np.asarray(group["order_of_images"][()], dtype=object).reshape(-1):
            name = ref.path.rsplit("/", 1)[-1] if isinstance(ref, ObjectRef) else None
            if name in members and name not in ordered:
                ordered.append(name)
    return ordered + sorted(n for n in members if n not in ordered)


def indexed_picture(nwb: Any, group: Any, index: int) -> tuple[np.ndarray, str]:
    """What an IndexSeries shows for stored index ``index``: that entry of its
    ``indexed_images`` (order_of_images), or frame ``index`` of its (older)
    ``indexed_timeseries``; with a label."""
    where = str(group.path)
    if "indexed_images" in group:
        images = group["indexed_images"]
        names = image_names(images)
        if not 0 <= index < len(names):
            raise ViewError(f"{where} points at image {index}, but its indexed_images has "
                            f"{len(names)} images.")
        return read_picture(images[names[index]]), names[index]
    if "indexed_timeseries" in group:
        from .frames import read_frame, read_frame_series

        series = read_frame_series(group["indexed_timeseries"])
        if not 0 <= index < series.n_frames:
            raise ViewError(f"{where} points at frame {index}, but its indexed_timeseries "
                            f"has {series.n_frames} frames.")
        return read_frame(series, index), f"frame {index}"
    raise ViewError(f"{where} has neither indexed_images nor indexed_timeseries: there is "
                    "nothing its indices point at.")


def contrast(values: np.ndarray, low_pct: float, high_pct: float) -> tuple[float, float]:
    """The colour scale's ends: two percentiles of the finite values (a non-empty span)."""
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if finite.size == 0:
        return 0.0, 1.0
    lo_pct, hi_pct = sorted((float(low_pct), float(high_pct)))
    low, high = (float(v) for v in np.percentile(finite, [lo_pct, hi_pct]))
    if not high > low:
        high = low + 1.0
    return low, high


def picture_columns(picture: np.ndarray, low_pct: float, high_pct: float
                    ) -> dict[str, Any]:
    """One source row drawing ``picture`` ((x, y) or (x, y, 3|4)) as the module says:
    ``image`` (rows of ``picture.T``: float32 values, or packed RGBA as uint32), ``x``,
    ``y``, ``dw``, ``dh`` (the extent in pixels) and ``low``/``high`` (the colour scale)."""
    kind = picture_kind(picture.shape, "the picture")
    nx, ny = int(picture.shape[0]), int(picture.shape[1])
    if kind == "gray":
        rows = np.ascontiguousarray(picture.T, dtype=np.float32)
        low, high = contrast(rows, low_pct, high_pct)
    else:
        rows, low, high = _rgba(picture, low_pct, high_pct)
    return {"image": [list(rows)], "x": np.zeros(1), "y": np.zeros(1),
            "dw": np.array([float(nx)]), "dh": np.array([float(ny)]),
            "low": np.array([low]), "high": np.array([high])}


def _rgba(picture: np.ndarray, low_pct: float, high_pct: float
          ) -> tuple[np.ndarray, float, float]:
    """(y, x) uint32 of RGBA bytes (what ``image_rgba`` draws), and the scale applied."""
    if picture.dtype == np.uint8:
        scaled, low, high = picture, 0.0, 255.0
    else:
        values = picture.astype(np.float64)
        low, high = contrast(values[..., :3], low_pct, high_pct)
        scaled = np.clip((values - low) / (high - low) * 255.0, 0, 255).round()
        if picture.shape[2] == 4:  # alpha is not a colour: its own full scale
            alpha = values[..., 3]
            top = 1.0 if alpha.max(initial=0) <= 1.0 else float(alpha.max())
            scaled[..., 3] = np.clip(alpha / top * 255.0, 0, 255).round()
        scaled = scaled.astype(np.uint8)
    nx, ny = picture.shape[:2]
    out = np.full((ny, nx, 4), 255, dtype=np.uint8)
    out[..., : picture.shape[2]] = np.transpose(scaled, (1, 0, 2))
    return out.view(np.uint32).reshape(ny, nx), low, high
