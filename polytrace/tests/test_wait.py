import pytest

from polytrace.wait import WaitTimeout, poll_until


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_returns_the_first_truthy_value():
    values = iter([None, 0, "ready"])
    clock = FakeClock()
    assert poll_until(lambda: next(values), "it", 5, clock=clock, sleep=clock.sleep) == "ready"


def test_timeout_says_what_it_waited_for_and_the_last_error():
    clock = FakeClock()

    def failing():
        raise ConnectionError("refused")

    with pytest.raises(WaitTimeout, match=r"waiting for the database; last error: ConnectionError: refused"):
        poll_until(failing, "the database", 1, clock=clock, sleep=clock.sleep)


def test_a_callable_description_is_asked_at_the_deadline():
    clock = iter(range(100))
    state = {"missing": "a, b"}

    def predicate():
        state["missing"] = "b"
        return False

    with pytest.raises(WaitTimeout, match="still missing: b"):
        poll_until(predicate, lambda: f"still missing: {state['missing']}", timeout=3,
                   clock=lambda: next(clock), sleep=lambda _: None)
