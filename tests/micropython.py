"""Run page modules in the MicroPython the page itself runs (the site build's npm copy, in node).

Why: ``render.py``, ``kept.py`` and ``probe.py`` run in MicroPython on the main thread, which
lacks parts of CPython (dataclasses, typing, some ``str`` methods). CPython tests of their
logic would pass on code the page cannot even import; this runs the real interpreter.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MICROPYTHON = REPO / "build" / "node_modules" / "@micropython" / (
    "micropython-webassembly-pyscript") / "micropython.mjs"

needs_micropython = pytest.mark.skipif(
    shutil.which("node") is None or not MICROPYTHON.is_file(),
    reason="needs node and the site build's MicroPython (build/node_modules)")


def run(modules: dict[str, Path], code: str, tmp_path: Path, data: str = "") -> str:
    """Run ``code`` with ``modules`` (name -> file) importable and ``data`` in ``/data.json``;
    what it prints, or AssertionError with MicroPython's traceback."""
    lines = [
        f"import {{ loadMicroPython }} from {json.dumps(MICROPYTHON.as_uri())};",
        "import fs from 'fs';",
        "const out = [];",
        "const mp = await loadMicroPython({stdout: (t) => out.push(t),"
        " stderr: (t) => out.push(t)});",
        f"mp.FS.writeFile('/data.json', {json.dumps(data)});",
    ]
    for name, path in modules.items():
        lines.append(f"mp.FS.writeFile('/{name}', fs.readFileSync({json.dumps(str(path))}));")
    program = json.dumps('import sys\nsys.path.append("/")\n' + code)
    lines += [
        f"try {{ mp.runPython({program}); }}",
        "catch (e) { console.error(out.join('\\n')); console.error(String(e)); process.exit(1); }",
        "console.log(out.join('\\n'));",
    ]
    script = tmp_path / "micropython_run.mjs"
    script.write_text("\n".join(lines) + "\n")
    done = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout
