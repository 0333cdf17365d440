#!/usr/bin/env python3
"""Assemble the self-contained static nwbscope site: ``python3 build/build_site.py [--out DIR]``.

The folder it writes needs no internet and only relative URLs, so it works copied to any
static host. Its layout (all paths relative to the site root, as ``manifest.json`` lists them):

    index.html, *.py, *.css, *.js, workers/   the page, copied from web/ (not web/py)
    pyodide/     Pyodide core + pyodide-lock.json + the verified official package files
    pyscript/    @pyscript/core dist;  micropython/  MicroPython for the main thread
    wheels/      pure wheels for loadPackage; ours in wheels/<sha256[:12]>/ (cache-busting)
    bokeh/       BokehJS from the same bokeh wheel the worker installs
    manifest.json  what the worker loads, so no version is hard-coded in web/

The stdlib zip and every wheel get .pyc files (``sitebuild_pyc``: compiled by Pyodide's own
CPython in Node), so the browser does not compile Python at each start; ``--no-pyc`` skips it.

Why each source and pin: /work/shared/pyodide-offline.md and build/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sitebuild_* modules beside us

from sitebuild_fetch import (  # noqa: E402
    fetch_wheel,
    npm_ci,
    npm_version,
    pyodide_package_files,
    read_zip_member,
    resolve_packages,
)
from sitebuild_output import SiteWriter  # noqa: E402
from sitebuild_pins import BUILD_DIR, BuildError, Pins, load_pins  # noqa: E402
from sitebuild_pyc import (  # noqa: E402
    Archive,
    NodePyodideCompiler,
    Outcome,
    Precompiled,
    lock_with_hashes,
    precompile,
)
from sitebuild_wheel import pure_wheel_bytes  # noqa: E402

REPO = BUILD_DIR.parent
WEB_DIR = REPO / "web"
PACKAGE_DIR = WEB_DIR / "py" / "nwbscope"
DEFAULT_OUT = REPO / "dist" / "site"
DEFAULT_CACHE = Path(os.environ.get("NWBSCOPE_BUILD_CACHE")
                     or Path.home() / ".cache" / "nwbscope-build")
PYODIDE_CORE = ("pyodide.js", "pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm",
                "python_stdlib.zip", "pyodide-lock.json")
# Placed after the pyc step, which may rewrite them (bytecode added, new package hashes).
PYODIDE_REWRITTEN = ("python_stdlib.zip", "pyodide-lock.json")
MICROPYTHON = ("micropython.mjs", "micropython.wasm")
MICROPYTHON_NPM = "@micropython/micropython-webassembly-pyscript"
RESERVED = {"pyodide", "pyscript", "micropython", "wheels", "bokeh", "manifest.json", "probe.py"}
# Modules of web/py that the page's MicroPython loads too: dependency-free by design.
PAGE_SHARED = {"probe.py": "nwbscope/sources/probe.py"}
# What the browser needs of our package (the rest of pyproject.toml is for CPython).
NWBSCOPE_REQUIRES = ("numpy>=1.26", "pyfive==1.2.1")


def build_site(out_dir: Path = DEFAULT_OUT, *, cache_dir: Path | None = None,
               quiet: bool = False, pyc: bool = True) -> Path:
    """Build (or bring up to date) the site in ``out_dir``; return its manifest.json path.

    ``pyc=False`` ships the Python archives as they came (the browser then compiles every
    module it imports at each start); by default they get bytecode (``sitebuild_pyc``).
    """
    started = time.monotonic()
    cache = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE
    cache.mkdir(parents=True, exist_ok=True)
    out = Path(out_dir).resolve()
    pins = load_pins()
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))

    say("npm packages (Pyodide core, PyScript, MicroPython) ...")
    modules = npm_ci(BUILD_DIR, quiet=quiet)
    site = SiteWriter(out)
    lock = _place_runtimes(site, modules)
    python_dir = "python" + "".join(lock["info"]["python"].split(".")[:2])  # python312
    site_packages = f"/lib/python{'.'.join(lock['info']['python'].split('.')[:2])}/site-packages"
    archives = [Archive("pyodide/python_stdlib.zip", "stdlib",
                        modules / "pyodide" / "python_stdlib.zip", f"/lib/{python_dir}.zip")]

    say("Pyodide package files ...")
    core = resolve_packages(lock, pins.pyodide_packages.core)
    views = [n for n in resolve_packages(lock, pins.pyodide_packages.views) if n not in core]
    for path in pyodide_package_files(pins.pyodide_packages, lock, core + views, cache,
                                      quiet=quiet):
        archives.append(Archive(f"pyodide/{path.name}", "wheel", path, site_packages))

    say("wheels ...")
    wheel_urls: dict[str, list[str]] = {"core": [], "views": []}
    wheel_paths: dict[str, Path] = {}
    for pin in pins.wheels:
        wheel = fetch_wheel(pin, cache, quiet=quiet)
        wheel_paths[pin.name] = wheel
        archives.append(Archive(f"wheels/{wheel.name}", "wheel", wheel, site_packages))
        wheel_urls[pin.group].append(f"wheels/{wheel.name}")
    ours = _nwbscope_wheel()
    archives.append(Archive(f"wheels/{ours['filename']}", "wheel", ours["data"], site_packages))

    say("Python bytecode ...")
    compiled = precompile(archives, NodePyodideCompiler(modules / "pyodide", lock["info"])
                          if pyc else None, cache, say=say)
    _say_precompiled(say, compiled)
    *placed, ours_outcome = compiled.outcomes
    for outcome in placed:
        _put(site, outcome, outcome.archive.site_path)
    digest = ours_outcome.sha256
    ours_url = f"wheels/{digest[:12]}/{ours['filename']}"  # named by the bytes served
    _put(site, ours_outcome, ours_url)
    ours_outcome.archive = replace(ours_outcome.archive, site_path=ours_url)
    wheel_urls["core"].append(ours_url)
    site_lock = lock_with_hashes(lock, compiled.outcomes) if compiled.python else lock
    if site_lock == lock:  # unchanged: the npm file itself (same bytes as the release)
        site.put_file(modules / "pyodide" / "pyodide-lock.json", "pyodide/pyodide-lock.json")
    else:
        site.put_bytes((json.dumps(site_lock, indent=1) + "\n").encode(),
                       "pyodide/pyodide-lock.json")

    bokehjs = _place_bokehjs(site, pins, wheel_paths)
    _place_page(site)

    manifest = {
        "pyodide_version": lock["info"]["version"],
        "python_version": lock["info"]["python"],
        "bokeh_version": pins.wheel("bokeh").version,
        "pyscript_version": npm_version(modules, "@pyscript/core"),
        "micropython_version": npm_version(modules, MICROPYTHON_NPM),
        "urls": {
            "pyodide_index": "pyodide/",
            "pyodide_mjs": "pyodide/pyodide.mjs",
            "pyscript_core": "pyscript/core.js",
            "pyscript_css": "pyscript/core.css",
            "micropython": "micropython/micropython.mjs",
            "bokehjs": bokehjs,
        },
        "core_packages": core,
        "view_packages": views,
        "wheels": wheel_urls,
        "nwbscope_version": ours["version"],
        "nwbscope_wheel_sha256": digest,
        "precompiled": compiled.manifest(),
        "download_bytes": _download_bytes(out, lock, core, wheel_urls["core"]),
        "built_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    site.put_bytes((json.dumps(manifest, indent=2) + "\n").encode(), "manifest.json")
    removed = site.prune()
    say(f"site in {out}: {len(site.written)} files, {site.copied} written, "
        f"{len(removed)} stale removed, {time.monotonic() - started:.1f} s")
    return out / "manifest.json"


def _put(site: SiteWriter, outcome: Outcome, rel: str) -> None:
    if isinstance(outcome.served, bytes):
        site.put_bytes(outcome.served, rel)
    else:
        site.put_file(outcome.served, rel)


def _say_precompiled(say, compiled: Precompiled) -> None:
    """One line: what got bytecode, or why nothing did (the site then works from sources)."""
    if compiled.python is None:
        say(f"  no pycs: {compiled.skipped}; the browser compiles the sources at each start")
        return
    modules = sum(o.modules for o in compiled.outcomes)
    failed = sum(len(o.failed) for o in compiled.outcomes)
    how = (f"{compiled.compiled_now} compiled now" if compiled.compiled_now
           else "all from the cache")
    say(f"  {modules} pycs for Python {compiled.python} in {len(compiled.outcomes)} archives "
        f"({how}, {compiled.seconds:.1f} s)" + (f"; {failed} sources do not compile" if failed
                                                 else ""))


def _download_bytes(out: Path, lock: dict, core: list[str], wheels: list[str]) -> dict:
    """What a first visit downloads before the tree, per start-up step, as the page's
    progress bar shows it: Python (Pyodide's core files) and the packages the tree needs."""
    python = sum((out / "pyodide" / name).stat().st_size for name in PYODIDE_CORE)
    files = [f"pyodide/{lock['packages'][name]['file_name']}" for name in core] + wheels
    return {"python": python, "packages": sum((out / rel).stat().st_size for rel in files)}


def _place_runtimes(site: SiteWriter, modules: Path) -> dict:
    """Pyodide core, PyScript and MicroPython from npm; returns pyodide-lock.json parsed."""
    pyodide = modules / "pyodide"
    for name in PYODIDE_CORE:
        if name not in PYODIDE_REWRITTEN:
            site.put_file(pyodide / name, f"pyodide/{name}")
    site.put_tree(modules / "@pyscript" / "core" / "dist", "pyscript", skip_suffixes={".map"})
    mpy = modules / MICROPYTHON_NPM
    for name in MICROPYTHON:
        site.put_file(mpy / name, f"micropython/{name}")
    lock = json.loads((pyodide / "pyodide-lock.json").read_text(encoding="utf-8"))
    if lock["info"]["version"] != npm_version(modules, "pyodide"):
        raise BuildError("pyodide-lock.json is not the lock of the installed Pyodide release.")
    return lock


def _nwbscope_wheel() -> dict:
    """Our wheel, built fresh (reproducible bytes); placed once its pycs are added, in a
    folder named by the hash of what is served, so no browser reuses a stale one."""
    if not (PACKAGE_DIR / "__init__.py").is_file():
        raise BuildError(f"{PACKAGE_DIR} is not a Python package; nothing to build.")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    filename, data = pure_wheel_bytes(
        PACKAGE_DIR,
        version=project["version"], summary=project.get("description", ""),
        requires_python=project.get("requires-python", ">=3.11"), requires=NWBSCOPE_REQUIRES,
    )
    return {"filename": filename, "data": data, "version": project["version"]}


def _place_bokehjs(site: SiteWriter, pins: Pins, wheels: dict[str, Path]) -> list[str]:
    """BokehJS out of the bokeh wheel itself, so Python and JS sides are the same release."""
    source = wheels[pins.bokehjs.from_wheel]
    urls = []
    for name in pins.bokehjs.files:
        site.put_bytes(read_zip_member(source, pins.bokehjs.prefix + name), f"bokeh/{name}")
        urls.append(f"bokeh/{name}")
    return urls


def _place_page(site: SiteWriter) -> list[str]:
    """The page from web/ (everything but the web/py package), at the site root."""
    if not WEB_DIR.is_dir():
        return []
    clash = sorted(p.name for p in WEB_DIR.iterdir() if p.name in RESERVED)
    if clash:
        raise BuildError(f"web/ has {', '.join(clash)}, which the build writes itself; rename it.")
    placed = []
    for child in sorted(WEB_DIR.iterdir()):
        if child.name.startswith(".") or child.name in {"py", "__pycache__"}:
            continue
        if child.is_dir():
            placed += site.put_tree(child, child.name, skip_suffixes={".pyc"})
        elif child.is_file():
            site.put_file(child, child.name)
            placed.append(child.name)
    for rel, source in PAGE_SHARED.items():
        site.put_file(WEB_DIR / "py" / source, rel)
        placed.append(rel)
    return placed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="site folder to write")
    parser.add_argument("--cache", type=Path, default=None,
                        help=f"download cache (default {DEFAULT_CACHE})")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--no-pyc", action="store_true",
                        help="ship sources only (no bytecode compiled with Pyodide in Node)")
    args = parser.parse_args(argv)
    try:
        manifest = build_site(args.out, cache_dir=args.cache, quiet=args.quiet,
                              pyc=not args.no_pyc)
    except BuildError as exc:
        print(f"build_site: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"manifest: {manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
