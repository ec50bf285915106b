"""The ablation's slice order, its levers' syntax and its arithmetic (tests/test_bench.py runs it for real)."""

from __future__ import annotations

from collections import Counter

import pytest

from polytrace.bench import ablation
from polytrace.bench.ablation import BASELINE, UNTRACED, Lever, Variant, order, summarize
from polytrace.bench.plan import Plan
from polytrace.bench.results import Slice
from polytrace.bench.stack import BenchStack
from polytrace.errors import PolytraceError


def test_every_stack_takes_every_position_and_each_round_pair_runs_both_ways():
    rounds = order(4, 8)
    assert all(sorted(r) == [0, 1, 2, 3] for r in rounds)
    for stack in range(4):
        assert Counter(r.index(stack) for r in rounds) == {0: 2, 1: 2, 2: 2, 3: 2}
    for forward, backward in zip(rounds[::2], rounds[1::2], strict=True):
        assert backward == forward[::-1]  # a linear drift adds the same to every stack over the two rounds


def test_a_lever_is_a_name_and_its_variables():
    lever = Lever.parse("reactor-on:OTEL_INSTRUMENTATION_REACTOR_ENABLED=true,OTEL_RESOURCE_ATTRIBUTES=a=b")
    assert lever == Lever("reactor-on", {"OTEL_INSTRUMENTATION_REACTOR_ENABLED": "true",
                                         "OTEL_RESOURCE_ATTRIBUTES": "a=b"})


