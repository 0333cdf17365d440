"""HTML of the sort form's fields: one typed input per parameter, groups folded.

Runs in MicroPython on the main thread; pure (field dicts from ``sort_form_check.fields`` in,
HTML out), apart from the form logic in ``sort_form.py`` so each stays small. Why typed
inputs: a number field with the schema's ``min``/``max``, a checkbox for a boolean, a select
for an enum and JSON text for anything else let the browser help before the checks do; each
field carries ``data-field=<name>`` and a ``data-error-for=<name>`` place beside it, where
the page's checks and the broker's 422 are shown.
"""

import sort_form_check as check
from render import esc


def field_id(name):
    return "sf-" + "".join(c if c.isalpha() or c.isdigit() else "_" for c in name)


def error_span(name):
    return '<span class="field-error" data-error-for="' + esc(name) + '" hidden></span>'


def field_html(field):
    """One parameter: a typed input with its default, its help, a place for its error."""
    if field["kind"] == "group":
        help_text = field["help"]
        return ('<details class="sort-group" data-field-box="' + esc(field["name"]) + '">'
                '<summary title="' + esc(help_text) + '">' + esc(field["key"])
                + (' <span class="field-help">' + esc(help_text) + "</span>" if help_text else "")
                + '</summary><div class="sort-group-body">'
                + "".join(field_html(f) for f in field["children"]) + "</div>"
                + error_span(field["name"]) + "</details>")
    name, kind, prop = field["name"], field["kind"], field["schema"]
    shown = check.shown_value(field)
    attrs = ' id="' + field_id(name) + '" data-field="' + esc(name) + '" data-kind="' + kind + '"'
    if kind == "boolean":
        control = '<input type="checkbox"' + attrs + (" checked" if shown else "") + ">"
    elif kind in ("number", "integer"):
        bounds = ""
        for key, attr in (("minimum", "min"), ("exclusiveMinimum", "min"), ("maximum", "max"),
                          ("exclusiveMaximum", "max")):
            if key in prop:
                bounds += " " + attr + '="' + esc(str(prop[key])) + '"'
        control = ('<input type="number" step="' + ("1" if kind == "integer" else "any") + '"'
                   + attrs + bounds + ' value="' + esc(shown) + '"'
                   + (' placeholder="none"' if field["nullable"] else "") + ">")
    elif kind == "enum":
        options = "".join('<option value="' + esc(str(v)) + '"' + (
            " selected" if str(v) == shown else "") + ">" + esc(str(v)) + "</option>"
            for v in prop.get("enum") or [])
        control = "<select" + attrs + ">" + options + "</select>"
    elif kind == "string":
        control = '<input type="text"' + attrs + ' value="' + esc(shown) + '">'
    else:
        control = ('<textarea rows="1" spellcheck="false" placeholder="JSON"' + attrs + ">"
                   + esc(shown) + "</textarea>")
    return ('<div class="sort-field" data-field-box="' + esc(name) + '" data-kind="' + kind
            + '"><label for="' + field_id(name) + '" title="' + esc(field["help"]) + '">'
            + esc(field["key"]) + "</label>" + control
            + ('<span class="field-help">' + esc(field["help"]) + "</span>" if field["help"]
               else "") + error_span(name) + "</div>")
