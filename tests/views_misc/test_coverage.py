"""Every core neurodata type with a ``data`` dataset, as the schema lists them (pynwb's
namespace catalog), is in view_coverage.nwb and opens in its default view, whose first
``frames(window)`` runs to the end without an error.

Failures are collected and reported together (type, path, view, error), so one missing view
module does not hide the state of the others; the views used are printed (``-s``) and kept
in ``VIEWS_USED`` for the report.
"""

from __future__ import annotations

import traceback

import pytest

import nwbscope
from nwbscope.views.panels import PanelSet
from nwbscope.views.window import TimeWindow
from tests.fixtures import view_coverage_files as vc

VIEWS_USED: dict[str, str] = {}


def test_the_file_holds_every_data_type(misc_files) -> None:
    types = vc.data_types()
    assert "TimeSeries" in types and "DecompositionSeries" in types  # the catalog was read
    assert not set(vc.EXCLUDED) & set(types)
    missing = sorted(set(types) - set(vc.coverage_objects(misc_files[1])))
    assert not missing, f"view_coverage.nwb lacks the schema's data types {missing}: add a " \
                        "recipe in tests/fixtures/view_misc_files.py (or exclude it, saying why)"


@pytest.mark.parametrize("engine", ["pyfive", "h5py"])
def test_every_data_type_opens_and_draws(misc_files, engine: str) -> None:
    objects = vc.coverage_objects(misc_files[1])
    failures: list[str] = []
    with nwbscope.open(misc_files[1], engine=engine) as nwb:
        panels = PanelSet(nwb)
        for kind in vc.data_types():
            path = objects.get(kind)
            if path is None:
                failures.append(f"{kind}: not in the file")
                continue
            view = "?"
            try:
                doc = panels.open(path)
                view = doc.view
                window = TimeWindow(doc.window[0], doc.window[1], 800, cursor=doc.window[0])
                frames = list(panels.frames(doc.panel_id, window))
                assert frames, "no frame"
                VIEWS_USED[kind] = view
            except ModuleNotFoundError as error:
                failures.append(f"{kind} at {path}: view module missing ({error})")
            except Exception as error:  # noqa: BLE001 - every failure is listed below
                last = traceback.extract_tb(error.__traceback__)[-1]
                failures.append(f"{kind} at {path} (view {view}): {type(error).__name__}: "
                                f"{error} [{last.filename.rsplit('/', 1)[-1]}:{last.lineno}]")
    print("\nviews used:", ", ".join(f"{k} -> {v}" for k, v in sorted(VIEWS_USED.items())))
    assert not failures, "these types fail:\n" + "\n".join(failures)
