"""``nwbscope.open``: the public entry point, its sources and the errors a scientist sees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nwbscope
from nwbscope.errors import NotFoundError, NotHDF5Error, SourceError, TruncatedFileError
from nwbscope.viewer import ViewerSession
from tests.fixtures import nwb_files as rec


def test_open_path_and_read(rich_nwb: Path, engine: str) -> None:
    with nwbscope.open(rich_nwb, engine=engine) as f:
        assert f.engine == engine and f.is_nwb
        assert f.metadata.identifier == rec.RICH["identifier"]
        data = f["/acquisition/ElectricalSeries/data"]
        np.testing.assert_array_equal(data[100:103, 5:7], rec.es_data()[100:103, 5:7])
        assert f.timebase("/acquisition/temperature").rate == rec.TEMP_RATE
        np.testing.assert_array_equal(f.table("/units").cell("spike_times", 4),
                                      rec.spike_times()[4])
        assert "NWB file 'rich.nwb'" in repr(f)


def test_open_bytes(minimal_nwb: Path, engine: str) -> None:
    with nwbscope.open(minimal_nwb.read_bytes(), engine=engine) as f:
        assert f.metadata.session_description == "minimal"
        assert f.size == minimal_nwb.stat().st_size


def test_auto_engine_in_cpython(minimal_nwb: Path) -> None:
    with nwbscope.open(str(minimal_nwb)) as f:
        assert f.engine in ("h5py", "pyfive")


def test_not_hdf5(not_hdf5: Path, engine: str) -> None:
    with pytest.raises(NotHDF5Error, match="looks like an HTML page"):
        nwbscope.open(not_hdf5, engine=engine)
    with pytest.raises(NotHDF5Error):
        ViewerSession(not_hdf5, engine=engine)


def test_truncated(truncated_nwb: Path, engine: str) -> None:
    with pytest.raises(TruncatedFileError, match="truncated") as info:
        ViewerSession(truncated_nwb, engine=engine).children("/")
    assert info.value.size == truncated_nwb.stat().st_size


def test_missing_file_and_path(tmp_path: Path, minimal_nwb: Path, engine: str) -> None:
    with pytest.raises(SourceError):
        nwbscope.open(tmp_path / "absent.nwb", engine=engine)
    with nwbscope.open(minimal_nwb, engine=engine) as f, pytest.raises(NotFoundError) as info:
        f["/acquisition/missing"]
    assert "/acquisition/missing" in str(info.value)


def test_viewer_import_stays_light() -> None:
    """Layers 3-4 load before the tree shows: no pynwb, hdmf, pandas, h5py or Bokeh."""
    import os
    import subprocess
    import sys

    from tests.conftest import WEB_PY

    code = ("import sys; import nwbscope.viewer, nwbscope.nwb; print(sorted({m.split('.')[0] "
            "for m in sys.modules} & {'h5py', 'pynwb', 'hdmf', 'pandas', 'bokeh'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(WEB_PY)})
    assert out.stdout.strip() == "[]"


def test_session_over_bytes_names_its_url(minimal_nwb: Path, engine: str) -> None:
    """The worker opens its own byte source and tells the session the URL for snippets."""
    url = "https://example.org/dandi/sub-1_ses-2.nwb?versionId=7"
    viewer = ViewerSession(minimal_nwb.read_bytes(), engine=engine, source=url)
    try:
        assert viewer.summary()["name"] == "sub-1_ses-2.nwb"
        snippet = viewer.details("/session_description")["snippet"]
        assert f"remfile.File({url!r})" in snippet["pynwb"]
        assert "nwbfile.session_description" in snippet["pynwb"]
        assert f"nwbscope.open({url!r})" in snippet["nwbscope"]
    finally:
        viewer.close()
