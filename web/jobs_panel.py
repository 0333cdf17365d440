"""The Jobs panel: the broker's jobs, live; one job's console output streamed; its actions.

Runs in MicroPython on the main thread. Why it polls the way it does: the list is asked for
every ~0.75 s while any job is not final and every 10 s otherwise, and only while the panel is
open or a job submitted from this page is still running (a closed panel with nothing running
costs nothing). The selected job's log is read from the offset reached so far
(``/log?offset=N``) and only new text is appended: never the whole log again, which is what
made following a long job cost more the longer it ran.

Elements: ``#jobs-panel`` (its list ``tr.job-row[data-job-id][data-status]``),
``#job-detail[data-job-id][data-status]``, ``#job-log[data-text-while]`` (the job states seen
while text arrived: "running" there means the log streamed before the job ended), buttons
``[data-job-action=cancel|resubmit|open]``.

Reading jobs and logs needs the broker's token (they show inputs and parameters): without one,
or with one the broker refuses (401), the panel says so (``data-reason="no-token"``) in place
of the list instead of an error; without a token it asks the broker nothing.
"""

import asyncio

import jobs_render
from page import el, page_url
from pyscript import document, window

FAST_S = 0.75
SLOW_S = 10.0
LOG_S = 1.0
LOG_LIMIT = 2000000  # characters of console output kept on the page (the oldest go first)
NO_TOKEN = ("A token is needed to see jobs: set the broker's token in the broker settings "
            "(`nwbscope serve` prints a link with it).")


def decode(text):
    try:
        return str(window.decodeURIComponent(str(text).replace("+", " ")))
    except Exception:  # noqa: BLE001 - a malformed escape: shown as it is
        return str(text)


