"""The Neurosift reference's machinery, without a built Neurosift or a browser: heading parsing,
the "tree on screen" rule, the headings expected for a file, patching, caching and the clean
skip when the mirrors are missing. No timings here."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from bench import neurosift_site as site
from bench import neurosift_start as start


@pytest.mark.parametrize(("text", "parsed"), [
    ("► acquisition (41)", ("acquisition", 41)),
    ("\u00a0\u00a0\u00a0 analysis (0)", ("analysis", 0)),
    ("► units (80 units)", ("units", 80)),
    ("▼ processing/behavior (1)", ("processing/behavior", 1)),
    ("► intervals -", ("intervals", None)),
    ("► units ...", ("units", None)),
    ("loading processing... -", ("loading processing...", None)),
])
def test_parse_heading(text: str, parsed: tuple[str, int | None]) -> None:
    assert start.parse_heading(text) == parsed


def test_tree_shown_waits_for_every_count() -> None:
    expected = ["acquisition", "intervals", "units"]
    done = ["► acquisition (41)", "► intervals (1)", "► units (80 units)"]
    assert start.tree_shown(done, expected)
    assert not start.tree_shown(["► acquisition (41)", "► intervals (1)", "► units ..."],
                                expected)
    assert not start.tree_shown(["► acquisition (41)", "► intervals -"], expected)
    assert not start.tree_shown([*done, "loading processing... -"], expected)
    assert not start.tree_shown([], [])


def _nwb_like(path: Path, stimulus_data: bool = False, units: bool = True) -> Path:
    with h5py.File(path, "w") as f:
        f.create_dataset("identifier", data="x")
        f.create_group("acquisition").create_dataset("ts/data", data=np.arange(3))
        f.create_group("analysis")
        f.create_group("general/devices")
        f.create_group("specifications/core")
        stim = f.create_group("stimulus")
        stim.create_group("templates")
        pres = stim.create_group("presentation")
        if stimulus_data:
            pres.create_dataset("s/data", data=np.arange(2))
        f.create_group("processing/behavior")
        f.create_group("processing/ecephys")
        f.create_group("intervals/trials")
        u = f.create_group("units")
        if units:
            u.create_dataset("id", data=np.arange(4))
    return path


def test_expected_headings_follow_neurosift_rules(tmp_path: Path) -> None:
    plain = _nwb_like(tmp_path / "a.nwb")
    assert start.expected_headings(plain) == [
        "acquisition", "analysis", "intervals", "processing/behavior", "processing/ecephys",
        "units"]
    both = start.expected_headings(_nwb_like(tmp_path / "b.nwb", stimulus_data=True,
                                             units=False))
    assert "stimulus" in both and "units" not in both


def test_apply_patches_needs_exactly_one_match(tmp_path: Path) -> None:
    target = tmp_path / "src" / "a.ts"
    target.parent.mkdir()
    target.write_text('x = load("far");\n')
    patch = site.Patch("a.ts", 'load("far")', 'load("near")', "test")
    site.apply_patches(tmp_path / "src", [patch])
    assert target.read_text() == 'x = load("near");\n'
    with pytest.raises(ValueError, match="0 times"):
        site.apply_patches(tmp_path / "src", [patch])


def test_the_pinned_patch_names_the_worker_it_serves() -> None:
    (patch,) = site.PATCHES
    assert "tempory.net" in patch.old and f"/{site.WORKER_NAME}" in patch.new


def test_missing_mirror_is_one_line_and_none(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(site, "NEUROSIFT_GIT", tmp_path / "absent")
    dist, why = site.neurosift_dist(out=tmp_path / "out")
    assert dist is None
    assert "no Neurosift mirror" in why and "\n" not in why
    assert not (tmp_path / "out").exists()


def test_cached_dist_is_not_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    (out / "dist").mkdir(parents=True)
    (out / "dist" / "index.html").write_text("<html></html>")
    (out / "dist" / site.WORKER_NAME).write_text("")
    (out / "build.json").write_text(json.dumps({"neurosift": {"commit": "abcdef0123"}}))
    monkeypatch.setattr(site, "build", lambda *_: pytest.fail("rebuilt a cached dist"))
    dist, why = site.neurosift_dist(out=out)
    assert dist == out / "dist" and "cached" in why and "abcdef01" in why


def test_measure_skips_cleanly_without_neurosift(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(site, "neurosift_dist", lambda: (None, "no mirror here"))
    monkeypatch.setattr(start, "CHROMIUM", "/bin/sh")  # the browser check passes
    pytest.importorskip("playwright.sync_api")
    case = start.measure(runs=1)
    assert case == {"measured": False, "reason": "no mirror here"}
    assert start._line(case) == "Neurosift not measured: no mirror here"


def test_cpu_load_starts_and_ends_its_processes() -> None:
    with start.cpu_load(2) as pids:
        assert len(pids) == 2
        for pid in pids:
            os.kill(pid, 0)  # alive
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with start.cpu_load(0) as none:
        assert none == []
