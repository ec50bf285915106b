"""Head sampling in the bench: the `traceresponse` flags, which answers count, the first sampled trace."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from polytrace.bench import load
from polytrace.bench.load import Sent
from polytrace.bench.plan import Plan
from polytrace.errors import PolytraceError

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"


def header(flags: str, trace: str = TRACE) -> str:
    return f"00-{trace}-{SPAN}-{flags}"


@pytest.mark.parametrize(("flags", "sampled"), [("01", True), ("00", False), ("03", True), ("02", False)])
def test_the_sampled_flag_is_bit_0_of_the_flags(flags, sampled):
    # 02 is Level 2's random-trace-id flag: not sampled; the trace id is kept either way.
    assert load.traceresponse(header(flags)) == (TRACE, sampled)


@pytest.mark.parametrize("value", [
    None, "", "garbage", f"00-{TRACE}-{SPAN}", header("zz"), header("1"), header("001"), header("01", trace="abc"),
    header("01", trace=TRACE.upper()), "01-" + header("01")[3:], header("01") + "-extra",
])
def test_a_malformed_traceresponse_names_no_trace(value):
    assert load.traceresponse(value) == (None, False)


def sent(status: int = 200, flags: str | None = "01", error: str | None = None) -> Sent:
    item = Sent(product_id=1, scheduled=0.0, status=status, error=error)
    item.trace_id, item.sampled = load.traceresponse(header(flags) if flags else None)
    return item


def test_only_sampled_answers_are_expected_and_unsampled_ones_are_no_failure():
    answers = load.answers([sent(), sent(), sent(flags="00"), sent(flags="00"), sent(flags="00"),
                            sent(flags=None), sent(503), sent(503, flags="00"), sent(0, None, "TimeoutError")])

    assert len(answers.ok) == 5 and len(answers.sampled) == 2 and answers.unsampled == 3
    assert all(s.sampled for s in answers.sampled)
    # A 200 without a traceresponse is still counted as one; an unsampled 200 is not.
    assert answers.not_ok == {"200": 1, "503": 2, "TimeoutError": 1}


def test_without_head_sampling_every_answer_is_expected():
    answers = load.answers([sent() for _ in range(4)])

    assert len(answers.sampled) == len(answers.ok) == 4 and answers.unsampled == 0 and answers.not_ok == {}


class Catalog:
    """A stand-in for catalog's GET /products/1: answers with the given traceresponse flags, one by one."""

    def __init__(self, flags: list[str | None], status: int = 200):
        self.flags, self.status, self.requests = flags, status, 0
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_port

    @Request.application
    def app(self, request: Request) -> Response:
        assert request.path == "/products/1"
        flags = self.flags[min(self.requests, len(self.flags) - 1)]
        self.requests += 1
        return Response("{}", status=self.status, headers={"traceresponse": header(flags)} if flags else {})


@pytest.fixture
def catalog():
    made: list[Catalog] = []

    def make(flags: list[str | None], status: int = 200) -> Catalog:
        made.append(Catalog(flags, status))
        return made[-1]

    yield make
    for stand_in in made:
        stand_in.server.shutdown()


def test_the_first_trace_waited_for_is_the_first_sampled_one(catalog):
    stand_in = catalog(["00", "00", "01"])

    first = load.first_response(stand_in.port)

    assert (first.trace_id, first.answers, stand_in.requests) == (TRACE, 3, 3)


def test_without_sampling_or_tracing_the_first_answer_is_enough(catalog):
    assert load.first_response(catalog(["01"]).port).answers == 1
    untraced = catalog([None])
    assert load.first_response(untraced.port).trace_id is None and untraced.requests == 1


def test_no_sampled_answer_within_the_attempts_is_an_error(catalog):
    stand_in = catalog(["00"])

    with pytest.raises(PolytraceError, match="none of 5 answers to GET /products/1 was sampled"):
        load.first_response(stand_in.port, attempts=5)
    assert stand_in.requests == 5


def test_an_error_answer_is_an_error(catalog):
    with pytest.raises(PolytraceError, match="answered 503"):
        load.first_response(catalog(["01"], status=503).port)


def test_the_plan_names_a_ratio_sampler_only():
    assert Plan.make(True).head_sampling is None
    assert Plan.make(True, otel_env={"OTEL_TRACES_SAMPLER": "parentbased_always_on"}).head_sampling is None
    ratio = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
    assert Plan.make(True, otel_env=ratio).head_sampling == "parentbased_traceidratio 0.1"
    assert Plan.make(True, otel_env={"OTEL_TRACES_SAMPLER": "traceidratio"}).head_sampling == "traceidratio 1.0"
