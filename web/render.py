"""HTML for the page's panels, built as strings from the worker's JSON-ready dicts.

Runs in MicroPython on the main thread. Why strings and not DOM calls: every DOM call crosses
the JavaScript bridge, so a tree of hundreds of rows is far cheaper as one ``innerHTML``; the
page then handles clicks with one delegated listener reading ``data-path`` attributes.
Nothing here talks to the worker or the DOM: input dicts in, HTML text out.
"""

import json

HEADER_FIELDS = (
    ("session_description", "Session"),
    ("identifier", "Identifier"),
    ("session_start_time", "Start time"),
    ("nwb_version", "NWB version"),
    ("experimenter", "Experimenter"),
    ("lab", "Lab"),
    ("institution", "Institution"),
    ("related_publications", "Publications"),
)
SUBJECT_FIELDS = (("subject_id", "id"), ("species", "species"), ("age", "age"), ("sex", "sex"))


def esc(value) -> str:
    """Text made safe to put inside HTML elements and double-quoted attributes."""
    text = value if isinstance(value, str) else str(value)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def as_text(value) -> str:
    """A metadata value as one line: lists joined with '; ', None as empty."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(as_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def shape_text(dtype, shape) -> str:
    """``int16 [76293625, 96]`` (the form the issue asks for); '' when not a dataset."""
    if dtype is None and shape is None:
        return ""
    dims = "" if shape is None else "[" + ", ".join(str(n) for n in shape) + "]"
    return (str(dtype or "") + " " + dims).strip()


def header_html(summary: dict) -> str:
    """The file header: session, identifiers, subject, people and publications."""
    rows = []
    title = summary.get("file_name") or summary.get("name") or ""
    for key, label in HEADER_FIELDS:
        text = as_text(summary.get(key))
        if text:
            rows.append(_field(key, label, text))
    subject = summary.get("subject") or {}
    parts = []
    for key, label in SUBJECT_FIELDS:
        text = as_text(subject.get(key))
        if text:
            parts.append('<span data-field="subject.' + key + '">' + esc(label) + ": "
                         + esc(text) + "</span>")
    if parts:
        rows.append('<div class="field" data-field="subject"><span class="label">Subject'
                    '</span><span class="value">' + ", ".join(parts) + "</span></div>")
    head = '<h2 class="file-name">' + esc(title) + "</h2>" if title else ""
    return head + '<div class="fields">' + "".join(rows) + "</div>"


def _field(key: str, label: str, text: str) -> str:
    return ('<div class="field" data-field="' + esc(key) + '"><span class="label">'
            + esc(label) + '</span><span class="value">' + esc(text) + "</span></div>")


def node_kind(node: dict) -> str:
    return node.get("kind") or ("dataset" if node.get("shape") is not None else "group")


def target_kind(node: dict) -> str:
    """What a row shows as: a link shows as what it points to (group, dataset, or nothing)."""
    kind = node_kind(node)
    if kind == "link":
        return node.get("target_kind") or "dangling"
    return kind


def has_children(node: dict) -> bool:
    if target_kind(node) != "group":
        return False
    if node.get("n_children") is not None:
        return bool(node["n_children"])
    return True


def node_shape(node: dict) -> str:
    if target_kind(node) != "dataset":
        return ""
    return node.get("shape_text") or shape_text(node.get("dtype"), node.get("shape"))


def link_target(node: dict) -> str:
    link = node.get("link")
    if isinstance(link, dict):
        return link.get("target") or ""
    return node.get("link_target") or ""


def tree_items_html(children: list) -> str:
    """One ``<li>`` per child; groups get an empty ``<ul>`` filled when first opened."""
    out = []
    for node in children:
        path = node.get("path", "")
        kind = target_kind(node)
        expandable = has_children(node)
        ntype = node.get("neurodata_type") or ""
        shape = node_shape(node)
        desc = node.get("description") or ""
        link = link_target(node)
        cls = "node " + kind + (" link" if node_kind(node) == "link" else "") + (
            " expandable" if expandable else "")
        out.append(
            '<li class="' + cls + '" data-path="' + esc(path) + '" data-kind="' + esc(kind)
            + '"><div class="row" data-path="' + esc(path) + '" title="' + esc(path) + '">'
            + '<span class="toggle">' + ("▸" if expandable else "") + "</span>"
            + '<span class="name">' + esc(node.get("name", path)) + "</span>"
            + ('<span class="ntype">' + esc(ntype) + "</span>" if ntype else "")
            + ('<span class="shape">' + esc(shape) + "</span>" if shape else "")
            + ('<span class="link-target">→ ' + esc(link) + "</span>" if link else "")
            + ('<span class="desc">' + esc(_short(desc)) + "</span>" if desc else "")
            + _view_button(path, node.get("views") or [])
            + "</div>" + ('<ul class="children"></ul>' if expandable else "") + "</li>"
        )
    return "".join(out)


def _view_button(path: str, views: list) -> str:
    """The row's "View" button (the first view is the default; the page offers the rest)."""
    if not views:
        return ""
    return ('<button class="open-view" data-view-path="' + esc(path) + '" data-views="'
            + esc(",".join(views)) + '" title="Open a view of this object">View</button>')


