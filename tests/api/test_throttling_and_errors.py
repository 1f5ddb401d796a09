"""Rate limits per key (429 with Retry-After), and the error shape of failures no input should cause."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory

from retailsite.api.exceptions import flatten_errors, server_error
from retailsite.api.throttling import CredentialRateThrottle
from retailsite.commerce import selectors
from retailsite.commerce.models import Product
from retailsite.tenancy.context import tenant_context
from tests.api.conftest import assert_error, issue_key, key_client

pytestmark = pytest.mark.django_db


# 10 seconds into a one-minute window (1,699,999,980 is a multiple of 60), so no window ends mid-test.
FROZEN_NOW = 1_699_999_990.0


@pytest.fixture
def three_per_minute(settings, monkeypatch):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "3/min"}}
    monkeypatch.setattr(CredentialRateThrottle, "timer", staticmethod(lambda: FROZEN_NOW))


def test_a_key_over_its_rate_gets_429_with_retry_after(three_per_minute, client_for) -> None:
    client = client_for()
    assert [client.get("/api/v1/whoami/").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/api/v1/whoami/")
    assert_error(response, 429, "throttled")
    assert response["Retry-After"] == "50"


def test_the_count_starts_again_in_the_next_window(three_per_minute, client_for, monkeypatch) -> None:
    client = client_for()
    for _ in range(4):
        client.get("/api/v1/whoami/")
    assert client.get("/api/v1/whoami/").status_code == 429
    monkeypatch.setattr(CredentialRateThrottle, "timer", staticmethod(lambda: FROZEN_NOW + 50))
    assert client.get("/api/v1/whoami/").status_code == 200


def test_limits_count_per_key(three_per_minute, client_for) -> None:
    busy, quiet = client_for(), client_for()
    for _ in range(4):
        busy.get("/api/v1/whoami/")
    assert busy.get("/api/v1/whoami/").status_code == 429
    assert quiet.get("/api/v1/whoami/").status_code == 200


def test_writes_are_throttled_before_they_happen(three_per_minute, client_for, store_a) -> None:
    client = client_for()
    for i in range(3):
        assert client.post("/api/v1/products/", {"product_id": f"P{i}", "name": "x"}).status_code == 201
    assert_error(client.post("/api/v1/products/", {"product_id": "P3", "name": "x"}), 429, "throttled")
    with tenant_context(store_a):
        assert Product.objects.count() == 3


def test_requests_still_pass_when_the_cache_is_down(three_per_minute, client_for, monkeypatch) -> None:
    client = client_for()

    def unreachable(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(cache, "add", unreachable)
    assert [client.get("/api/v1/whoami/").status_code for _ in range(5)] == [200] * 5


# -- failures ------------------------------------------------------------------------------------


def test_an_unexpected_error_is_a_json_500_without_details_and_writes_nothing(api, store_a, monkeypatch) -> None:
    def broken(**filters):
        Product.objects.create(external_id="HALF", name="half-written")
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(selectors, "product_list", broken)
    response = api.get("/api/v1/products/")
    error = assert_error(response, 500, "server_error")
    text = response.content.decode()
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert error["fields"] == {}
    with tenant_context(store_a):
        assert not Product.objects.filter(external_id="HALF").exists()


def test_the_project_500_handler_answers_json_for_api_paths() -> None:
    response = server_error(RequestFactory().get("/api/v1/products/"))
    assert response.status_code == 500
    assert json.loads(response.content)["error"]["code"] == "server_error"
    assert server_error(RequestFactory().get("/s/shop/"))["Content-Type"].startswith("text/html")


def test_a_lost_database_connection_is_a_503_to_retry_not_a_500(api, monkeypatch) -> None:
    def connection_lost(**filters):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(selectors, "product_list", connection_lost)
    response = api.get("/api/v1/products/")
    error = assert_error(response, 503, "unavailable")
    assert "retry" in error["message"] and response["Retry-After"] == "5"
    assert "server closed" not in response.content.decode()


def test_the_project_500_handler_answers_503_while_the_database_is_unreachable() -> None:
    for path, content_type in (("/api/v1/products/", "application/json"), ("/s/shop/", "text/html")):
        try:
            raise InterfaceError("connection already closed")
        except InterfaceError:
            response = server_error(RequestFactory().get(path))
        assert response.status_code == 503, path
        assert response["Retry-After"] == "5" and response["Content-Type"].startswith(content_type)
        assert "connection already closed" not in response.content.decode()


def test_nested_errors_are_flattened_to_field_paths() -> None:
    detail = {
        "items": [{}, {"price": ["bad"], "lines": [{}, {"quantity": ["too small", "not whole"]}]}],
        "tags": {3: ["too long"]},
        "non_field_errors": ["whole object is wrong"],
    }
    assert flatten_errors(detail) == {
        "items[1].price": ["bad"],
        "items[1].lines[1].quantity": ["too small", "not whole"],
        "tags[3]": ["too long"],
        "non_field_errors": ["whole object is wrong"],
    }


def test_a_body_over_the_size_cap_gets_413_in_the_error_shape(store_a, settings) -> None:  # type: ignore[no-untyped-def]
    """F16: was a 500."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client = key_client(issue_key(store_a))
    body = '{"events": [' + ",".join(['{"event_type": "view"}'] * 1000) + "]}"
    response = client.post("/api/v1/events/batch/", data=body, content_type="application/json")
    assert_error(response, 413, "payload_too_large")


def test_json_nested_too_deeply_gets_400_in_the_error_shape(store_a) -> None:  # type: ignore[no-untyped-def]
    """F16: was a 500 (RecursionError in the parser)."""
    client = key_client(issue_key(store_a))
    response = client.post("/api/v1/events/batch/", data="[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert_error(response, 400, "parse_error")
