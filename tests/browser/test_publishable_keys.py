"""Publishable keys: CORS only for the key's origins, visitor-only scope, rate limits per key and visitor."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from browser.services import PublishableKeyError, publishable_key_create, publishable_key_revoke
from retailsite.commerce.models import Event
from retailsite.tenancy.context import tenant_context
from tests.factories import ProductFactory, TenantFactory

pytestmark = pytest.mark.django_db
SHOP = "https://shop.example.com"
VISITOR = "a1b2c3d4e5f6"


@pytest.fixture
def key():  # type: ignore[no-untyped-def]
    tenant = TenantFactory(slug="alpha")
    with tenant_context(tenant):
        for i in range(5):
            ProductFactory(tenant=tenant, external_id=f"P{i}", name=f"Thing {i}", price=Decimal("3.50"))
        return publishable_key_create(name="shop", allowed_origins=[SHOP + "/"])


def test_cors_is_answered_only_for_the_keys_origins(key) -> None:
    client = Client()
    url = f"/api/v1/browser/events/?key={key.key}"
    preflight = {"HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST", "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "content-type"}
    allowed = client.options(url, HTTP_ORIGIN=SHOP, **preflight)
    assert allowed["Access-Control-Allow-Origin"] == SHOP
    refused = client.options(url, HTTP_ORIGIN="https://evil.example", **preflight)
    assert "Access-Control-Allow-Origin" not in refused
    # Another key's origin, or no key: no CORS either (nothing is allowed globally).
    assert "Access-Control-Allow-Origin" not in client.options("/api/v1/browser/events/", HTTP_ORIGIN=SHOP, **preflight)
    assert "Access-Control-Allow-Origin" not in client.options(f"/api/v1/products/?key={key.key}", HTTP_ORIGIN=SHOP)


def test_the_key_reads_recommendations_and_writes_events_for_the_visitor_only(key) -> None:
    client = Client(HTTP_ORIGIN=SHOP)
    listed = client.get(f"/api/v1/browser/recommendations/?key={key.key}&visitor={VISITOR}&k=3")
    assert listed.status_code == 200 and listed["Access-Control-Allow-Origin"] == SHOP
    body = listed.json()
    assert len(body["items"]) == 3 and body["recommendation_id"].startswith("v")
    sent = client.post(
        f"/api/v1/browser/events/?key={key.key}",
        {"visitor": VISITOR, "product_id": "P1", "event_type": "view", "recommendation_id": body["recommendation_id"]},
        content_type="application/json",
    )
    assert sent.status_code == 201, sent.content
    with tenant_context(key.tenant):
        event = Event.objects.get()
    assert (event.customer_id, event.session_id, event.recommendation_id) == (
        None,
        f"w-{VISITOR}",
        body["recommendation_id"],
    )
    # Not a customer's events, not other kinds, not the partner API.
    for payload in (
        {"visitor": VISITOR, "product_id": "P1", "event_type": "purchase"},
        {"customer_id": "C1", "product_id": "P1", "event_type": "view"},
    ):
        assert (
            client.post(f"/api/v1/browser/events/?key={key.key}", payload, content_type="application/json").status_code
            == 400
        )
    assert client.get(f"/api/v1/products/?key={key.key}", HTTP_AUTHORIZATION=f"Bearer {key.key}").status_code == 401


def test_wrong_origin_unknown_or_revoked_key_is_refused(key) -> None:
    url = f"/api/v1/browser/recommendations/?key={key.key}&visitor={VISITOR}"
    assert Client(HTTP_ORIGIN="https://evil.example").get(url).status_code == 403
    assert Client().get(url).status_code == 403  # neither Origin nor Referer: not a page of the allowed site
    assert Client(HTTP_REFERER=SHOP + "/garden/").get(url).status_code == 200  # same-origin GETs carry no Origin
    assert Client(HTTP_ORIGIN=SHOP).get(url.replace(key.key, "pk_nope")).status_code == 401
    with tenant_context(key.tenant):
        publishable_key_revoke(key=key)
    assert Client(HTTP_ORIGIN=SHOP).get(url).status_code == 401


def test_rate_limits_per_visitor_and_per_key(key, settings) -> None:
    settings.VISITOR_RATE_LIMIT = "3/min"
    settings.PUBLISHABLE_KEY_RATE_LIMIT = "5/min"
    client = Client(HTTP_ORIGIN=SHOP)
    url = f"/api/v1/browser/recommendations/?key={key.key}&visitor="
    assert [client.get(url + VISITOR).status_code for _ in range(4)] == [200, 200, 200, 429]
    # The key saw 4 requests (the one the visitor limit refused counts too): one more, then it is the key's limit.
    assert [client.get(url + f"other-visitor-{i}").status_code for i in range(3)] == [200, 429, 429]


def test_the_command_creates_a_key_that_works_from_its_origin_and_lists_keys(key, capsys) -> None:
    call_command(
        "publishablekey", "create", "--tenant", "alpha", "--name", "docs", "--origins", f"{SHOP},http://a.test"
    )
    created = capsys.readouterr().out.strip()
    assert created.startswith("pk_")
    answer = Client().get(f"/api/v1/browser/recommendations/?key={created}&visitor={VISITOR}", HTTP_ORIGIN=SHOP)
    assert answer.status_code == 200 and answer.json()["items"]
    call_command("publishablekey", "list", "--tenant", "alpha")
    listed = capsys.readouterr().out
    assert f"{created}\tdocs\tactive\thttp://a.test,{SHOP}" in listed and key.key in listed
    with pytest.raises(CommandError, match="not an origin"):
        call_command("publishablekey", "create", "--tenant", "alpha", "--name", "bad", "--origins", "shop.example.com")


def test_origins_are_validated() -> None:
    with tenant_context(TenantFactory()):
        with pytest.raises(PublishableKeyError, match="not an origin"):
            publishable_key_create(name="x", allowed_origins=["shop.example.com"])
        with pytest.raises(PublishableKeyError, match="at least one"):
            publishable_key_create(name="x", allowed_origins=[])


def test_the_widget_demo_page_embeds_the_script_with_a_key_for_its_own_origin(key) -> None:
    with tenant_context(key.tenant):
        publishable_key_create(name="demo", allowed_origins=["http://testserver"])
    page = Client().get("/widget-demo/alpha/").content.decode()
    assert "js/retail-widget.js" in page and "data-retailsite-widget" in page and 'data-key="pk_' in page
    assert Client().get("/widget-demo/nope/").status_code == 404