def _short(text: str, limit: int = 90) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


VIEW_LABELS = {"electrical": "Traces", "traces": "Traces", "spatial": "Trajectory",
               "events": "Events", "intervals": "Intervals", "raster": "Raster",
               "unit": "Unit: rate, ACG, ISI", "psth": "PSTH", "spectrogram": "Spectrogram",
               "alignment": "Timeline"}


def view_buttons_html(path: str, views: list) -> str:
    """One button per view of the object (``data-view`` names it; the first is the default);
    an ElectricalSeries (any object the Traces view of ``electrical`` draws) gets "Spike sort"."""
    if not views:
        return ""
    buttons = "".join(
        '<button class="open-view" data-view-path="' + esc(path) + '" data-view="' + esc(name)
        + '">' + esc("View: " + VIEW_LABELS.get(name, name)) + "</button>" for name in views)
    if "electrical" in views:
        buttons += sort_button_html(path)
    return '<div class="view-buttons">' + buttons + "</div>"


def sort_button_html(path: str) -> str:
    """The "Spike sort" button of a series (``sorting.py`` handles ``data-sort-path``)."""
    return ('<button class="sort-series" type="button" data-sort-path="' + esc(path)
            + '" title="Sort the spikes of this series on the broker">Spike sort</button>')


def details_html(d: dict, views=None) -> str:
    """The selected object: identity, attributes, links and references, preview, snippets;
    ``views`` (names) adds a button for each view of the object."""
    path = d.get("path", "")
    kind = target_kind(d)
    head = ('<h3 class="obj-path">' + esc(path) + "</h3>" + '<div class="obj-meta">'
            + '<span class="kind">' + esc(kind) + "</span>")
    if d.get("neurodata_type"):
        chain = [d["neurodata_type"]] + list(d.get("type_ancestors") or [])
        head += '<span class="ntype" title="' + esc(" ← ".join(chain)) + '">' + esc(
            d["neurodata_type"]) + "</span>"
    shape = node_shape(d)
    if shape:
        head += '<span class="shape">' + esc(shape) + "</span>"
    storage = d.get("storage")
    if isinstance(storage, dict):
        bits = [storage.get("layout") or ""]
        if storage.get("chunks"):
            bits.append("chunks " + " × ".join(str(n) for n in storage["chunks"]))
        bits += list(storage.get("filters") or [])
        head += '<span class="storage">' + esc(", ".join(b for b in bits if b)) + "</span>"
    head += "</div>"
    if d.get("description"):
        head += '<p class="obj-desc">' + esc(d["description"]) + "</p>"
    if d.get("type_doc"):
        head += '<p class="type-doc">' + esc(_short(d["type_doc"], 300)) + "</p>"
    parts = [head, view_buttons_html(path, views or []),
             _attrs_html(d.get("attrs") or d.get("attributes") or {})]
    parts.append(_links_html(d.get("links") or [], d.get("references") or []))
    parts.append(_preview_html(d.get("preview"), path))
    parts.append(_snippets_html(d.get("snippets") or d.get("snippet") or {}))
    return "".join(parts)


