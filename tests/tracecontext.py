"""W3C Trace Context conformance: the cases (tracecontext_cases.yaml), the callback receiver that
records what a service's outbound call carried, the judge, and the generated table.

A case is sent to a service's `POST /debug/tracecontext` (the W3C test-suite protocol: a JSON
array of `{"url", "arguments"}`; the service POSTs each `arguments` to its `url` inside the span
of the incoming request). `url` points at `CallbackReceiver`, so the outbound traceparent and
tracestate tell whether the service continued the trace and propagated tracestate. Over MQTT the
same values are user properties, and the analytics CONSUMER span is what is judged.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from polytrace import registry

CASES_FILE = Path(__file__).with_name("tracecontext_cases.yaml")
REPORT_FILE = Path(__file__).with_name("conformance-report.md")
README = Path(__file__).with_name("README.md")
BEGIN, END = "<!-- conformance:begin -->", "<!-- conformance:end -->"

TRACE_ID = "12345678901234567890123456789012"
PARENT_ID = "1234567890123456"
TARGETS = (*registry.tracecontext_services(), "mqtt")  # the services with the debug endpoint + the MQTT path
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


@dataclass(frozen=True)
class Case:
    id: str
    rule: str
    spec: str
    headers: tuple[tuple[str, str], ...]
    trace: str  # "continue" | "new"
    tracestate: tuple[str, ...] | None
    level: str
    transports: tuple[str, ...]

    def applies_to(self, target: str) -> bool:
        return ("mqtt" if target == "mqtt" else "http") in self.transports

    @property
    def user_properties(self) -> dict[str, str]:
        return dict(self.headers)


@cache
def cases() -> tuple[Case, ...]:
    loaded = []
    for raw in yaml.safe_load(CASES_FILE.read_text())["cases"]:
        expect = raw["expect"]
        assert expect["trace"] in ("continue", "new"), raw
        loaded.append(Case(
            id=raw["id"], rule=raw["rule"], spec=raw["spec"],
            headers=tuple((name, value) for name, value in raw["headers"]),
            trace=expect["trace"],
            tracestate=None if "tracestate" not in expect else tuple(expect["tracestate"]),
            level=raw.get("level", "MUST"),
            transports=tuple(raw.get("transports", ("http", "mqtt"))),
        ))
    ids = [c.id for c in loaded]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return tuple(loaded)


def tracestate_members(value: str | None) -> tuple[str, ...]:
    """List-members in order, OWS around them dropped, empty members ignored."""
    return tuple(m.strip(" \t") for m in (value or "").split(",") if m.strip(" \t"))


@dataclass
class Observed:
    """What came out of the service: the outbound traceparent/tracestate (or the consumer span's)."""
    trace_id: str | None
    parent_id: str | None  # the outbound parent-id (HTTP) or the consumer span's parent (MQTT)
    tracestate: tuple[str, ...]
    note: str = ""


@dataclass
class Verdict:
    outcome: str  # pass | deviation | fail
    problems: list[str] = field(default_factory=list)


def judge(case: Case, seen: Observed, *, via_span: bool = False) -> Verdict:
    """`via_span`: `seen` is the consumer span (its parent must be exactly the incoming parent-id)."""
    problems = []
    if seen.trace_id is None:
        problems.append(f"nothing observed downstream ({seen.note})")
    elif case.trace == "continue":
        if seen.trace_id != TRACE_ID:
            problems.append(f"expected the trace {TRACE_ID} to continue, got trace {seen.trace_id}")
        elif via_span and seen.parent_id != PARENT_ID:
            problems.append(f"consumer span's parent is {seen.parent_id}, expected {PARENT_ID}")
        elif not via_span and seen.parent_id == PARENT_ID:
            problems.append("outbound parent-id is the incoming one: the service's own span is missing")
    else:
        if seen.trace_id == TRACE_ID or seen.trace_id in "".join(v for _, v in case.headers):
            problems.append(f"expected a new trace, got the incoming trace-id {seen.trace_id}")
        if seen.trace_id == "0" * 32:
            problems.append("the new trace-id is all zeros")
        if via_span and seen.parent_id:
            problems.append(f"a new trace's consumer span has a parent ({seen.parent_id})")
    if case.tracestate is not None and seen.trace_id is not None and seen.tracestate != case.tracestate:
        problems.append(f"tracestate: expected {list(case.tracestate)}, got {list(seen.tracestate)}")
    if not problems:
        return Verdict("pass")
    return Verdict("deviation" if case.level != "MUST" else "fail", problems)


# ---- HTTP: the request to the debug endpoint, and the callback receiver ----------------------

class CallbackReceiver:
    """An HTTP server in the test process recording the headers of each call it receives."""

    def __init__(self, host: str = "127.0.0.1"):
        self._lock = threading.Lock()
        self._calls: dict[str, list[list[tuple[str, str]]]] = {}
        self._server = make_server(host, 0, self._app, threaded=True)
        self.base = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="tc-callback", daemon=True)

    def start(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def new_url(self) -> str:
        return f"{self.base}/callback/{uuid.uuid4().hex}"

    def calls(self, url: str) -> list[list[tuple[str, str]]]:
        with self._lock:
            return list(self._calls.get(url.removeprefix(self.base), ()))

    @Request.application
    def _app(self, request: Request) -> Response:
        request.get_data()
        with self._lock:
            self._calls.setdefault(request.path, []).append(list(request.headers.items()))
        return Response("{}", content_type="application/json")


def post_debug(port: int, headers: tuple[tuple[str, str], ...], calls: list[dict[str, Any]]) -> int:
    """POST /debug/tracecontext with the headers exactly as given (repeated names kept)."""
    body = json.dumps(calls).encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.putrequest("POST", "/debug/tracecontext", skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def observed_from_headers(headers: list[tuple[str, str]]) -> Observed:
    traceparents = [v for k, v in headers if k.lower() == "traceparent"]
    tracestate = ",".join(v for k, v in headers if k.lower() == "tracestate")
    if len(traceparents) != 1:
        return Observed(None, None, (), f"{len(traceparents)} traceparent headers in the outbound call")
    match = _TRACEPARENT.fullmatch(traceparents[0].strip())
    if not match:
        return Observed(None, None, (), f"outbound traceparent {traceparents[0]!r} is not valid version 00")
    return Observed(match[1], match[2], tracestate_members(tracestate))


def run_http_case(port: int, receiver: CallbackReceiver, case: Case) -> Observed:
    url = receiver.new_url()
    status = post_debug(port, case.headers, [{"url": url, "arguments": []}])
    if status != 200:
        return Observed(None, None, (), f"debug endpoint answered {status}")
    calls = receiver.calls(url)
    if len(calls) != 1:
        return Observed(None, None, (), f"{len(calls)} callbacks received")
    return observed_from_headers(calls[0])


# ---- the generated table -----------------------------------------------------------------------

SYMBOL = {"pass": "✅ pass", "deviation": "⚠️ deviation (allowed)", "fail": "❌ FAIL", None: "—"}


def table(results: dict[tuple[str, str], Verdict]) -> str:
    lines = [
        "| rule | spec | level | " + " | ".join(TARGETS) + " |",
        "|---|---|---|" + "---|" * len(TARGETS),
    ]
    for case in cases():
        cells = []
        for target in TARGETS:
            verdict = results.get((case.id, target))
            cells.append(SYMBOL[verdict.outcome if verdict else None])
        lines.append(f"| `{case.id}`: {case.rule} | {case.spec} | {case.level} | " + " | ".join(cells) + " |")
    deviations = [(cid, target, v) for (cid, target), v in results.items() if v.outcome != "pass"]
    if deviations:
        lines += ["", "Differences:", ""]
        lines += [f"- `{cid}` on {target}: {'; '.join(v.problems)}" for cid, target, v in sorted(
            deviations, key=lambda d: (d[0], d[1]))]
    return "\n".join(lines) + "\n"


def complete(results: dict[tuple[str, str], Verdict]) -> bool:
    return all((c.id, t) in results for c in cases() for t in TARGETS if c.applies_to(t))


def write_report(results: dict[tuple[str, str], Verdict]) -> None:
    """conformance-report.md always; the table in README.md only after a full matrix ran."""
    body = table(results)
    REPORT_FILE.write_text(
        "# W3C Trace Context conformance (generated by tests/test_tracecontext.py — do not edit)\n\n"
        + body
    )
    if not complete(results):
        return
    readme = README.read_text()
    if BEGIN in readme and END in readme:
        head, rest = readme.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        README.write_text(f"{head}{BEGIN}\n{body}{END}{tail}")
