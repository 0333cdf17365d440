"""The site build's pyc step: a pyc it writes is the code Python runs for that module.

The zip and wheel transforms are tested with this interpreter's own pycs (a compiler injected
in place of Pyodide-in-Node), imported by this interpreter: zipimport for the stdlib layout,
FileFinder for the wheel layout. To prove the pyc (not the source) ran, the injected compiler
compiles a changed source, or the test swaps the source after compiling: an unchecked-hash pyc
is never compared with its source, so only the pyc can give the compiled value. The real
compiler (Pyodide 3.12 in Node) is tested the same way inside Pyodide, when Node and
build/node_modules are here; otherwise those tests skip, saying why.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build"
if str(BUILD) not in sys.path:
    sys.path.insert(0, str(BUILD))

from sitebuild_pins import PinMismatchError  # noqa: E402
from sitebuild_pyc import (  # noqa: E402
    Archive,
    CompilerUnavailable,
    NodePyodideCompiler,
    lock_with_hashes,
    precompile,
    python_members,
    stdlib_zip_with_pycs,
    wheel_pyc_name,
)

PYODIDE = BUILD / "node_modules" / "pyodide"
TAG = sys.implementation.cache_tag


class LocalCompiler:
    """This CPython's pycs (unchecked hash), of each source with ``source`` -> ``bytecode``."""

    python = sys.version.split()[0]
    cache_tag = TAG
    key = f"test-cpython-{python}"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def compile(self, sources: dict[str, tuple[bytes, str]]
                ) -> tuple[dict[str, bytes], dict[str, str]]:
        self.calls.append(len(sources))
        pycs, failed = {}, {}
        for key, (source, dfile) in sources.items():
            try:
                code = compile(source.replace(b"source", b"bytecode"), dfile, "exec",
                               dont_inherit=True)
            except SyntaxError as exc:
                failed[key] = f"SyntaxError: {exc.msg}"
                continue
            pycs[key] = importlib._bootstrap_external._code_to_hash_pyc(
                code, importlib.util.source_hash(source), checked=False)
        return pycs, failed


class Unavailable:
    python, cache_tag, key = "3.12.7", "cpython-312", "never"

    def check(self) -> None:
        raise CompilerUnavailable("node is not on PATH")

    def compile(self, sources):  # pragma: no cover - never reached
        raise AssertionError("compile called although check failed")


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


WHEEL = {
    "demo/__init__.py": b"",
    "demo/mod.py": b'VALUE = "source"\n',
    "demo/bad.py": b"def (:\n",
    "demo-1.0.dist-info/METADATA": b"Name: demo\nVersion: 1.0\n",
    "demo-1.0.dist-info/RECORD": b"demo/__init__.py,,\ndemo-1.0.dist-info/RECORD,,\n",
}


def _run(code: str, *paths: Path) -> subprocess.CompletedProcess:
    """This interpreter, isolated (-I) and writing no bytecode (-B, as Pyodide runs)."""
    prelude = "import sys; sys.path[:0] = " + repr([str(p) for p in paths]) + "\n"
    return subprocess.run([sys.executable, "-I", "-B", "-c", prelude + code],
                          capture_output=True, text=True, timeout=60)


# -- layout --------------------------------------------------------------------------------

def test_members_and_names() -> None:
    names = ["a.py", "a/", "pkg/__init__.py", "pkg/__pycache__/x.py", "done.py", "done.pyc",
             "demo-1.0.dist-info/x.py", "demo-1.0.data/scripts/tool.py", "notes.txt"]
    assert python_members(names, "wheel") == ["a.py", "pkg/__init__.py"]
    assert "demo-1.0.dist-info/x.py" in python_members(names, "stdlib")
    assert wheel_pyc_name("pkg/sub/mod.py", "cpython-312") == \
        "pkg/sub/__pycache__/mod.cpython-312.pyc"
    assert wheel_pyc_name("top.py", "cpython-312") == "__pycache__/top.cpython-312.pyc"


def test_stdlib_zip_pyc_is_what_zipimport_runs(tmp_path: Path) -> None:
    original = _zip({"probe_mod.py": b'VALUE = "source"\ndef boom():\n    raise ValueError("x")\n',
                     "probe_pkg/": b"", "probe_pkg/__init__.py": b'VALUE = "source"\n'})
    path = tmp_path / "python_stdlib.zip"
    root = str(path)  # the run-time path: tracebacks can then find the source in the zip
    compiler = LocalCompiler()
    sources = {}
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        for name in python_members(archive.namelist(), "stdlib"):
            sources[name] = (archive.read(name), f"{root}/{name}")
    pycs, failed = compiler.compile(sources)
    assert not failed
    path.write_bytes(stdlib_zip_with_pycs(original, pycs))
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert archive.read("probe_mod.py") == b'VALUE = "source"\ndef boom():\n' \
            b'    raise ValueError("x")\n'  # the source stays, for tracebacks
    assert names.index("probe_mod.pyc") == names.index("probe_mod.py") + 1
    assert "probe_pkg/__init__.pyc" in names and "probe_pkg/" in names
    done = _run("import probe_mod, probe_pkg, traceback\n"
                "print(probe_mod.VALUE, probe_pkg.VALUE, probe_mod.__file__)\n"
                "try:\n    probe_mod.boom()\nexcept ValueError:\n"
                "    print(traceback.format_exc().splitlines()[-3:-1])", path)
    assert done.returncode == 0, done.stderr
    first, tb = done.stdout.splitlines()
    assert first == f"bytecode bytecode {path}/probe_mod.pyc"
    assert f'File "{path}/probe_mod.py", line 3, in boom' in tb
    assert 'raise ValueError("x")' in tb


