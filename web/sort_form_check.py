"""The sort form's schema logic: which input each parameter gets, checking what was typed,
and keeping only what differs from the defaults.

Pure (no DOM, no JavaScript) and MicroPython-safe (no dataclasses, no typing), so the page
and the tests (``tests/test_page_sort_form.py``, in the real MicroPython) run the same code.
Why check on the page when the broker checks again: a wrong value is flagged beside its field
at once, before anything is sent, in the words a scientist needs ("must be more than 0"); the
broker's 422 stays the last word (``sort_form.py`` shows it beside the field it names).

A field is a dict: ``name`` (``parameters.detection.method_kwargs.detect_threshold``), ``key``
(its last part), ``kind`` (number | integer | boolean | string | enum | json | group),
``default``, ``help``, ``nullable``, ``schema`` (its own JSON Schema) and, for a group,
``children``. Values come from the form as text (checkboxes as booleans).
"""

import json

SCALARS = ("number", "integer", "boolean", "string")


def types_of(prop):
    """The JSON types a property allows (``None``: any)."""
    given = prop.get("type")
    if given is None:
        return None
    return [given] if isinstance(given, str) else list(given)


def kind_of(prop):
    """The input a property gets: a typed one when it has one type (nullable or not), a
    group of fields for an object with known properties, else JSON text."""
    types = types_of(prop)
    if prop.get("enum") and types is not None and "string" in types:
        return "enum"
    if types is None:
        return "json"
    solid = [t for t in types if t != "null"]
    if len(solid) != 1:
        return "json"
    if solid[0] == "object":
        return "group" if prop.get("properties") else "json"
    return solid[0] if solid[0] in SCALARS else "json"


def sorted_keys(path, props):
    """Default display order (the page passes the schema's own order, read from JSON)."""
    return sorted(props)


def fields(schema, prefix, keys=None, path=(), skip=()):
    """The fields of a schema's properties, in display order; ``keys(path, props)`` gives the
    order (``path``: the names leading to ``props``); ``skip`` leaves top-level names out
    (the page draws those itself: the series, the time range)."""
    keys = keys or sorted_keys
    props = schema.get("properties") or {}
    group_default = schema.get("default") if isinstance(schema.get("default"), dict) else {}
    out = []
    for key in keys(path, props):
        if not path and key in skip:
            continue
        prop = props[key]
        kind = kind_of(prop)
        types = types_of(prop)
        field = {
            "name": prefix + "." + key, "key": key, "kind": kind, "schema": prop,
            "default": prop["default"] if "default" in prop else group_default.get(key),
            "help": prop.get("description") or "",
            "nullable": types is None or "null" in types,
        }
        if kind == "group":
            field["children"] = fields(prop, field["name"], keys, path + (key,))
        out.append(field)
    return out


def leaves(field_list):
    """Every field that holds a value (groups opened up), in order."""
    out = []
    for field in field_list:
        if field["kind"] == "group":
            out.extend(leaves(field["children"]))
        else:
            out.append(field)
    return out


def all_names(field_list):
    """Every field's name, groups included (where a broker error may point)."""
    out = []
    for field in field_list:
        out.append(field["name"])
        if field["kind"] == "group":
            out.extend(all_names(field["children"]))
    return out


def shown_value(field):
    """The default as the form first shows it (text; a checkbox's default as a boolean)."""
    value = field["default"]
    kind = field["kind"]
    if kind == "boolean":
        return bool(value)
    if value is None:
        return ""
    if kind == "json":
        return json.dumps(value)
    if kind in ("number", "integer") and isinstance(value, float) and value == int(value):
        return str(int(value)) if abs(value) < 1e15 else str(value)
    return str(value)


def parse(field, raw):
    """``(value, error)`` for what the form holds; ``error`` is a sentence or None."""
    kind = field["kind"]
    prop = field["schema"]
    if kind == "boolean":
        return bool(raw), None
    text = "" if raw is None else str(raw).strip()
    if kind in ("number", "integer", "string", "enum") and text == "":
        if field["nullable"]:
            return None, None
        if kind in ("string", "enum"):
            return "", check_string("", prop)
        return None, "a value is needed"
    if kind == "number" or kind == "integer":
        value, error = parse_number(text, kind == "integer")
        return value, error or check_range(value, prop)
    if kind == "enum":
        allowed = prop.get("enum") or []
        return text, None if text in allowed else "one of: " + ", ".join(
            str(a) for a in allowed)
    if kind == "string":
        return str(raw), check_string(str(raw), prop)
    return parse_json(text, prop)


