"""Event ingestion: single and batch, stored once however often a call is retried, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from retailsite.commerce.importers import import_store_data
from retailsite.commerce.models import Event
from retailsite.tenancy.context import tenant_context
from tests.api.conftest import assert_error
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(store_a):
    CustomerFactory(tenant=store_a, external_id="C1")
    ProductFactory(tenant=store_a, external_id="P1")
    ProductFactory(tenant=store_a, external_id="P2")
    return store_a


def _events(tenant) -> list[tuple]:
    with tenant_context(tenant):
        return list(
            Event.objects.order_by("pk").values_list(
                "customer__external_id",
                "session_id",
                "product__external_id",
                "event_type",
                "value",
                "recommendation_id",
            )
        )


BATCH = {
    "events": [
        {"customer_id": "C1", "product_id": "P1", "event_type": "view"},
        {"session_id": "s-42", "product_id": "P2", "event_type": "cart"},
        {"customer_id": "C1", "product_id": "P2", "event_type": "rating", "value": 4.5, "recommendation_id": "rec-7"},
    ]
}


def test_a_retried_batch_with_the_same_idempotency_key_is_stored_once(api, shop) -> None:
    first = api.post("/api/v1/events/batch/", BATCH, HTTP_IDEMPOTENCY_KEY="sync-2024-05-01-001")
    assert first.status_code == 201 and first.json() == {"received": 3, "created": 3, "duplicates": 0}
    again = api.post("/api/v1/events/batch/", BATCH, HTTP_IDEMPOTENCY_KEY="sync-2024-05-01-001")
    assert again.json() == {"received": 3, "created": 0, "duplicates": 3}
    assert _events(shop) == [
        ("C1", "", "P1", "view", None, ""),
        (None, "s-42", "P2", "cart", None, ""),
        ("C1", "", "P2", "rating", 4.5, "rec-7"),
    ]


def test_a_different_idempotency_key_is_a_different_batch(api, shop) -> None:
    api.post("/api/v1/events/batch/", BATCH, HTTP_IDEMPOTENCY_KEY="one")
    api.post("/api/v1/events/batch/", BATCH, HTTP_IDEMPOTENCY_KEY="two")
    assert len(_events(shop)) == 6


def test_event_ids_make_events_idempotent_across_calls(api, shop) -> None:
    api.post("/api/v1/events/", {"event_id": "e-1", "customer_id": "C1", "product_id": "P1", "event_type": "view"})
    response = api.post(
        "/api/v1/events/batch/",
        {
            "events": [
                {"event_id": "e-1", "customer_id": "C1", "product_id": "P1", "event_type": "view"},
                {"event_id": "e-2", "customer_id": "C1", "product_id": "P1", "event_type": "view"},
                {"event_id": "e-2", "customer_id": "C1", "product_id": "P1", "event_type": "view"},
            ]
        },
    )
    assert response.json() == {"received": 3, "created": 1, "duplicates": 2}
    assert len(_events(shop)) == 2


def test_events_without_ids_are_identified_by_content_like_the_importer(api, shop, tmp_path: Path) -> None:
    event = {"customer_id": "C1", "product_id": "P1", "event_type": "view", "occurred_at": "2024-05-01T10:00:00Z"}
    assert api.post("/api/v1/events/", event).json()["created"] == 1
    assert api.post("/api/v1/events/", event).json()["created"] == 0
    csv = tmp_path / "events.csv"
    csv.write_text("customer_id,product_id,event_type,occurred_at\nC1,P1,view,2024-05-01T12:00:00+02:00\n")
    report = import_store_data(tenant=shop, files={"events": csv})
    assert report["events"].created == 0
    assert len(_events(shop)) == 1


def test_the_time_defaults_to_now_and_may_be_given_in_store_time(api, shop) -> None:
    api.post(
        "/api/v1/events/",
        {"customer_id": "C1", "product_id": "P1", "event_type": "view", "occurred_at": "2024-01-15T09:30:00"},
    )
    api.post("/api/v1/events/", {"customer_id": "C1", "product_id": "P2", "event_type": "view"})
    with tenant_context(shop):
        given, defaulted = Event.objects.order_by("pk")
    assert given.occurred_at.isoformat() == "2024-01-15T08:30:00+00:00"  # Paris is UTC+1 in January
    assert defaulted.occurred_at.year >= 2024


def test_unknown_ids_refuse_the_whole_batch(api, shop) -> None:
    error = assert_error(
        api.post(
            "/api/v1/events/batch/",
            {
                "events": [
                    {"customer_id": "C1", "product_id": "P1", "event_type": "view"},
                    {"customer_id": "GHOST", "product_id": "P1", "event_type": "view"},
                    {"session_id": "s", "product_id": "NOPE", "event_type": "cart"},
                ]
            },
        ),
        400,
        "invalid",
    )
    assert error["fields"] == {
        "events[1].customer_id": ["Unknown customer 'GHOST'."],
        "events[2].product_id": ["Unknown product 'NOPE'."],
    }
    assert _events(shop) == []


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"product_id": "P1", "event_type": "view"}, "customer_id"),
        ({"customer_id": "C1", "product_id": "P1", "event_type": "rating"}, "value"),
        ({"customer_id": "C1", "product_id": "P1", "event_type": "like"}, "event_type"),
        ({"customer_id": "C1", "product_id": "P1", "event_type": "rating", "value": "five"}, "value"),
        (
            {"customer_id": "C1", "product_id": "P1", "event_type": "view", "occurred_at": "2999-01-01T00:00:00Z"},
            "occurred_at",
        ),
        (
            {"customer_id": "C1", "product_id": "P1", "event_type": "view", "recommendation_id": "r" * 65},
            "recommendation_id",
        ),
    ],
)
def test_invalid_events_are_refused(event, field, api, shop) -> None:
    error = assert_error(api.post("/api/v1/events/", event), 400, "invalid")
    assert list(error["fields"]) == [field]
    assert _events(shop) == []


def test_more_than_1000_events_are_refused_and_nothing_is_written(api, shop) -> None:
    events = [{"session_id": f"s{i}", "product_id": "P1", "event_type": "view"} for i in range(1001)]
    error = assert_error(api.post("/api/v1/events/batch/", {"events": events}), 400, "invalid")
    assert list(error["fields"]) == ["events"]
    assert _events(shop) == []
    assert api.post("/api/v1/events/batch/", {"events": events[:1000]}).json()["created"] == 1000


def test_an_overlong_idempotency_key_is_refused(api, shop) -> None:
    error = assert_error(api.post("/api/v1/events/batch/", BATCH, HTTP_IDEMPOTENCY_KEY="k" * 201), 400, "invalid")
    assert list(error["fields"]) == ["Idempotency-Key"]
    assert _events(shop) == []
