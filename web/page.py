"""Small helpers every page module shares: elements, status line, errors, marks, the URL.

Runs in MicroPython on the main thread. Why one module: the tree, the view panels and the
file opener all write the same status line and error box and read the same address bar; one
copy of each keeps them saying things the same way. The start-up progress bar
(``progress.py``) is one too, ``PROGRESS``: ``set_state`` takes it down when the page is
ready or failed, whoever says so. The empty page's demo link is here as well.
"""

import render
from progress import Bar
from pyscript import document, window
from pyscript.ffi import create_proxy

SITE = window.location.href.split("#")[0].split("?")[0].rsplit("/", 1)[0] + "/"
PROGRESS = Bar(document, window)
DEMO_PATH = "files/demo.nwb"  # nwbscope serve's public demo route, beside the site


def el(name):
    return document.getElementById(name)


def mark(name):
    window.performance.mark("nwbscope:" + name)


def set_state(state):
    document.body.dataset.state = state
    if state in ("ready", "error"):
        PROGRESS.finish()


def state():
    return str(document.body.dataset.state)


def set_status(text):
    el("status").textContent = text


def show_error(message):
    box = el("error")
    box.textContent = message
    box.hidden = False


def clear_error():
    el("error").textContent = ""
    el("error").hidden = True


def show_notes(notes):
    box = el("notice")
    box.textContent = " ".join(notes)
    box.hidden = not notes


def show_stats(stats):
    if not stats:
        return
    box = el("io-stats")
    box.dataset.requests = str(stats.get("requests", 0))
    box.dataset.bytes = str(stats.get("bytes", 0))
    box.dataset.hits = str(stats.get("hits", 0))
    box.textContent = render.stats_text(stats)


def js_options(text):
    """A JS object from JSON text (MicroPython dicts do not cross as objects)."""
    return window.JSON.parse(text)


def absolute_url(url):
    """Relative URLs (/files/demo.nwb) are relative to the page, not to the worker."""
    try:
        return str(window.URL.new(url, window.location.href).href)
    except Exception:  # noqa: BLE001 - the URL constructor's TypeError
        return url


def url_params():
    return window.URL.new(window.location.href).searchParams


def param_list(name):
    """Every value of a repeated query parameter (``view=`` may appear many times)."""
    values = url_params().getAll(name)
    return [str(values[i]) for i in range(values.length)]


def page_url(file_url, file_name, path, views=(), t=None):
    """The address bar for a state: the file (URL, or a local file's name), the selected
    object, the open view panels in order, and the visible time window ``t=start,end``."""
    url = window.URL.new(SITE + "index.html")
    params = url.searchParams
    if file_url:
        params.set("url", file_url)
    elif file_name:
        params.set("file", file_name)
    if path:
        params.set("path", path)
    for key in views:
        params.append("view", key)
    if t is not None:
        params.set("t", format_time(t[0]) + "," + format_time(t[1]))
    return url.href


def format_time(value):
    """Seconds as short as they stay exact to a microsecond (links stay readable)."""
    text = f"{value:.6f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def parse_window(text):
    """``(start, end)`` from ``t=start,end``; None when absent or not two ordered numbers."""
    try:
        start, end = [float(part) for part in str(text or "").split(",")]
    except ValueError:
        return None
    finite = abs(start) < 1e300 and abs(end) < 1e300  # NaN fails both comparisons too
    return (start, end) if finite and end > start else None


def copy_text(text):
    """Copy to the clipboard; fall back to a selected textarea where the API is refused."""
    try:
        window.navigator.clipboard.writeText(text)
        return
    except Exception:  # noqa: BLE001 - no clipboard permission (http, headless)
        pass
    area = document.createElement("textarea")
    area.value = text
    document.body.appendChild(area)
    area.select()
    document.execCommand("copy")
    area.remove()


# -- the empty page ------------------------------------------------------------------------
LANDING = {"probed": False, "url": None, "wanted": False, "open": None, "listening": False}


async def demo_url():
    """The absolute URL of the server's demo file if it answers a HEAD with 200 (``nwbscope
    serve`` offers one), else None (a plain static host: 404). Asked once per page."""
    if not LANDING["probed"]:
        LANDING["probed"] = True
        url = SITE + DEMO_PATH
        try:
            response = await window.fetch(url, js_options('{"method": "HEAD"}'))
            if int(response.status) == 200:
                LANDING["url"] = url
        except Exception:  # noqa: BLE001 - unreachable: no demo link, nothing broken
            pass
    return LANDING["url"]


async def show_landing(open_url):
    """Offer the demo recording on the empty page, if this server has one; ``open_url(url)``
    opens it in place (a plain link otherwise: a middle click opens a new tab)."""
    LANDING["wanted"] = True
    LANDING["open"] = open_url
    url = await demo_url()
    if url is None or not LANDING["wanted"]:
        return  # no demo, or a file was opened while the probe was out
    link = el("demo-link")
    link.href = page_url(url, None, None)
    link.dataset.url = url
    if not LANDING["listening"]:
        LANDING["listening"] = True
        link.addEventListener("click", create_proxy(_on_demo_click))
    el("landing").hidden = False


def hide_landing():
    LANDING["wanted"] = False
    el("landing").hidden = True


def _on_demo_click(event):
    plain = event.button == 0 and not (event.ctrlKey or event.metaKey or event.shiftKey
                                       or event.altKey)
    if not plain or LANDING["open"] is None:
        return  # the browser follows the link (a new tab, a reload)
    event.preventDefault()
    url = str(el("demo-link").dataset.url)
    hide_landing()
    LANDING["open"](url)
