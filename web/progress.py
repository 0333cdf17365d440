"""Start-up progress a person can read: the named step, a bar, bytes, and a clock that ticks.

Why: for the 3-10 s the viewer takes to start (Pyodide boots in a worker, then loads numpy,
pyfive and nwbscope, then reads the file's metadata) the page used to show one status line
that changed a few times, and a new user read it as a hang (issue #14). Here the page says
which of five steps it is in, how far the bar is (steps done, plus the fraction of the
current one where bytes done and total are known), the bytes so far and the time so far,
and the time moves every ``TICK_MS`` so the line never sits still.

``Progress`` is the model and pure (no browser), so the tests run it in CPython and in the
page's MicroPython; ``Bar`` draws it into ``#progress`` and owns the one interval, which runs
only while the bar is shown. ``#status`` stays what it was (the last thing said).
"""

STEPS = (
    ("page", "loading the page"),
    ("python", "downloading and starting Python"),
    ("packages", "loading packages"),
    ("file", "reading the file"),
    ("tree", "drawing the tree"),
)
KEYS = [step[0] for step in STEPS]
# The worker's boot events (boot.mjs) whose words name step 2: restoring a snapshot, booting
# afresh; the others ("booted", "restored", "kept") say it is over and go to #status only.
BOOT_NAMES = ("restore", "boot", "discarded")
TICK_MS = 250  # the elapsed time shows tenths: it changes at every tick


def format_bytes(count):
    """Bytes as a person reads them: 820 B, 64 kB, 3.1 MB, 1.25 GB (decimal units)."""
    count = max(0, int(count))
    if count < 1000:
        return str(count) + " B"
    if count < 1000000:
        return str(int(round(count / 1e3))) + " kB"
    if count < 1000000000:
        return f"{count / 1e6:.1f}" + " MB"
    return f"{count / 1e9:.2f}" + " GB"


def _number(value):
    """A count from a message field, or None (JSON null, text, a bool, negative)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return value


class Progress:
    """Where start-up (or a later open) is: the step, its own text, bytes, and the clock.

    Times are milliseconds since the page's time origin (``performance.now()``): the first
    start counts from the navigation, so the time shown includes loading the page itself.
    """

    def __init__(self, now_ms=0.0):
        self.index = 0
        self.started = now_ms
        self.finished = False
        self.totals = {}  # step key -> bytes it may download (manifest "download_bytes")
        self._clear(None)

    def _clear(self, text):
        self.text = text  # the worker's own words for this step (a snapshot restore)
        self.done = None  # bytes done in this step
        self.total = None  # bytes this step will take, when the worker says
        self.requests = None
        self.names = None  # the packages being loaded

    def enter(self, key, now_ms, text=None):
        """Move to step ``key``; True if that changed what is shown. A message of an earlier
        step arriving late is dropped; after ``finish`` (the page was ready) any step starts
        a new run with its own clock (a file opened later)."""
        if key not in KEYS:
            return False
        index = KEYS.index(key)
        if self.finished:
            self.finished = False
            self.started = now_ms
        elif index < self.index:
            return False
        elif index == self.index:
            if text and text != self.text:
                self.text = text
                return True
            return False
        self.index = index
        self._clear(text or None)
        return True

    def update(self, message):
        """Take what a worker message says about this step: ``bytes`` or ``done``, ``total``,
        ``requests``, ``names``; True if any of it was there."""
        changed = False
        done = _number(message.get("bytes", message.get("done")))
        if done is not None:
            self.done, changed = done, True
        total = _number(message.get("total"))
        if total is not None:
            self.total, changed = total, True
        requests = _number(message.get("requests"))
        if requests is not None:
            self.requests, changed = int(requests), True
        names = message.get("names")
        if isinstance(names, list) and names:
            self.names, changed = [str(name) for name in names], True
        return changed

    def boot(self, message):
        """An event of Pyodide's boot; True while step 2 is shown (late ones are dropped:
        the snapshot is stored after Python is up). A size that comes without a total is
        the snapshot's, not progress, and is not shown."""
        if self.finished or self.index != KEYS.index("python"):
            return False
        if message.get("step") in BOOT_NAMES and message.get("text"):
            self.text = str(message["text"])
        if message.get("total") is not None:
            self.update(message)
        return True

    def finish(self):
        self.finished = True

    def value(self):
        """Steps done plus the known fraction of this one (0 when unknown), of ``len(STEPS)``."""
        if self.finished:
            return float(len(STEPS))
        fraction = 0.0
        if self.done is not None and self.total:
            fraction = min(0.99, self.done / self.total)
        return self.index + fraction

    def label(self):
        """The step, named: ``downloading and starting Python (step 2 of 5)``."""
        name = self.text or STEPS[self.index][1]
        return name + " (step " + str(self.index + 1) + " of " + str(len(STEPS)) + ")"

    def detail(self):
        """What this step has moved so far: bytes done and total where known, requests,
        the packages' names; empty when nothing is known."""
        parts = []
        if self.names:
            parts.append(", ".join(self.names))
        if self.done is not None and self.total:
            parts.append(format_bytes(self.done) + " of " + format_bytes(self.total))
        elif self.done is not None:
            text = format_bytes(self.done) + " read"
            if self.requests is not None:
                text += (" in " + str(self.requests) + " request"
                         + ("" if self.requests == 1 else "s"))
            parts.append(text)
        else:
            planned = _number(self.totals.get(KEYS[self.index]))
            if planned:
                parts.append("up to " + format_bytes(planned) + " (less when cached)")
        return " · ".join(parts)

    def elapsed(self, now_ms):
        """Seconds since this run started, in tenths: ``3.4 s``."""
        return f"{max(0.0, now_ms - self.started) / 1000:.1f}" + " s"