def parse_number(text, integer):
    """A number from the form's text: an int when written as one (``5``), else a float."""
    try:
        value = float(text)
    except ValueError:
        return None, "not a number"
    if value != value or value in (float("inf"), float("-inf")):
        return None, "not a finite number"
    whole = value == int(value)
    if integer and not whole:
        return None, "a whole number is needed"
    plain = "." not in text and "e" not in text.lower()
    if integer or (whole and plain and abs(value) < 1e15):
        return int(value), None
    return value, None


def check_range(value, prop):
    """The JSON Schema bounds of a number, as a sentence when broken."""
    if "minimum" in prop and value < prop["minimum"]:
        return "must be at least " + str(prop["minimum"])
    if "exclusiveMinimum" in prop and value <= prop["exclusiveMinimum"]:
        return "must be more than " + str(prop["exclusiveMinimum"])
    if "maximum" in prop and value > prop["maximum"]:
        return "must be at most " + str(prop["maximum"])
    if "exclusiveMaximum" in prop and value >= prop["exclusiveMaximum"]:
        return "must be less than " + str(prop["exclusiveMaximum"])
    return None


def check_string(text, prop):
    if "minLength" in prop and len(text) < prop["minLength"]:
        return "at least " + str(prop["minLength"]) + " characters"
    if "maxLength" in prop and len(text) > prop["maxLength"]:
        return "at most " + str(prop["maxLength"]) + " characters"
    return None


def json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def parse_json(text, prop):
    """JSON text (an object, a list, anything the schema allows); empty means null."""
    if text == "":
        return None, None if field_allows(prop, None) else "a value is needed (JSON)"
    try:
        value = json.loads(text)
    except ValueError:
        return None, "not valid JSON"
    if not field_allows(prop, value):
        return None, "must be " + " or ".join(types_of(prop) or []) + " (JSON)"
    return value, check_items(value, prop)


def field_allows(prop, value):
    types = types_of(prop)
    if types is None:
        return True
    kind = json_type(value)
    return kind in types or (kind == "integer" and "number" in types)


def check_items(value, prop):
    """Length and number bounds of an array's items (a time range: two numbers >= 0)."""
    if not isinstance(value, list):
        return None
    if "minItems" in prop and len(value) < prop["minItems"]:
        return "at least " + str(prop["minItems"]) + " items"
    if "maxItems" in prop and len(value) > prop["maxItems"]:
        return "at most " + str(prop["maxItems"]) + " items"
    items = prop.get("items") or {}
    for item in value:
        if items.get("type") == "number" and json_type(item) not in ("integer", "number"):
            return "items must be numbers"
        if json_type(item) in ("integer", "number"):
            error = check_range(item, items)
            if error:
                return "each item " + error
    return None


def check_form(field_list, raw_values):
    """``(values, errors)``: parsed values and error sentences, both by field name."""
    values, errors = {}, {}
    for field in leaves(field_list):
        value, error = parse(field, raw_values.get(field["name"]))
        if error:
            errors[field["name"]] = error
        else:
            values[field["name"]] = value
    return values, errors


def same(a, b):
    """Equal as JSON values (``5 == 5.0``; ``True`` is not ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


def changed(field_list, values, prefix):
    """The nested dict of values that differ from their defaults (what the form submits),
    names relative to ``prefix`` (``parameters``)."""
    out = {}
    for field in leaves(field_list):
        name = field["name"]
        if name in values and not same(values[name], field["default"]):
            set_path(out, name[len(prefix) + 1:].split("."), values[name])
    return out


def set_path(target, parts, value):
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def error_target(field, known):
    """The field name to show a broker error beside: ``field`` itself, else its nearest
    parent the form shows (``parameters.a.b.c`` -> ``parameters.a``), else None (the top)."""
    parts = (field or "").split(".")
    while parts:
        name = ".".join(parts)
        if name in known:
            return name
        parts = parts[:-1]
    return None


def quick_range(enabled, seconds_text):
    """``(time_range or None, error)`` for "quick test: first N seconds"."""
    if not enabled:
        return None, None
    value, error = parse_number(str(seconds_text or "").strip(), False)
    if error:
        return None, error
    if value <= 0:
        return None, "must be more than 0 seconds"
    return [0, value], None