def test_wheel_pyc_is_what_filefinder_runs_and_record_lists_it(tmp_path: Path) -> None:
    original = _zip(WHEEL)
    archive = Archive("wheels/demo-1.0-py3-none-any.whl", "wheel", original,
                      "/lib/python3.12/site-packages")
    done = precompile([archive], LocalCompiler(), tmp_path / "cache")
    (outcome,) = done.outcomes
    assert outcome.modules == 2 and outcome.failed == ["demo/bad.py"]
    data = Path(outcome.served).read_bytes()
    assert hashlib.sha256(data).hexdigest() == outcome.sha256
    site = tmp_path / "site-packages"
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        wheel.extractall(site)
        record = wheel.read("demo-1.0.dist-info/RECORD").decode().splitlines()
        pyc_name = f"demo/__pycache__/mod.{TAG}.pyc"
        assert _record_line(pyc_name, wheel.read(pyc_name)) in record
        assert f"demo/__pycache__/bad.{TAG}.pyc" not in wheel.namelist()
        assert {n for n in wheel.namelist() if n in WHEEL} == set(WHEEL)
    assert record[:2] == ["demo/__init__.py,,", "demo-1.0.dist-info/RECORD,,"]
    ran = _run("import demo.mod, os; print(demo.mod.VALUE, "
               "os.path.isfile(demo.mod.__spec__.cached))", site)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["bytecode", "True"]


# -- the step: cache, records, fallback ----------------------------------------------------

