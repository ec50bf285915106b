"""Dataclasses to and from JSON by their type hints, so a results file keeps the schema its classes declare.

Numbers are kept as they were stored (an int stays an int): a file read and written back holds the same values.
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, field, fields, is_dataclass

from polytrace.errors import PolytraceError

_OPTIONAL = "optional"
_KEY = "key"


def optional(factory=None):
    """A field left out of the JSON while it holds its default: a phase the run did not reach has no key."""
    if factory:
        return field(default_factory=factory, metadata={_OPTIONAL: True})
    return field(default=None, metadata={_OPTIONAL: True})


def key(name: str, **kwargs):
    """A field whose JSON key is not a Python name (`from`)."""
    return field(metadata={_KEY: name}, **kwargs)


def _key(f) -> str:
    return f.metadata.get(_KEY, f.name)


def _default(f):
    return f.default_factory() if f.default_factory is not MISSING else f.default


def to_json(value):
    if is_dataclass(value):
        return {_key(f): to_json(getattr(value, f.name)) for f in fields(value)
                if not (f.metadata.get(_OPTIONAL) and getattr(value, f.name) == _default(f))}
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def from_json(kind, data, where: str):
    """`data` as a `kind`, checked: an unknown or missing key is an error naming where it is."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if is_dataclass(kind):
        return _dataclass(kind, data, where)
    if origin in (types.UnionType, typing.Union):
        if data is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return from_json(option, data, where)
            except PolytraceError as exc:
                errors.append(str(exc))
        raise PolytraceError(" / ".join(errors))
    if origin is list:
        _expect(data, list, where)
        return [from_json(args[0], x, f"{where}[{i}]") for i, x in enumerate(data)]
    if origin is dict:
        _expect(data, dict, where)
        return {k: from_json(args[1], v, f"{where}.{k}") for k, v in data.items()}
    return data


def _dataclass(kind, data, where: str):
    _expect(data, dict, where)
    hints = typing.get_type_hints(kind)
    known = {_key(f): f for f in fields(kind)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise PolytraceError(f"{where}: unknown key {unknown[0]!r} for {kind.__name__}")
    absent = [k for k, f in known.items() if k not in data and f.default is MISSING and f.default_factory is MISSING]
    if absent:
        raise PolytraceError(f"{where}: no {absent[0]!r} for {kind.__name__}")
    return kind(**{f.name: from_json(hints[f.name], data[k], f"{where}.{k}") for k, f in known.items() if k in data})


def _expect(data, kind: type, where: str) -> None:
    if not isinstance(data, kind):
        raise PolytraceError(f"{where}: expected a {kind.__name__}, found {type(data).__name__}")
