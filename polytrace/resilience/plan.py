"""The scenarios of a resilience run and its timing: baseline, fault, recovery, at one fixed rate."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from polytrace.bench import results as bench_results
from polytrace.bench.plan import BENCH_PORTS, CAPTURE_PORT
from polytrace.config import ROOT
from polytrace.errors import PolytraceError

# The bench's port block shifted by this (22380…, PostgreSQL 22732, MQTT 23183, receiver 22619): a
# resilience run and a benchmark (shifts 0, 10, 100, 110) can run side by side.
PORT_SHIFT = 300


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    kind: str  # stop (supervisord stop/start) | kill (SIGKILL, start later) | freeze (SIGSTOP/SIGCONT) |
    #            receiver (the OTLP receiver closed) | flag (a failure flag set, then reset)
    target: str  # a component, or a flag's name
    fault_s: float
    value: str | None = None  # the flag's value while the fault lasts
    views_promised: bool = False  # the MQTT contract promises 0 page views lost and 0 stored twice
    answers_affected: bool = False  # the fault should show in the answers (a note when it does not)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("broker-stop", "Mosquitto stopped", "stop", "mosquitto", 10, views_promised=True),
    Scenario("analytics-kill", "analytics SIGKILL, restarted 10 s later", "kill", "analytics", 10,
             views_promised=True),
    Scenario("otlp-stop", "OTLP receiver stopped", "receiver", "otlp", 20),
    Scenario("postgres-stop", "PostgreSQL stopped, then started (no service restarted)", "stop", "postgres", 5,
             answers_affected=True),
    Scenario("stock-freeze", "stock frozen (SIGSTOP … SIGCONT)", "freeze", "stock", 5, answers_affected=True),
    Scenario("pricing-latency", "pricingLatencyMs=3000", "flag", "pricingLatencyMs", 15, value="3000",
             answers_affected=True),
    Scenario("pricing-failure", "pricingFailureRate=50", "flag", "pricingFailureRate", 15, value="50",
             answers_affected=True),
    Scenario("analytics-failure", "analyticsFailure=true", "flag", "analyticsFailure", 15, value="true",
             views_promised=True),
)

QUICK_SCENARIO = "stock-freeze"  # a frozen dependency: degraded answers, page views, a restore, in seconds


@dataclass(frozen=True)
class Plan:
    quick: bool
    scenarios: tuple[Scenario, ...]
    rate: float  # requests per second, open loop, the same in every scenario
    rate_from: str
    warmup_s: float  # once, after `up`: the JVM compiles, the pools fill
    baseline_s: float
    recovery_s: float
    settle_s: float  # after the load: how long stored page views and spans may keep arriving
    request_timeout_s: float = 10.0
    port_shift: int = PORT_SHIFT
    otel_env: dict[str, str] = field(default_factory=dict)

    def ports(self) -> dict[str, int]:
        return {name: port + self.port_shift for name, port in BENCH_PORTS.items()}

    @property
    def capture_port(self) -> int:
        return CAPTURE_PORT + self.port_shift

    @property
    def run_dir(self) -> Path:
        return ROOT / (".run-resilience" + ("" if self.port_shift == PORT_SHIFT else f"-{self.port_shift}"))

    @classmethod
    def make(cls, quick: bool, names: tuple[str, ...] = (), rate: float | None = None,
             port_shift: int = PORT_SHIFT) -> Plan:
        scenarios = select(names or ((QUICK_SCENARIO,) if quick else ()))
        if quick:
            # Seconds, not figures: proves the harness end to end (tests/test_resilience.py).
            scenarios = tuple(replace(s, fault_s=min(s.fault_s, 3.0)) for s in scenarios)
            rate_from = "--rate" if rate else "quick mode"
            return cls(True, scenarios, rate or 10.0, rate_from, warmup_s=2, baseline_s=3, recovery_s=4,
                       settle_s=8, port_shift=port_shift)
        rate_from = "--rate"
        if not rate:
            rate, rate_from = default_rate()
        return cls(False, scenarios, rate, rate_from, warmup_s=20, baseline_s=10, recovery_s=20, settle_s=30,
                   port_shift=port_shift)


def select(names: tuple[str, ...]) -> tuple[Scenario, ...]:
    by_name = {s.name: s for s in SCENARIOS}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise PolytraceError(f"unknown scenario {unknown[0]!r} (known: {', '.join(by_name)})")
    return tuple(by_name[n] for n in names) if names else SCENARIOS


def default_rate(results_root: Path = ROOT / "bench" / "results") -> tuple[float, str]:
    """Half the median untraced maximum of the newest full benchmark run (docs/ARCHITECTURE.md's targets)."""
    for path in sorted(results_root.glob(f"*/{bench_results.FILE}"), reverse=True):
        results = bench_results.load(path.parent)
        untraced = results.summary.throughput_req_s.untraced if results.summary else None
        if results.mode == "full" and untraced and untraced.median:
            return (max(1.0, round(untraced.median / 2)),
                    f"half the median untraced maximum of bench/results/{path.parent.name} ({untraced.median:g} req/s)")
    raise PolytraceError(f"no full benchmark under {results_root} to take the rate from; pass --rate")
