"""Neurosift v1's web app, built from source, as a reference for the start-up benchmark (#14).

Issue #14 compares our start-up cost with Neurosift's *in the same run*, so the figure must come
from a Neurosift served here, not from a number quoted once. This module rebuilds it
reproducibly from two GitHub snapshots that the ``fetch`` tool leaves under ``/work/.mirror``:

- ``flatironinstitute/neurosift`` at the head of branch ``main-v1`` (pinned below): the v1 GUI
  lives in ``gui/`` (React + Vite, locked by ``gui/yarn.lock``); ``main`` is the v2 rewrite.
- ``magland/remote-h5-worker`` tag ``0.1.2``: v1 reads HDF5 in a worker (h5wasm) that it loads
  at run time from ``https://tempory.net/js/RemoteH5Worker.js``; that comment in Neurosift names
  this tag's ``dist/RemoteH5Worker.js`` as the source of truth. The benchmark machine has no
  internet, so the file is copied next to the app and the one line that loads it is patched to
  the app's own origin (``PATCHES``; recorded in build.json). Nothing else is changed.

Install: ``yarn install --frozen-lockfile`` (yarn 1 from the npm registry via npx), so the
packages are the ones the lockfile names, not whatever npm resolves today. Build:
``vite build`` only; the package's ``build`` script runs ``tsc`` first, but its tsconfig has
``noEmit`` (a type check), so it changes no output and is skipped.

Output under ``bench/data/neurosift`` (git-ignored): ``src/`` (git archive of ``gui/``),
``dist/`` (the site) and ``build.json`` (commits, patch, tool versions, build seconds). A second
call finds ``dist`` and does nothing.

    python3 bench/neurosift_site.py            # build (or report the cached build)
    python3 bench/neurosift_site.py --force    # rebuild
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import common  # noqa: E402

MIRRORS = Path("/work/.mirror")
NEUROSIFT_GIT = MIRRORS / "flatironinstitute+neurosift" / "repo"
NEUROSIFT_BRANCH = "main-v1"
NEUROSIFT_COMMIT = "564a5868b947b58281d782c783449e31df45667b"  # main-v1 head, 2025-02-18
NEUROSIFT_FOLDER = "gui"
WORKER_GIT = MIRRORS / "magland+remote-h5-worker" / "repo"
WORKER_TAG = "0.1.2"
WORKER_FILE = "dist/RemoteH5Worker.js"
WORKER_NAME = "RemoteH5Worker.js"  # where the patched app looks for it: <origin>/RemoteH5Worker.js
YARN = "yarn@1.22.22"

OUT = common.DATA / "neurosift"


@dataclass(frozen=True)
class Patch:
    """One literal replacement in the archived source; it must match exactly once."""

    path: str
    old: str
    new: str
    why: str


PATCHES = [
    Patch(
        path="src/neurosift-lib/remote-h5-file/lib/helpers.ts",
        old='createWorker("https://tempory.net/js/RemoteH5Worker.js")',
        # A blob: worker cannot resolve a relative URL, hence the absolute one.
        new=f'createWorker(new URL("/{WORKER_NAME}", window.location.href).href)',
        why="load the h5wasm worker from the local site instead of tempory.net (no internet)",
    ),
]


def _git(git_dir: Path, *args: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True,
                          capture_output=True).stdout


def _has_commit(git_dir: Path, ref: str) -> bool:
    if not git_dir.is_dir():
        return False
    done = subprocess.run(["git", f"--git-dir={git_dir}", "cat-file", "-e", f"{ref}^{{commit}}"],
                          capture_output=True)
    return done.returncode == 0


def missing_sources(neurosift_git: Path | None = None,
                    worker_git: Path | None = None) -> str | None:
    """Why the build cannot start (one line), or None when the mirrors and tools are here."""
    neurosift_git = neurosift_git or NEUROSIFT_GIT
    worker_git = worker_git or WORKER_GIT
    if not _has_commit(neurosift_git, NEUROSIFT_COMMIT):
        return (f"no Neurosift mirror with commit {NEUROSIFT_COMMIT[:8]} at {neurosift_git} "
                "(fetch github:flatironinstitute/neurosift)")
    if not _has_commit(worker_git, WORKER_TAG):
        return (f"no remote-h5-worker mirror with tag {WORKER_TAG} at {worker_git} "
                "(fetch github:magland/remote-h5-worker)")
    for tool in ("node", "npx"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install nodejs npm)"
    return None


def _extract(git_dir: Path, commit: str, folder: str, dest: Path) -> None:
    """``git archive`` of ``folder`` at ``commit``, unpacked into ``dest`` without the prefix."""
    blob = _git(git_dir, "archive", "--format=tar", commit, folder)
    prefix = folder.rstrip("/") + "/"
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        members = []
        for member in tar.getmembers():
            if member.name.startswith(prefix):
                member.name = member.name[len(prefix):]
                members.append(member)
        tar.extractall(dest, members=members, filter="data")


def apply_patches(src: Path, patches: list[Patch] = PATCHES) -> None:
    """Apply each patch; refuse (ValueError) when its text is not there exactly once, so a
    different commit never builds silently with the worker still pointing at the internet."""
    for patch in patches:
        target = src / patch.path
        text = target.read_text()
        if text.count(patch.old) != 1:
            raise ValueError(f"patch for {patch.path} matches {text.count(patch.old)} times")
        target.write_text(text.replace(patch.old, patch.new))


def _run(cmd: list[str], cwd: Path, log: Path) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        done = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = log.read_text()[-1500:]
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({done.returncode}); log {log}:\n{tail}")


def _version(cmd: list[str], cwd: Path | None = None) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd,
                              timeout=120).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def build(out: Path = OUT) -> dict:
    """Archive, patch, install, build; returns what build.json records."""
    src, dist, tmp = out / "src", out / "dist", out / "dist.tmp"
    for stale in (src, tmp):
        shutil.rmtree(stale, ignore_errors=True)
    src.mkdir(parents=True)
    log = out / "build.log"
    log.write_text("")
    t0 = time.perf_counter()
    _extract(NEUROSIFT_GIT, NEUROSIFT_COMMIT, NEUROSIFT_FOLDER, src)
    apply_patches(src)
    t_install = time.perf_counter()
    _run(["npx", "--yes", YARN, "install", "--frozen-lockfile", "--non-interactive",
          "--no-progress", "--network-timeout", "600000"], src, log)
    t_build = time.perf_counter()
    _run([str(src / "node_modules" / ".bin" / "vite"), "build", "--outDir", str(tmp),
          "--emptyOutDir"], src, log)
    t_done = time.perf_counter()
    (tmp / WORKER_NAME).write_bytes(_git(WORKER_GIT, "show", f"{WORKER_TAG}:{WORKER_FILE}"))
    shutil.rmtree(dist, ignore_errors=True)
    tmp.rename(dist)
    info = {
        "neurosift": {"repo": "flatironinstitute/neurosift", "branch": NEUROSIFT_BRANCH,
                      "commit": NEUROSIFT_COMMIT, "folder": NEUROSIFT_FOLDER},
        "worker": {"repo": "magland/remote-h5-worker", "tag": WORKER_TAG,
                   "commit": _git(WORKER_GIT, "rev-parse", f"{WORKER_TAG}^{{commit}}")
                   .decode().strip(), "file": WORKER_FILE, "served_as": f"/{WORKER_NAME}"},
        "patches": [p.__dict__ for p in PATCHES],
        "install": f"npx {YARN} install --frozen-lockfile",
        "build": "vite build (tsc --noEmit type check skipped)",
        "node": _version(["node", "--version"]),
        "vite": _version([str(src / "node_modules" / ".bin" / "vite"), "--version"], src),
        "seconds": {"archive_patch": round(t_install - t0, 1),
                    "install": round(t_build - t_install, 1),
                    "vite_build": round(t_done - t_build, 1),
                    "total": round(time.perf_counter() - t0, 1)},
        "load_1min_after": round(os.getloadavg()[0], 2),
        "built_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "dist_bytes": sum(f.stat().st_size for f in dist.rglob("*") if f.is_file()),
    }
    (out / "build.json").write_text(json.dumps(info, indent=2))
    return info


def cached(out: Path = OUT) -> Path | None:
    """The built site when it is complete (index.html, the worker and build.json)."""
    dist = out / "dist"
    if all(p.is_file() for p in (dist / "index.html", dist / WORKER_NAME, out / "build.json")):
        return dist
    return None


def neurosift_dist(force: bool = False, out: Path = OUT) -> tuple[Path | None, str]:
    """The built Neurosift v1 site (building it once), or None and the reason in one line."""
    dist = None if force else cached(out)
    if dist is not None:
        info = json.loads((out / "build.json").read_text())
        return dist, f"cached build of {info['neurosift']['commit'][:8]} ({dist})"
    reason = missing_sources()
    if reason is not None:
        return None, reason
    try:
        info = build(out)
    except (RuntimeError, ValueError, OSError, subprocess.CalledProcessError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"the Neurosift build failed: {first}"
    return out / "dist", (f"built {info['neurosift']['commit'][:8]} in "
                          f"{info['seconds']['total']:.0f} s ({out / 'dist'})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if dist exists")
    args = parser.parse_args(argv)
    dist, why = neurosift_dist(force=args.force)
    print(why if dist is not None else f"Neurosift not built: {why}")
    return 0 if dist is not None else 1


if __name__ == "__main__":
    raise SystemExit(main())
