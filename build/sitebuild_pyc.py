"""Ship bytecode: add ``.pyc`` files to the stdlib zip and to every wheel the site serves.

Why: Pyodide's stdlib zip and the wheels hold only sources and ``sys.dont_write_bytecode`` is
on, so every browser start compiled each module it imported (about 1.3 s of CPU). The pycs are
written by the CPython the browser runs (Pyodide in Node, ``compile_pyc.mjs``), as
unchecked-hash pycs (PEP 552): the importer trusts them without looking at the source's
mtime, which a zip or a freshly unpacked wheel does not keep anyway.

Where each pyc goes, so that the importer that finds the module takes it:

- the stdlib zip: ``x.pyc`` beside ``x.py`` (zipimport tries ``.pyc`` before ``.py``); its code
  objects are named ``/lib/python312.zip/x.py`` (zipimport does not rename them);
- wheels: ``pkg/__pycache__/mod.cpython-312.pyc`` (PEP 3147, what FileFinder reads once Pyodide
  has unpacked the wheel into site-packages), listed in RECORD.

The ``.py`` files stay, so tracebacks still show source lines. Inputs are verified by the
caller before they come here; outputs are cached by input sha256, Pyodide version and
:data:`PYC_FORMAT`, and re-hashed against their record on reuse, like built wheels.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sitebuild_pins import PinMismatchError, sha256_file

PYC_FORMAT = 1  # bump when the layout written here changes: old cache entries are ignored
NODE_SCRIPT = Path(__file__).resolve().parent / "compile_pyc.mjs"
NODE_TIMEOUT_S = 600  # a cold compile of the whole site takes 20-30 s


@dataclass(frozen=True)
class Archive:
    """One file of the site that holds Python sources, already checked against its pin."""

    site_path: str  # where the site serves it (the key in the manifest's record)
    kind: str  # "stdlib" (the zip zipimport reads) or "wheel"
    source: Path | bytes  # the verified original
    root: str  # the folder its modules have at run time, e.g. /lib/python3.12/site-packages

    def data(self) -> bytes:
        return self.source if isinstance(self.source, bytes) else self.source.read_bytes()

    def sha256(self) -> str:
        if isinstance(self.source, bytes):
            return hashlib.sha256(self.source).hexdigest()
        return sha256_file(self.source)


class Compiler(Protocol):
    """Turns sources into pycs for one interpreter; injectable so tests can use CPython."""

    python: str  # version that wrote the pycs, e.g. "3.12.7"
    cache_tag: str  # sys.implementation.cache_tag of that interpreter, e.g. "cpython-312"
    key: str  # names the cache folder, e.g. "pyodide-0.27.7"

    def compile(self, sources: dict[str, tuple[bytes, str]]) -> tuple[dict[str, bytes],
                                                                     dict[str, str]]:
        """``{key: (source, dfile)}`` -> (``{key: pyc}``, ``{key: why it failed}``)."""
        ...


class CompilerUnavailable(Exception):
    """The compiler cannot run here; the site is built without pycs (message says why)."""


@dataclass
class Outcome:
    """What happened to one archive: the file to serve and what it holds."""

    archive: Archive
    served: Path | bytes  # the file (or bytes) to put in the site
    sha256: str  # of what is served
    source_sha256: str  # of the verified original
    modules: int = 0  # pycs added
    failed: list[str] = field(default_factory=list)  # sources that did not compile


@dataclass
class Precompiled:
    outcomes: list[Outcome]
    python: str | None  # None when nothing was precompiled
    skipped: str | None = None  # why, then
    compiled_now: int = 0  # sources compiled in this run (0: everything came from the cache)
    seconds: float = 0.0

    def manifest(self) -> dict:
        """The manifest's ``precompiled`` record (site path -> hashes and counts)."""
        if self.python is None:
            return {"python": None, "skipped": self.skipped, "files": {}}
        files = {
            o.archive.site_path: {"sha256": o.sha256, "source_sha256": o.source_sha256,
                                  "modules": o.modules, "not_compiled": o.failed}
            for o in self.outcomes
        }
        return {"python": self.python, "invalidation": "unchecked-hash", "files": files}


# -- which sources, and where their pycs go ------------------------------------------------

def python_members(names: list[str], kind: str) -> list[str]:
    """The ``.py`` members to compile: not metadata, not ``.data`` payloads, not done already."""
    present = set(names)
    chosen = []
    for name in names:
        if not name.endswith(".py") or name.endswith("/"):
            continue
        top = name.split("/", 1)[0]
        if kind == "wheel" and (top.endswith(".dist-info") or top.endswith(".data")):
            continue
        if "__pycache__" in name.split("/") or name + "c" in present:
            continue
        chosen.append(name)
    return chosen


