"""The Files tab of the Jobs panel: what the broker holds, and where each file came from.

Runs in MicroPython on the main thread. Why beside the jobs: a sorted result is a file in
the store, and a scientist looking at one wants to know which input, sorter and parameters
made it (its ``provenance``), and to open it (``Open``: the viewer, by its ``sha256://`` URI,
read from the store by range requests). ``GET /api/files`` lists inputs linked by URL,
uploads and outputs; a broker without that route (404/405) is said to not offer it. The list
needs the broker's token (it shows inputs and parameters): without one, the tab says so.
"""

import json

from jobs_panel import decode
from jobs_render import changed_from, input_label, parse_store_uri
from page import el, page_url
from render import esc
from upload import size_text

KIND_LABELS = {"url": "linked by URL", "upload": "uploaded", "output": "sorting output"}
NO_TOKEN_HTML = ('<p class="jobs-empty" data-reason="no-token">A token is needed to see the '
                 "files: set the broker's token in the broker settings.</p>")


def provenance_text(provenance, changed=None):
    """"<output> of <sorter> <version> on <input>, changed: {...}" (``changed``: the
    parameters that differ from the sorter's defaults, when the page knows them)."""
    if not isinstance(provenance, dict):
        return ""
    text = (str(provenance.get("output") or "result") + " of " + str(
        provenance.get("processor") or "") + " " + str(provenance.get("processor_version")
                                                      or "") + " on " + input_label(
        provenance.get("input"), decode))
    if changed is not None:
        text += " · changed parameters: " + (json.dumps(changed)[:300] if changed else "none")
    return text


def files_html(files, changed_of=None, download_of=None):
    """The files table; ``changed_of(provenance)`` and ``download_of(item)`` are the panel's
    (they need the broker); an NWB file opens in the viewer, anything else downloads."""
    if not files:
        return '<p class="jobs-empty">The broker holds no files yet.</p>'
    rows = []
    for item in files:
        uri = str(item.get("uri") or "")
        label = str(item.get("label") or input_label(uri, decode))
        kind = str(item.get("kind") or "")
        prov = item.get("provenance")
        provenance = provenance_text(prov, changed_of(prov) if changed_of and prov else None)
        if kind in ("url", "upload") or label.lower().endswith(".nwb"):
            action = ('<a class="file-open" data-open-uri="' + esc(uri) + '" href="'
                      + esc(page_url(uri, None, None)) + '">Open</a>')
        else:
            action = ('<a class="file-download" target="_blank" rel="noopener" href="'
                      + esc(download_of(item) if download_of else uri) + '">Download</a>')
        rows.append(
            '<tr class="file-row" data-kind="' + esc(kind) + '" data-uri="' + esc(uri) + '">'
            + '<td title="' + esc(uri) + '">' + esc(label) + "</td><td>"
            + esc(KIND_LABELS.get(kind, kind)) + "</td><td>"
            + esc(size_text(item.get("size")) if item.get("size") is not None else "")
            + "</td><td>" + esc(str(item.get("created_at") or "").split(".")[0].replace(
                "T", " ")) + '</td><td class="file-provenance">' + esc(provenance)
            + (' <span class="file-job">job ' + esc(str(item["job_id"])[:8]) + "</span>"
               if item.get("job_id") else "") + "</td><td>" + action + "</td></tr>")
    return ('<table class="files-table"><thead><tr><th>file</th><th>kind</th><th>size</th>'
            "<th>added</th><th>provenance</th><th></th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>")


class FilesPanel:
    def __init__(self, sorting):
        self.sorting = sorting
        el("files-box").addEventListener("click", self.on_click)

    async def refresh(self):
        box = el("files-box")
        broker = self.sorting.broker
        if not broker.usable():
            box.innerHTML = '<p class="jobs-empty">No broker connected.</p>'
            return
        if broker.state == "no-token" and not broker.token:
            box.innerHTML = NO_TOKEN_HTML
            return
        status, body, text = await broker.request("GET", "/api/files")
        if status == 401:
            box.innerHTML = NO_TOKEN_HTML
        elif status in (404, 405):
            box.innerHTML = ('<p class="jobs-empty" data-offered="no">Files: not offered by '
                             "this broker.</p>")
        elif status == 200 and isinstance(body, dict):
            box.innerHTML = files_html(body.get("files") or [], self.changed_of,
                                       self.download_of)
        else:
            box.innerHTML = ('<p class="jobs-empty">' + esc(self.sorting.problem(
                status, body, text, "list the files")) + "</p>")

    def changed_of(self, provenance):
        for processor in self.sorting.broker.processors:
            if processor.get("name") == provenance.get("processor"):
                return changed_from(self.sorting.form.defaults_of(processor),
                                    provenance.get("parameters") or {})
        return None

    def download_of(self, item):
        parsed = parse_store_uri(item.get("uri"))
        if parsed is None:
            return str(item.get("uri") or "")
        return self.sorting.broker.store_url(parsed[0], decode(parsed[1]) if parsed[1] else None)

    def on_click(self, event):
        link = event.target.closest("[data-open-uri]")
        if link is None or event.ctrlKey or event.metaKey or event.shiftKey:
            return
        event.preventDefault()
        self.sorting.open_uri(str(link.dataset.openUri), [])
