"""The fault-test driver's own checks: a loss or an error outside the outage window must fail the run.

`make test-faults` itself runs against the real stack (bench/fault_tests.py); these tests make sure its
accounting cannot pass silently when something is lost.
"""

from __future__ import annotations

from bench.stack import HttpResult
from bench.fault_tests import Outcome, Sample, Traffic, _traffic_outcome

DOWN, UP = 100.0, 110.0  # outage window, seconds


class RecordedTraffic(Traffic):
    """Traffic with recorded answers and a given number of events found in PostgreSQL (no stack)."""

    def __init__(self, samples: list[Sample], stored: int) -> None:
        self.samples = samples
        self._stored = stored

    def events_stored(self) -> int:
        return self._stored


def answer(kind: str, status: int, at: float) -> Sample:
    return Sample(kind, HttpResult(started=at, finished=at + 0.05, status=status))


def check(samples: list[Sample], stored: int) -> Outcome:
    outcome = Outcome("test", "replay")
    _traffic_outcome(outcome, RecordedTraffic(samples, stored), (DOWN, UP), grace=2.0)
    return outcome


def test_every_event_answered_201_and_stored_passes() -> None:
    samples = [answer("event", 201, t) for t in (90.0, 95.0, 115.0)] + [answer("page", 200, 96.0)]
    outcome = check(samples, stored=3)
    assert outcome.ok and not outcome.lost


def test_an_event_answered_201_but_missing_from_postgresql_is_reported_lost() -> None:
    samples = [answer("event", 201, t) for t in (90.0, 95.0, 115.0)]
    outcome = check(samples, stored=2)
    assert not outcome.ok
    assert outcome.lost == ["1 events answered 2xx are missing from PostgreSQL"]


def test_errors_inside_the_outage_window_are_reported_but_do_not_fail() -> None:
    samples = [answer("page", 500, 104.0), answer("event", 0, 105.0), answer("event", 201, 90.0)]
    outcome = check(samples, stored=1)
    assert outcome.ok
    assert any("'page 500': 1" in line for line in outcome.observed)


def test_a_5xx_after_the_window_and_its_grace_fails_the_run() -> None:
    samples = [answer("api", 503, UP + 2.5), answer("page", 500, DOWN - 1.0)]
    outcome = check(samples, stored=0)
    assert not outcome.ok
    assert outcome.failed == ["failed answers outside the outage window: {'api 503': 1, 'page 500': 1}"]


def test_an_event_stored_although_the_client_saw_an_error_is_a_finding_not_a_loss() -> None:
    samples = [answer("event", 500, 104.0), answer("event", 201, 90.0)]
    outcome = check(samples, stored=2)
    assert outcome.ok and outcome.findings