def wheel_pyc_name(member: str, cache_tag: str) -> str:
    """``pkg/mod.py`` -> ``pkg/__pycache__/mod.<cache_tag>.pyc`` (what FileFinder looks for)."""
    folder, _, filename = member.rpartition("/")
    cached = f"__pycache__/{filename[:-3]}.{cache_tag}.pyc"
    return f"{folder}/{cached}" if folder else cached


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _rewrite_zip(data: bytes, extra: Callable[[zipfile.ZipInfo, bytes], list[tuple[str, bytes]]],
                 replace: Callable[[str, bytes], bytes] | None = None) -> bytes:
    """Copy every entry (same name, date and mode), each followed by what ``extra`` adds."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if replace is not None:
                body = replace(info.filename, body)
            copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy.external_attr = info.external_attr
            copy.compress_type = info.compress_type
            dst.writestr(copy, body)
            for name, pyc in extra(info, body):
                added = zipfile.ZipInfo(name, date_time=info.date_time)
                added.external_attr = 0o644 << 16
                added.compress_type = zipfile.ZIP_DEFLATED
                dst.writestr(added, pyc)
    return out.getvalue()


def stdlib_zip_with_pycs(data: bytes, pycs: dict[str, bytes]) -> bytes:
    """The stdlib zip with ``x.pyc`` after each compiled ``x.py`` (``pycs`` by member name)."""
    def extra(info: zipfile.ZipInfo, _body: bytes) -> list[tuple[str, bytes]]:
        pyc = pycs.get(info.filename)
        return [] if pyc is None else [(info.filename + "c", pyc)]

    return _rewrite_zip(data, extra)


def wheel_with_pycs(data: bytes, pycs: dict[str, bytes], cache_tag: str) -> bytes:
    """The wheel with ``__pycache__`` pycs beside its sources, each listed in RECORD."""
    added = {wheel_pyc_name(m, cache_tag): pyc for m, pyc in sorted(pycs.items())}
    lines = "".join(f"{n},{_record_hash(b)},{len(b)}\n" for n, b in added.items())

    def extra(info: zipfile.ZipInfo, _body: bytes) -> list[tuple[str, bytes]]:
        pyc = pycs.get(info.filename)
        return [] if pyc is None else [(wheel_pyc_name(info.filename, cache_tag), pyc)]

    def replace(name: str, body: bytes) -> bytes:
        parts = name.split("/")
        if len(parts) != 2 or parts[1] != "RECORD" or not parts[0].endswith(".dist-info"):
            return body
        text = body.decode("utf-8")
        if text and not text.endswith("\n"):
            text += "\n"
        return (text + lines).encode("utf-8")

    return _rewrite_zip(data, extra, replace)


# -- the compilers -------------------------------------------------------------------------

class NodePyodideCompiler:
    """Pyodide's CPython in Node (``compile_pyc.mjs``): the same interpreter as the browser's."""

    def __init__(self, pyodide_dir: Path, lock_info: dict) -> None:
        self.pyodide_dir = pyodide_dir
        self.python = lock_info["python"]
        major, minor = self.python.split(".")[:2]
        self.cache_tag = f"cpython-{major}{minor}"
        # The script's own hash too: a change to how it compiles must not reuse old output.
        script = sha256_file(NODE_SCRIPT)[:8] if NODE_SCRIPT.is_file() else "none"
        self.key = f"pyodide-{lock_info['version']}-py{self.python}-{script}"
        self.node = shutil.which("node")

    def check(self) -> None:
        """Raise CompilerUnavailable unless Node and the Pyodide files are here."""
        if self.node is None:
            raise CompilerUnavailable("node is not on PATH")
        if not (self.pyodide_dir / "pyodide.mjs").is_file():
            raise CompilerUnavailable(f"{self.pyodide_dir} has no pyodide.mjs")

    def compile(self, sources: dict[str, tuple[bytes, str]]) -> tuple[dict[str, bytes],
                                                                     dict[str, str]]:
        self.check()
        if not sources:
            return {}, {}
        with tempfile.TemporaryDirectory(prefix="nwbscope-pyc-") as tmp:
            job = Path(tmp)
            files = []
            for index, (key, (source, dfile)) in enumerate(sources.items()):
                rel = f"{index:05d}/{key.rsplit('/', 1)[-1]}"  # keys may hold any path
                (job / "src" / rel).parent.mkdir(parents=True, exist_ok=True)
                (job / "src" / rel).write_bytes(source)
                files.append([rel, dfile, key])
            (job / "out").mkdir()
            (job / "jobs.json").write_text(json.dumps({"files": [f[:2] for f in files]}))
            try:
                done = subprocess.run([self.node, str(NODE_SCRIPT), str(self.pyodide_dir),
                                       str(job)], capture_output=True, text=True,
                                      timeout=NODE_TIMEOUT_S)
            except subprocess.TimeoutExpired as exc:
                raise CompilerUnavailable(f"Pyodide in Node took over {NODE_TIMEOUT_S} s") from exc
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
                raise CompilerUnavailable(f"Node could not run Pyodide ({tail[0][:200]})")
            result = json.loads((job / "result.json").read_text())
            if result["python"] != self.python or result["cache_tag"] != self.cache_tag:
                raise CompilerUnavailable(
                    f"Pyodide in Node is Python {result['python']} ({result['cache_tag']}), "
                    f"the lock says {self.python}")
            pycs, failed = {}, {}
            for rel, _dfile, key in files:
                if rel in result["failed"]:
                    failed[key] = result["failed"][rel]
                else:
                    pycs[key] = (job / "out" / (rel + "c")).read_bytes()
            return pycs, failed


# -- the step ------------------------------------------------------------------------------

def _cache_paths(cache_dir: Path, compiler: Compiler, archive: Archive, digest: str
                 ) -> tuple[Path, Path]:
    folder = cache_dir / "pyc" / f"{compiler.key}-f{PYC_FORMAT}"
    name = archive.site_path.rsplit("/", 1)[-1]
    return folder / f"{digest[:24]}-{name}", folder / f"{digest[:24]}-{name}.json"


def _from_cache(archive: Archive, digest: str, path: Path, record: Path) -> Outcome | None:
    """A cached output, re-hashed against the record written with it (or None)."""
    if not (path.is_file() and record.is_file()):
        return None
    meta = json.loads(record.read_text())
    if meta.get("source_sha256") != digest:
        return None
    actual = sha256_file(path)
    if actual != meta["sha256"]:
        raise PinMismatchError(path, meta["sha256"], actual, f"its record {record.name}")
    return Outcome(archive, path, actual, digest, meta["modules"], meta["failed"])


def precompile(archives: list[Archive], compiler: Compiler | None, cache_dir: Path, *,
               say: Callable[[str], None] = lambda _line: None) -> Precompiled:
    """Each archive with pycs added (cached), or all unchanged with the reason when the
    compiler cannot run: a site without pycs works, it only starts slower."""
    started = time.monotonic()
    plain = []
    for archive in archives:
        digest = archive.sha256()
        plain.append(Outcome(archive, archive.source, digest, digest))
    if compiler is None:
        return Precompiled(plain, None, "switched off (--no-pyc)")
    try:
        check = getattr(compiler, "check", None)
        if check is not None:
            check()
        outcomes: list[Outcome | None] = []
        todo: list[tuple[int, Archive, str, list[str]]] = []
        for index, outcome in enumerate(plain):
            archive, digest = outcome.archive, outcome.sha256
            cached = _from_cache(archive, digest, *_cache_paths(cache_dir, compiler, archive,
                                                                digest))
            outcomes.append(cached)
            if cached is None:
                with zipfile.ZipFile(io.BytesIO(archive.data())) as zf:
                    todo.append((index, archive, digest, python_members(zf.namelist(),
                                                                        archive.kind)))
        compiled_now = sum(len(m) for *_, m in todo)
        if todo:
            say(f"  compiling {compiled_now} modules of {len(todo)} archives with "
                f"Python {compiler.python} ({compiler.key}) ...")
            outcomes = _compile_archives(todo, outcomes, compiler, cache_dir)
    except CompilerUnavailable as exc:
        return Precompiled(plain, None, str(exc), seconds=time.monotonic() - started)
    return Precompiled([o for o in outcomes if o is not None], compiler.python,
                       compiled_now=compiled_now, seconds=time.monotonic() - started)


def _compile_archives(todo: list[tuple[int, Archive, str, list[str]]],
                      outcomes: list[Outcome | None], compiler: Compiler,
                      cache_dir: Path) -> list[Outcome | None]:
    """One compiler run for every archive not cached yet; write each output to the cache."""
    sources: dict[str, tuple[bytes, str]] = {}
    for index, archive, _digest, members in todo:
        with zipfile.ZipFile(io.BytesIO(archive.data())) as zf:
            for member in members:
                sources[f"{index}/{member}"] = (zf.read(member), f"{archive.root}/{member}")
    pycs, failed = compiler.compile(sources)
    for index, archive, digest, members in todo:
        mine = {m: pycs[f"{index}/{m}"] for m in members if f"{index}/{m}" in pycs}
        bad = sorted(m for m in members if f"{index}/{m}" in failed)
        data = archive.data()
        if archive.kind == "stdlib":
            out = stdlib_zip_with_pycs(data, mine)
        else:
            out = wheel_with_pycs(data, mine, compiler.cache_tag)
        path, record = _cache_paths(cache_dir, compiler, archive, digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(out)
        tmp.replace(path)
        sha = hashlib.sha256(out).hexdigest()
        record.write_text(json.dumps({"source_sha256": digest, "sha256": sha,
                                      "modules": len(mine), "failed": bad}) + "\n")
        outcomes[index] = Outcome(archive, path, sha, digest, len(mine), bad)
    return outcomes


def lock_with_hashes(lock: dict, outcomes: list[Outcome], folder: str = "pyodide/") -> dict:
    """The site's pyodide-lock.json: each package file we rewrote under its new sha256
    (Pyodide checks a package file it loads by name against this hash)."""
    by_file = {o.archive.site_path[len(folder):]: o.sha256 for o in outcomes
               if o.archive.site_path.startswith(folder) and o.archive.kind == "wheel"}
    new = json.loads(json.dumps(lock))
    for entry in new["packages"].values():
        if entry["file_name"] in by_file:
            entry["sha256"] = by_file[entry["file_name"]]
    return new