def _value_html(value) -> str:
    """An attribute value; a reference (``{"ref": path}`` or a path string) is a link."""
    if isinstance(value, dict) and ("ref" in value or "path" in value) and len(value) <= 2:
        target = value.get("ref") or value.get("path")
        return '<a class="ref" href="#" data-goto="' + esc(target) + '">' + esc(target) + "</a>"
    return esc(_short(as_text(value), 400))


def _attrs_html(attrs) -> str:
    if isinstance(attrs, list):
        attrs = {a.get("name", "?"): a.get("value") for a in attrs}
    if not attrs:
        return ""
    rows = "".join(
        '<tr data-attr="' + esc(name) + '"><th>' + esc(name) + "</th><td>"
        + _value_html(attrs[name]) + "</td></tr>"
        for name in sorted(attrs)
    )
    return '<section class="attrs"><h4>Attributes</h4><table>' + rows + "</table></section>"


def _links_html(links: list, references: list) -> str:
    rows = []
    for item in list(links) + list(references):
        if isinstance(item, dict):
            name = item.get("name") or item.get("field") or ""
            target = item.get("target") or item.get("path") or ""
            kind = item.get("kind") or ""
        else:
            name, target, kind = "", str(item), ""
        rows.append(
            '<li data-link="' + esc(name) + '"><span class="link-name">' + esc(name)
            + "</span> " + ('<span class="link-kind">' + esc(kind) + "</span> " if kind else "")
            + _goto_html(target, kind) + "</li>"
        )
    if not rows:
        return ""
    return '<section class="links"><h4>Links and references</h4><ul>' + "".join(rows) + (
        "</ul></section>")


def _goto_html(target: str, kind: str = "") -> str:
    """A path to jump to; an external link's target is in another file, so plain text."""
    if kind == "external" or not target.startswith("/"):
        return "→ " + esc(target)
    return ('→ <a class="ref" href="#" data-goto="' + esc(target.split("[")[0]) + '">'
            + esc(target) + "</a>")


def _preview_html(preview, path: str = "") -> str:
    """A bounded preview: values of a dataset, first rows of a table, a time base."""
    if preview is None:
        return ""
    if not isinstance(preview, dict):
        body = "<pre>" + esc(as_text(preview)) + "</pre>"
    else:
        body = preview_body(preview, path)
    return '<section class="preview"><h4>Preview</h4>' + body + "</section>"


def preview_body(p: dict, path: str = "") -> str:
    """One preview dict as HTML; ``path`` is the object shown (a view of it reads what the
    preview did not)."""
    kind = p.get("kind")
    if kind == "table":
        return _table_html(p)
    if kind == "timeseries":
        parts = []
        if p.get("timebase_text"):
            parts.append('<p class="timebase">' + esc(p["timebase_text"]) + "</p>")
        if p.get("unit"):
            unit = as_text(p.get("unit"))
            if p.get("conversion") not in (None, 1, 1.0):
                unit += " (conversion " + as_text(p.get("conversion")) + ")"
            parts.append('<p class="unit">unit: ' + esc(unit) + "</p>")
        if isinstance(p.get("data"), dict):
            parts.append('<div class="data-preview">data ' + preview_body(p["data"], path)
                         + "</div>")
        if isinstance(p.get("external_file"), dict):
            parts.append(_external_files_html(p["external_file"]))
        return "".join(parts)
    if kind == "group":
        more = " …" if p.get("truncated") else ""
        return ('<p class="members">' + esc(str(p.get("n_members", 0))) + " members: "
                + esc(", ".join(p.get("members") or [])) + more + "</p>")
    if kind == "values" or "values" in p:
        if p.get("error"):
            return '<p class="note">' + esc(p["error"]) + "</p>"
        if p.get("skipped"):  # nothing read (chunks too big for a preview): say so, offer more
            return ('<p class="note skipped">' + esc(p["skipped"]) + ' <button class="open-view"'
                    ' data-view-path="' + esc(path) + '">View</button></p>')
        label = esc(p.get("selection") or "")
        more = '<p class="note">first values only</p>' if p.get("truncated") else ""
        return ('<pre class="values" data-selection="' + label + '">' + label + " = "
                + esc(values_text(p.get("values"))) + "</pre>" + more)
    if p.get("text") is not None:
        return "<pre>" + esc(p["text"]) + "</pre>"
    return "<pre>" + esc(json.dumps(p)) + "</pre>"


