"""A trace as a waterfall (rich), and as JSON for scripts."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import PurePosixPath
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from polytrace.inspect.origins import Origin, origin_of
from polytrace.inspect.spans import TraceSpan

SERVICE_COLOURS = {
    "frontend": "bright_blue", "gateway": "cyan", "catalog": "magenta",
    "pricing": "yellow", "stock": "dark_orange", "analytics": "green",
}
PALETTE = ("bright_cyan", "bright_magenta", "bright_green", "bright_yellow", "blue", "red")

# The few attributes that explain a span, in the order they are printed.
KEY_ATTRIBUTES = (
    "url.full", "http.route", "http.response.status_code", "db.query.text",
    "messaging.destination.name", "messaging.message.id", "error.type",
)
COLUMNS = ("span", "service", "kind", "bar", "took", "status", "made by", "attributes")
NAMED = {"http.route", "messaging.destination.name"}  # attributes span names are made of (semantic conventions)
QUERY_CHARS = 48
ATTRIBUTES_ROOM = 44  # what the attributes get before the bar and the names give way


def colour(service: str) -> str:
    if service in SERVICE_COLOURS:
        return SERVICE_COLOURS[service]
    return PALETTE[sum(service.encode()) % len(PALETTE)]


def duration(us: float) -> str:
    if us < 1000:
        return f"{us / 1000:.2f} ms"
    if us < 1_000_000:
        return f"{us / 1000:.1f} ms"
    return f"{us / 1_000_000:.2f} s"


def key_attributes(span: TraceSpan) -> list[tuple[str, str]]:
    shown = []
    keys = KEY_ATTRIBUTES if span.status != "ERROR" else ("error.type", *KEY_ATTRIBUTES)  # why it failed, first
    for key in dict.fromkeys(keys):
        value = span.attributes.get(key)
        if value is None or (key in NAMED and value in span.name.split(" ")):  # the name says it already
            continue
        if key == "db.query.text":
            value = " ".join(value.split())
            value = value if len(value) <= QUERY_CHARS else value[:QUERY_CHARS - 1] + "…"
        elif key == "messaging.message.id" and len(value) > 12:  # a UUID: its start is enough to tell them apart
            value = value[:8] + "…"
        shown.append((key, value))
    return shown


def guides(spans: list[TraceSpan]) -> list[str]:
    """The tree's connectors (├─ └─ │) in front of each span of a list in waterfall order."""
    depths = [s.depth for s in spans]
    last = []
    for i, depth in enumerate(depths):
        later = next((d for d in depths[i + 1:] if d <= depth), None)
        last.append(later is None or later < depth)
    prefixes, open_levels = [], []  # open_levels[k]: whether the ancestor at depth k+1 was its parent's last child
    for i, depth in enumerate(depths):
        if depth == 0:
            prefixes.append("")
            open_levels = []
            continue
        open_levels = open_levels[:depth - 1]
        prefixes.append("".join("   " if was_last else "│  " for was_last in open_levels)
                        + ("└─ " if last[i] else "├─ "))
        open_levels.append(last[i])
    return prefixes


def bar(span: TraceSpan, start_us: int, total_us: int, width: int) -> str:
    begin = min(width - 1, int((span.start_us - start_us) / total_us * width))
    end = min(width, max(begin + 1, math.ceil((span.end_us - start_us) / total_us * width)))
    return " " * begin + "█" * (end - begin) + " " * (width - end)


def made_by(origin: Origin) -> str:
    """The origin in a few words: the library, or "explicit" and the file (the legend says which API)."""
    if origin.explicit and origin.file:
        return f"explicit · {PurePosixPath(origin.file).name}"
    return origin.label


def render(spans: list[TraceSpan]) -> RenderableType:
    return Waterfall(spans)


