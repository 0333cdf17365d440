"""Write the site folder incrementally: copy only what changed, then drop what is stale.

CI builds the site on every run, so an unchanged file is left alone (same size and
modification time as its source, as rsync judges it), and files a previous build wrote but
this one did not (an older nwbscope wheel folder, a removed page file) are deleted at the end.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sitebuild_pins import BuildError

MARKER = ".nwbscope-site"  # a folder holding it was written by this build


class SiteWriter:
    """Puts files under ``out_dir`` by relative path and remembers each one it put."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.written: set[str] = set()
        self.copied = 0
        if out_dir.exists():
            if not out_dir.is_dir():
                raise BuildError(f"{out_dir} exists and is not a folder.")
            if any(out_dir.iterdir()) and not (out_dir / MARKER).is_file():
                raise BuildError(
                    f"{out_dir} is not empty and holds no {MARKER}, so it was not built by "
                    "build_site.py; refusing to write (and prune) there. Choose another --out."
                )
        out_dir.mkdir(parents=True, exist_ok=True)
        self.put_bytes(b"Written by build/build_site.py; other files here get pruned.\n", MARKER)

    def _claim(self, rel: str) -> Path:
        if rel in self.written:
            raise BuildError(f"Two files of the site want the same path {rel!r}.")
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise BuildError(f"Site path {rel!r} must be relative and stay inside the site.")
        self.written.add(rel)
        target = self.out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def put_file(self, source: Path, rel: str) -> Path:
        """Copy ``source`` to ``rel`` unless an identical copy (size, mtime) is there."""
        target = self._claim(rel)
        src = source.stat()
        if target.is_file():
            dst = target.stat()
            if dst.st_size == src.st_size and dst.st_mtime_ns == src.st_mtime_ns:
                return target
        tmp = target.with_name(target.name + ".tmp")
        shutil.copyfile(source, tmp)
        os.utime(tmp, ns=(src.st_atime_ns, src.st_mtime_ns))
        tmp.replace(target)
        self.copied += 1
        return target

    def put_bytes(self, data: bytes, rel: str) -> Path:
        """Write ``data`` to ``rel`` unless the file already holds exactly these bytes."""
        target = self._claim(rel)
        if target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data:
            return target
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
        self.copied += 1
        return target

    def put_tree(self, source_dir: Path, rel_dir: str, *, skip_dirs: set[str] = frozenset(),
                 skip_suffixes: set[str] = frozenset()) -> list[str]:
        """Copy a folder, keeping its layout; dotfiles, caches and skipped names stay out."""
        placed = []
        for path in sorted(source_dir.rglob("*")):
            rel = path.relative_to(source_dir)
            if not path.is_file() or path.suffix in skip_suffixes:
                continue
            if any(p.startswith(".") or p == "__pycache__" or p in skip_dirs for p in rel.parts):
                continue
            dest = f"{rel_dir}/{rel.as_posix()}" if rel_dir else rel.as_posix()
            self.put_file(path, dest)
            placed.append(dest)
        return placed

    def prune(self) -> list[str]:
        """Delete every file this build did not write, then empty folders; return the paths."""
        removed = []
        for path in sorted(self.out_dir.rglob("*"), reverse=True):
            rel = path.relative_to(self.out_dir).as_posix()
            if path.is_file() or path.is_symlink():
                if rel not in self.written:
                    path.unlink()
                    removed.append(rel)
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        return removed
