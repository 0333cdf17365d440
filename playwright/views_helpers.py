"""Steps the view panels' browser tests share: open views, wait for frames, read the plots.

Why read the Bokeh document and not pixels: a panel's numbers (its sources' columns, its x
range, the cursor) are what the plot draws, and ``window.nwbscopeViews`` hands out any model
by name (``web/views.js``), so a test compares values with pynwb's, exactly. Screenshots are
saved for a person to look at (``ARTIFACTS``), never compared.

A frame is "new" when its panel's ``seq`` is above the one seen before an action, and the
panel marks it ``complete`` once the last (exact) frame of that window is drawn: so
``seq = panel_seq(...)`` before acting, then ``wait_frame(page, id, after=seq)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from viewer_helpers import OPEN_MS, START_MS, mark_submitted, state

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
FRAME_MS = 60_000  # a first frame may wait for Bokeh and pandas to load in the worker

VIEWS_READY = "document.getElementById('views-state').textContent === 'views: ready'"


def views_url(site_url: str, file_url: str, views: list[str] | tuple[str, ...] = (),
              t: tuple[float, float] | None = None, path: str | None = None) -> str:
    """The page's address for a file, its panels (``view=`` keys, in order) and window."""
    params: list[tuple[str, str]] = [("url", file_url)]
    if path:
        params.append(("path", path))
    params += [("view", key) for key in views]
    if t is not None:
        params.append(("t", f"{t[0]:g},{t[1]:g}"))
    return site_url + "?" + urlencode(params)


def open_views(page, site_url: str, file_url: str, views: list[str] | tuple[str, ...] = (),
               t: tuple[float, float] | None = None) -> list[str]:
    """Show ``views`` of a file and wait until each panel drew a complete frame (or shows an
    error); the panel ids, top first.

    A page already running the viewer is not reloaded (Pyodide would start again, 15-30 s
    here): it goes to the file's address without views, the leftover error boxes are closed
    with their × buttons, then to the address asked for, as a link followed inside the page
    (or back/forward) does. Otherwise the page loads the address."""
    target = views_url(site_url, file_url, views, t)
    if not page.url.startswith(site_url) or state(page) != "ready":
        page.goto(target)
        page.wait_for_function("document.body.dataset.state === 'ready'", timeout=START_MS)
    else:
        same_file = parse_qs(urlsplit(page.url).query).get("url") == [file_url]
        if not same_file:
            mark_submitted(page)  # the answer to the new file's open sets it ready again
        navigate(page, views_url(site_url, file_url))
        page.wait_for_function("document.body.dataset.state === 'ready'"
                               " && !document.querySelector('#views section.panel[data-panel]')",
                               timeout=START_MS)
        for box in page.locator("#views section.panel.failed").all():
            box.locator("button[data-action=close]").click()
        page.wait_for_function("!document.querySelector('#views section.panel')",
                               timeout=OPEN_MS)
        navigate(page, target)
    wait_panels_settled(page, len(views))
    return panel_ids(page)


def navigate(page, url: str) -> None:
    """Go to ``url`` inside the running page: a history entry and its popstate."""
    page.evaluate("u => { history.pushState(null, '', u);"
                  " dispatchEvent(new PopStateEvent('popstate')); }", url)


def wait_panels_settled(page, count: int, timeout: int = FRAME_MS) -> None:
    """``count`` panels on the page, each failed (an error shown) or with a complete frame."""
    page.wait_for_function(
        """n => { const boxes = [...document.querySelectorAll('#views section.panel')];
        return boxes.length === n && boxes.every(b => b.classList.contains('failed')
          || (b.dataset.panel && window.nwbscopeViews.panels[b.dataset.panel]
              && window.nwbscopeViews.panels[b.dataset.panel].complete)); }""",
        arg=count, timeout=timeout)


def wait_views_ready(page, timeout: int = FRAME_MS) -> None:
    page.wait_for_function(VIEWS_READY, timeout=timeout)


def panel_ids(page) -> list[str]:
    """Ids of the panels that opened, in the page's order."""
    return page.evaluate("[...document.querySelectorAll('#views section.panel[data-panel]')]"
                         ".map(b => b.dataset.panel)")


def panel_seq(page, panel_id: str) -> int:
    """The seq of the panel's last drawn frame (-1: none yet, or no such panel)."""
    return page.evaluate("id => { const p = window.nwbscopeViews.panels[id];"
                         " return p && p.doc ? p.seq : -1; }", panel_id)


def wait_frame(page, panel_id: str, after: int = -1, timeout: int = FRAME_MS) -> None:
    """Until the panel has drawn a complete frame newer than seq ``after``."""
    page.wait_for_function(
        "([id, after]) => { const p = window.nwbscopeViews.panels[id];"
        " return !!(p && p.doc && p.complete && p.seq > after); }",
        arg=[panel_id, after], timeout=timeout)


def read_source(page, panel_id: str, name: str) -> dict[str, Any]:
    """A source's columns as Python lists (typed arrays, and arrays of them, unpacked; a 2-D
    NDArray, an image, as a list of rows)."""
    return page.evaluate(
        """([id, name]) => { const s = window.nwbscopeViews.model(id, name);
        if (!s) return null;
        const rows = v => { const flat = Array.from(v), w = v.shape[1];
          return Array.from({length: v.shape[0]}, (_, i) => flat.slice(i * w, (i + 1) * w)); };
        const plain = v => (ArrayBuffer.isView(v) ? (v.shape && v.shape.length === 2 ? rows(v)
                                                     : Array.from(v))
                            : Array.isArray(v) ? v.map(plain) : v);
        const out = {}; for (const [k, v] of Object.entries(s.data)) out[k] = plain(v);
        return out; }""", [panel_id, name])


