"""The "Spike sort" form: sorter, its parameters, the series and the input, then submit.

Runs in MicroPython on the main thread. Why the form is built from ``GET /api/processors``:
each sorter's parameters, defaults and help text come from SpikeInterface itself (the
workers send them as JSON Schema), so the page never lists parameters of its own and a new
sorter on a worker shows up here as it is. What it does with what was typed is
``sort_form_check.py`` (pure): wrong values are flagged beside their field before anything is
sent; only values that differ from the defaults are submitted; the broker's 422 is shown
beside the field it names (or at the top when it names ``input``).

Elements: ``#sort-panel`` holds ``#sort-form``: ``#sort-processor``, ``#sort-series``,
``.sort-also-series`` checkboxes (the same sort on other series of this file: one job each),
``#sort-quick`` + ``#sort-quick-seconds`` ("quick test: first N seconds"), one
``[data-field=<name>]`` input per parameter with ``[data-error-for=<name>]`` beside it,
``#sort-error`` at the top, ``#sort-submit``, ``#sort-result``.
"""

import asyncio

import sort_form_check as check
from page import el
from pyscript import window
from render import esc
from sort_fields import error_span, field_html

RECORDING_OWN = ("electrical_series_path", "time_range")  # drawn by the form itself
QUICK_SECONDS = 10
PREFERRED = "spykingcircus2"
SUBMIT_TIMEOUT_MS = 120000  # the broker reads the input's metadata before it answers


def js_keys(schema_js):
    """Display order from the schema as JavaScript parsed it (MicroPython dicts forget the
    order of keys; the sorters list their parameters in a meaningful one)."""
    def keys(path, props):
        node = schema_js
        for name in path:
            node = window.Reflect.get(window.Reflect.get(node, "properties"), name)
        names = window.Object.keys(window.Reflect.get(node, "properties"))
        ordered = [str(names[i]) for i in range(names.length)]
        return [n for n in ordered if n in props] + sorted(n for n in props if n not in ordered)
    return keys


