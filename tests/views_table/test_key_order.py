"""``key_order``: the order a sort shows, against Python's own stable ``sorted``.

Numbers without ties take an unstable (faster) sort, with ties the stable one; both must give
exactly the stable order: ties in table order either way, NaN last either way.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nwbscope.views.data.table_page import key_order


def reference(values: list, descending: bool) -> list[int]:
    """Python's stable sort: NaN last in table order, ties in table order."""
    numbers = [i for i, v in enumerate(values) if not (isinstance(v, float) and math.isnan(v))]
    kept = set(numbers)
    nans = [i for i in range(len(values)) if i not in kept]
    ordered = sorted(numbers, key=lambda i: values[i], reverse=descending)  # (stable, also
    return ordered + nans  # reversed: Python keeps ties in their order with reverse=True)


def cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(4)
    distinct = rng.normal(0, 1, 5_000)
    with_nan = distinct.copy()
    with_nan[rng.integers(0, 5_000, 300)] = np.nan
    ties = rng.integers(0, 20, 5_000).astype(np.float64)
    zeros = np.array([0.0, -0.0, 1.0, -0.0, 0.0, -1.0, np.nan, 0.0])
    return {
        "distinct floats": distinct, "floats with NaN": with_nan, "tied floats": ties,
        "signed zeros": zeros, "float32": distinct.astype(np.float32),
        "distinct ints": rng.permutation(5_000).astype(np.int32),
        "tied ints": rng.integers(-5, 5, 5_000).astype(np.int64),
        "unsigned": rng.integers(0, 2**63, 3_000, dtype=np.uint64),
        "bools": rng.integers(0, 2, 1_000).astype(bool),
        "one": np.array([3.5]), "empty": np.zeros(0), "all NaN": np.full(4, np.nan),
        "one tie among many": np.concatenate([distinct, distinct[:1]]),
    }


@pytest.mark.parametrize("name", sorted(cases()))
@pytest.mark.parametrize("descending", [False, True])
def test_key_order_is_the_stable_order(name: str, descending: bool) -> None:
    values = cases()[name]
    got = key_order(values, descending)
    assert got.dtype == np.int64 and got.flags.c_contiguous
    assert got.tolist() == reference(values.tolist(), descending)
