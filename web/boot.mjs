// Pyodide for the viewer's worker, restored from a memory snapshot of the last visit.
//
// Why this file exists (and is JavaScript): booting Python (compiling the interpreter's
// state, importing its start-up modules) costs about a second of CPU at every visit, and
// Pyodide can skip it by restoring a memory snapshot, but only through options of
// `loadPyodide`, which PyScript calls for us. PyScript's PyWorker imports the module named by
// its `version` argument and calls that module's `loadPyodide`; this module is that module.
// It wraps Pyodide's own `loadPyodide`:
//   - first visit: boot as usual with `_makeSnapshot`, snapshot the fresh interpreter at
//     once (before PyScript or the viewer touch it: a snapshot may hold no live JS object),
//     and keep it in the Cache API;
//   - next visits: restore that snapshot instead of booting.
// Only the bare interpreter is kept: numpy's compiled modules cannot be restored by Pyodide
// 0.27, so packages load after the restore as on a first visit.
//
// A snapshot is keyed by the site's build (manifest.json's `built_at` and our wheel's hash):
// a new build of the site discards older snapshots instead of restoring them, and a snapshot
// Pyodide refuses (another Pyodide build) is dropped and Python boots afresh.
// Progress goes to the page as the worker's other events do: JSON text, `kind: "boot"`.

import { loadPyodide as loadCore, version } from "./pyodide/pyodide.mjs";

export { version };

const SNAPSHOTS = "nwbscope-snapshot-v1";

function post(step, text, extra = {}) {
  self.postMessage(JSON.stringify({ kind: "boot", step, text, ...extra }));
}

async function snapshotKey() {
  // The key names the build: manifest.json is revalidated on every visit (no-cache).
  const manifestUrl = new URL("./manifest.json", import.meta.url);
  const manifest = await (await fetch(manifestUrl, { cache: "no-cache" })).json();
  const stamp = `${manifest.built_at}-${String(manifest.nwbscope_wheel_sha256).slice(0, 16)}`;
  return new URL(`./snapshot/${encodeURIComponent(stamp)}.bin`, import.meta.url).href;
}

async function openStore() {
  // No Cache API on plain-http origins other than localhost, nor in some private modes.
  try {
    if (typeof caches === "undefined") return null;
    const cache = await caches.open(SNAPSHOTS);
    return { cache, key: await snapshotKey() };
  } catch (error) {
    console.warn("nwbscope: no snapshot store:", error);
    return null;
  }
}

async function keptSnapshot(store) {
  const entries = await store.cache.keys();
  await Promise.all(entries.filter((request) => request.url !== store.key)
    .map((request) => store.cache.delete(request)));  // another build's: stale
  const found = await store.cache.match(store.key);
  return found ? new Uint8Array(await found.arrayBuffer()) : null;
}

// Pyodide 0.27's snapshot header starts with this magic number (and holds its build id,
// which Pyodide checks itself); bytes without it are not even offered to Pyodide, whose
// memory would be sized from them.
const SNAPSHOT_MAGIC = 1886286592;

function plausible(snapshot) {
  return snapshot.length >= (1 << 20) && snapshot.byteOffset % 4 === 0
    && new Uint32Array(snapshot.buffer, snapshot.byteOffset, 1)[0] === SNAPSHOT_MAGIC;
}

function reseed(py) {
  // A restored interpreter would repeat the snapshot's random state in every session.
  py.runPython("import sys\nif 'random' in sys.modules:\n    sys.modules['random'].seed()");
}

// How long compiling and instantiating the interpreter's wasm took (streaming, so the
// download overlaps it), apart from the rest of the boot: the benchmarks' start-up split.
const timing = { wasm_ms: null };
const instantiateStreaming = WebAssembly.instantiateStreaming;
WebAssembly.instantiateStreaming = async (...args) => {
  const started = performance.now();
  try {
    return await instantiateStreaming.apply(WebAssembly, args);
  } finally {
    if (timing.wasm_ms === null) timing.wasm_ms = performance.now() - started;
  }
};

export async function loadPyodide(options = {}) {
  const t0 = performance.now();
  const indexURL = new URL("./pyodide/", import.meta.url).href;
  const settings = { ...options, indexURL };
  const store = await openStore();
  if (store) {
    let snapshot = null;
    try {
      snapshot = await keptSnapshot(store);
    } catch (error) {
      console.warn("nwbscope: snapshot not readable:", error);
    }
    if (snapshot && !plausible(snapshot)) {
      await store.cache.delete(store.key).catch(() => {});
      post("discarded", "the kept snapshot was damaged; starting Python afresh");
      snapshot = null;
    }
    if (snapshot) {
      post("restore", "restoring Python from the snapshot of your last visit",
        { bytes: snapshot.length });
      try {
        const py = await loadCore({ ...settings, _loadSnapshot: snapshot });
        reseed(py);
        post("restored", "Python restored", { ms: performance.now() - t0, ...timing });
        return py;
      } catch (error) {
        console.warn("nwbscope: snapshot refused, booting afresh:", error);
        await store.cache.delete(store.key).catch(() => {});
        post("discarded", "the kept snapshot did not fit; starting Python afresh");
      }
    }
  }
  post("boot", "downloading and starting Python");
  const py = await loadCore({ ...settings, _makeSnapshot: Boolean(store) });
  if (store) {
    try {
      const bytes = py.makeMemorySnapshot();
      // `_makeSnapshot` gave Python a recording proxy of the globals as its `js` module:
      // functions called through it throw "Illegal invocation" (fetch). The snapshot is
      // taken, so this session gets the real globals back.
      py.registerJsModule("js", globalThis);
      // Not awaited: the page goes on while the snapshot is written.
      store.cache.put(store.key, new Response(bytes, {
        headers: { "Content-Type": "application/octet-stream" },
      })).then(() => post("kept", "snapshot kept for the next visit", { bytes: bytes.length }),
        (error) => console.warn("nwbscope: snapshot not kept:", error));
    } catch (error) {
      console.warn("nwbscope: no snapshot made:", error);
    }
  }
  post("booted", "Python started", { ms: performance.now() - t0, ...timing });
  return py;
}
