"""The external files a registered NWB file names are served beside it, and nothing else is.

The viewer plays an ImageSeries' ``external_file`` from the NWB file's URL with its last
segment replaced by the relative name (``/files/<id>/<name>``). What may be served there is
decided by the NWB file (only names its ``external_file`` datasets give) and by where the
files really lie (the NWB file's own folder or below, symlinks followed, never the server's
own places). Hostile names (``..``, absolute paths, URLs, symlinks out, names it does not
give) answer 404, as a file that does not exist does.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import quote

import h5py
import pytest

from server_worker.files_external import servable_name
from server_worker.settings import save_tokens
from tests.test_server_static import TOKEN, make_client

AUTH = {"Authorization": f"Bearer {TOKEN}"}
VIDEO = bytes(range(256)) * 40  # what a video's bytes are does not matter to the server


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NWBSCOPE_RUNTIME_DIR", str(tmp_path / "runtime"))
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>site</title>")
    return tmp_path


@pytest.fixture
def client(places: Path):
    with make_client(places, places / "site") as c:
        yield c


def write_nwb(path: Path, names: list[str], *, group: str = "acquisition/camera") -> Path:
    """An HDF5 file whose ImageSeries ``group`` names ``names`` as its external files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        series = f.create_group(group)
        series.attrs["neurodata_type"] = "ImageSeries"
        series.create_dataset("external_file", data=names, dtype=h5py.string_dtype())
    return path


def put(path: Path, data: bytes = VIDEO) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def url_of(client, nwb: Path) -> str:
    answer = client.post("/api/files", json={"path": str(nwb)}, headers=AUTH)
    assert answer.status_code == 201, answer.text
    return answer.json()["url"]


def beside(url: str, name: str) -> str:
    """Where the viewer looks for ``name`` (``data.video._addresses``: quote, then join)."""
    return url.rsplit("/", 1)[0] + "/" + quote(name)


def test_named_files_are_served_with_ranges(client, places: Path) -> None:
    folder = places / "session"
    nwb = write_nwb(folder / "session.nwb", ["camera.webm", "videos/side view.mp4",
                                             "videos\\back.webm", "./dot.webm",
                                             "videos/../up.webm"])
    files = {name: put(folder / name, VIDEO + name.encode()) for name in
             ("camera.webm", "videos/side view.mp4", "videos/back.webm", "dot.webm", "up.webm")}
    url = url_of(client, nwb)
    for name, path in files.items():
        whole = client.get(beside(url, name))
        assert whole.status_code == 200, (name, whole.text)
        assert whole.content == path.read_bytes()
        assert whole.headers["accept-ranges"] == "bytes"
        part = client.get(beside(url, name), headers={"Range": "bytes=10-19"})
        assert part.status_code == 206
        assert part.content == path.read_bytes()[10:20]
        assert part.headers["content-range"] == f"bytes 10-19/{path.stat().st_size}"
        head = client.head(beside(url, name))
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["content-length"]) == path.stat().st_size
    assert client.get(beside(url, "camera.webm")).headers["content-type"] == "video/webm"
    assert client.get(beside(url, "videos/side view.mp4")).headers["content-type"] == \
        "video/mp4"
    assert client.get(url).content == nwb.read_bytes()  # the NWB file itself, as before


def test_nothing_else_under_the_id(client, places: Path) -> None:
    """Files in the folder that the NWB file does not name, and hostile names, are 404."""
    folder = places / "session"
    outside = put(places / "secret.webm", b"SECRET-BYTES")
    put(places / "etc" / "passwd", b"root:x:0:0")
    nwb = write_nwb(folder / "session.nwb", [
        "../secret.webm", str(outside), "/etc/passwd", "file:///etc/passwd",
        "http://example.org/a.webm", "C:\\videos\\a.webm", "videos/../../secret.webm",
        "out.webm", "sub", ""])
    put(folder / "unnamed.webm")
    (folder / "sub").mkdir()
    (folder / "out.webm").symlink_to(outside)  # named, but leads out of the folder
    url = url_of(client, nwb)
    base = url.rsplit("/", 1)[0]
    for tail in ("unnamed.webm", quote("../secret.webm"), quote("..%2Fsecret.webm"),
                 "..%2Fsecret.webm", quote(str(outside)), "etc/passwd", "%2Fetc%2Fpasswd",
                 "C:%5Cvideos%5Ca.webm", "videos/a.webm", "out.webm", "sub", "sub/",
                 "session.nwb/x", "", "./unnamed.webm", "videos%2F..%2F..%2Fsecret.webm"):
        answer = client.get(f"{base}/{tail}")
        assert answer.status_code == 404, (tail, answer.status_code)
        assert b"SECRET-BYTES" not in answer.content and b"root:" not in answer.content
    assert client.get(f"/files/{'0' * 32}/out.webm").status_code == 404  # no such id


