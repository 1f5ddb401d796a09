"""The fault-test driver's own checks: a loss or an error outside the outage window must fail the run.

`make test-faults` itself runs against the real stack (bench/fault_tests.py); these tests make sure its
accounting cannot pass silently when something is lost or stored twice.
"""

from __future__ import annotations

from bench.fault_tests import ALL_KINDS, VIEW_LOSS_WINDOW, Outcome, Post, Sample, Traffic, _traffic_outcome
from bench.stack import HttpResult

DOWN, UP = 100.0, 110.0  # outage window, seconds


class RecordedTraffic(Traffic):
    """Traffic with recorded answers and what PostgreSQL and the Redis buffer are said to hold (no stack)."""

    def __init__(
        self,
        samples: list[Sample],
        *,
        sent: int = 0,
        answered: int | None = None,
        partner_stored: int = 0,
        views_at: list[float] | None = None,  # when each stored view happened
        still_buffered: int = 0,
        unanswered: list[Post] | None = None,
    ) -> None:
        self.kinds = ALL_KINDS
        self.samples = samples
        self.sent = {f"e{i}" for i in range(sent)}
        self.answered = {f"e{i}" for i in range(sent if answered is None else answered)}
        self.batches_answered = 0
        self.calls_sent_again = 0
        self.unanswered = unanswered or []
        self._partner_stored = partner_stored
        self._views_at = views_at or []
        self._still_buffered = still_buffered

    def partner_events_stored(self) -> int:
        return self._partner_stored

    def views_stored(self, before: float | None = None) -> int:
        return sum(1 for at in self._views_at if before is None or at < before)

    def wait_flushed(self, timeout: float = 0.0) -> tuple[float, int]:
        return 0.0, self._still_buffered


def answer(kind: str, status: int, at: float) -> Sample:
    return Sample(kind, HttpResult(started=at, finished=at + 0.05, status=status))


def check(traffic: RecordedTraffic, *, redis_lost_data: bool = False) -> Outcome:
    outcome = Outcome("test", "replay")
    _traffic_outcome(outcome, traffic, (DOWN, UP), grace=2.0, redis_lost_data=redis_lost_data)
    return outcome


def test_every_event_and_view_answered_2xx_and_stored_passes() -> None:
    samples = [answer("batch", 201, 90.0), answer("event", 201, 115.0), answer("view", 200, 96.0)]
    outcome = check(RecordedTraffic(samples, sent=301, partner_stored=301, views_at=[96.01]))
    assert outcome.ok, outcome
    assert not outcome.lost and not outcome.findings


def test_a_partner_event_answered_201_but_missing_from_postgresql_is_reported_lost() -> None:
    samples = [answer("batch", 201, 90.0)]
    outcome = check(RecordedTraffic(samples, sent=200, partner_stored=199))
    assert not outcome.ok
    assert outcome.lost == ["1 partner events answered 2xx are missing from PostgreSQL"]


def test_more_rows_than_events_sent_means_a_retry_stored_one_twice() -> None:
    samples = [answer("batch", 500, 104.0), answer("batch", 201, 112.5)]
    outcome = check(RecordedTraffic(samples, sent=100, partner_stored=101))
    assert not outcome.ok
    assert outcome.failed == ["1 more rows than partner events sent: a retry stored an event twice"]


def test_a_call_never_answered_2xx_despite_retries_fails_the_run() -> None:
    failing = Post("batch", "/api/v1/events/batch/", {}, ("e1", "e2"))
    samples = [answer("batch", 503, 104.0)]
    outcome = check(RecordedTraffic(samples, sent=2, answered=0, partner_stored=0, unanswered=[failing]))
    assert not outcome.ok
    assert "1 partner calls (2 events) still not answered 2xx" in outcome.failed[0]


def test_errors_inside_the_outage_window_are_reported_but_do_not_fail() -> None:
    samples = [answer("page", 500, 104.0), answer("event", 0, 105.0), answer("event", 201, 90.0)]
    outcome = check(RecordedTraffic(samples, sent=1, partner_stored=1))
    assert outcome.ok, outcome
    assert any("'page 500': 1" in line for line in outcome.observed)


def test_a_5xx_after_the_window_and_its_grace_fails_the_run() -> None:
    samples = [answer("api", 503, UP + 2.5), answer("page", 500, DOWN - 1.0)]
    outcome = check(RecordedTraffic(samples))
    assert not outcome.ok
    assert outcome.failed == ["failed answers outside the outage window: {'api 503': 1, 'page 500': 1}"]


def test_a_page_view_answered_but_missing_once_the_buffer_drained_is_lost() -> None:
    samples = [answer("view", 200, 90.0), answer("view", 200, 95.0), answer("view", 200, 115.0)]
    outcome = check(RecordedTraffic(samples, views_at=[90.01, 115.01]))
    assert not outcome.ok
    assert outcome.lost == ["1 page views answered 2xx are missing from PostgreSQL"]


def test_views_left_in_the_buffer_fail_the_run_even_if_none_is_missing_yet() -> None:
    samples = [answer("view", 200, 90.0)]
    outcome = check(RecordedTraffic(samples, views_at=[90.01], still_buffered=7))
    assert not outcome.ok
    assert outcome.failed == ["7 storefront events still in the Redis buffer after 0 s"]


def test_when_redis_loses_its_data_views_inside_the_documented_window_may_be_lost() -> None:
    # Views answered up to the crash; the two of the last VIEW_LOSS_WINDOW seconds were never flushed.
    old = [DOWN - VIEW_LOSS_WINDOW - 3.0, DOWN - VIEW_LOSS_WINDOW - 1.0]
    recent = [DOWN - 2.0, DOWN - 0.5]
    samples = [answer("view", 200, at) for at in old + recent]
    outcome = check(RecordedTraffic(samples, views_at=[at + 0.01 for at in old]), redis_lost_data=True)
    assert outcome.ok, outcome
    assert any(line.startswith("views lost with Redis's data: 2 ") for line in outcome.observed)


def test_when_redis_loses_its_data_a_view_lost_before_the_window_fails_the_run() -> None:
    old = [DOWN - VIEW_LOSS_WINDOW - 3.0, DOWN - VIEW_LOSS_WINDOW - 1.0]
    samples = [answer("view", 200, at) for at in old]
    outcome = check(RecordedTraffic(samples, views_at=[old[0] + 0.01]), redis_lost_data=True)
    assert not outcome.ok
    assert "the loss window is longer than documented" in outcome.lost[0]