class JobsPanel:
    def __init__(self, sorting):
        self.sorting = sorting
        self.visible = False
        self.jobs = []
        self.by_id = {}
        self.listed = ""  # the list's JSON last drawn (redrawn only when it changes)
        self.selected = None
        self.watched = {}  # id -> last status, jobs submitted from this page
        self.polling = False
        self.wake = False
        self.log_generation = 0
        self.log_text = ""
        self.line = ""  # the log's unfinished last line, as received
        self.log_complete = False
        self.shown_summary = ""
        el("jobs-panel").addEventListener("click", self.on_click)

    # -- showing --------------------------------------------------------------------------
    def toggle(self):
        if self.visible:
            self.hide()
        else:
            self.show()

    def show(self, tab="jobs"):
        self.visible = True
        el("jobs-panel").hidden = False
        el("jobs-button").setAttribute("aria-expanded", "true")
        self.tab(tab)
        self.kick()

    def hide(self):
        self.visible = False
        el("jobs-panel").hidden = True
        el("jobs-button").setAttribute("aria-expanded", "false")

    def tab(self, name):
        buttons = document.querySelectorAll("#jobs-panel [data-jobs-tab]")
        for i in range(buttons.length):
            button = buttons.item(i)
            button.classList.toggle("active", str(button.dataset.jobsTab) == name)
        el("jobs-box").hidden = name != "jobs"
        el("files-box").hidden = name != "files"
        if name == "files":
            asyncio.create_task(self.sorting.files.refresh())

    def note(self, text):
        el("jobs-status").textContent = text

    # -- polling --------------------------------------------------------------------------
    def watch(self, job):
        """A job submitted from this page: followed even while the panel is closed."""
        self.watched[str(job["id"])] = str(job.get("status"))
        self.by_id[str(job["id"])] = job  # shown at once, before the list has it
        self.kick()

    def watching(self):
        return [i for i in self.watched if self.watched[i] not in jobs_render.FINAL]

    def kick(self):
        """Refresh now, and keep polling while there is a reason to."""
        self.wake = True
        if not self.polling:
            asyncio.create_task(self._poll())

    async def _poll(self):
        self.polling = True
        try:
            while self.visible or self.watching():
                self.wake = False
                await self.refresh()
                busy = [j for j in self.jobs if j.get("status") not in jobs_render.FINAL]
                waited, pause = 0.0, FAST_S if busy or self.watching() else SLOW_S
                while waited < pause and not self.wake:
                    await asyncio.sleep(0.25)
                    waited += 0.25
        finally:
            self.polling = False

    async def refresh(self):
        broker = self.sorting.broker
        if not broker.usable() and broker.state != "unreachable":
            self.note("No broker: set one in the settings to see its jobs.")
            return
        if broker.state == "no-token" and not broker.token:
            self.need_token()
            return
        status, body, text = await broker.request("GET", "/api/jobs?limit=50")
        if status == 401:
            self.need_token()
            return
        if status == 0:
            self.note("The broker does not answer (" + broker.label() + "); retrying.")
            return
        if status != 200 or not isinstance(body, dict):
            self.note("The broker answered " + str(status) + " for its jobs.")
            return
        self.note("")
        self.jobs = body.get("jobs") or []
        listed = {str(j["id"]): j for j in self.jobs}
        for job_id in [self.selected] + list(self.watched):  # kept though not listed
            if job_id and job_id not in listed and job_id in self.by_id:
                listed[job_id] = self.by_id[job_id]
        self.by_id = listed
        for job_id in self.watched:
            if job_id in self.by_id:
                self.watched[job_id] = str(self.by_id[job_id].get("status"))
        selected = self.by_id.get(self.selected or "")
        if self.selected and (selected is None or selected not in self.jobs
                              and selected.get("status") not in jobs_render.FINAL):
            await self.fetch_one(self.selected)  # not in the list's 50: asked for itself
        if text != self.listed or self.running_shown():
            self.listed = text
            self.draw_list()
        self.draw_summary()

    def need_token(self):
        """Jobs are not public: say what to do, in the status line and in place of the list
        (a list read earlier with another token is not left showing)."""
        self.note(NO_TOKEN)
        self.jobs, self.listed = [], ""
        el("jobs-list").innerHTML = ('<p class="jobs-empty" data-reason="no-token">' + NO_TOKEN
                                     + "</p>")

    def running_shown(self):
        return [j for j in self.jobs if j.get("status") == "running"]

    async def fetch_one(self, job_id):
        status, body, _ = await self.sorting.broker.request("GET", "/api/jobs/" + job_id)
        if status == 200 and isinstance(body, dict):
            self.by_id[job_id] = body
            self.draw_summary()

    def times(self):
        now = float(window.Date.now()) / 1000
        out = {}
        for job in self.jobs:
            timings = job.get("timings") or {}
            created = timings.get("created_at")
            started = timings.get("started_at")
            started_s = float(window.Date.parse(started)) / 1000 if started else None
            text = str(window.Date.new(created).toLocaleString()) if created else ""
            out[str(job["id"])] = (text, jobs_render.duration_of(job, now, started_s))
        return out

    def draw_list(self):
        box = el("jobs-list")
        scroll = box.scrollTop
        box.innerHTML = jobs_render.list_html(self.jobs, self.selected, self.times(), decode)
        box.scrollTop = scroll

    # -- one job --------------------------------------------------------------------------
    def select(self, job_id):
        job_id = str(job_id)
        self.selected = job_id
        rows = document.querySelectorAll("#jobs-list tr.job-row")
        for i in range(rows.length):
            row = rows.item(i)
            row.classList.toggle("selected", str(row.dataset.jobId) == job_id)
        detail = el("job-detail")
        detail.hidden = False
        detail.dataset.jobId = job_id
        log = el("job-log")
        log.innerHTML = '<span class="log-current"></span>'
        self.line = ""
        log.dataset.textWhile = ""
        log.dataset.chunks = "0"
        self.log_text, self.log_complete, self.shown_summary = "", False, ""
        self.log_generation += 1
        if job_id not in self.by_id:  # not listed (yet): nothing of another job stays shown
            detail.dataset.status = ""
            el("job-summary").innerHTML = '<p class="jobs-empty">Reading the job…</p>'
            asyncio.create_task(self.fetch_one(job_id))
        self.draw_summary()
        asyncio.create_task(self._stream(job_id, self.log_generation))

    def open_href(self, job):
        uri = (job.get("outputs") or {}).get("nwb")
        return page_url(uri, None, None, ["/units"]) if uri else ""

    def summary_href(self, job):
        parsed = jobs_render.parse_store_uri((job.get("outputs") or {}).get("summary"))
        if parsed is None:
            return None
        return self.sorting.broker.store_url(parsed[0], decode(parsed[1]) if parsed[1] else None)

    def draw_summary(self):
        job = self.by_id.get(self.selected or "")
        if job is None:
            return
        html = jobs_render.summary_html(job, self.log_text, self.log_complete,
                                        self.open_href(job), self.changed_parameters(job),
                                        self.summary_href(job))
        el("job-detail").dataset.status = str(job.get("status"))
        if html != self.shown_summary:  # redrawn only when it changes (open <details> stay)
            self.shown_summary = html
            el("job-summary").innerHTML = html

    def changed_parameters(self, job):
        """The job's parameters that differ from its sorter's defaults (None: unknown)."""
        for processor in self.sorting.broker.processors:
            if processor.get("name") == job.get("processor"):
                defaults = self.sorting.form.defaults_of(processor)
                return jobs_render.changed_from(defaults, job.get("parameters") or {})
        return None

    async def _stream(self, job_id, generation):
        """Append the console output as it grows; stop once the job is final and read."""
        broker, offset = self.sorting.broker, 0
        while generation == self.log_generation:
            status, body, _ = await broker.request(
                "GET", "/api/jobs/" + job_id + "/log?offset=" + str(offset))
            if generation != self.log_generation:
                return
            if status == 0:
                await asyncio.sleep(2 * LOG_S)  # the broker's state says why; it retries
                continue
            if status == 401:
                self.append("\n[a token is needed to read the log: set the broker's token in "
                            "the broker settings]\n", "")
                return
            if status != 200 or not isinstance(body, dict):
                self.append("\n[the log could not be read: the broker answered "
                            + str(status) + "]\n", "")
                return
            text = str(body.get("text") or "")
            if text:
                self.append(text, str(body.get("status") or ""))
            offset = int(body.get("next_offset") or offset)
            if body.get("complete") and not text:
                self.log_complete = True
                self.draw_summary()
                return
            if not text:
                await asyncio.sleep(LOG_S)

    def append(self, text, status):
        """New console text: finished lines added once (a progress bar's ``\r`` rewrites
        collapsed), the unfinished last line kept in its own span and rewritten."""
        log = el("job-log")
        follow = log.scrollTop + log.clientHeight >= log.scrollHeight - 20
        self.log_text += text
        current = log.querySelector(".log-current")
        if current is None or len(self.log_text) > LOG_LIMIT:
            self.log_text = self.log_text[-LOG_LIMIT // 2:]
            log.innerHTML = '<span class="log-current"></span>'
            current = log.querySelector(".log-current")
            self.line, text = "", self.log_text
        pending = self.line + text
        cut = pending.rfind("\n")
        if cut >= 0:
            done = "\n".join(jobs_render.collapse_cr(line) for line in
                             pending[:cut].split("\n")) + "\n"
            log.insertBefore(document.createTextNode(done), current)
            pending = pending[cut + 1:]
        self.line = pending
        current.textContent = jobs_render.collapse_cr(pending)
        log.dataset.chunks = str(int(log.dataset.chunks or 0) + 1)
        seen = [s for s in str(log.dataset.textWhile or "").split(",") if s]
        if status and status not in seen:
            log.dataset.textWhile = ",".join(seen + [status])
        if follow:
            log.scrollTop = log.scrollHeight

    # -- actions --------------------------------------------------------------------------
    def on_click(self, event):
        target = event.target
        tab = target.closest("[data-jobs-tab]")
        if tab is not None:
            self.tab(str(tab.dataset.jobsTab))
            return
        if target.closest("[data-jobs-action=close]") is not None:
            self.hide()
            return
        action = target.closest("[data-job-action]")
        if action is not None and self.selected:
            name = str(action.dataset.jobAction)
            if name == "open" and not (event.ctrlKey or event.metaKey or event.shiftKey):
                event.preventDefault()
                job = self.by_id.get(self.selected) or {}
                self.sorting.open_uri((job.get("outputs") or {}).get("nwb"), ["/units"])
            elif name == "cancel":
                asyncio.create_task(self.cancel(self.selected))
            elif name == "resubmit":
                asyncio.create_task(self.resubmit(self.selected))
            return
        row = target.closest("tr.job-row")
        if row is not None:
            self.select(str(row.dataset.jobId))

    async def cancel(self, job_id):
        status, body, text = await self.sorting.broker.request(
            "POST", "/api/jobs/" + job_id + "/cancel", {})
        if status == 200:
            self.note("Cancel asked: the worker stops the job at its next heartbeat.")
        else:
            self.note(self.sorting.problem(status, body, text, "cancel the job"))
        self.kick()

    async def resubmit(self, job_id):
        job = self.by_id.get(job_id)
        if job is None:
            return
        if "***" in str((job.get("inputs") or {}).get("input") or ""):
            self.note("This job's input URL holds a password or a signed key, which the broker "
                      "does not show: submit that URL again from the sort form.")
            return
        request = {"processor": job["processor"], "parameters": job.get("parameters") or {},
                   "recording": job.get("recording") or {},
                   "input": (job.get("inputs") or {}).get("input"), "force": True}
        status, body, text = await self.sorting.broker.request("POST", "/api/jobs", request,
                                                               timeout_ms=120000)
        if status in (200, 201) and isinstance(body, dict):
            self.note("Submitted again as job " + str(body["id"])[:8] + ".")
            self.watch(body)
            self.select(str(body["id"]))
        else:
            self.note(self.sorting.problem(status, body, text, "resubmit the job"))


def skeleton_html():
    """The panel's fixed parts (drawn once; the list and the detail fill them)."""
    return ('<div class="jobs-head"><span class="jobs-tabs"><button type="button" '
            'data-jobs-tab="jobs" class="active">Jobs</button><button type="button" '
            'data-jobs-tab="files">Files</button></span><span id="jobs-status" '
            'role="status"></span><button type="button" data-jobs-action="close" '
            'title="Close">×</button></div><div id="jobs-box"><div id="jobs-list">'
            '<p class="jobs-empty">Reading the jobs…</p></div><div id="job-detail" hidden>'
            '<div id="job-summary"></div><h5>Console output</h5><pre id="job-log" '
            'data-chunks="0" data-text-while=""></pre></div></div><div id="files-box" hidden>'
            "</div>")