class Bar:
    """``Progress`` drawn into ``#progress`` (``<progress id="progress-bar">``, the step's
    name, its bytes and the elapsed time), with the one interval that ticks the time."""

    def __init__(self, document, window):
        self.document = document
        self.window = window
        self.model = Progress(self.now())
        self.timer = None
        self._tick = None  # the interval's callback, proxied once and kept (JS holds it)

    def now(self):
        return float(self.window.performance.now())

    def el(self, name):
        return self.document.getElementById(name)

    def step(self, key, text=None):
        """Show step ``key`` (``STEPS``), with the worker's own words for it if given."""
        if self.model.enter(key, self.now(), text):
            self.draw()
        self.run()

    def update(self, message):
        """Bytes, requests or names from a worker message, while the bar is shown."""
        if not self.model.finished and self.model.update(message):
            self.draw()

    def progress(self, message):
        """A worker's ``progress`` event: its step (``packages``, ``file``) and what it
        says of it (package names); an event without a step changes nothing."""
        key = message.get("step")
        if key not in KEYS:
            return
        self.step(key)
        if not self.model.finished and self.model.index == KEYS.index(key):
            self.update(message)

    def boot(self, message):
        """A boot event (``boot.mjs``); True if it was for the step shown (``Progress.boot``)."""
        if not self.model.boot(message):
            return False
        self.draw()
        return True

    def set_totals(self, totals):
        """Bytes each step may download (``{"python": n, "packages": n}``), where known."""
        if isinstance(totals, dict):
            self.model.totals = totals
            if not self.model.finished:
                self.draw()

    async def load_totals(self, manifest_url):
        """The bytes each step may download, from the site's manifest (``download_bytes``:
        ``{"python": n, "packages": n}``) when the build wrote them; without them, or without
        a manifest, the totals stay unknown and nothing is shown for them."""
        import json

        try:
            response = await self.window.fetch(manifest_url)
            if not response.ok:
                return
            manifest = json.loads(str(await response.text()))
        except Exception:  # noqa: BLE001 - no manifest, or not JSON: totals stay unknown
            return
        if isinstance(manifest, dict):
            self.set_totals(manifest.get("download_bytes"))

    def finish(self):
        """Ready or failed: the bar goes (an error stays readable in ``#error``)."""
        self.model.finish()
        if self.timer is not None:
            self.window.clearInterval(self.timer)
            self.timer = None
        box = self.el("progress")
        if box:
            box.hidden = True

    def run(self):
        if self.timer is not None or self.model.finished:
            return
        if self._tick is None:
            from pyscript.ffi import create_proxy

            self._tick = create_proxy(self.tick)
        self.timer = self.window.setInterval(self._tick, TICK_MS)

    def tick(self, *args):
        box = self.el("progress-elapsed")
        if box and not self.model.finished:
            box.textContent = self.model.elapsed(self.now())

    def draw(self):
        box = self.el("progress")
        if not box:
            return
        model = self.model
        box.hidden = False
        box.dataset.step = KEYS[model.index]
        bar = self.el("progress-bar")
        bar.max = len(STEPS)
        bar.value = model.value()
        self.el("progress-step").textContent = model.label()
        self.el("progress-detail").textContent = model.detail()
        self.tick()

