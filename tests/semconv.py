"""Checks spans against tests/semconv.yaml: types, deprecated names, and per-class name and
required attributes."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from polytrace.capture.otlp import Span

FILE = Path(__file__).with_name("semconv.yaml")
_TYPES = {"int": int, "str": str, "float": float, "bool": bool}


@cache
def conventions() -> dict[str, Any]:
    return yaml.safe_load(FILE.read_text())


def _format(template: str, attributes: dict[str, Any]) -> str | None:
    """`template` with `{attr.name}` replaced, or None when an attribute it needs is missing."""
    out, rest = "", template
    while "{" in rest:
        before, _, after = rest.partition("{")
        key, _, rest = after.partition("}")
        if key not in attributes:
            return None
        out += before + str(attributes[key])
    return out + rest


def span_class(span: Span) -> dict[str, Any] | None:
    for rule in conventions()["classes"]:
        when = rule["when"]
        if when.get("kind", span.kind) == span.kind and all(k in span.attributes for k in when.get("has", [])):
            return rule
    return None


def problems(span: Span) -> list[str]:
    rules = conventions()
    found = []
    for old, new in rules["deprecated"].items():
        if old in span.attributes:
            found.append(f"deprecated attribute {old} (use {new})")
    for key, type_name in rules["types"].items():
        value = span.attributes.get(key)
        if value is None:
            continue
        wrong = not isinstance(value, _TYPES[type_name]) or (isinstance(value, bool) and type_name != "bool")
        if wrong:  # (a bool is an int in Python: checked apart)
            found.append(f"{key}={value!r} is not {type_name}")
    found += [f"resource attribute {key} is in no registry" for key in rules.get("resource_forbidden", [])
              if key in span.resource]
    rule = span_class(span)
    if rule is None:
        return [*found, f"no convention class for a {span.kind} span without protocol attributes"]
    attrs = span.attributes
    found += [f"{rule['id']}: missing {key}" for key in rule.get("required", []) if key not in attrs]
    found += [f"{rule['id']}: {key}={attrs.get(key)!r}, expected {value!r}"
              for key, value in rule.get("equals", {}).items() if key in attrs and attrs[key] != value]
    if "http.route" in attrs and "name_with_route" in rule:
        expected = _format(rule["name_with_route"], attrs)
        if span.name != expected:
            found.append(f"{rule['id']}: name {span.name!r}, expected {expected!r}")
    elif "name" in rule:
        allowed = [n for n in (_format(t, attrs) for t in rule["name"]) if n is not None]
        if span.name not in allowed:
            found.append(f"{rule['id']}: name {span.name!r}, expected one of {allowed}")
    if "name_with_operation_and_collection" in rule:
        expected = _format(rule["name_with_operation_and_collection"], attrs)
        if expected is not None and span.name != expected:
            found.append(f"{rule['id']}: name {span.name!r}, expected {expected!r}")
        no_collection = "db.collection.name" not in attrs and "db.query.summary" not in attrs
        expected = _format(rule["name_with_operation_and_namespace"], attrs) if no_collection else None
        if expected is not None and span.name != expected:
            found.append(f"{rule['id']}: name {span.name!r}, expected {expected!r} (the namespace is the target)")
        if "db.query.summary" in attrs and span.name != attrs["db.query.summary"] and span.name != _format(
                rule["name_with_operation_and_collection"], attrs):
            found.append(f"{rule['id']}: name {span.name!r}, expected the query summary {attrs['db.query.summary']!r}")
        if span.name == attrs.get("db.query.text") and " " in span.name.strip():
            found.append(f"{rule['id']}: the span name is the whole query")
    return found