def model_values(page, panel_id: str, name: str, attrs: list[str]) -> dict[str, Any] | None:
    """Some attributes of a named model of a panel (``x_range``: start, end; ...)."""
    return page.evaluate(
        "([id, name, attrs]) => { const m = window.nwbscopeViews.model(id, name);"
        " return m ? Object.fromEntries(attrs.map(a => [a, m[a]])) : null; }",
        [panel_id, name, attrs])


def x_range(page, panel_id: str) -> tuple[float, float]:
    values = model_values(page, panel_id, "x_range", ["start", "end"])
    assert values is not None, f"panel {panel_id} has no x_range"
    return values["start"], values["end"]


def pan_to(page, panel_id: str, start: float, end: float) -> None:
    """Move one panel's x range as a drag does (its callbacks tell the page)."""
    page.evaluate("([id, s, e]) => window.nwbscopeViews.model(id, 'x_range')"
                  ".setv({start: s, end: e})", [panel_id, start, end])


def set_cursor(page, panel_id: str, t: float) -> None:
    """The cursor as a tap in ``panel_id`` sets it (every panel's span follows)."""
    page.evaluate("([id, t]) => window.nwbscopeViews.cursor(id, t)", [panel_id, t])


def plot_width(page, panel_id: str) -> float:
    """Inner (drawable) width in pixels of the panel's time plot, as Bokeh laid it out."""
    return page.evaluate(
        """id => { const doc = window.nwbscopeViews.panels[id].doc;
        const range = doc.get_model_by_name('x_range');
        const plot = [...doc.all_models].find(m => m.x_range === range && 'inner_width' in m);
        return plot ? plot.inner_width : null; }""", panel_id)


def url_state(page) -> tuple[list[str], tuple[float, float] | None]:
    """The address bar's ``view=`` keys (in order) and ``t=`` window."""
    query = parse_qs(urlsplit(page.url).query)
    t = query.get("t")
    window = tuple(float(v) for v in t[0].split(",")) if t else None
    return query.get("view", []), window  # type: ignore[return-value]


def panel(page, panel_id: str):
    return page.locator(f"#panel-{panel_id}")


def panel_error(page, box) -> str:
    """The error line inside a panel's box ('' when hidden)."""
    line = box.locator(".panel-error")
    return line.inner_text() if line.is_visible() else ""


def click_panel_button(page, panel_id: str, action: str) -> None:
    panel(page, panel_id).locator(f"button[data-action={action}]").click()


def wait_keys(page, keys: list[str], timeout: int = OPEN_MS) -> None:
    """Until the panels on the page carry exactly these URL keys, in this order."""
    page.wait_for_function(
        "keys => JSON.stringify([...document.querySelectorAll('#views section.panel')]"
        ".map(b => b.dataset.key)) === JSON.stringify(keys)", arg=keys, timeout=timeout)


def screenshot(page, name: str, panel_id: str | None = None) -> Path:
    """Save the panel (or the whole page) as ``ARTIFACTS/<name>.png``, for a person."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    target = panel(page, panel_id) if panel_id else page
    target.screenshot(path=str(path))
    return path


def set_option(page, panel_id: str, name: str, value: Any, timeout: int = FRAME_MS) -> None:
    """Change a panel's control ``option:<name>`` as a user does (a Select's or
    NumericInput's ``value``, a Checkbox's ``active``: its CustomJS tells the page, which
    asks the worker), then wait for the frame drawn with it (after a rebuild, too)."""
    seq = panel_seq(page, panel_id)
    page.evaluate(
        """([id, name, value]) => { const m = window.nwbscopeViews.model(id, 'option:' + name);
        if (!m) throw new Error('panel ' + id + ' has no control option:' + name);
        if (typeof m.active === 'boolean') m.active = !!value; else m.value = value; }""",
        [panel_id, name, value])
    wait_frame(page, panel_id, after=seq, timeout=timeout)


def option_value(page, panel_id: str, name: str) -> Any:
    """What a control shows (``value``, or ``active`` for a checkbox)."""
    return page.evaluate(
        "([id, name]) => { const m = window.nwbscopeViews.model(id, 'option:' + name);"
        " return typeof m.active === 'boolean' ? m.active : m.value; }", [panel_id, name])


def status_text(page, panel_id: str) -> str:
    """The status line under a panel's plots (what its last frame said)."""
    return page.evaluate("id => window.nwbscopeViews.model(id, 'status').text", panel_id)


def plot_point(page, panel_id: str, x: float, y: float, range_name: str = "x_range"
               ) -> tuple[float, float]:
    """Where the data point (x, y) of the panel's plot on x range ``range_name`` is in the
    viewport, in CSS pixels (for ``page.mouse``): BokehJS's own scales of the laid-out frame,
    so a click there is a click on what is drawn at (x, y). Scroll the panel into view
    first."""
    point = page.evaluate(
        """([id, name, x, y]) => { const doc = window.nwbscopeViews.panels[id].doc;
        const range = doc.get_model_by_name(name);
        const plot = [...doc.all_models].find(m => m.x_range === range && 'inner_width' in m);
        const view = plot ? Bokeh.index.find_one(plot) : null;
        if (!view) return null;
        const box = view.canvas_view.el.getBoundingClientRect();
        return [box.left + view.frame.x_scale.compute(x),
                box.top + view.frame.y_scale.compute(y)]; }""", [panel_id, range_name, x, y])
    assert point is not None, f"panel {panel_id} has no drawn plot on {range_name}"
    return point[0], point[1]