def _cell(value) -> str:
    """A table cell: text as it is, floats to 6 significant digits, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.6g}"
    return json.dumps(value)


def values_text(values) -> str:
    """JSON text of preview values, one row per line when they form a matrix."""
    if isinstance(values, list) and values and isinstance(values[0], list):
        return "[" + ",\n ".join(json.dumps(row) for row in values) + "]"
    return json.dumps(values)


def _external_files_html(p: dict) -> str:
    """An ImageSeries' ``external_file``: the frames live in these files, not in this one."""
    if p.get("error"):
        return '<p class="note external-file">external_file: ' + esc(p["error"]) + "</p>"
    names = p.get("values")
    names = names if isinstance(names, list) else [names]
    more = " …" if p.get("truncated") else ""
    return ('<p class="external-file">frames in external file' + ("s" if len(names) > 1 else "")
            + ": " + esc(", ".join(as_text(n) for n in names)) + more + "</p>")


def _at(items, row: int):
    """``items[row]``, or None where the list is absent or short."""
    return items[row] if isinstance(items, list) and row < len(items) else None


def _more_html(c: dict, row: int, shown) -> str:
    """The marker after a ragged cell the preview cut: what was left out of this row."""
    more = _at(c.get("more"), row) or 0
    length = _at(c.get("lengths"), row)
    lists_left = length - len(shown) if length is not None and isinstance(shown, list) else 0
    if not more and lists_left <= 0:
        return ""
    if (c.get("ragged") or 1) > 1:
        text = (str(more) + " more values" if more else str(lists_left) + " more lists") + (
            ", " + str(length) + " lists in all")
    else:
        text = str(more) + " more, " + str(length) + " in all"
    return ' <span class="more" data-more="' + str(more) + '">… ' + esc(text) + "</span>"


def _table_cell(c: dict, row: int) -> str:
    """One cell; a ragged cell the preview cut says so (never a short list as the value)."""
    if c.get("error"):
        return '<td class="error" title="' + esc(c["error"]) + '">not read</td>'
    values = c.get("values") or []
    if row >= len(values):
        return "<td></td>"
    marker = _more_html(c, row, values[row])
    text = _cell(values[row])
    shown = _short(text, 60)
    return ("<td" + (' class="cut"' if marker else "")
            + (' title="' + esc(text) + '"' if shown != text else "") + ">" + esc(shown)
            + marker + "</td>")


def _table_html(p: dict) -> str:
    columns = p.get("columns") or []
    ids = p.get("ids") or []
    n = max([len(ids)] + [len(c.get("values") or []) for c in columns])
    head = "<tr><th>id</th>" + "".join(
        '<th title="' + esc(c.get("description") or "") + '">' + esc(c.get("name", ""))
        + "</th>" for c in columns) + "</tr>"
    rows = []
    for i in range(n):
        cells = ["<td>" + (esc(as_text(ids[i])) if i < len(ids) else "") + "</td>"]
        cells += [_table_cell(c, i) for c in columns]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (" (first " + str(n) + ")") if p.get("truncated") else ""
    return ('<p class="rows">' + esc(str(p.get("n_rows", n))) + " rows" + more + "</p>"
            + '<table class="table-preview">' + head + "".join(rows) + "</table>")


def _snippets_html(snippets) -> str:
    if isinstance(snippets, list):
        snippets = {s.get("label") or s.get("name") or str(i): s.get("code", "")
                    for i, s in enumerate(snippets)}
    if not snippets:
        return ""
    blocks = []
    for label in snippets:
        if not snippets[label]:
            continue
        blocks.append(
            '<div class="snippet" data-snippet="' + esc(label) + '"><div class="snippet-head">'
            + "<span>" + esc(label) + '</span><button class="copy" type="button">Copy</button>'
            + "</div><pre><code>" + esc(snippets[label]) + "</code></pre></div>"
        )
    return '<section class="snippets"><h4>Load in Python</h4>' + "".join(blocks) + (
        "</section>")


def stats_text(stats: dict) -> str:
    """The status bar line for the I/O counters."""
    mb = stats.get("bytes", 0) / 1e6
    return (str(stats.get("requests", 0)) + " requests · " + f"{mb:.2f}" + " MB fetched · "
            + str(stats.get("hits", 0)) + " cache hits")
