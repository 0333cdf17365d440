"""The browser part of docs/performance.md: cold start, warm start, walk, and their goals."""

from __future__ import annotations

from bench.fmt import le, mb, num, sec, verdict


def browser_section(res: dict | None) -> list[str]:
    out = ["## Browser: cold start to the visible tree", ""]
    if not res:
        return out + ["Not run.", ""]
    if res.get("skipped"):
        return out + [f"**Not measured**: {res['skipped']}.", ""]
    out += [
        "Headless Debian Chromium, fresh profile per run (cold HTTP cache), site and data "
        "on two loopback servers; the data server adds the delay to every request. Times are "
        "from navigation start to the page's `nwbscope:tree-shown` mark, median of "
        f"{res['runs']} runs (fastest and slowest in brackets). The steps between the "
        "page's marks: page (until the worker is created), Pyodide (until Python runs), "
        "packages (numpy, pyfive, nwbscope), file open, tree. Requests and bytes are the "
        "data server's own counts (the page's `#io-stats` in brackets); app download is what "
        "the site server sent. Warm start: the same URL opened again in the same browser; "
        "'kept tree' is when the tree kept from the first visit is drawn (before Python is up), "
        "'warm start' when Python has reopened the file (the `tree-shown` mark).", "",
        "| file | delay | tree shown | page | Pyodide | packages | file open | tree "
        "| data requests | data bytes | plain GETs | app download | warm: kept tree | warm start "
        "| warm requests |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for case in res["cases"]:
        c, w = case["cold"], case["warm"]
        label = f"| {case['file']} | {case['delay_ms']:g} ms "
        if not c.get("ok"):
            out.append(label + f"| **failed**: {c.get('failure', '')} |" + " |" * 13)
            continue
        page = f" ({num(c.get('page_requests'))})" if "page_requests" in c else ""
        page_b = f" ({mb(c.get('page_bytes'))})" if "page_bytes" in c else ""
        tree = c.get("tree_s", c.get("wall_s"))
        spread = c.get("tree_s_range")
        spread = f" ({spread[0]:.1f}–{spread[1]:.1f})" if spread and c["ok"] > 1 else ""
        out.append(
            label + f"| {sec(tree)}{spread} | {sec(c.get('page_s'))} | {sec(c.get('pyodide_s'))} "
            f"| {sec(c.get('packages_s'))} "
            f"| {sec(c.get('open_s'))} | {sec(c.get('tree_step_s'))} "
            f"| {num(c.get('requests'))}{page} | {mb(c.get('bytes'))}{page_b} "
            f"| {num(c.get('full_gets'))} | {num(c.get('app_requests'))} files, "
            f"{mb(c.get('app_bytes'))} | {sec(w.get('kept_tree_s'))} | {sec(w.get('tree_s'))} "
            f"| {num(w.get('requests'))} |")
        if c.get("failure"):
            out.append(f"|  | | some runs failed: {c['failure']} |" + " |" * 12)
    if any(not case["cold"].get("ok") for case in res["cases"]) and res.get("console"):
        out += ["", "Last errors in the browser console:", "", "```",
                *(line.replace("\n", " ")[:200] for line in res["console"][-3:]), "```"]
    out += browser_walk_table(res)
    out += ["", "### Goals", "", "| goal | Neurosift (goals doc) | measured | |",
            "|---|---|---|---|"]
    big = {c["delay_ms"]: c for c in res["cases"] if c["file"] == "big"}
    b0 = big.get(0.0, {}).get("cold", {})
    b30 = big.get(30.0, {}).get("cold", {})
    w0 = big.get(0.0, {}).get("warm", {})
    t0 = b0.get("tree_s")
    t30 = b30.get("tree_s")
    out += [
        f"| cold start to tree, big, loopback ≤ 3 s (issue 2); later ≤ 1.5 s | 3.4 s | "
        f"{sec(t0)} | {verdict(le(t0, 3.0))} |",
        f"| the same with 30 ms per request ≤ 3 s | 5.05 s | {sec(t30)} | "
        f"{verdict(le(t30, 3.0))} |",
        f"| requests until the tree of big shows ≤ 15 | 69 | {num(b0.get('requests'))} | "
        f"{verdict(le(b0.get('requests'), 15))} |",
        f"| bytes until the tree of big shows ≤ 11 MB | 11.3 MB + aborted GET | "
        f"{mb(b0.get('bytes'))} | {verdict(le(b0.get('bytes'), 11e6))} |",
        f"| no plain GET of the file | one, aborted after 4-7 MB | {num(b0.get('full_gets'))} | "
        f"{verdict(le(b0.get('full_gets'), 0))} |",
        f"| warm start, big ≤ 1 s: tree visible (kept from the last visit) | 1.9-2.3 s | "
        f"{sec(w0.get('kept_tree_s'))} | {verdict(le(w0.get('kept_tree_s'), 1.0))} |",
        f"| warm start, big ≤ 1 s: Python has reopened the file (details clickable) | 1.9-2.3 s "
        f"| {sec(w0.get('tree_s'))} | {verdict(le(w0.get('tree_s'), 1.0))} |",
        f"| warm start reopens an unchanged file with ≤ 1 request | 69 again | "
        f"{num(w0.get('requests'))} | {verdict(le(w0.get('requests'), 1))} |",
        "| first ElectricalSeries view ≤ 1 s, ≤ 10 MB | 6.1 s, 310 MB "
        "| see *Browser: views* | – |",
        "",
        "Neurosift's figures are quoted from `performance-goals.md` (same kind of machine), "
        "not measured in this run.", "",
    ]
    return out


def browser_walk_table(res: dict) -> list[str]:
    """After the tree: every group opened through the page's toggles (all objects listed)."""
    cases = [c for c in res["cases"] if c["cold"].get("ok") and "walk_requests" in c["cold"]]
    if not cases:
        return []
    out = ["", "### Browser: walking every object's metadata", "",
           "After the tree shows, every group is opened through the page's own toggles, one "
           "at a time, until the worker has listed every object (type, description, dtype, "
           "shape); counted at the data server from the tree on, then added to the tree's.", "",
           "| file | delay | groups opened | rows shown | walk time | walk requests "
           "| walk bytes | tree + walk requests | tree + walk bytes |",
           "|---|---|---|---|---|---|---|---|---|"]
    for case in cases:
        c = case["cold"]
        err = f" (**{c['walk_error']}**)" if c.get("walk_error") else ""
        out.append(
            f"| {case['file']} | {case['delay_ms']:g} ms | {num(c.get('walk_groups'))} | "
            f"{num(c.get('walk_rows'))}{err} | {sec(c.get('walk_s'))} | "
            f"{num(c.get('walk_requests'))} | {mb(c.get('walk_bytes'))} | "
            f"{num(c['requests'] + c['walk_requests'])} | {mb(c['bytes'] + c['walk_bytes'])} |")
    return out


def browser_full_walk(res: dict | None) -> dict | None:
    """Tree + walk of big at 0 ms in the browser, for the walk goal beside CPython's."""
    if not res or res.get("skipped"):
        return None
    for case in res["cases"]:
        c = case["cold"]
        if case["file"] == "big" and case["delay_ms"] == 0.0 and "walk_requests" in c:
            return {"requests": c["requests"] + c["walk_requests"],
                    "bytes": c["bytes"] + c["walk_bytes"]}
    return None
