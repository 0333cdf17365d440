"""Make the wheel of our own pure-Python package, byte for byte reproducible.

Why not ``pip wheel .``: the project's pyproject.toml describes the CPython install (server,
broker, h5py...), while the browser needs only ``web/py/nwbscope``. Writing the wheel here takes
milliseconds, needs no build backend, and gives the same bytes for the same sources (sorted
entries, fixed timestamps), so its sha256 is a true content hash for cache-busting URLs.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

# Zip cannot store dates before 1980; a fixed date keeps the bytes reproducible.
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".so", ".pyd"}


def package_files(package_dir: Path) -> list[Path]:
    """The files that belong in the wheel: everything but caches, bytecode and dotfiles."""
    files = []
    for path in sorted(package_dir.rglob("*")):
        rel = path.relative_to(package_dir)
        if not path.is_file() or any(p in SKIP_DIRS or p.startswith(".") for p in rel.parts):
            continue
        if path.suffix in SKIP_SUFFIXES:
            continue
        files.append(path)
    return files


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _metadata(name: str, version: str, summary: str, requires_python: str,
              requires: Iterable[str]) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {summary}",
        f"Requires-Python: {requires_python}",
        *(f"Requires-Dist: {req}" for req in requires),
    ]
    return "\n".join(lines) + "\n"


def pure_wheel_bytes(
    package_dir: Path,
    *,
    version: str,
    summary: str = "",
    requires_python: str = ">=3.11",
    requires: Iterable[str] = (),
) -> tuple[str, bytes]:
    """``(filename, bytes)`` of ``<name>-<version>-py3-none-any.whl`` for ``package_dir``.

    The package is importable under its folder name; the wheel holds it at the top level with
    a ``.dist-info`` (METADATA, WHEEL, RECORD with sha256 of every entry).
    """
    name = package_dir.name
    dist_info = f"{name}-{version}.dist-info"
    entries: list[tuple[str, bytes]] = [
        (f"{name}/{path.relative_to(package_dir).as_posix()}", path.read_bytes())
        for path in package_files(package_dir)
    ]
    if not any(arc == f"{name}/__init__.py" for arc, _ in entries):
        raise ValueError(f"{package_dir} has no __init__.py; it is not a package.")
    entries.append((f"{dist_info}/METADATA",
                    _metadata(name, version, summary, requires_python, requires).encode()))
    entries.append((f"{dist_info}/WHEEL", (
        b"Wheel-Version: 1.0\nGenerator: nwbscope build_site\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n")))
    entries.append((f"{dist_info}/top_level.txt", f"{name}\n".encode()))
    record_name = f"{dist_info}/RECORD"
    record = "".join(f"{arc},{_record_hash(data)},{len(data)}\n" for arc, data in entries)
    record += f"{record_name},,\n"
    entries.append((record_name, record.encode()))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for arcname, data in entries:
            info = zipfile.ZipInfo(arcname, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return f"{name}-{version}-py3-none-any.whl", buffer.getvalue()


def is_pure_wheel(path: Path) -> bool:
    """True for a ``py3-none-any`` wheel holding no compiled extension."""
    if not path.name.endswith("-py3-none-any.whl"):
        return False
    with zipfile.ZipFile(path) as archive:
        return not any(Path(n).suffix in SKIP_SUFFIXES for n in archive.namelist())