def test_hostile_names_are_never_servable() -> None:
    for name in ("../a", "a/../../b", "/abs", "//host/share", "file:///x", "http://h/a",
                 "C:/v/a.mp4", "c:\\v\\a.mp4", "..", ".", "", "a\x00b", "..\\a"):
        assert servable_name(name) is None, name
    assert servable_name("videos\\a.mp4") == "videos/a.mp4"
    assert servable_name("./a/./b.webm") == "a/b.webm"
    assert servable_name("a/../b.webm") == "b.webm"


def test_symlinks_inside_the_folder_are_followed(client, places: Path) -> None:
    folder = places / "session"
    real = put(folder / "raw" / "take1.webm")
    nwb = write_nwb(folder / "session.nwb", ["camera.webm", "linked/take1.webm"])
    (folder / "camera.webm").symlink_to(real)
    (folder / "linked").symlink_to(folder / "raw")
    url = url_of(client, nwb)
    for name in ("camera.webm", "linked/take1.webm"):
        answer = client.get(beside(url, name))
        assert answer.status_code == 200 and answer.content == VIDEO
    # swapped for a link out of the folder: no longer served
    os.remove(folder / "camera.webm")
    (folder / "camera.webm").symlink_to(put(places / "elsewhere.webm", b"outside"))
    assert client.get(beside(url, "camera.webm")).status_code == 404


def test_the_server_places_stay_refused(client, places: Path) -> None:
    """A session folder that holds the data directory does not publish its tokens."""
    folder = places
    save_tokens(places / "data", {"user_token": TOKEN, "worker_token": "w"})
    nwb = write_nwb(folder / "session.nwb", ["data/tokens.json"])
    answer = client.get(beside(url_of(client, nwb), "data/tokens.json"))
    assert answer.status_code == 403
    assert TOKEN.encode() not in answer.content


def test_the_names_follow_the_file(client, places: Path) -> None:
    """Rewritten to name another video, the NWB file no longer publishes the first one."""
    folder = places / "session"
    put(folder / "a.webm")
    put(folder / "b.webm")
    nwb = write_nwb(folder / "session.nwb", ["a.webm"])
    url = url_of(client, nwb)
    assert client.get(beside(url, "a.webm")).status_code == 200
    assert client.get(beside(url, "b.webm")).status_code == 404
    time.sleep(0.01)  # a new mtime even on a coarse clock
    write_nwb(folder / "session.nwb", ["b.webm"], group="acquisition/other")
    assert client.get(beside(url, "a.webm")).status_code == 404
    assert client.get(beside(url, "b.webm")).status_code == 200


def test_a_missing_nwb_file_serves_nothing_beside_it(client, places: Path) -> None:
    folder = places / "session"
    put(folder / "a.webm")
    nwb = write_nwb(folder / "session.nwb", ["a.webm"])
    url = url_of(client, nwb)
    nwb.unlink()
    assert client.get(beside(url, "a.webm")).status_code == 404


def test_the_fixture_video_is_served(client, tmp_path: Path) -> None:
    """The browser tests' files (pynwb's ``external_file``, a WebM in a folder below)."""
    video_files = pytest.importorskip("tests.fixtures.view_video_files")
    pytest.importorskip("imageio_ffmpeg")
    written = video_files.ensure_files(tmp_path / "files")
    url = url_of(client, written[video_files.NWB_FILE])
    answer = client.get(beside(url, video_files.VIDEO["file"]),
                        headers={"Range": "bytes=0-3"})
    assert answer.status_code == 206
    assert answer.content == b"\x1a\x45\xdf\xa3"  # the EBML (Matroska/WebM) magic


def test_climbing_names_are_refused_past_the_http_layer(places: Path) -> None:
    """An HTTP client normalises ``..`` away before the server sees it; asked directly, the
    names the NWB file gives that climb out are refused too."""
    from server_worker.files import Refusal
    from server_worker.files_external import open_external

    folder = places / "session"
    put(places / "secret.webm", b"SECRET-BYTES")
    nwb = write_nwb(folder / "session.nwb", ["../secret.webm", "a/../../secret.webm",
                                             str(places / "secret.webm"), "ok.webm"])
    put(folder / "ok.webm")
    with nwb.open("rb") as f:
        for name in ("../secret.webm", "a/../../secret.webm", str(places / "secret.webm"),
                     "./ok.webm", "ok.webm/"):
            with pytest.raises(Refusal) as refused:
                open_external(nwb, f, name, [])
            assert refused.value.status == 404
        with open_external(nwb, f, "ok.webm", []) as served:
            assert served.read() == VIDEO
