"""The parameters of one benchmark run: ports, durations, rates. Quick mode only proves the harness."""

from __future__ import annotations

from dataclasses import dataclass, field

from polytrace.ports import port_block

# A port block of its own (tests use 2808x, a developer's stack 808x), so a run disturbs neither;
# below 32768, so the kernel never hands one of them out as a client's ephemeral port.
BENCH_PORTS: dict[str, int] = port_block(22000)

# The bench's own OTLP receiver, on a fixed port of the block: a random one may be a port above.
CAPTURE_PORT = 22319

# Stacks run side by side, each on the block shifted by its slot times this: the untraced stack in
# slot 0, the traced one in slot 1, an ablation's levers in 2, 3, …
SLOT_PORTS = 10

PRODUCT_IDS = (1, 2, 3)

# OTEL_TRACES_SAMPLER values that keep a share of the traces (OTEL_TRACES_SAMPLER_ARG, default 1.0).
RATIO_SAMPLERS = ("traceidratio", "parentbased_traceidratio")


@dataclass(frozen=True)
class Plan:
    quick: bool
    pairs: int  # fresh untraced/traced pairs of stacks, both up at once, per pass
    rounds: int  # per pair and pass: one slice on each stack, in the order AB, BA, AB, …
    warmup_s: float  # untimed load after each `up` (the JVM and the pools warm up)
    throughput_s: float  # one slice, closed loop at `concurrency`: the maximum throughput
    latency_s: float  # one slice, open loop at half the median untraced maximum: p50/p90/p99
    sustained_s: float  # fixed rate, every trace followed to completeness
    shutdown_load_s: float  # load just before `polytrace down`: are the spans in flight lost?
    concurrency: int = 16
    latency_connections: int = 32
    sustained_workers: int = 32
    trace_grace_s: float = 15.0  # how long after the last response a trace may still complete
    viewer_stack: bool = True  # one more traced stack with the bundled viewer, for its startup and RSS
    rate: float | None = None  # fixed rate for latency and sustained phases; default: half the untraced max
    otel_env: dict[str, str] = field(default_factory=dict)  # extra OTEL_* for the traced services
    port_shift: int = 0  # added to every bench port, so a second run (the harness test) can run beside one

    def _shift(self, slot: int) -> int:
        return self.port_shift + slot * SLOT_PORTS

    def ports(self, slot: int) -> dict[str, int]:
        """The ports of the stack in `slot` (0: untraced, 1: traced, 2…: an ablation's levers)."""
        return {name: port + self._shift(slot) for name, port in BENCH_PORTS.items()}

    @property
    def head_sampling(self) -> str | None:
        """The traced services' ratio sampler and its ratio ("parentbased_traceidratio 0.1"); None: every trace."""
        sampler = self.otel_env.get("OTEL_TRACES_SAMPLER")
        if sampler not in RATIO_SAMPLERS:
            return None
        return f"{sampler} {self.otel_env.get('OTEL_TRACES_SAMPLER_ARG', '1.0')}"

    @property
    def capture_port(self) -> int:
        return CAPTURE_PORT + self.port_shift

    def run_dir_name(self, slot: int) -> str:
        return ".run-bench" + (f"-{self._shift(slot)}" if self._shift(slot) else "")

    @classmethod
    def make(cls, quick: bool, **overrides) -> Plan:
        if quick:
            base = cls(quick=True, pairs=1, rounds=2, warmup_s=1, throughput_s=2, latency_s=2, sustained_s=4,
                       shutdown_load_s=2, trace_grace_s=10, viewer_stack=False)
        else:
            # 20 s of warm-up: after 10 s each stack's first slice was still its slowest.
            base = cls(quick=False, pairs=3, rounds=4, warmup_s=20, throughput_s=8, latency_s=15, sustained_s=60,
                       shutdown_load_s=10)
        values = {k: v for k, v in overrides.items() if v is not None}
        return cls(**{**base.__dict__, **values})
