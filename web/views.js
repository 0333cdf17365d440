// The page's BokehJS glue: embed each panel's document, put frames into its sources, and keep
// one time window and one cursor across all time-based panels.
//
// Why JavaScript: BokehJS is a JavaScript library and frames arrive as typed arrays; handing
// them to its models here keeps them off the MicroPython bridge (which would copy them). The
// page logic (which panels, the URL, asking the worker) stays in Python (web/panels.py); it
// hears from this file through DOM events on `document`:
//   nwbscope-window {panel, start, end}   a panel's x range moved (others already follow)
//   nwbscope-cursor {panel, t}            the cursor was set by a tap
//   nwbscope-option {panel, name, value}  a control inside a panel changed
//   nwbscope-open   {path, t, view, options} open an object's view (t: move the window
//                                          there, null: keep it; view, options: may be null)
//   nwbscope-select {panel, table, rows}  rows of a table were chosen inside a panel (probe
//                                          channels, a ROI): the other panels follow
//   nwbscope-frame  {panel, seq, complete} a frame was drawn (tests and benchmarks wait on it)
// Names inside each document (x_range, cursor, status, sources) come from
// nwbscope/views/bokeh_kit.py.

const V = {
  panels: {},        // id -> {doc, root, timeBased, seq, queue}
  window: null,      // {start, end} shared by every time-based panel
  cursorT: null,
  quiet: 0,          // > 0 while this file moves ranges itself (their callbacks are ignored)
  bokeh: null,       // the promise of BokehJS loaded

  loadBokeh(urls) {
    if (!V.bokeh) {
      V.bokeh = urls.reduce((chain, url) => chain.then(() => new Promise((ok, fail) => {
        const script = document.createElement("script");
        script.src = url;
        script.onload = ok;
        script.onerror = () => fail(new Error("could not load " + url));
        document.head.appendChild(script);
      })), Promise.resolve());
    }
    return V.bokeh;
  },

  attach(worker) {
    worker.addEventListener("message", (event) => {
      const data = event.data;
      if (data && typeof data === "object" && data.kind === "view-data") V.apply(data);
    });
  },

  async embed(panelId, itemJson, elementId, timeBased) {
    await V.bokeh;
    const item = typeof itemJson === "string" ? JSON.parse(itemJson) : itemJson;
    const old = V.panels[panelId];
    if (old && old.doc) V.dropDoc(old.doc);
    const element = document.getElementById(elementId);
    element.innerHTML = "";
    await Bokeh.embed.embed_item(item, elementId);
    const doc = Bokeh.documents.find((d) => d.get_model_by_id(item.root_id));
    const panel = {doc, timeBased: !!timeBased, seq: old ? old.seq : -1,
                   queue: old ? old.queue : []};
    V.panels[panelId] = panel;
    if (panel.timeBased && V.window) V.moveRange(panel, V.window.start, V.window.end);
    if (panel.timeBased && V.cursorT !== null) V.moveCursor(panel, V.cursorT);
    const queued = panel.queue.splice(0);
    queued.forEach((message) => V.apply(message));
    return true;
  },

  remove(panelId) {
    const panel = V.panels[panelId];
    if (panel && panel.doc) V.dropDoc(panel.doc);
    delete V.panels[panelId];
  },

  dropDoc(doc) {
    const i = Bokeh.documents.indexOf(doc);
    if (i >= 0) Bokeh.documents.splice(i, 1);
    doc.clear();
  },

  apply(message) {
    const panel = V.panels[message.panel];
    if (!panel || !panel.doc) {  // frames can arrive before the document is embedded
      (panel || (V.panels[message.panel] = {doc: null, seq: -1, queue: []})).queue.push(message);
      return;
    }
    if (message.seq < panel.seq) return;  // an older window's frame, late
    panel.seq = message.seq;
    for (const [name, columns] of Object.entries(message.sources)) {
      const source = panel.doc.get_model_by_name(name);
      if (source) source.data = V.withImages(columns);
    }
    V.quiet++;
    try {
      for (const [name, bounds] of Object.entries(message.ranges || {})) {
        const range = panel.doc.get_model_by_name(name);
        if (range) range.setv({start: bounds[0], end: bounds[1]});
      }
    } finally { V.quiet--; }
    const status = panel.doc.get_model_by_name("status");
    if (status) {
      const notes = (message.notes || []).join(" ");
      status.text = [message.status || "", notes].filter((t) => t).join(" · ");
    }
    panel.complete = !!message.complete;
    document.dispatchEvent(new CustomEvent("nwbscope-frame", {detail: {
      panel: message.panel, seq: message.seq, complete: !!message.complete}}));
  },

  // An image column arrives as [[row0, row1, ...]] per source row (1-D typed arrays of one
  // length); BokehJS's image glyph takes only NDArrays with a shape, not nested arrays.
  // (Lists of lists of text, e.g. ragged tags, stay as they are.)
  withImages(columns) {
    const out = Object.assign({}, columns);
    for (const [key, value] of Object.entries(out)) {
      const first = Array.isArray(value) && value.length ? value[0] : null;
      if (Array.isArray(first) && first.length && ArrayBuffer.isView(first[0])) {
        out[key] = value.map((rows) => V.image(rows));
      }
    }
    return out;
  },

  image(rows) {
    const {ndarray} = Bokeh.require("core/util/ndarray");
    const width = rows.length ? rows[0].length : 0;
    const flat = new (rows.length ? rows[0].constructor : Float32Array)(rows.length * width);
    rows.forEach((row, i) => flat.set(row, i * width));
    return ndarray(flat, {shape: [rows.length, width]});
  },

  // The drawable width (px) of a panel's time plot as laid out (0: unknown): frames are
  // sized to it, so min/max decimation gives at most two points per pixel actually drawn.
  plotWidth(panelId) {
    const panel = V.panels[panelId];
    const range = panel && panel.doc ? panel.doc.get_model_by_name("x_range") : null;
    if (!range) return 0;
    for (const model of panel.doc.all_models) {
      if (model.x_range === range && model.inner_width > 0) return model.inner_width;
    }
    return 0;
  },

  // from the documents' CustomJS callbacks ------------------------------------------------
  range(panelId, start, end) {
    if (V.quiet || !(end > start)) return;
    // start and end each call back; the second sees the window the first already sent
    if (V.window && V.window.start === start && V.window.end === end) return;
    V.window = {start, end};
    for (const [id, panel] of Object.entries(V.panels)) {
      if (id !== panelId && panel.timeBased && panel.doc) V.moveRange(panel, start, end);
    }
    document.dispatchEvent(new CustomEvent("nwbscope-window", {detail: {
      panel: panelId, start, end}}));
  },

  cursor(panelId, t) {
    V.setCursor(t);
    document.dispatchEvent(new CustomEvent("nwbscope-cursor", {detail: {panel: panelId, t}}));
  },

  openAt(path, t) {  // from the alignment view: open that object's view at that time
    document.dispatchEvent(new CustomEvent("nwbscope-open", {detail: {
      path, t, view: null, options: null}}));
  },

  // open an object's view (a reference in a table, a ROI's trace), the window kept
  // unless t is a number; options are the view's own (JSON-ready), or null
  openView(path, view, options, t) {
    document.dispatchEvent(new CustomEvent("nwbscope-open", {detail: {
      path, t: (typeof t === "number") ? t : null, view: view || null,
      options: options ? JSON.stringify(options) : null}}));
  },

  select(panelId, table, rows) {  // rows (numbers) of a table chosen inside a panel
    document.dispatchEvent(new CustomEvent("nwbscope-select", {detail: {
      panel: panelId, table, rows: JSON.stringify(Array.from(rows || []))}}));
  },

  option(panelId, name, value) {
    document.dispatchEvent(new CustomEvent("nwbscope-option", {detail: {
      panel: panelId, name, value: JSON.stringify(value)}}));
  },

  // from the page -------------------------------------------------------------------------
  setWindow(start, end) {
    V.window = {start, end};
    for (const panel of Object.values(V.panels)) {
      if (panel.timeBased && panel.doc) V.moveRange(panel, start, end);
    }
  },

  setCursor(t) {
    V.cursorT = t;
    for (const panel of Object.values(V.panels)) {
      if (panel.timeBased && panel.doc) V.moveCursor(panel, t);
    }
  },

  moveRange(panel, start, end) {
    const range = panel.doc.get_model_by_name("x_range");
    if (!range || (range.start === start && range.end === end)) return;
    V.quiet++;
    try { range.setv({start, end}); } finally { V.quiet--; }
  },

  moveCursor(panel, t) {
    for (const span of panel.doc.all_models) {
      if (span.name === "cursor") span.location = t;
    }
  },

  // After a panel's element moved in the page: SlickGrid (DataTable) keeps pointing at the
  // stylesheets of its old place in the shadow DOM, so its columns collapse; a change event
  // makes it lay itself out again.
  relayout(panelId) {
    const panel = V.panels[panelId];
    if (!panel || !panel.doc) return;
    for (const model of panel.doc.all_models) {
      if (model.type === "DataTable") model.change.emit();
    }
  },

  // for tests and benchmarks: a model of a panel by name
  model(panelId, name) {
    const panel = V.panels[panelId];
    return panel && panel.doc ? panel.doc.get_model_by_name(name) : null;
  },
};

window.nwbscopeViews = V;