class Waterfall:
    """The header line, one line per span on a shared time axis, and the legend of what made the spans.

    Column widths are decided when the console's width is known: every span keeps one line, and
    on a narrow terminal the attributes give way first, then the origin, the name and the bar.
    """

    FIXED = ("service", "kind", "took", "status")

    def __init__(self, spans: list[TraceSpan]):
        self.spans = spans
        self.start = min(s.start_us for s in spans)
        self.total = max(1, max(s.end_us for s in spans) - self.start)
        self.origins = [origin_of(s) for s in spans]
        self.errors = sum(1 for s in spans if s.status == "ERROR")
        self.rows = [self._cells(span, guide, origin)
                     for span, guide, origin in zip(spans, guides(spans), self.origins, strict=True)]

    def _cells(self, span: TraceSpan, guide: str, origin: Origin) -> dict[str, Text]:
        style = "bold red" if span.status == "ERROR" else colour(span.service)
        name = Text()
        name.append(guide, style="dim")
        name.append(span.name or "(no name)", style=style)
        if span.parent_missing:
            name.append(" ↑", style="dim")  # its parent is outside the trace (or not here yet)
        status = Text(" ERROR ", style="bold white on red") if span.status == "ERROR" else \
            Text("OK", style="green") if span.status == "OK" else Text("")
        attributes = Text()
        for key, value in key_attributes(span):
            attributes.append(f"{key}=", style="dim")
            attributes.append(value + " ")
        if span.status == "ERROR" and span.status_message:
            attributes.append(span.status_message, style="red")
        return {"span": name, "service": Text(span.service, style=colour(span.service)), "kind": Text(span.kind),
                "took": Text(duration(span.duration_us)), "status": status,
                "made by": Text(made_by(origin), style="cyan" if origin.explicit else ""),
                "attributes": attributes}

    def widths(self, available: int) -> dict[str, int]:
        needed = {column: max([len(column)] + [row[column].cell_len for row in self.rows])
                  for column in ("span", *self.FIXED, "made by", "attributes")}
        widths = {column: needed[column] for column in self.FIXED}
        widths.update(span=min(needed["span"], 50), bar=30, **{"made by": min(needed["made by"], 44)})
        columns = len(widths) + 1
        room = available - sum(widths.values()) - (columns - 1)  # one space between columns
        # The first attributes matter more than a long bar or a long name: make room for them first.
        for column, least in (("bar", 16), ("span", 30)):
            lacking = min(needed["attributes"], ATTRIBUTES_ROOM) - room
            if lacking > 0:
                given = min(lacking, max(0, widths[column] - least))
                widths[column] -= given
                room += given
        widths["attributes"] = min(needed["attributes"], room) if room >= 12 else 0  # a sliver says nothing
        # Too narrow for the attributes: give way in this order, down to these widths.
        for column, least in (("made by", 16), ("span", 24), ("bar", 12), ("made by", 0)):
            short = (columns - 1) + sum(widths.values()) - available
            if short > 0:
                widths[column] = max(least, widths[column] - short)
        return widths

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        header = Text()
        header.append(f"trace {self.spans[0].trace_id}", style="bold")
        header.append(f" · {len(self.spans)} spans · {len({s.service for s in self.spans})} services"
                      f" · {duration(self.total)} · started {_clock(self.start)}")
        if self.errors:
            header.append(f" · {self.errors} error{'s' if self.errors > 1 else ''}", style="bold red")
        yield header

        widths = self.widths(options.max_width)
        table = Table(box=None, show_edge=False, pad_edge=False, header_style="bold", padding=(0, 1, 0, 0),
                      collapse_padding=True)
        axis = "0" + duration(self.total).rjust(widths["bar"] - 1) if widths["bar"] > 10 else "time"
        for column in shown_columns(widths):
            table.add_column(axis if column == "bar" else column, no_wrap=True, overflow="ellipsis",
                             width=widths[column], justify="right" if column == "took" else "left")
        for span, row in zip(self.spans, self.rows, strict=True):
            cells = {**row, "bar": Text(bar(span, self.start, self.total, widths["bar"]),
                                        style="red" if span.status == "ERROR" else colour(span.service))}
            table.add_row(*(cells[column] for column in shown_columns(widths)))
        yield table
        yield legend(self.origins, any(s.parent_missing for s in self.spans), options.max_width)


def shown_columns(widths: dict[str, int]) -> list[str]:
    return [column for column in COLUMNS if widths[column] > 0]


def legend(origins: list[Origin], parent_outside: bool, width: int = 120) -> RenderableType:
    """Where each kind of span comes from: its scope and the file that creates it or switches it on.

    Fixed columns, one line per origin, cut at the terminal's edge: the label and the scope are what
    the legend is for, so on a narrow terminal the file path gives way (a rich Table drops or
    squeezes the first column instead)."""
    origins = list(dict.fromkeys(origins))  # each once, in the order the waterfall meets them
    label_w = max([len("made by"), *(len(o.label) for o in origins)])
    scope_w = min(40, max([len("instrumentation scope"), *(len(o.scope or "-") for o in origins)]))

    def line(label: Text, scope: str, where: Text) -> Text:
        text = Text.assemble(label, " " * (label_w - len(label) + 1), _fit(scope, scope_w), " ", where,
                             no_wrap=True, overflow="ellipsis")
        text.truncate(max(20, width), overflow="ellipsis")
        return text

    lines = [line(Text("made by", style="bold"), "instrumentation scope", Text("where", style="bold"))]
    for origin in origins:
        where = f"{'created in' if origin.explicit else 'switched on in'} {origin.file}" if origin.file else ""
        lines.append(line(Text(origin.label, style="cyan" if origin.explicit else ""), origin.scope or "-",
                          Text(where, style="dim")))
    if parent_outside:
        lines.append(Text("↑ its parent span is not in this trace (a caller outside the stack, or not here yet)",
                          style="dim"))
    return Group(*lines)


def _fit(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"


def to_json(spans: list[TraceSpan]) -> list[dict[str, Any]]:
    """One object per span, in waterfall order; the field names are a stable interface for scripts."""
    start = min((s.start_us for s in spans), default=0)
    result = []
    for span in spans:
        origin = origin_of(span)
        result.append({
            "trace_id": span.trace_id,
            "span_id": span.span_id,
            "parent_span_id": span.parent_id or None,
            "depth": span.depth,
            "service": span.service,
            "kind": span.kind,
            "name": span.name,
            "start_time": _iso(span.start_us),
            "offset_ms": round((span.start_us - start) / 1000, 3),
            "duration_ms": round(span.duration_us / 1000, 3),
            "status": span.status,
            "status_message": span.status_message or None,
            "scope": span.scope or None,
            "made_by": origin.label,
            "explicit": origin.explicit,
            "file": origin.file or None,
            "attributes": dict(sorted(span.attributes.items())),
        })
    return result


def _iso(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _clock(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
