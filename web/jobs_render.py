"""HTML of the Jobs panel: the list, a job's summary, failure and provenance.

Runs in MicroPython on the main thread; pure (dicts from the broker in, HTML text out; times
come in as numbers, already read by the caller), so tests run it in MicroPython alone. Why a
failure gets its own box: the job's ``error`` is a sentence ("ParameterError: recording...",
"The job's process ended with exit code 137 ...") and the last lines of its log say what it
was doing; both are shown in words first, before any traceback in the console output.
"""

import json

from render import esc

FINAL = ("completed", "failed", "cancelled")
TAIL_LINES = 20
TIMING_LABELS = (("queued_s", "queued"), ("load_s", "load"), ("sort_s", "sort"),
                 ("write_s", "write"), ("run_s", "run"), ("total_s", "total"))


def parse_store_uri(uri):
    """``(hex, label or None)`` of ``sha256://<hex>[?label=L]``; None for anything else.
    (The label stays percent-encoded: the caller decodes it.)"""
    text = str(uri or "")
    if not text.startswith("sha256://"):
        return None
    hexpart, _, query = text[len("sha256://"):].partition("?")
    hexpart = hexpart.rstrip("/").lower()
    if len(hexpart) != 64 or [c for c in hexpart if c not in "0123456789abcdef"]:
        return None
    label = None
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == "label" and value:
            label = value
    return hexpart, label


def input_label(uri, decode=None):
    """A job input as a person names it: the store label, else the URL's file name."""
    parsed = parse_store_uri(uri)
    if parsed is not None:
        label = parsed[1]
        if label:
            return decode(label) if decode else label
        return "sha256:" + parsed[0][:12] + "…"
    text = str(uri or "")
    name = text.split("?")[0].rstrip("/").split("/")[-1]
    return name or text[:40]


