"""The log lines of one trace, from every component's `.run/logs/<component>.log`, in time order.

Every service writes one JSON object per line with the ids under `trace_id` and `span_id`
(docs/CONVENTIONS.md, Process); the timestamp keeps its logging library's key and format, so each
one is read here: Spring Boot's logstash format (`@timestamp`), tracing's (`timestamp`), pino's
(`time`, ISO or epoch milliseconds), pricing's and Caddy's (`ts`, ISO or epoch seconds).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.text import Text

from polytrace.inspect.waterfall import colour

TIMESTAMP_KEYS = ("@timestamp", "timestamp", "time", "ts")
MESSAGE_KEYS = ("message", "msg", "event")
# The contract's key first; the others are what libraries write by default (Caddy: traceID).
TRACE_ID_KEYS = ("trace_id", "traceId", "traceID", "trace.id")
SPAN_ID_KEYS = ("span_id", "spanId", "spanID", "span.id")
PINO_LEVELS = {10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal"}
# Fields every line of a service carries, which say nothing about the event itself.
QUIET_KEYS = {*TIMESTAMP_KEYS, *MESSAGE_KEYS, *TRACE_ID_KEYS, *SPAN_ID_KEYS, "level", "trace_flags",
              "@version", "level_value", "thread_name", "logger_name", "logger", "target", "pid",
              "hostname", "service", "service.name", "ecs.version", "log.level", "process.pid"}
LEVEL_NAMES = {"warning": "warn", "critical": "fatal", "err": "error"}  # one spelling for each level
LEVEL_STYLES = {"erro": "bold red", "fata": "bold red", "warn": "yellow"}
_FRACTION = re.compile(r"(\.\d{6})\d+")


@dataclass(frozen=True)
class LogLine:
    service: str
    time: dt.datetime | None  # None: a line without a readable timestamp (ordered after its predecessor)
    level: str
    message: str
    span_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    raw: str = ""


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 string or an epoch number in seconds, milliseconds, microseconds or nanoseconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = float(value)
        while seconds > 1e11:  # later than year 5138 in seconds: a finer unit
            seconds /= 1000
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    if isinstance(value, str):
        text = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00").replace("z", "+00:00")
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


def _first(record: dict[str, Any], keys: Iterable[str]) -> Any:
    return next((record[key] for key in keys if key in record), None)


def parse_line(service: str, raw: str) -> LogLine:
    try:
        record = json.loads(raw)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        return LogLine(service, None, "", raw.strip(), "", raw=raw)
    level = record.get("level", record.get("log.level", ""))
    level = PINO_LEVELS.get(level, str(level)) if isinstance(level, int) else str(level).lower()
    message = _first(record, MESSAGE_KEYS)
    return LogLine(
        service=service,
        time=parse_time(_first(record, TIMESTAMP_KEYS)),
        level=LEVEL_NAMES.get(level, level),
        message="" if message is None else str(message),
        span_id=str(_first(record, SPAN_ID_KEYS) or ""),
        fields={k: v for k, v in record.items() if k not in QUIET_KEYS},
        raw=raw,
    )


def carries(raw: str, trace_id: str) -> bool:
    """Whether a line belongs to the trace: its trace id field, or (a line that is not JSON) its text."""
    if trace_id not in raw.lower():  # cheap test first: most lines of a log are of other traces
        return False
    try:
        record = json.loads(raw)
    except ValueError:
        return True
    if not isinstance(record, dict):
        return True
    value = _first(record, TRACE_ID_KEYS)
    return value is None or str(value).lower() == trace_id  # no id field: the id is in the text


def lines_of_trace(service: str, lines: Iterable[str], trace_id: str) -> Iterator[LogLine]:
    for raw in lines:
        raw = raw.rstrip("\n")
        if raw and carries(raw, trace_id):
            yield parse_line(service, raw)


def log_files(logs_dir: Path) -> dict[str, Path]:
    """Each component's log by component name; build logs are not part of a run."""
    return {path.stem: path for path in sorted(logs_dir.glob("*.log")) if not path.stem.startswith("build-")}


def merge(per_service: dict[str, list[LogLine]]) -> list[LogLine]:
    """All lines in time order; a line with no timestamp keeps its place after its predecessor."""
    keyed = []
    for rank, (_service, lines) in enumerate(sorted(per_service.items())):
        previous = dt.datetime.min.replace(tzinfo=dt.UTC)
        for number, line in enumerate(lines):
            previous = line.time or previous
            keyed.append(((previous, rank, number), line))
    return [line for _key, line in sorted(keyed, key=lambda item: item[0])]


def trace_logs(logs_dir: Path, trace_id: str) -> list[LogLine]:
    per_service = {}
    for service, path in log_files(logs_dir).items():
        with path.open(errors="replace") as handle:
            per_service[service] = list(lines_of_trace(service, handle, trace_id))
    return merge(per_service)


def render(lines: list[LogLine]) -> Text:
    """One line per log line: time, service (in its colour), level, message, span id, the other fields."""
    width = max((len(line.service) for line in lines), default=0)
    text = Text()
    for line in lines:
        if text:
            text.append("\n")
        stamp = line.time.astimezone(dt.UTC).strftime("%H:%M:%S.%f")[:-3] if line.time else " " * 12
        text.append(f"{stamp} ", style="dim")
        text.append(f"{line.service:<{width}} ", style=colour(line.service))
        text.append(f"{line.level:<5} ", style=LEVEL_STYLES.get(line.level[:4], ""))
        text.append(line.message)
        if line.span_id:
            text.append(f" span_id={line.span_id}", style="dim")
        for key, value in line.fields.items():
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            text.append(f" {key}=", style="dim")
            text.append(shown if len(shown) <= 120 else shown[:119] + "…")
    return text
