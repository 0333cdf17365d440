// Compile Python sources to .pyc with the CPython that the site ships: Pyodide's, in Node.
//
//   node build/compile_pyc.mjs <pyodide-dir> <job-dir>
//
// Why Pyodide in Node: bytecode is only valid for the exact CPython minor version (magic
// number) that loads it, and the build machine's own Python is another version. Pyodide's
// interpreter is the one the browser runs, so what it writes is what the browser accepts.
//
// <job-dir>/jobs.json is {"files": [[rel, dfile], ...]}: each source <job-dir>/src/<rel> is
// compiled to <job-dir>/out/<rel>c as an unchecked-hash pyc (PEP 552: no mtime or hash check
// at import, the file is trusted as built), with ``dfile`` as the code objects' file name (the
// path the module has at run time, for tracebacks). The job folder is mounted with NODEFS, so
// nothing is copied through JavaScript. Writes <job-dir>/result.json and prints it:
// {"python", "cache_tag", "magic", "compiled", "failed": {rel: "SyntaxError: ..."}}.
// A source that does not compile is listed in "failed" (the browser will compile it as
// before); anything else is an error exit.

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const COMPILE = `
import importlib.util, json, py_compile, sys
from pathlib import Path

job = Path("/job")
files = json.loads((job / "jobs.json").read_text(encoding="utf-8"))["files"]
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
failed = {}
for rel, dfile in files:
    try:
        py_compile.compile(str(job / "src" / rel), cfile=str(job / "out" / (rel + "c")),
                           dfile=dfile, doraise=True, invalidation_mode=mode)
    except py_compile.PyCompileError as exc:
        failed[rel] = (str(exc.msg).strip().splitlines() or ["?"])[-1][:300]
result = {"python": sys.version.split()[0], "cache_tag": sys.implementation.cache_tag,
          "magic": importlib.util.MAGIC_NUMBER.hex(), "compiled": len(files) - len(failed),
          "failed": failed}
(job / "result.json").write_text(json.dumps(result), encoding="utf-8")
json.dumps(result)
`;

async function main(argv) {
  if (argv.length !== 2) {
    throw new Error("usage: node compile_pyc.mjs <pyodide-dir> <job-dir>");
  }
  const pyodideDir = resolve(argv[0]);
  const jobDir = resolve(argv[1]);
  const entry = resolve(pyodideDir, "pyodide.mjs");
  if (!existsSync(entry)) throw new Error(`no ${entry}`);
  if (!existsSync(resolve(jobDir, "jobs.json"))) throw new Error(`no ${jobDir}/jobs.json`);
  const { loadPyodide } = await import(pathToFileURL(entry).href);
  const py = await loadPyodide({ indexURL: pyodideDir + "/", stdout: () => {}, stderr: () => {} });
  py.FS.mkdirTree("/job");
  py.FS.mount(py.FS.filesystems.NODEFS, { root: jobDir }, "/job");
  process.stdout.write(py.runPython(COMPILE) + "\n");
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`compile_pyc: ${error && error.message ? error.message : error}\n`);
  process.exit(1);
});