class SortForm:
    def __init__(self, sorting):
        self.sorting = sorting
        self.path = None
        self.series = []
        self.processor = None
        self.param_fields = []
        self.rec_fields = []
        self.busy = False
        panel = el("sort-panel")
        panel.addEventListener("click", self.on_click)
        panel.addEventListener("change", self.on_change)
        panel.addEventListener("submit", self.on_submit)

    # -- opening --------------------------------------------------------------------------
    async def open(self, path):
        self.path = path
        panel = el("sort-panel")
        panel.hidden = False
        panel.innerHTML = self.head_html() + '<p class="sort-note">Reading the sorters…</p>'
        reply = await self.sorting.viewer.call("typed_paths", "ElectricalSeries")
        found = [str(p) for p in reply.get("paths") or []] if reply.get("ok") else []
        self.series = found if path in found else [path] + found
        broker = self.sorting.broker
        if broker.usable():
            await broker.refresh_processors()
        self.draw()
        panel.scrollIntoView()

    def close(self):
        el("sort-panel").hidden = True
        el("sort-panel").innerHTML = ""
        self.path = None

    def head_html(self):
        return ('<div class="sort-head"><h3>Spike sort <code>' + esc(self.path or "")
                + '</code></h3><span class="sort-broker">' + esc(
                    "on " + self.sorting.broker.label()) + '</span><button type="button" '
                'data-sort-action="close" title="Close">×</button></div>'
                '<div id="sort-error" role="alert" hidden></div>')

    def draw(self):
        """The whole form (or why there is none: no broker, no sorter yet)."""
        if self.path is None:
            return
        broker = self.sorting.broker
        panel = el("sort-panel")
        if not broker.usable():
            panel.innerHTML = self.head_html() + (
                '<p class="sort-note" data-reason="no-broker">Spike sorting runs on a broker '
                "(<code>nwbscope serve</code>); " + esc(self.sorting.state_text())
                + '. <button type="button" data-sort-action="settings">Broker settings…'
                "</button></p>")
            return
        processors = broker.processors
        if not processors:
            panel.innerHTML = self.head_html() + (
                '<p class="sort-note" data-reason="no-sorter">The broker offers no sorter yet '
                "(no worker has registered). "
                '<button type="button" data-sort-action="retry">Look again</button></p>')
            return
        names = [str(p.get("name")) for p in processors]
        current = self.processor.get("name") if self.processor else None
        chosen = current if current in names else (PREFERRED if PREFERRED in names else names[0])
        self.choose(chosen)
        options = "".join(
            '<option value="' + esc(p.get("name")) + '"' + (
                " selected" if p.get("name") == chosen else "") + ">" + esc(
                p.get("name") + " " + str(p.get("version") or "") + (
                    "" if p.get("online", True) else " (no worker online)")) + "</option>"
            for p in processors)
        token_note = "" if broker.token else (
            '<p class="sort-note" data-reason="no-token">Submitting needs the broker\'s token '
            '(<code>nwbscope serve</code> prints a link with it). <button type="button" '
            'data-sort-action="settings">Broker settings…</button></p>')
        panel.innerHTML = (
            self.head_html() + token_note + '<form id="sort-form" novalidate>'
            '<fieldset class="sort-what"><legend>What to sort</legend>'
            '<div class="sort-field"><label for="sort-processor">Sorter</label><select '
            'id="sort-processor">' + options + "</select>" + error_span("processor")
            + '<span class="field-help" id="sort-description">' + esc(
                self.processor.get("description") or "") + "</span></div>"
            + self.series_html() + self.quick_html()
            + '<div id="sort-rec-fields" class="sort-fields">' + self.rec_html() + "</div>"
            + "</fieldset>" + '<fieldset class="sort-input"><legend>Input</legend>'
            + self.sorting.input_html() + "</fieldset>"
            + '<fieldset class="sort-params"><legend>Parameters (defaults shown; only changes '
            'are sent)</legend><div id="sort-param-fields" class="sort-fields">'
            + self.params_html() + "</div></fieldset>"
            '<div class="sort-submit"><button id="sort-submit" type="submit">Submit</button>'
            '<span id="sort-result" role="status"></span></div></form>')

    def choose(self, name):
        """The sorter whose fields the form shows (their order: the schema's own)."""
        broker = self.sorting.broker
        index = [str(p.get("name")) for p in broker.processors].index(name)
        self.processor = broker.processors[index]
        listed = window.JSON.parse(broker.processors_text).processors[index]
        self.param_fields = check.fields(self.processor.get("parameters_schema") or {},
                                         "parameters", js_keys(listed.parameters_schema))
        self.rec_fields = check.fields(self.processor.get("recording_schema") or {},
                                       "recording", js_keys(listed.recording_schema),
                                       skip=RECORDING_OWN)

    def series_html(self):
        options = "".join('<option value="' + esc(p) + '"' + (" selected" if p == self.path
                                                              else "") + ">" + esc(p) + "</option>"
                          for p in self.series)
        others = [p for p in self.series if p != self.path]
        also = ""
        if others:
            also = ('<div class="sort-also"><span class="field-help">Also submit the same sort '
                    "for (one job each):</span>" + "".join(
                        '<label><input type="checkbox" class="sort-also-series" value="'
                        + esc(p) + '"> ' + esc(p) + "</label>" for p in others) + "</div>")
        return ('<div class="sort-field"><label for="sort-series">Series</label><select '
                'id="sort-series">' + options + "</select>"
                + error_span("recording.electrical_series_path") + "</div>" + also)

    def quick_html(self):
        return ('<div class="sort-field sort-quick"><label><input type="checkbox" '
                'id="sort-quick" checked> quick test: first</label> <input type="number" '
                'id="sort-quick-seconds" min="0" step="any" value="' + str(QUICK_SECONDS)
                + '"> seconds <span class="field-help">(untick to sort the whole recording)'
                "</span>" + error_span("recording.time_range") + "</div>")

    def rec_html(self):
        return "".join(field_html(f) for f in self.rec_fields)

    def params_html(self):
        return "".join(field_html(f) for f in self.param_fields)

    def defaults_of(self, processor):
        props = (processor.get("parameters_schema") or {}).get("properties") or {}
        return {k: props[k]["default"] for k in props if "default" in props[k]}

    # -- events ---------------------------------------------------------------------------
    def on_click(self, event):
        action = event.target.closest("[data-sort-action]")
        if action is None:
            return
        name = str(action.dataset.sortAction)
        if name == "close":
            self.close()
        elif name == "settings":
            self.sorting.open_settings()
        elif name == "retry":
            asyncio.create_task(self.open(self.path))

    def on_change(self, event):
        target = event.target
        if target.id == "sort-processor":
            self.choose(str(target.value))
            el("sort-param-fields").innerHTML = self.params_html()
            el("sort-rec-fields").innerHTML = self.rec_html()
            el("sort-description").textContent = self.processor.get("description") or ""
        elif target.id == "sort-series":
            self.path = str(target.value)
        elif target.getAttribute("data-field"):
            self.flag(str(target.getAttribute("data-field")), None)

    def on_submit(self, event):
        event.preventDefault()
        if not self.busy:
            asyncio.create_task(self.submit())

    # -- errors beside their fields -------------------------------------------------------
    def flag(self, name, message):
        box = el("sort-panel").querySelector('[data-error-for="' + str(window.CSS.escape(
            name)) + '"]')
        if box is None:
            return False
        box.textContent = message or ""
        box.hidden = not message
        owner = box.closest("[data-field-box]") or box.parentElement
        owner.classList.toggle("invalid", bool(message))
        group = box.parentElement.closest("details")
        while message and group is not None:  # an error inside a closed group: open it
            group.open = True
            group = group.parentElement.closest("details")
        return True

    def top(self, message):
        box = el("sort-error")
        if box is not None:
            box.textContent = message or ""
            box.hidden = not message

    def clear_errors(self):
        boxes = el("sort-panel").querySelectorAll("[data-error-for]")
        for i in range(boxes.length):
            name = boxes.item(i).getAttribute("data-error-for")
            self.flag(str(name), None)
        self.top("")

    def show_broker_error(self, body, text):
        """A 422 ``{"detail": {"field", "message"}}`` beside the field it names."""
        detail = body.get("detail") if isinstance(body, dict) else None
        if not isinstance(detail, dict):
            self.top(self.sorting.problem(422, body, text, "submit the job"))
            return
        field, message = str(detail.get("field") or ""), str(detail.get("message") or "")
        known = check.all_names(self.param_fields + self.rec_fields) + [
            "processor", "recording.electrical_series_path", "recording.time_range"]
        target = None if field == "input" else check.error_target(field, known)
        if target is None or not self.flag(target, message):
            self.top("The broker refused the job: " + message)
        else:
            self.top("The broker refused the job (see the flagged field).")

    # -- submitting -----------------------------------------------------------------------
    def raw_values(self):
        form = el("sort-form")
        out = {}
        for field in check.leaves(self.param_fields + self.rec_fields):
            name = field["name"]
            node = form.querySelector('[data-field="' + str(window.CSS.escape(name)) + '"]')
            if node is None:
                continue
            if field["kind"] == "boolean":
                out[name] = bool(node.checked)
            elif field["kind"] in ("number", "integer") and node.validity.badInput:
                out[name] = "not a number"
            else:
                out[name] = str(node.value)
        return out

    def targets(self):
        paths = [str(el("sort-series").value)]
        boxes = el("sort-form").querySelectorAll(".sort-also-series")
        for i in range(boxes.length):
            box = boxes.item(i)
            if box.checked and str(box.value) not in paths:
                paths.append(str(box.value))
        return paths

    async def submit(self):
        self.clear_errors()
        el("sort-result").textContent = ""
        raw = self.raw_values()
        values, errors = check.check_form(self.param_fields, raw)
        rec_values, rec_errors = check.check_form(self.rec_fields, raw)
        seconds = el("sort-quick-seconds")
        span, quick_error = check.quick_range(
            bool(el("sort-quick").checked),
            "not a number" if seconds.validity.badInput else str(seconds.value))
        if quick_error:
            rec_errors["recording.time_range"] = quick_error
        if errors or rec_errors:
            for name in errors:
                self.flag(name, errors[name])
            for name in rec_errors:
                self.flag(name, rec_errors[name])
            self.top("Some values need fixing (flagged below); nothing was sent.")
            return
        broker = self.sorting.broker
        if not broker.usable():
            self.top("No broker answers: " + self.sorting.state_text() + ".")
            return
        if not broker.token:
            self.top("A token is needed to submit: open the broker settings.")
            self.sorting.open_settings()
            return
        parameters = check.changed(self.param_fields, values, "parameters")
        recording = check.changed(self.rec_fields, rec_values, "recording")
        if span is not None:
            recording["time_range"] = span
        self.busy = True
        el("sort-submit").disabled = True
        try:
            await self.send(parameters, recording)
        finally:
            self.busy = False
            button = el("sort-submit")
            if button is not None:
                button.disabled = False

    async def send(self, parameters, recording):
        result = el("sort-result")
        uri, problem = await self.sorting.job_input()
        if problem:
            self.top(problem)
            return
        submitted, reused = [], 0
        for path in self.targets():
            own = {}
            for key in recording:
                own[key] = recording[key]
            own["electrical_series_path"] = path.strip("/")
            body = {"processor": self.processor["name"], "parameters": parameters,
                    "recording": own, "input": uri}
            result.textContent = "Submitting " + path + "…"
            status, answer, text = await self.sorting.broker.request(
                "POST", "/api/jobs", body, timeout_ms=SUBMIT_TIMEOUT_MS)
            if status in (200, 201) and isinstance(answer, dict) and answer.get("id"):
                submitted.append(answer)
                reused += 1 if answer.get("reused") else 0
                self.sorting.jobs.watch(answer)
            elif status == 422:
                self.show_broker_error(answer, text)
                break
            else:
                self.top(self.sorting.problem(status, answer, text, "submit the job"))
                break
        if not submitted:
            result.textContent = ""
            return
        result.textContent = ("Submitted " + str(len(submitted)) + " job" + (
            "s" if len(submitted) > 1 else "") + (
            " (" + str(reused) + " identical, already completed: reused)" if reused else "")
            + "; follow it in the Jobs panel.")
        self.sorting.jobs.show()
        self.sorting.jobs.select(str(submitted[0]["id"]))
