"""The soak test reads wrk's result line: requests, errors and latency percentiles (microseconds -> ms)."""

from __future__ import annotations

import pytest

from bench.soak import parse_wrk

WRK_OUTPUT = """Running 1m test @ http://127.0.0.1:8000
  2 threads and 8 connections
SOAK requests=996 duration_us=60050000 connect=1 read=2 write=0 status=3 timeout=4 p50=123700 p90=248200 \
p99=518800 max=1386900
"""


def test_the_result_line_becomes_rates_errors_and_milliseconds() -> None:
    phase = parse_wrk("idle", WRK_OUTPUT)
    assert phase.requests == 996
    assert phase.rate == pytest.approx(996 / 60.05)
    assert phase.socket_errors == 3 and phase.non_2xx_3xx == 3 and phase.timeouts == 4
    assert phase.errors == 10
    assert (phase.p50_ms, phase.p90_ms, phase.p99_ms, phase.max_ms) == (123.7, 248.2, 518.8, 1386.9)


def test_output_without_a_result_line_is_an_error_not_zero_errors() -> None:
    with pytest.raises(RuntimeError, match="no result line"):
        parse_wrk("idle", "unable to connect to 127.0.0.1:8000 Connection refused\n")
