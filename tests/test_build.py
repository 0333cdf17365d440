"""The static-site build: pins enforced, manifest right, our wheel current, rebuilds incremental.

One real build runs per session into a temporary folder, re-using the download cache
(``~/.cache/nwbscope-build``; the first build on a machine fetches about 90 MB). Tampering tests
work on a copy of that cache made of symlinks, with only the tampered file a real copy, so the
shared cache is never touched. Browser loading of the site is the Playwright suite's job.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build"
if str(BUILD) not in sys.path:
    sys.path.insert(0, str(BUILD))

import build_site  # noqa: E402
from sitebuild_fetch import _extract, resolve_packages  # noqa: E402
from sitebuild_pins import BuildError, PinMismatchError, load_pins, sha256_file  # noqa: E402
from sitebuild_wheel import is_pure_wheel, pure_wheel_bytes  # noqa: E402

PINS = tomllib.loads((BUILD / "pins.toml").read_text())
PACKAGE_DIR = REPO / "web" / "py" / "nwbscope"


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    build_site.build_site(out, quiet=True)
    return out


@pytest.fixture(scope="session")
def manifest(site: Path) -> dict:
    return json.loads((site / "manifest.json").read_text())


@pytest.fixture(scope="session")
def lock(site: Path) -> dict:
    return json.loads((site / "pyodide" / "pyodide-lock.json").read_text())


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- manifest ------------------------------------------------------------------------------

def test_manifest_versions_come_from_the_pins(manifest: dict, lock: dict) -> None:
    assert manifest["pyodide_version"] == lock["info"]["version"] == "0.27.7"
    assert manifest["python_version"] == "3.12.7"
    assert manifest["bokeh_version"] == "3.6.0"
    assert manifest["pyscript_version"] == "0.6.66"
    assert manifest["micropython_version"] == "1.27.0"
    built = datetime.strptime(manifest["built_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(0) <= datetime.now(UTC) - built < timedelta(hours=2)


def test_manifest_packages_are_the_resolved_closures(manifest: dict) -> None:
    core, views = manifest["core_packages"], manifest["view_packages"]
    assert core == ["numpy"]  # nothing installs with micropip: neither it nor packaging
    assert sorted(views) == sorted(
        ["pandas", "python-dateutil", "pytz", "six"]
    )
    assert views.index("six") < views.index("python-dateutil") < views.index("pandas")
    assert not set(core) & set(views)


def test_manifest_wheels_by_group(manifest: dict) -> None:
    names = {g: [Path(u).name.split("-")[0].lower() for u in urls]
             for g, urls in manifest["wheels"].items()}
    assert names["core"] == ["pyfive", "fsspec", "nwbscope"]
    assert sorted(names["views"]) == sorted(
        ["bokeh", "jinja2", "markupsafe", "pyyaml", "xyzservices", "typing_extensions"]
    )


def test_every_manifest_url_is_relative_and_present(site: Path, manifest: dict) -> None:
    urls = [*manifest["wheels"]["core"], *manifest["wheels"]["views"],
            *manifest["urls"]["bokehjs"],
            *(v for k, v in manifest["urls"].items() if k != "bokehjs")]
    assert len(urls) == 3 + 6 + 4 + 5
    for url in urls:
        assert not url.startswith(("/", "http:", "https:")) and ".." not in url, url
        assert (site / url).exists(), url


# -- every file against its pin ------------------------------------------------------------

def test_pyodide_files_match_the_lock_and_nothing_else_is_there(
    site: Path, manifest: dict
) -> None:
    """Every file is npm's or the lock's, or (precompiled) made from exactly that file; the
    site's lock differs from npm's only in the sha256 of the files rewritten with pycs."""
    npm = BUILD / "node_modules" / "pyodide"
    lock = json.loads((npm / "pyodide-lock.json").read_text())  # npm's: the originals
    wanted = manifest["core_packages"] + manifest["view_packages"]
    expected = {lock["packages"][n]["file_name"]: lock["packages"][n]["sha256"] for n in wanted}
    core_files = set(build_site.PYODIDE_CORE)
    present = {p.name for p in (site / "pyodide").iterdir()}
    assert present == set(expected) | core_files
    rewritten = (manifest.get("precompiled") or {}).get("files") or {}
    for name, sha in expected.items():
        made = rewritten.get(f"pyodide/{name}")
        served = _sha(site / "pyodide" / name)
        if made:
            assert made["source_sha256"] == sha and made["sha256"] == served, name
        else:
            assert served == sha, name
    for name in core_files - {"pyodide-lock.json"}:
        made = rewritten.get(f"pyodide/{name}")
        original = _sha(npm / name)
        if made:
            assert made["source_sha256"] == original
            assert made["sha256"] == _sha(site / "pyodide" / name), name
        else:
            assert _sha(site / "pyodide" / name) == original, name
    served_lock = json.loads((site / "pyodide" / "pyodide-lock.json").read_text())
    for name, entry in lock["packages"].items():
        mine = served_lock["packages"][name]
        made = rewritten.get(f"pyodide/{entry['file_name']}")
        assert mine["sha256"] == (made["sha256"] if made else entry["sha256"]), name
        assert {k: v for k, v in mine.items() if k != "sha256"} == {
            k: v for k, v in entry.items() if k != "sha256"}, name
    assert served_lock["info"] == lock["info"]


def test_wheels_match_pins_and_built_ones_are_pure(site: Path, manifest: dict) -> None:
    checked = 0
    for pin in PINS["wheels"]:
        if pin.get("from") == "sdist":
            path = site / "wheels" / f"{pin['name']}-{pin['version']}-py3-none-any.whl"
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
            assert not [n for n in names if n.endswith((".so", ".pyd"))], names
            assert any(n.endswith(".py") for n in names)
        else:
            path = site / "wheels" / pin["filename"]
            made = ((manifest.get("precompiled") or {}).get("files") or {}).get(
                f"wheels/{pin['filename']}")
            if made:  # pycs added to the pinned wheel: made from exactly the pinned bytes
                assert made["source_sha256"] == pin["sha256"], path.name
                assert made["sha256"] == _sha(path), path.name
            else:
                assert _sha(path) == pin["sha256"], path.name
        checked += 1
    assert checked == 8
    assert len(list((site / "wheels").glob("*.whl"))) == 8


def test_bokehjs_comes_from_the_bokeh_wheel(site: Path) -> None:
    bokeh = site / "wheels" / "bokeh-3.6.0-py3-none-any.whl"
    with zipfile.ZipFile(bokeh) as archive:
        for name in PINS["bokehjs"]["files"]:
            inside = archive.read("bokeh/server/static/js/" + name)
            assert (site / "bokeh" / name).read_bytes() == inside, name
    assert b"3.6.0" in (site / "bokeh" / "bokeh.min.js").read_bytes()


def test_runtimes_from_npm(site: Path) -> None:
    assert (site / "pyscript" / "core.js").is_file()
    assert not list((site / "pyscript").glob("*.map"))
    wasm = (site / "micropython" / "micropython.wasm").read_bytes()
    assert wasm[:4] == b"\0asm"
    assert (site / "pyodide" / "pyodide.asm.wasm").read_bytes()[:4] == b"\0asm"


def test_page_is_web_without_the_python_package(site: Path) -> None:
    web = REPO / "web"
    for path in web.rglob("*"):
        rel = path.relative_to(web)
        if not path.is_file() or rel.parts[0] == "py" or "__pycache__" in rel.parts:
            continue
        assert (site / rel).read_bytes() == path.read_bytes(), rel
    assert not (site / "py").exists()
    shared = (web / "py" / "nwbscope" / "sources" / "probe.py").read_bytes()
    assert (site / "probe.py").read_bytes() == shared  # the page's MicroPython loads it too


# -- our own wheel -------------------------------------------------------------------------

def _sources() -> dict[str, bytes]:
    return {
        f"nwbscope/{p.relative_to(PACKAGE_DIR).as_posix()}": p.read_bytes()
        for p in PACKAGE_DIR.rglob("*.py") if "__pycache__" not in p.parts
    }


def test_nwbscope_wheel_holds_the_current_package(site: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    shutil.copytree(site, out, copy_function=shutil.copy2)
    for _attempt in range(3):  # sources edited while the build ran: build again
        before = _sources()
        manifest = json.loads(build_site.build_site(out, quiet=True).read_text())
        if _sources() == before:
            break
    url = manifest["wheels"]["core"][-1]
    wheel = out / url
    digest = _sha(wheel)
    assert manifest["nwbscope_wheel_sha256"] == digest
    assert url == f"wheels/{digest[:12]}/nwbscope-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        inside = {n: archive.read(n) for n in archive.namelist() if n.startswith("nwbscope/")}
        record = archive.read("nwbscope-0.1.0.dist-info/RECORD").decode().splitlines()
        metadata = archive.read("nwbscope-0.1.0.dist-info/METADATA").decode()
    assert {n: b for n, b in inside.items() if n.endswith(".py")} == before
    assert "Name: nwbscope\nVersion: 0.1.0\n" in metadata
    for line in record:
        name, hashed, size = line.rsplit(",", 2)
        if name.endswith("RECORD"):
            continue
        data = inside.get(name) if name.startswith("nwbscope/") else None
        if data is not None:
            b64 = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert hashed == "sha256=" + b64.decode() and int(size) == len(data), name
    assert len(record) == len(inside) + 4  # METADATA, WHEEL, top_level.txt, RECORD


def test_nwbscope_wheel_imports_from_the_zip(site: Path, manifest: dict) -> None:
    wheel = site / manifest["wheels"]["core"][-1]
    code = "import nwbscope.errors as e; print(e.__file__); print(e.NotFoundError('/x'))"
    done = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, "
                           f"{str(wheel)!r}); {code}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first == f"{wheel}/nwbscope/errors.py"
    assert second == "There is no object at '/x' in the file."


def test_wheel_bytes_are_reproducible_and_follow_the_sources(tmp_path: Path) -> None:
    package = tmp_path / "demo"
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 1\n")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.pyc").write_bytes(b"junk")
    first = pure_wheel_bytes(package, version="1.0")
    assert first == pure_wheel_bytes(package, version="1.0")
    assert first[0] == "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(__import__("io").BytesIO(first[1])) as archive:
        assert "demo/__pycache__/x.pyc" not in archive.namelist()
    (package / "__init__.py").write_text("VALUE = 2\n")
    assert pure_wheel_bytes(package, version="1.0")[1] != first[1]


# -- refusing bad files --------------------------------------------------------------------

def _cache_copy(tmp_path: Path) -> Path:
    """A private view of the shared cache: symlinks, so a tampered file is our own copy."""
    shared = build_site.DEFAULT_CACHE
    private = tmp_path / "cache"
    shutil.copytree(shared, private, copy_function=os.symlink)
    return private


def _tamper(path: Path) -> str:
    data = bytearray(path.read_bytes())
    path.unlink()  # drop the symlink; never write through it into the shared cache
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return hashlib.sha256(bytes(data)).hexdigest()


@pytest.mark.parametrize(
    ("relative", "pinned_in"),
    [
        ("downloads/pyfive-1.2.1-py3-none-any.whl", "build/pins.toml"),
        ("pyodide-packages/0.27.7/numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl",
         "pyodide-lock.json 0.27.7"),
        ("built/markupsafe-2.1.5/markupsafe-2.1.5-py3-none-any.whl", "record of its build"),
    ],
)
def test_tampered_cached_file_is_refused(
    site: Path, tmp_path: Path, relative: str, pinned_in: str
) -> None:
    cache = _cache_copy(tmp_path)
    expected = sha256_file(cache / relative)
    actual = _tamper(cache / relative)
    out = tmp_path / "out"
    with pytest.raises(PinMismatchError) as caught:
        build_site.build_site(out, cache_dir=cache, quiet=True)
    message = str(caught.value)
    assert Path(relative).name in message and pinned_in in message
    assert expected in message and actual in message
    assert caught.value.expected == expected and caught.value.actual == actual
    assert not (out / "manifest.json").exists()
    assert sha256_file(build_site.DEFAULT_CACHE / relative) == expected  # shared cache intact


def test_cli_reports_a_mismatch_and_exits_1(site: Path, tmp_path: Path) -> None:
    cache = _cache_copy(tmp_path)
    _tamper(cache / "downloads" / "bokeh-3.6.0-py3-none-any.whl")
    done = subprocess.run([sys.executable, str(BUILD / "build_site.py"), "--quiet", "--out",
                           str(tmp_path / "out"), "--cache", str(cache)],
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert "build_site: bokeh-3.6.0-py3-none-any.whl has sha256" in done.stderr
    assert "699e0df76cdfe54b5f574738647bd0ce230fa44fa0fcda5923e1f0f550f83d74" in done.stderr


# -- incremental rebuilds and a safe output folder -------------------------------------------

def test_rebuild_copies_nothing_unchanged_and_prunes_stale(site: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    shutil.copytree(site, out, copy_function=shutil.copy2)
    stale = out / "wheels" / "0123456789ab" / "nwbscope-0.0.1-py3-none-any.whl"
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    wasm = out / "pyodide" / "pyodide.asm.wasm"
    before = wasm.stat().st_mtime_ns
    build_site.build_site(out, quiet=True)
    assert not stale.exists() and not stale.parent.exists()
    assert wasm.stat().st_mtime_ns == before
    def files(root: Path) -> set[Path]:  # our wheel's folder follows the (live) sources
        return {p.relative_to(root) for p in root.rglob("*") if p.is_file()
                and p.parent.parent.name != "wheels"}
    assert files(out) == files(site)
    assert len([p for p in (out / "wheels").iterdir() if p.is_dir()]) == 1


def test_refuses_a_folder_it_did_not_build(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(BuildError, match="not built by build_site.py"):
        build_site.build_site(tmp_path, quiet=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_resolve_packages_orders_dependencies_and_names_the_missing() -> None:
    lock = {"packages": {
        "a": {"depends": ["b", "c"]}, "b": {"depends": ["c"]}, "c": {"depends": []},
        "d": {"depends": ["zzz"]},
    }}
    assert resolve_packages(lock, ["a"]) == ["c", "b", "a"]
    assert resolve_packages(lock, ["C", "a"]) == ["c", "b", "a"]
    with pytest.raises(BuildError, match=r"'zzz' \(needed by d\) is not in pyodide-lock.json"):
        resolve_packages(lock, ["d"])


def test_pins_file_is_complete() -> None:
    pins = load_pins()
    assert pins.pyodide_packages.sha256 == (
        "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392"
    )
    assert {p.name for p in pins.wheels if p.from_sdist} == {"markupsafe", "pyyaml"}
    assert all(len(p.sha256) == 64 for p in pins.wheels)


def test_extract_checks_each_file_against_the_lock(tmp_path: Path) -> None:
    source = tmp_path / "src-1.0-py3-none-any.whl"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("pkg/assets/pyodide/a-1.0-py3-none-any.whl", b"real bytes")
    good = {"file_name": "a-1.0-py3-none-any.whl",
            "sha256": hashlib.sha256(b"real bytes").hexdigest()}
    _extract(source, "pkg/assets/pyodide/", [good], tmp_path / "out")
    assert (tmp_path / "out" / "a-1.0-py3-none-any.whl").read_bytes() == b"real bytes"
    bad = dict(good, sha256="0" * 64)
    with pytest.raises(PinMismatchError, match="a-1.0-py3-none-any.whl has sha256 "
                       + good["sha256"] + ", but pyodide-lock.json"):
        _extract(source, "pkg/assets/pyodide/", [bad], tmp_path / "again")
    assert not (tmp_path / "again" / "a-1.0-py3-none-any.whl").exists()
    with pytest.raises(BuildError, match="has no pkg/assets/pyodide/b.whl"):
        _extract(source, "pkg/assets/pyodide/", [dict(good, file_name="b.whl")], tmp_path)


def test_is_pure_wheel_rejects_compiled_or_platform_wheels(tmp_path: Path) -> None:
    def wheel(name: str, member: str) -> Path:
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(member, b"")
        return path

    assert is_pure_wheel(wheel("a-1-py3-none-any.whl", "a/__init__.py"))
    assert not is_pure_wheel(wheel("b-1-py3-none-any.whl", "b/_speed.cpython-311.so"))
    assert not is_pure_wheel(wheel("c-1-cp311-cp311-linux_x86_64.whl", "c/__init__.py"))


def test_a_machine_without_node_is_told_what_to_install(tmp_path, monkeypatch):
    import sitebuild_fetch

    (tmp_path / "package-lock.json").write_text("{}")
    monkeypatch.setattr(sitebuild_fetch.shutil, "which", lambda name: None)
    with pytest.raises(BuildError) as caught:
        sitebuild_fetch.npm_ci(tmp_path, quiet=True)
    message = str(caught.value)
    assert "apt-get install nodejs npm" in message
    assert "\n" not in message  # one line, as `nwbscope serve` prints it


def test_download_bytes_are_the_files_a_first_visit_loads_before_the_tree(
        site: Path, manifest: dict) -> None:
    lock = json.loads((site / "pyodide" / "pyodide-lock.json").read_text())
    python = sum((site / "pyodide" / name).stat().st_size for name in build_site.PYODIDE_CORE)
    packages = [site / "pyodide" / lock["packages"][n]["file_name"]
                for n in manifest["core_packages"]]
    packages += [site / rel for rel in manifest["wheels"]["core"]]
    assert manifest["download_bytes"] == {
        "python": python, "packages": sum(p.stat().st_size for p in packages)}
    assert manifest["download_bytes"]["python"] > 10_000_000  # the wasm alone is 10 MB
