"""Structured logs: one JSON object per line carrying the request's X-Request-ID."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from retailsite.observability.logs import JsonFormatter, RequestIdFilter

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the production LOGGING config writes: the request-id filter and JSON formatter on the handler."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_the_callers_request_id_appears_in_the_log_line_of_that_request(client, json_log, settings) -> None:
    settings.TRUSTED_PROXY_IPS = ["127.0.0.1"]  # the test client's address plays the proxy
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="trace-0123456789abcdef")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "trace-0123456789abcdef"
    entries = [entry for entry in _lines(json_log) if entry.get("path") == "/no-such-page/"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["request_id"] == "trace-0123456789abcdef"
    assert entry["level"] == "WARNING" and entry["logger"] == "django.request"
    assert entry["status_code"] == 404  # an `extra` of Django's, kept as a field


def test_a_generated_request_id_is_the_one_returned_to_the_client(client, json_log) -> None:
    response = client.get("/no-such-page/")
    entries = [entry for entry in _lines(json_log) if entry.get("path") == "/no-such-page/"]
    assert entries and entries[0]["request_id"] == response["X-Request-ID"]


def test_outside_a_request_the_request_id_is_a_dash() -> None:
    record = logging.LogRecord("retailsite.jobs", logging.INFO, __file__, 1, "rebuilt %d lists", (3,), None)
    RequestIdFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["request_id"] == "-" and entry["message"] == "rebuilt 3 lists"
