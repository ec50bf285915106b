"""What one bench run measured, typed; and the one place results.json is written and read.

The classes spell out schema polytrace-bench/3, the schema of the runs committed under bench/results:
field names are its keys, in its order. bench/README.md explains every figure. Keys added since are
optional(), so every file written before them still loads and means the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from polytrace.bench.codec import from_json, key, optional, to_json
from polytrace.bench.plan import Plan
from polytrace.errors import PolytraceError

SCHEMA = "polytrace-bench/3"  # 3: the measured tree (commit, uncommitted changes)
FILE = "results.json"

Memory = dict[str, dict[str, float]]  # component → rss_mib, pss_mib


@dataclass(kw_only=True)
class Slice:
    """One oha run; a throughput slice adds the CPU each component spent per request."""

    duration_s: float
    connections: int
    target_rate: float | None
    requests: int
    requests_per_s: float
    ok_per_s: float
    status_codes: dict[str, int]
    errors: dict[str, int]
    latency_ms: dict[str, float | None]
    cpu_ms_per_request: dict[str, float] | None = optional()
    at_s: float | None = optional()  # seconds into the run
    thread_dumps: list[str] | None = optional()  # a slice with no answer at all: the JVMs' threads then


@dataclass(kw_only=True)
class Medians:
    """A paired stack's latency: per percentile, the median over its slices."""

    latency_ms: dict[str, float]


@dataclass(kw_only=True)
class StackThroughput:
    ok_per_s: float  # median over the stack's slices
    slices: int


@dataclass(kw_only=True)
class SpanCount:
    service: str
    kind: str
    name: str
    count: int


@dataclass(kw_only=True)
class DropMessages:
    count: int
    first: list[str]


class _Answered:
    """What a trace phase expects of its answers, from its `ok_with_trace_id` and `sampled` fields."""

    @property
    def expected_traces(self) -> int:
        """The answers whose complete trace should arrive: every one, or with head sampling the sampled."""
        return self.ok_with_trace_id if self.sampled is None else self.sampled

    @property
    def unsampled(self) -> int:
        return self.ok_with_trace_id - self.expected_traces


@dataclass(kw_only=True)
class Completeness(_Answered):
    """The figures of the sustained phase that the summary repeats."""

    target_rate: float
    achieved_rate: float
    duration_s: float
    ok_with_trace_id: int  # 200 answers with a traceresponse, sampled or not
    # Of those, the ones whose trace was sampled (head sampling). Absent from runs that predate head
    # sampling in the bench: every answer's trace was expected then.
    sampled: int | None = optional()
    complete_traces: int
    complete_share: float | None
    spans_dropped: int
    spans_dropped_by_span: list[SpanCount]
    incomplete_by_missing_part: dict[str, int]
    sdk_drop_messages: dict[str, DropMessages]
    trace_delay_s: dict[str, float]


@dataclass(kw_only=True)
class Sustained(Completeness):
    requests: int
    not_ok: dict[str, int]
    late_starts: int
    expected_spans_per_trace: int
    expected_span_census: list[SpanCount]
    receiver_rejected: int
    latency_ms: dict[str, float]

    def completeness(self) -> Completeness:
        return Completeness(**{f.name: getattr(self, f.name) for f in fields(Completeness)})


@dataclass(kw_only=True)
class Shutdown(_Answered):
    load_s: float
    rate: float
    ok_with_trace_id: int
    sampled: int | None = optional()  # as in Completeness; expected_spans counts these answers' spans only
    down_s: float
    expected_spans: int
    spans_lost: int
    spans_lost_by_span: list[SpanCount]
    sdk_drop_messages: dict[str, DropMessages]


@dataclass(kw_only=True)
class Run:
    """One stack; a run stopped early lacks the figures of the phases it did not reach."""

    pair: int  # 0: the viewer stack
    tracing: bool
    backend: str | None  # "capture receiver", "viewer"; None untraced
    startup_s: dict[str, float] | None = optional()
    memory_idle: Memory | None = optional()
    throughput_slices: list[Slice] = optional(list)
    memory_loaded: Memory | None = optional()
    throughput: StackThroughput | None = optional()
    cpu_ms_per_request: dict[str, float] | None = optional()
    startup_latency_pass_s: dict[str, float] | None = optional()
    latency_slices: list[Slice] = optional(list)
    latency: Slice | Medians | None = optional()  # the viewer stack's is one oha run
    sustained: Sustained | None = optional()
    memory_sustained_end: Memory | None = optional()
    shutdown: Shutdown | None = optional()


@dataclass(kw_only=True)
class Spread:
    median: float
    min: float
    max: float
    n: int


@dataclass(kw_only=True)
class Ratios:
    """Traced over untraced, one ratio per round."""

    throughput: Spread | None
    p50: Spread | None
    p90: Spread | None
    p99: Spread | None


@dataclass(kw_only=True)
class ThroughputSpreads:
    untraced: Spread | None
    traced: Spread | None
    traced_viewer: float | None


@dataclass(kw_only=True)
class Summary:
    pairs: int
    rounds: int
    traced_over_untraced: Ratios
    throughput_req_s: ThroughputSpreads
    latency_ms_traced_viewer: dict[str, float | None] | None
    latency_rate_req_s: float | None
    latency_rate_from: str | None
    latency_ms: dict[str, dict[str, Spread | None]]  # untraced/traced → percentile
    cpu_ms_per_request: dict[str, dict[str, Spread | None]]  # untraced/traced → component
    startup_s: dict[str, dict[str, Spread | None] | None]  # untraced/traced/traced_viewer → component
    memory_mib: dict[str, dict[str, float]]  # column → component; "pss_total": column → MiB
    completeness: Completeness | None
    shutdown: Shutdown | None


@dataclass(kw_only=True)
class LatencyRate:
    req_s: float
    origin: str = key("from")


@dataclass(kw_only=True)
class Tools:
    load_generator: str
    oha_path: str


@dataclass(kw_only=True)
class Results:
    schema: str = SCHEMA
    started_at: str
    mode: str  # quick, full
    machine: dict  # bench.runner.machine(), shared with the resilience run
    tree: dict  # bench.tree.describe()
    plan: Plan
    tools: Tools
    runs: list[Run] = field(default_factory=list)
    note: str | None = None
    latency_rate: LatencyRate | None = optional()
    error: str | None = optional()  # why the run stopped early
    finished_at: str | None = None
    summary: Summary | None = None
    span_cost: dict | None = optional()  # bench.spancost.report.run(): what one span costs per language
    charts: list[str] = field(default_factory=list)
    charts_note: str | None = optional()
    summary_regenerated: str | None = optional()  # a later report.py recomputed the summary, what it changed


def save(results: Results, folder: Path) -> None:
    (folder / FILE).write_text(json.dumps(to_json(results), indent=2) + "\n")


def load(folder: Path) -> Results:
    path = folder / FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PolytraceError(f"cannot read {path}: {exc}") from exc
    try:
        return from_json(Results, data, FILE)
    except PolytraceError as exc:
        raise PolytraceError(f"{path} is not a {SCHEMA} result: {exc}") from exc
