"""The failure flags (issue 14): the committed defaults, the live copy the services read, and changes to it.

The file is in flagd's JSON format (https://flagd.dev/reference/flag-definitions/): every service reads
`<run dir>/flags.json` through its OpenFeature flagd provider in file mode, so a change is a rewrite of
that file. Each flag's `metadata` says its type, range and the service that reads it. A flag's current
value is the value of its default variant; an integer flag set to anything but its default carries
that value as the variant "on" (`{"off": 0, "on": 3000}`, `"defaultVariant": "on"`).
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polytrace.config import ROOT, Settings
from polytrace.errors import PolytraceError

DEFAULTS = ROOT / "infra" / "flags" / "flags.json"
LIVE_NAME = "flags.json"
TYPES = ("integer", "boolean")

Value = int | bool


@dataclass(frozen=True)
class Flag:
    name: str
    type: str  # "integer" or "boolean"
    value: Value
    default: Value
    service: str
    description: str = ""
    minimum: int | None = None
    maximum: int | None = None

    @property
    def range(self) -> str:
        """"0–100" for a bounded integer flag, else empty."""
        if self.type == "boolean" or (self.minimum is None and self.maximum is None):
            return ""
        return f"{'' if self.minimum is None else self.minimum}–{'' if self.maximum is None else self.maximum}"

    @property
    def accepts(self) -> str:
        """The valid values, as an error message names them."""
        if self.type == "boolean":
            return "true or false"
        return f"an integer {self.range}".rstrip()

    def parse(self, raw: str) -> Value:
        """The value `raw` stands for, or a one-line error naming the valid values."""
        text = raw.strip()
        if self.type == "boolean":
            if text.lower() in ("true", "false"):
                return text.lower() == "true"
        else:
            try:
                number = int(text, 10)
            except ValueError:
                number = None
            if number is not None and (self.minimum is None or number >= self.minimum) and (
                    self.maximum is None or number <= self.maximum):
                return number
        raise PolytraceError(f"{self.name} takes {self.accepts}, not {raw!r}")


def live_path(settings: Settings) -> Path:
    return settings.run_dir / LIVE_NAME


def read_document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise PolytraceError(f"cannot read the flags file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise PolytraceError(f"the flags file {path} is not valid JSON ({exc})") from None
    if not isinstance(document.get("flags"), dict):
        raise PolytraceError(f"the flags file {path} has no \"flags\" object (flagd format)")
    return document


def parse_flags(document: dict[str, Any], defaults: dict[str, Any], source: Path) -> list[Flag]:
    """The flags of `document`, typed by the defaults' metadata (a live file cannot change a flag's type)."""
    flags = []
    for name, default_entry in defaults["flags"].items():
        entry = document["flags"].get(name, default_entry)
        metadata = default_entry.get("metadata", {})
        kind = metadata.get("type") or _inferred_type(_current(default_entry, name, DEFAULTS))
        if kind not in TYPES:
            raise PolytraceError(f"flag {name} in {DEFAULTS} has type {kind!r} (known: {', '.join(TYPES)})")
        flags.append(Flag(
            name=name,
            type=kind,
            value=_current(entry, name, source),
            default=_current(default_entry, name, DEFAULTS),
            service=metadata.get("service", "?"),
            description=metadata.get("description", ""),
            minimum=metadata.get("min"),
            maximum=metadata.get("max"),
        ))
    return flags


def _current(entry: dict[str, Any], name: str, source: Path) -> Value:
    try:
        return entry["variants"][entry["defaultVariant"]]
    except (KeyError, TypeError):
        raise PolytraceError(f"flag {name} in {source} has no value for its defaultVariant") from None


def _inferred_type(value: Value) -> str:
    return "boolean" if isinstance(value, bool) else "integer"


def defaults_document() -> dict[str, Any]:
    return read_document(DEFAULTS)


def current(settings: Settings) -> tuple[list[Flag], Path]:
    """Every flag with its value in the live copy, or the defaults when no stack has run here yet."""
    defaults = defaults_document()
    path = live_path(settings)
    source = path if path.exists() else DEFAULTS
    document = read_document(source) if source == path else defaults
    return parse_flags(document, defaults, source), source


def find(flags: list[Flag], name: str) -> Flag:
    for flag in flags:
        if flag.name == name:
            return flag
    raise PolytraceError(f"unknown flag {name!r} (valid: {', '.join(f.name for f in flags)})")


def set_flag(settings: Settings, name: str, raw: str) -> Flag:
    """Validate, then rewrite the live copy with `name` at the new value; the file is untouched on error."""
    path = _require_live(settings)
    defaults = defaults_document()
    document = read_document(path)
    flag = find(parse_flags(document, defaults, path), name)
    value = flag.parse(raw)
    document["flags"][name] = entry_with_value(defaults["flags"][name], flag, value)
    write_atomically(path, document)
    return find(parse_flags(document, defaults, path), name)


def reset(settings: Settings, name: str | None = None) -> list[Flag]:
    """One flag (or all) back to its committed default in the live copy."""
    path = _require_live(settings)
    defaults = defaults_document()
    document = read_document(path)
    flags = parse_flags(document, defaults, path)
    names = [find(flags, name).name] if name else [f.name for f in flags]
    for each in names:
        document["flags"][each] = copy.deepcopy(defaults["flags"][each])
    write_atomically(path, document)
    return parse_flags(document, defaults, path)


def entry_with_value(default_entry: dict[str, Any], flag: Flag, value: Value) -> dict[str, Any]:
    """The flagd entry whose default variant has `value`: "off" for the default, "on" otherwise."""
    entry = copy.deepcopy(default_entry)
    variants = entry["variants"]
    off = next((key for key, v in variants.items() if v == flag.default and type(v) is type(flag.default)), None)
    if off is None:  # a defaults file always names its default value; keep it under "off" regardless
        off = "off"
        variants[off] = flag.default
    if value == flag.default:
        entry["defaultVariant"] = off
        return entry
    on = next((key for key, v in variants.items() if v == value and type(v) is type(value)), None)
    if on is None:
        on = "on"
        variants[on] = value
    entry["defaultVariant"] = on
    return entry


def ensure_live_copy(settings: Settings) -> Path:
    """The committed defaults copied to `<run dir>/flags.json`: every `polytrace up` starts with them."""
    path = live_path(settings)
    write_atomically(path, defaults_document())
    return path


def write_atomically(path: Path, document: dict[str, Any]) -> None:
    """A temporary file in the same folder, then a rename over `path`.

    The providers watch the file: a reader sees the old or the new document, never half of one.
    0644, because services may run as other users than the one who typed `polytrace flags set`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
    try:
        with handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _require_live(settings: Settings) -> Path:
    path = live_path(settings)
    if not path.exists():
        raise PolytraceError(f"no live flags file {path}: `polytrace up` creates it from {DEFAULTS}")
    return path


def display(value: Value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
