"""REST endpoints of forecasting: GET /api/v1/forecasts/ (scope forecasts:read) and
GET /api/v1/customers/<id>/insights (scope customers:read); the credential's store only, another store's
objects are 404."""

from __future__ import annotations

import pytest

from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant
from tests.api.conftest import assert_error, issue_key, key_client
from tests.builders.forecasting import stored_forecasts, stored_insights
from tests.factories import CustomerFactory, ProductFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store_a() -> Tenant:
    return TenantFactory(slug="alpha", name="Alpha")


@pytest.fixture
def store_b() -> Tenant:
    return TenantFactory(slug="beta", name="Beta")


@pytest.fixture
def forecasts_a(store_a):
    return stored_forecasts(store_a)


def client(tenant: Tenant, *scopes: str):
    return key_client(issue_key(tenant, scopes))


# ---------------------------------------------------------------------------------------------------- forecasts


def test_a_products_forecast_from_the_serving_run(store_a, forecasts_a) -> None:
    response = client(store_a, "forecasts:read").get("/api/v1/forecasts/?product_id=P1")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 1
    forecast = body["results"][0]
    assert forecast["product_id"] == "P1" and forecast["level"] == "product"
    assert forecast["category"] == "Home > Kitchen"
    assert forecast["run_id"] == forecasts_a["run"].pk  # not the older run, not the newer failed one
    assert forecast["frequency"] == "W"
    assert forecast["periods"] == [
        {"period_start": "2025-03-03", "p10": 5.0, "p50": 10.0, "p90": 15.0, "baseline": 11.0},
        {"period_start": "2025-03-10", "p10": 6.0, "p50": 12.0, "p90": 18.0, "baseline": 13.0},
    ]
    assert forecast["backtest"]["mase"] == 0.8 and forecast["backtest"]["baseline"]["mase"] == 1.0
    assert forecast["what_if"] is None


def test_categories_products_of_a_category_and_the_total(store_a, forecasts_a) -> None:
    api = client(store_a, "forecasts:read")
    home = forecasts_a["home"].pk
    category = api.get(f"/api/v1/forecasts/?category_id={home}").json()
    assert [(r["level"], r["category"]) for r in category["results"]] == [("category", "Home")]
    assert category["results"][0]["periods"][0]["p50"] == 14.0
    products = api.get(f"/api/v1/forecasts/?category_id={home}&level=product").json()
    assert sorted(r["product_id"] for r in products["results"]) == ["P1", "P2"]
    garden = api.get(f"/api/v1/forecasts/?category_id={forecasts_a['garden'].pk}&level=product").json()
    assert [r["product_id"] for r in garden["results"]] == ["P2"]
    total = api.get("/api/v1/forecasts/?level=total").json()
    assert total["count"] == 1 and total["results"][0]["level"] == "total"
    every_category = api.get("/api/v1/forecasts/?level=category").json()
    assert [r["category"] for r in every_category["results"]] == ["Home", "Home > Garden", "Home > Kitchen"]
    page = api.get("/api/v1/forecasts/?limit=1").json()
    assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]


def test_a_price_what_if_uses_the_elasticity(store_a, forecasts_a) -> None:
    forecast = client(store_a, "forecasts:read").get("/api/v1/forecasts/?product_id=P1&price_change=-0.1").json()
    what_if = forecast["results"][0]["what_if"]
    # Elasticity -2: 10% cheaper sells 0.9 ** -2 = 1.2346 times as much.
    assert what_if["elasticity"] == -2.0
    assert what_if["demand_multiplier"] == pytest.approx(1.2345679)
    assert [p["p50"] for p in what_if["periods"]] == pytest.approx([12.346, 14.815], abs=1e-3)


def test_forecasts_need_the_forecasts_scope(store_a, forecasts_a) -> None:
    assert_error(client(store_a, "catalog:read", "customers:read").get("/api/v1/forecasts/"), 403, "missing_scope")
    response = key_client("rsk_not_a_real_key").get("/api/v1/forecasts/")
    assert response.status_code == 401