def seconds_text(value):
    if value is None:
        return ""
    value = float(value)
    if value < 60:
        return f"{value:.1f} s"
    if value < 3600:
        return str(int(value // 60)) + " min " + str(int(value % 60)) + " s"
    return f"{value / 3600:.1f} h"


def duration_of(job, now_s, started_s):
    """Seconds the job took (its own total when final), or has run so far."""
    timings = job.get("timings") or {}
    for key in ("total_s", "run_s"):
        if timings.get(key) is not None and job.get("status") in FINAL:
            return timings[key]
    if started_s is not None and job.get("status") == "running":
        return max(0.0, now_s - started_s)
    return None


def worker_text(job):
    return str(job.get("worker_name") or job.get("worker") or "")


def list_html(jobs, selected, times, decode=None):
    """The jobs table; ``times[id] = (created text, duration seconds or None)``."""
    if not jobs:
        return '<p class="jobs-empty">No jobs yet on this broker.</p>'
    rows = []
    for job in jobs:
        job_id = str(job.get("id"))
        created, duration = times.get(job_id, ("", None))
        status = str(job.get("status"))
        uri = (job.get("inputs") or {}).get("input") or ""
        rows.append(
            '<tr class="job-row' + (" selected" if job_id == selected else "")
            + '" data-job-id="' + esc(job_id) + '" data-status="' + esc(status) + '">'
            + "<td>" + esc(job.get("processor") or "") + "</td>"
            + '<td title="' + esc(uri) + '">' + esc(input_label(uri, decode)) + "</td>"
            + '<td><span class="job-status" data-status="' + esc(status) + '">' + esc(status)
            + ("…" if job.get("cancel_requested") and status == "running" else "")
            + "</span></td><td>" + esc(worker_text(job)) + "</td><td>" + esc(created)
            + "</td><td>" + esc(seconds_text(duration)) + "</td></tr>")
    return ('<table class="jobs-table"><thead><tr><th>sorter</th><th>input</th><th>status</th>'
            "<th>worker</th><th>created</th><th>duration</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def collapse_cr(line):
    """A console line as a terminal leaves it: progress bars rewrite it after each ``\r``."""
    parts = [part for part in line.split("\r") if part]
    return parts[-1] if parts else ""


def tail_lines(text, count=TAIL_LINES):
    lines = [collapse_cr(line) for line in str(text or "").split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines[-count:])


def actions_html(job, open_href):
    status = job.get("status")
    parts = []
    if status not in FINAL:
        parts.append('<button type="button" data-job-action="cancel">Cancel</button>')
    else:
        parts.append('<button type="button" data-job-action="resubmit" title="Run it again '
                     '(same sorter, parameters and input)">Resubmit</button>')
    if status == "completed" and open_href:
        parts.append('<a class="job-open" data-job-action="open" href="' + esc(open_href)
                     + '">Open result</a>')
    return '<div class="job-actions">' + "".join(parts) + "</div>"


def failure_html(job, log_text, log_complete):
    """The error as the broker worded it, and the last lines of the log."""
    if job.get("status") not in ("failed", "cancelled"):
        return ""
    error = job.get("error") or ("Cancelled." if job.get("status") == "cancelled"
                                 else "The job failed without saying why.")
    tail = tail_lines(log_text)
    if tail:
        tail_box = ('<h5>Last lines of its log</h5><pre class="job-log-tail">' + esc(tail)
                    + "</pre>")
    else:
        tail_box = ('<p class="job-log-tail-note">' + ("The job wrote no log." if log_complete
                                                       else "Reading its log…") + "</p>")
    return ('<div class="job-failure" data-status="' + esc(job.get("status")) + '">'
            '<p class="job-error" role="alert">' + esc(error) + "</p>" + tail_box + "</div>")


def _row(label, value_html):
    return "<dt>" + esc(label) + "</dt><dd>" + value_html + "</dd>"


def provenance_html(job, changed_parameters=None):
    """Processor and version, parameters, input and its hash, timings, worker, attempts."""
    inputs = job.get("inputs") or {}
    recording = job.get("recording") or {}
    timings = job.get("timings") or {}
    rows = [_row("sorter", esc(str(job.get("processor")) + " " + str(
        job.get("processor_version") or "")))]
    uri = inputs.get("input") or ""
    rows.append(_row("input", '<span class="job-input">' + esc(uri) + "</span>"))
    if inputs.get("input_sha256"):
        rows.append(_row("input sha256", '<code class="job-sha">' + esc(inputs["input_sha256"])
                         + "</code>"))
    series = recording.get("electrical_series_path")
    rows.append(_row("series", esc(series or "(the file's only ElectricalSeries)")))
    span = recording.get("time_range")
    rows.append(_row("time range", esc(json.dumps(span) + " s" if span else "the whole recording")))
    if changed_parameters is not None:
        rows.append(_row("changed parameters", "<code>" + esc(
            json.dumps(changed_parameters) if changed_parameters else "none (all defaults)")
            + "</code>"))
    rows.append(_row("parameters", '<details><summary>all ' + str(len(
        job.get("parameters") or {})) + "</summary><pre>" + esc(json.dumps(
            job.get("parameters") or {})) + "</pre></details>"))
    parts = [label + " " + seconds_text(timings[key]) for key, label in TIMING_LABELS
             if timings.get(key) is not None]
    if parts:
        rows.append(_row("timings", esc(", ".join(parts))))
    if worker_text(job):
        rows.append(_row("worker", esc(worker_text(job))))
    rows.append(_row("attempts", esc(str(job.get("attempts") or 0) + (
        " of " + str(job["max_attempts"]) if job.get("max_attempts") else ""))))
    return '<dl class="job-provenance">' + "".join(rows) + "</dl>"


def summary_html(job, log_text, log_complete, open_href, changed_parameters=None,
                 summary_href=None):
    status = str(job.get("status"))
    outputs = job.get("outputs") or {}
    head = ('<div class="job-head"><span class="job-title">' + esc(job.get("processor") or "")
            + " on " + esc(input_label((job.get("inputs") or {}).get("input"))) + "</span>"
            ' <span class="job-status" data-status="' + esc(status) + '">' + esc(status)
            + ("; stopping" if job.get("cancel_requested") and status == "running" else "")
            + '</span> <code class="job-id">' + esc(job.get("id")) + "</code></div>")
    out = ""
    if outputs.get("nwb"):
        out = ('<p class="job-outputs">result: <code>' + esc(outputs["nwb"]) + "</code>"
               + (' · <a href="' + esc(summary_href) + '" target="_blank" rel="noopener">'
                  "summary (JSON)</a>" if summary_href else "") + "</p>")
    return (head + actions_html(job, open_href) + failure_html(job, log_text, log_complete)
            + out + provenance_html(job, changed_parameters))


def changed_from(defaults, values):
    """The entries of ``values`` that differ from ``defaults`` (nested dicts compared deep)."""
    out = {}
    for key in values:
        value = values[key]
        default = defaults.get(key) if isinstance(defaults, dict) else None
        if isinstance(value, dict) and isinstance(default, dict):
            inner = changed_from(default, value)
            if inner:
                out[key] = inner
        elif value != default or isinstance(value, bool) != isinstance(default, bool):
            out[key] = value
    return out