@pytest.mark.parametrize(("variables", "completes"), [
    ({"OTEL_BSP_SCHEDULE_DELAY": "1000"}, True),
    ({"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}, True),
    ({"OTEL_TRACES_SAMPLER": "always_off"}, False),
    ({"OTEL_TRACES_SAMPLER": " ParentBased_Always_Off "}, False),
    ({"OTEL_TRACES_EXPORTER": "none"}, False),
    ({"OTEL_INSTRUMENTATION_R2DBC_ENABLED": "false"}, False),
    ({"OTEL_INSTRUMENTATION_REACTOR_ENABLED": "true"}, True),
    ({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "flask"}, False),
    ({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": ""}, True),
])
def test_a_lever_that_keeps_exports_or_makes_no_span_is_not_waited_on_for_a_complete_trace(variables, completes):
    assert ablation.completes_traces(variables) is completes


@pytest.mark.parametrize("text", ["OTEL_X=1", "Reactor:OTEL_X=1", "traced:OTEL_X=1", "x:OTEL_X", "x:", "x:lower=1"])
def test_a_malformed_lever_is_refused_with_the_expected_form(text):
    with pytest.raises(PolytraceError, match="VAR=VALUE"):
        Lever.parse(text)


def test_too_many_or_twice_named_levers_are_refused_before_anything_starts(tmp_path):
    plan = Plan.make(True)
    with pytest.raises(PolytraceError, match="1 to 6 levers"):
        ablation.run(plan, [Lever(f"l{i}", {"A": "1"}) for i in range(7)], tmp_path, echo=print)
    with pytest.raises(PolytraceError, match="share a name"):
        ablation.run(plan, [Lever("a", {"A": "1"}), Lever("a", {"A": "2"})], tmp_path, echo=print)
    assert not list(tmp_path.iterdir())


def test_a_lever_stack_has_its_own_ports_and_run_directory_and_its_variables_win(monkeypatch):
    plan = Plan.make(True, otel_env={"OTEL_BSP_SCHEDULE_DELAY": "500", "OTEL_X": "plan"})
    lever = BenchStack.for_plan(plan, tracing=True, otlp_endpoint=None, echo=print, slot=3,
                                lever_env={"OTEL_X": "lever"})
    traced = BenchStack.for_plan(plan, tracing=True, otlp_endpoint=None, echo=print)
    untraced = BenchStack.for_plan(plan, tracing=False, otlp_endpoint=None, echo=print)
    assert lever.ports["catalog"] == untraced.ports["catalog"] + 30 == traced.ports["catalog"] + 20
    assert len({lever.settings.run_dir, traced.settings.run_dir, untraced.settings.run_dir}) == 3
    assert dict(lever.settings.extra_env) == {"OTEL_BSP_SCHEDULE_DELAY": "500", "OTEL_X": "lever"}
    assert dict(untraced.settings.extra_env) == {}


def _slice(ok_per_s: float, cpu: dict[str, float]) -> Slice:
    return Slice(duration_s=8, connections=16, target_rate=None, requests=int(ok_per_s * 8), requests_per_s=ok_per_s,
                 ok_per_s=ok_per_s, status_codes={"200": int(ok_per_s * 8)}, errors={}, latency_ms={},
                 cpu_ms_per_request=cpu)


def test_a_levers_effect_is_the_median_of_its_round_by_round_differences():
    # The machine slows down over the rounds; both traced stacks slow alike, the lever is 0.3 ms cheaper.
    drift = [0.0, 1.0, 2.0]
    untraced = Variant(name=UNTRACED, tracing=False, env={}, slot=0,
                       slices=[_slice(200, {"catalog": 2 + d, "stack total": 6 + d}) for d in drift])
    baseline = Variant(name=BASELINE, tracing=True, env={}, slot=1,
                       slices=[_slice(150, {"catalog": 3 + d, "stack total": 8 + d}) for d in drift],
                       memory_loaded={"total": {"rss_mib": 1400.0, "pss_mib": 1000.0}})
    lever = Variant(name="reactor-on", tracing=True, env={"OTEL_X": "1"}, slot=2,
                    slices=[_slice(165, {"catalog": 2.7 + d, "stack total": 7.7 + d}) for d in drift],
                    memory_loaded={"total": {"rss_mib": 1390.0, "pss_mib": 995.0}})
    summary = summarize([untraced, baseline, lever])

    tracing, effect = summary["effects"][BASELINE], summary["effects"]["reactor-on"]
    assert tracing["against"] == UNTRACED and tracing["cpu_ms_per_request"]["stack total"]["median"] == 2.0
    assert tracing["throughput_ratio"]["median"] == 0.75
    assert effect["against"] == BASELINE and effect["env"] == {"OTEL_X": "1"}
    assert effect["cpu_ms_per_request"]["catalog"] == {"median": -0.3, "min": -0.3, "max": -0.3, "rounds": 3}
    assert effect["throughput_ratio"]["median"] == 1.1
    assert effect["memory_mib"] == {"rss_mib": -10.0, "pss_mib": -5.0}
    assert summary["variants"][BASELINE]["cpu_ms_per_request"]["catalog"] == 4.0


def test_a_round_without_answers_is_left_out_of_the_differences():
    baseline = Variant(name=BASELINE, tracing=True, env={}, slot=1,
                       slices=[_slice(150, {"catalog": 3.0}), _slice(0, {})])
    lever = Variant(name="x", tracing=True, env={}, slot=2, slices=[_slice(150, {"catalog": 2.0}),
                                                                    _slice(150, {"catalog": 9.0})])
    effect = summarize([baseline, lever])["effects"]["x"]
    assert effect["cpu_ms_per_request"]["catalog"]["rounds"] == 1
    assert effect["cpu_ms_per_request"]["catalog"]["median"] == -1.0


def test_an_untraced_lever_is_compared_with_the_untraced_stack():
    assert Lever.parse("two-workers:WEB_CONCURRENCY=2", tracing=False).tracing is False
    untraced = Variant(name=UNTRACED, tracing=False, env={}, slot=0, slices=[_slice(200, {"pricing": 2.2})])
    baseline = Variant(name=BASELINE, tracing=True, env={}, slot=1, slices=[_slice(150, {"pricing": 3.4})])
    traced_lever = Variant(name="w2", tracing=True, env={}, slot=2, slices=[_slice(160, {"pricing": 2.6})])
    untraced_lever = Variant(name="w2-untraced", tracing=False, env={}, slot=3, slices=[_slice(220, {"pricing": 1.9})])
    effects = summarize([untraced, baseline, traced_lever, untraced_lever])["effects"]
    assert effects["w2"]["against"] == BASELINE and effects["w2-untraced"]["against"] == UNTRACED
    assert effects["w2-untraced"]["cpu_ms_per_request"]["pricing"]["median"] == -0.3
