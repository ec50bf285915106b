"""The work behind `polytrace trace`, `polytrace logs --trace` and `polytrace demo` (cli.py stays thin)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import replace

from rich.console import Console
from rich.text import Text

from polytrace.config import Settings
from polytrace.errors import PolytraceError
from polytrace.inspect import logs, waterfall
from polytrace.inspect.spans import TraceSpan
from polytrace.inspect.viewer import Viewer, check_trace_id, last_trace_id, read_trace

DEMO_WAIT_S = 15.0  # the first request after `up` warms four runtimes; its spans trail behind


def running(settings: Settings) -> Settings:
    """The settings the running `up` was given (its ports, its --otlp-endpoint), from its state file."""
    state_file = settings.run_dir / "state.json"
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return settings
    return replace(settings, ports={**settings.ports, **state.get("ports", {})},
                   otlp_endpoint=state.get("otlp_endpoint", settings.otlp_endpoint),
                   tracing=state.get("tracing", settings.tracing))


def viewer(settings: Settings) -> Viewer:
    if not settings.tracing:
        raise PolytraceError("tracing is off in this run (`up --no-tracing`): there is no trace to show")
    if not settings.viewer_enabled:
        raise PolytraceError(f"traces go to {settings.export_endpoint} (--otlp-endpoint), not to the bundled "
                             "viewer: look the trace up there")
    return Viewer(f"http://127.0.0.1:{settings.ports['viewer']}")


def find_trace(settings: Settings, trace_id: str | None, last: bool, wait_s: float) -> tuple[Viewer, list[TraceSpan]]:
    if bool(trace_id) == last:
        raise PolytraceError("give a trace id or --last (one of them)")
    source = viewer(settings)
    wanted = last_trace_id(source, wait_s=wait_s) if last else check_trace_id(trace_id or "")
    return source, read_trace(source, wanted, wait_s)


def show_trace(out: Console, settings: Settings, trace_id: str | None, last: bool, as_json: bool,
               wait_s: float) -> None:
    _source, spans = find_trace(running(settings), trace_id, last, wait_s)
    if as_json:
        out.out(json.dumps(waterfall.to_json(spans), indent=2), highlight=False)
    else:
        out.print(waterfall.render(spans))


def show_logs(out: Console, settings: Settings, trace_id: str) -> None:
    wanted = check_trace_id(trace_id)
    if not settings.logs_dir.is_dir():
        raise PolytraceError(f"no logs under {settings.logs_dir}; start the stack with `polytrace up`")
    lines = logs.trace_logs(settings.logs_dir, wanted)
    if not lines:
        raise PolytraceError(f"no log line under {settings.logs_dir} carries trace id {wanted}")
    out.print(logs.render(lines), soft_wrap=True)  # one line per log line, for grep


def demo(out: Console, settings: Settings, fetch: Callable[[str], tuple[int, dict[str, str], bytes]] | None = None,
         wait_s: float = DEMO_WAIT_S) -> None:
    """One request through the front door, then its response, its trace, its log lines and its URL."""
    settings = running(settings)
    entry = "gateway" if "gateway" in settings.ports else "catalog"
    url = f"http://127.0.0.1:{settings.ports[entry]}{'/api' if entry == 'gateway' else ''}/products/1"
    out.print(Text(f"GET {url}", style="bold"))
    status, headers, body = (fetch or _get)(url)
    out.print(f"HTTP {status}")
    for name in ("content-type", "traceresponse"):
        if name in headers:
            out.print(Text(f"{name}: ", style="dim") + Text(headers[name]))
    out.print(Text(body.decode(errors="replace")), soft_wrap=True)
    trace_id = _trace_id(headers.get("traceresponse", ""))

    out.print()
    source = None
    if not settings.tracing:
        out.print("Tracing is off in this run (`up --no-tracing`): no trace to show.")
        return
    if not settings.viewer_enabled:
        out.print(f"The trace went to {settings.export_endpoint} (--otlp-endpoint); trace id {trace_id or '?'}.")
    else:
        source, spans = find_trace(settings, trace_id, not trace_id, wait_s)
        trace_id = spans[0].trace_id
        out.print(Text("The trace, as `polytrace trace ", style="dim") + Text(trace_id, style="dim")
                  + Text("` shows it:", style="dim"))
        out.print(waterfall.render(spans))
    if trace_id:
        out.print()
        out.print(Text(f"Its log lines, as `polytrace logs --trace {trace_id}` shows them:", style="dim"))
        lines = logs.trace_logs(settings.logs_dir, trace_id) if settings.logs_dir.is_dir() else []
        out.print(logs.render(lines) if lines else Text("(no log line carries this trace id)", style="dim"),
                  soft_wrap=True)
    if source and trace_id:
        out.print()
        out.print(Text("In the viewer: ", style="bold") + Text(source.trace_url(trace_id), style="bold cyan"))


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:  # an error answer is still an answer, with a trace
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PolytraceError(f"nothing answers at {url} ({reason} after {time.monotonic() - started:.1f} s); "
                             "start the stack with `make up` (or `polytrace up --detach`)") from None


def _trace_id(traceresponse: str) -> str | None:
    """The trace id of W3C Trace Context Level 2's `traceresponse: 00-<trace-id>-<span-id>-<flags>`."""
    parts = traceresponse.strip().split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None