def test_bad_filters_are_refused_with_field_messages(store_a, forecasts_a) -> None:
    api = client(store_a, "forecasts:read")
    home = forecasts_a["home"].pk
    assert_error(api.get(f"/api/v1/forecasts/?level=total&category_id={home}"), 400, "invalid")
    assert_error(api.get(f"/api/v1/forecasts/?product_id=P1&category_id={home}"), 400, "invalid")
    assert_error(api.get("/api/v1/forecasts/?product_id=P1&level=category"), 400, "invalid")
    error = assert_error(api.get("/api/v1/forecasts/?price_change=-5"), 400, "invalid")
    assert "price_change" in error["fields"]
    assert_error(api.get("/api/v1/forecasts/?level=weekly"), 400, "invalid")
    assert_error(api.get("/api/v1/forecasts/?category_id=99999999999999999999"), 400, "invalid")
    assert_error(api.get("/api/v1/forecasts/?price_change=nan"), 400, "invalid")
    assert_error(api.get("/api/v1/forecasts/?product_id=NOPE"), 404, "not_found")


def test_another_stores_products_and_categories_are_not_found(store_a, store_b, forecasts_a) -> None:
    theirs = stored_forecasts(store_b, scale=100.0)
    with tenant_context(store_b):
        ProductFactory(tenant=store_b, external_id="B-ONLY")
    api = client(store_a, "forecasts:read")
    assert_error(api.get("/api/v1/forecasts/?product_id=B-ONLY"), 404, "not_found")
    assert_error(api.get(f"/api/v1/forecasts/?category_id={theirs['home'].pk}"), 404, "not_found")
    # The same external id in both stores resolves to the caller's own product and forecast.
    mine = api.get("/api/v1/forecasts/?product_id=P1").json()["results"][0]
    assert mine["periods"][0]["p50"] == 10.0
    assert (
        client(store_b, "forecasts:read")
        .get("/api/v1/forecasts/?product_id=P1")
        .json()["results"][0]["periods"][0]["p50"]
        == 1000.0
    )


def test_no_run_yet_lists_nothing(store_a) -> None:
    ProductFactory(tenant=store_a, external_id="P9")
    api = client(store_a, "forecasts:read")
    assert api.get("/api/v1/forecasts/").json()["count"] == 0
    assert api.get("/api/v1/forecasts/?product_id=P9").json()["count"] == 0


# ---------------------------------------------------------------------------------------------------- insights


def test_a_customers_insights(store_a) -> None:
    stored = stored_insights(store_a)
    response = client(store_a, "customers:read").get("/api/v1/customers/C1/insights")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer_id"] == "C1" and body["available"] is True
    assert body["model_run_id"] == stored["run"].pk
    assert body["expected_spend_90d"] == 120.5
    assert body["churn_probability"] == 0.125
    assert body["next_category"] == "Kitchen" and body["next_category_probability"] == 0.4
    assert body["segment"] == "Loyal"
    assert body["segment_description"] == "bought in the last 90 days and 2+ orders in the last year"


def test_no_insights_without_consent_or_before_scoring(store_a) -> None:
    stored_insights(store_a)
    api = client(store_a, "customers:read")
    opted_out = api.get("/api/v1/customers/C2/insights").json()
    assert opted_out["available"] is False and opted_out["churn_probability"] is None
    assert "consent" in opted_out["reason"]
    newcomer = api.get("/api/v1/customers/C3/insights").json()
    assert newcomer["available"] is False and newcomer["segment"] is None


def test_insights_need_the_customers_scope(store_a) -> None:
    stored_insights(store_a)
    assert_error(client(store_a, "forecasts:read").get("/api/v1/customers/C1/insights"), 403, "missing_scope")


def test_another_stores_or_an_unknown_customer_is_not_found(store_a, store_b) -> None:
    stored_insights(store_b)
    CustomerFactory(tenant=store_b, external_id="B-CUSTOMER")
    api = client(store_a, "customers:read")
    for customer_id in ("C1", "B-CUSTOMER", "nobody", "%00", "x" * 300):
        assert_error(api.get(f"/api/v1/customers/{customer_id}/insights"), 404, "not_found")
    for method in ("post", "put", "patch", "delete"):
        assert_error(getattr(api, method)("/api/v1/customers/C1/insights"), 405, "method_not_allowed")