def test_precompile_caches_by_input_and_checks_the_cache(tmp_path: Path) -> None:
    source = tmp_path / "demo-1.0-py3-none-any.whl"
    source.write_bytes(_zip(WHEEL))
    archive = Archive("pyodide/demo-1.0-py3-none-any.whl", "wheel", source, "/site")
    compiler = LocalCompiler()
    first = precompile([archive], compiler, tmp_path / "cache")
    again = precompile([archive], compiler, tmp_path / "cache")
    assert compiler.calls == [3] and first.compiled_now == 3 and again.compiled_now == 0
    assert again.outcomes[0].sha256 == first.outcomes[0].sha256
    record = again.manifest()
    assert record["python"] == compiler.python and record["invalidation"] == "unchecked-hash"
    entry = record["files"]["pyodide/demo-1.0-py3-none-any.whl"]
    assert entry["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert entry["sha256"] == first.outcomes[0].sha256 != entry["source_sha256"]
    assert entry["modules"] == 2 and entry["not_compiled"] == ["demo/bad.py"]

    lock = {"packages": {"demo": {"file_name": source.name, "sha256": entry["source_sha256"]},
                         "other": {"file_name": "other.whl", "sha256": "0" * 64}}}
    new = lock_with_hashes(lock, again.outcomes)
    assert new["packages"]["demo"]["sha256"] == entry["sha256"]
    assert new["packages"]["other"] == lock["packages"]["other"]
    assert lock["packages"]["demo"]["sha256"] == entry["source_sha256"]  # not modified

    cached = Path(again.outcomes[0].served)
    cached.write_bytes(cached.read_bytes() + b"tampered")
    with pytest.raises(PinMismatchError, match="has sha256"):
        precompile([archive], compiler, tmp_path / "cache")
    source.write_bytes(_zip({**WHEEL, "demo/new.py": b"X = 1\n"}))  # new input: new entry
    assert precompile([archive], compiler, tmp_path / "cache").compiled_now == 4


def test_without_a_compiler_the_archives_are_served_as_they_are(tmp_path: Path) -> None:
    data = _zip(WHEEL)
    archive = Archive("wheels/demo-1.0-py3-none-any.whl", "wheel", data, "/site")
    for compiler, why in ((Unavailable(), "node is not on PATH"),
                          (None, "switched off (--no-pyc)")):
        done = precompile([archive], compiler, tmp_path / "cache")
        assert done.python is None and done.skipped == why
        assert done.outcomes[0].served == data
        assert done.outcomes[0].sha256 == hashlib.sha256(data).hexdigest()
        assert done.manifest() == {"python": None, "skipped": why, "files": {}}
    assert not (tmp_path / "cache").exists()


def test_node_compiler_says_why_it_cannot_run(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    info = {"version": "0.27.7", "python": "3.12.7"}
    missing = NodePyodideCompiler(tmp_path / "nowhere", info)
    monkeypatch.setattr(missing, "node", None)
    with pytest.raises(CompilerUnavailable, match="node is not on PATH"):
        missing.check()
    missing.node = "/usr/bin/node"
    with pytest.raises(CompilerUnavailable, match="has no pyodide.mjs"):
        missing.check()
    assert missing.cache_tag == "cpython-312"
    assert missing.key.startswith("pyodide-0.27.7-py3.12.7-")  # + the script's hash


# -- the real compiler: Pyodide's CPython in Node ------------------------------------------

def _node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH: the build ships sources only there")
    if not (PYODIDE / "pyodide.mjs").is_file():
        pytest.skip(f"no {PYODIDE}: run python3 build/build_site.py once (npm ci)")
    return node


IN_PYODIDE = r"""
import { loadPyodide } from %(mjs)s;
const py = await loadPyodide({ indexURL: %(index)s });
py.FS.mkdirTree("/t");
py.FS.mount(py.FS.filesystems.NODEFS, { root: %(root)s }, "/t");
process.stdout.write(py.runPython(%(code)s) + "\n");
"""


def _in_pyodide(node: str, root: Path, code: str) -> dict:
    """Run Python ``code`` (its last expression: JSON text) in Pyodide with ``root`` at /t."""
    script = root / "run.mjs"
    script.write_text(IN_PYODIDE % {
        "mjs": json.dumps((PYODIDE / "pyodide.mjs").as_uri()),
        "index": json.dumps(str(PYODIDE) + "/"), "root": json.dumps(str(root)),
        "code": json.dumps(code)})
    done = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _swap_sources(data: bytes, changed: dict[str, bytes]) -> bytes:
    """The same archive with some sources replaced after compiling (pycs left as they are)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, changed.get(info.filename, src.read(info)))
    return out.getvalue()


def test_pyodide_pycs_are_what_pyodide_runs(tmp_path: Path) -> None:
    node = _node_or_skip()
    lock = json.loads((PYODIDE / "pyodide-lock.json").read_text())
    compiler = NodePyodideCompiler(PYODIDE, lock["info"])
    stdlib = _zip({"probe_mod.py": b'VALUE = "compiled"\n'})
    wheel = _zip({"demo/__init__.py": b"", "demo/mod.py": b'VALUE = "compiled"\n',
                  "demo/bad.py": b"def (:\n", "demo-1.0.dist-info/RECORD": b""})
    done = precompile([
        Archive("pyodide/python_stdlib.zip", "stdlib", stdlib, "/t/probe_stdlib.zip"),
        Archive("wheels/demo-1.0-py3-none-any.whl", "wheel", wheel, "/t/site"),
    ], compiler, tmp_path / "cache")
    assert done.python == lock["info"]["python"], done.skipped
    zipped, wheeled = (Path(o.served).read_bytes() for o in done.outcomes)
    assert wheeled != wheel and done.outcomes[1].failed == ["demo/bad.py"]
    with zipfile.ZipFile(io.BytesIO(wheeled)) as archive:
        pyc = archive.read("demo/__pycache__/mod.cpython-312.pyc")
    assert pyc[:4] == (3531).to_bytes(2, "little") + b"\r\n"  # CPython 3.12's magic
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, unchecked (PEP 552)
    swapped = b'VALUE = "source"\n'
    (tmp_path / "probe_stdlib.zip").write_bytes(_swap_sources(zipped, {"probe_mod.py": swapped}))
    with zipfile.ZipFile(io.BytesIO(_swap_sources(wheeled, {"demo/mod.py": swapped}))) as w:
        w.extractall(tmp_path / "site")
    got = _in_pyodide(node, tmp_path, (
        "import json, sys\nsys.path[:0] = ['/t/probe_stdlib.zip', '/t/site']\n"
        "import probe_mod, demo.mod\n"
        "json.dumps([sys.version.split()[0], probe_mod.VALUE, probe_mod.__file__,\n"
        "            demo.mod.VALUE, demo.mod.__spec__.cached, sys.dont_write_bytecode])"))
    assert got == [lock["info"]["python"], "compiled", "/t/probe_stdlib.zip/probe_mod.pyc",
                   "compiled", "/t/site/demo/__pycache__/mod.cpython-312.pyc", True]


def test_node_that_cannot_run_pyodide_leaves_sources(tmp_path: Path) -> None:
    _node_or_skip()
    broken = tmp_path / "pyodide"
    broken.mkdir()
    (broken / "pyodide.mjs").write_text('throw new Error("no wasm here");\n')
    compiler = NodePyodideCompiler(broken, {"version": "0.27.7", "python": "3.12.7"})
    data = _zip(WHEEL)
    done = precompile([Archive("wheels/demo-1.0-py3-none-any.whl", "wheel", data, "/site")],
                      compiler, tmp_path / "cache")
    assert done.python is None and done.outcomes[0].served == data
    assert done.skipped == "Node could not run Pyodide (compile_pyc: no wasm here)"

