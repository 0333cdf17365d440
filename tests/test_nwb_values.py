"""Value conversion for the page: JSON-ready, engine-neutral, short."""

from __future__ import annotations

import json

import numpy as np

from nwbscope.h5.api import ObjectRef, RegionRef
from nwbscope.nwb.preview import corner, selection_text
from nwbscope.nwb.values import (
    display,
    dtype_text,
    shape_text,
    text_list,
    to_python,
    value_dtype_text,
)


def test_to_python_is_json_ready() -> None:
    value = to_python(np.array([[1.5, np.nan], [np.inf, -np.inf]]))
    assert value == [[1.5, None], ["inf", "-inf"]]
    assert to_python(np.int16(-3)) == -3 and isinstance(to_python(np.int16(-3)), int)
    assert to_python(np.array("abc", dtype=object)) == "abc"
    assert to_python([ObjectRef("/units"), RegionRef("/x", "[0:2]")]) == ["/units", "/x[0:2]"]
    record = np.zeros(1, dtype=[("x", "<i4"), ("w", "<f8")])[0]
    assert to_python(record) == {"x": 0, "w": 0.0}
    json.dumps(to_python(np.array([b"raw", b"bytes"], dtype=object)))


def test_display_and_dtype_text() -> None:
    assert display(np.float64(1.95e-7)) == "1.95e-07"
    assert display(np.array(["a", "b"], dtype=object)) == "[a, b]"
    assert display("x" * 500).endswith("…") and len(display("x" * 500)) == 160
    assert display(list(range(30))).endswith(", …]")
    assert dtype_text(np.dtype("<i2")) == "int16"
    assert dtype_text(np.dtype("O", metadata={"vlen": str})) == "str"
    assert dtype_text(np.dtype([("a", "<u1")])) == "compound{a: uint8}"
    assert value_dtype_text(np.array([1, 2], dtype=np.uint8)) == "uint8[2]"
    assert value_dtype_text(np.array(["a", "b"], dtype=object)) == "str[2]"
    assert value_dtype_text(ObjectRef("/a")) == "object reference"
    assert shape_text("int16", [76293625, 96]) == "int16 [76293625, 96]"
    assert shape_text("float64", []) == "float64 scalar"
    assert text_list("one") == ["one"] and text_list(None) == []


def test_preview_corner() -> None:
    assert selection_text(corner((1000,))) == "[0:10]"
    assert selection_text(corner((3,))) == "[0:3]"
    assert selection_text(corner((76293625, 96))) == "[0:5, 0:8]"
    assert selection_text(corner((100, 512, 512, 3))) == "[0:5, 0:8, 0:3, 0:3]"
