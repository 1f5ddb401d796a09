"""Staff pages of forecasting: charts of history and forecast with the P10-P90 band, backtest figures, the
customer models' figures; only for staff whose membership may view the store, and only that store's data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from forecasting.models import RunStatus
from retailsite.commerce.models import Product
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Role
from tests.builders.forecasting import stored_forecasts
from tests.factories import CustomerModelRunFactory, MembershipFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.IGNORECASE)


@pytest.fixture
def store():
    tenant = TenantFactory(slug="alpha", name="Alpha")
    stored = stored_forecasts(tenant)
    with tenant_context(tenant):
        stored["p1"] = Product.objects.get(external_id="P1")
        CustomerModelRunFactory(
            tenant=tenant,
            status=RunStatus.SUCCEEDED,
            n_customers=3,
            figures={
                "models": {
                    "churn": {
                        "figures": {"roc_auc": 0.81, "brier": 0.12},
                        "baseline_figures": {"base_rate": {"roc_auc": 0.5, "brier": 0.2}},
                        "importances": {"recency_days": 0.2, "orders_90d": 0.05},
                        "group_figures": {"gender": {"F": {"roc_auc": 0.8}, "M": {"roc_auc": 0.79}}},
                    }
                },
                "segment_summary": {"Loyal": {"n": 3.0, "share": 1.0}},
                "segment_descriptions": {"Loyal": "bought in the last 90 days"},
            },
        )
    stored["tenant"] = tenant
    return stored


def staff_client(tenant, role: str = Role.ANALYST) -> Client:
    membership = MembershipFactory(tenant=tenant, role=role)
    client = Client()
    client.force_login(membership.user)
    return client


def chart_config(html: str, chart_id: str) -> dict:
    """The Chart.js config a page hands to charts.js, read back from its json_script element."""
    assert f'data-chart="{chart_id}"' in html
    match = re.search(rf'<script id="{chart_id}" type="application/json">(.*?)</script>', html, re.DOTALL)
    assert match, f"no JSON for chart {chart_id}"
    return json.loads(match.group(1))


def pages(store) -> list[str]:
    return [
        "/staff/forecasts/",
        f"/staff/forecasts/{store['p1'].pk}/",
        "/staff/forecasts/categories/",
        f"/staff/forecasts/categories/{store['home'].pk}/",
        "/staff/forecasts/total/",
        "/staff/customer-models/",
    ]


def test_a_products_page_charts_history_band_and_baseline(store) -> None:
    response = staff_client(store["tenant"]).get(f"/staff/forecasts/{store['p1'].pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    config = chart_config(html, "forecast-chart")
    datasets = {dataset["label"]: dataset["data"] for dataset in config["data"]["datasets"]}
    # History period (2025-02-24), then the two forecast periods on one axis.
    assert config["data"]["labels"] == ["2025-02-24", "2025-03-03", "2025-03-10"]
    assert datasets["Actual units"] == [1.0, None, None]
    assert datasets["Forecast (P50)"] == [None, 10.0, 12.0]
    assert datasets["P10"] == [None, 5.0, 6.0] and datasets["P90"] == [None, 15.0, 18.0]
    assert datasets["Seasonal naive"] == [None, 11.0, 13.0]
    p90 = next(d for d in config["data"]["datasets"] if d["label"] == "P90")
    assert p90["fill"] == "+1"  # the band is drawn between P90 and P10
    # The default what-if (-10% with elasticity -2) is drawn too.
    what_if = datasets["P50 if price -10%"]
    assert what_if[0] is None and what_if[1:] == pytest.approx([12.346, 14.815], abs=1e-3)
    # Backtest figures beside the seasonal naive's.
    assert re.search(r"<td>MASE</td><td>0\.800</td><td>1\.000</td>", html)
    assert "vendor/chartjs/chart.umd.min.js" in html and "js/charts.js" in html
    assert not INLINE_SCRIPT.search(html), "charts must not need inline scripts (CSP)"


def test_every_page_renders_for_a_viewer(store) -> None:
    client = staff_client(store["tenant"], Role.VIEWER)
    for url in pages(store):
        response = client.get(url)
        assert response.status_code == 200, url
    listing = client.get("/staff/forecasts/?q=P2").content.decode()
    assert "P2" in listing and f"/staff/forecasts/{store['p1'].pk}/" not in listing
    garden = client.get(f"/staff/forecasts/?category={store['garden'].pk}").content.decode()
    assert ">P2</a>" in garden and ">P1</a>" not in garden
    for url in (f"/staff/forecasts/categories/{store['home'].pk}/", "/staff/forecasts/total/"):
        assert chart_config(client.get(url).content.decode(), "forecast-chart")["type"] == "line"
    models_page = client.get("/staff/customer-models/").content.decode()
    importances = chart_config(models_page, "importances-churn")
    assert importances["data"]["labels"] == ["recency_days", "orders_90d"]
    assert "0.8100" in models_page and "0.5000" in models_page  # the model beside its baseline


def test_staff_without_membership_are_refused(store) -> None:
    outsider = UserFactory()
    client = Client()
    client.force_login(outsider)
    for url in pages(store):
        assert client.get(url).status_code == 403, url


def test_anonymous_visitors_are_sent_to_the_login(store) -> None:
    response = Client().get("/staff/forecasts/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_another_stores_staff_see_only_their_store(store) -> None:
    other = TenantFactory(slug="beta", name="Beta")
    client = staff_client(other, Role.OWNER)
    assert client.get(f"/staff/forecasts/{store['p1'].pk}/").status_code == 404
    assert client.get(f"/staff/forecasts/categories/{store['home'].pk}/").status_code == 404
    listing = client.get("/staff/forecasts/").content.decode()
    # The product's link and cell, not the bare text "P1": a random CSRF token on the page may contain it.
    assert f"/staff/forecasts/{store['p1'].pk}/" not in listing and ">P1<" not in listing
    assert "No forecast run has succeeded yet" in listing


def test_the_admin_lists_runs_and_links_to_the_charts(store) -> None:
    client = staff_client(store["tenant"], Role.MANAGER)
    runs = client.get("/admin/forecasting/forecastrun/")
    assert runs.status_code == 200
    series = client.get("/admin/forecasting/seriesforecast/").content.decode()
    assert f'href="/staff/forecasts/{store["p1"].pk}/"' in series
    detail = client.get(f"/admin/forecasting/forecastrun/{store['run'].pk}/change/")
    assert detail.status_code == 200
    assert client.get("/admin/forecasting/customermodelrun/").status_code == 200
    # Per-customer predictions are profiling data: analysts may not browse them.
    assert staff_client(store["tenant"], Role.ANALYST).get("/admin/forecasting/customerprediction/").status_code == 403


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium")
def test_the_chart_is_drawn_in_a_browser(live_server, store) -> None:
    """Chart.js (served locally) draws the forecast chart from the page's JSON, with no script error."""
    sync_api = pytest.importorskip("playwright.sync_api")
    membership = MembershipFactory(tenant=store["tenant"], role=Role.ANALYST)
    url = f"{live_server.url}/staff/forecasts/{store['p1'].pk}/"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and not response.url.endswith("favicon.ico")
                and errors.append(f"{response.status} {response.url}")
            ),
        )
        page.goto(f"{live_server.url}/admin/login/?next=/staff/forecasts/{store['p1'].pk}/")
        page.fill("#id_username", membership.user.username)
        page.fill("#id_password", "correct horse battery staple")
        page.click("input[type=submit]")
        page.wait_for_url(url)
        page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas[data-chart]'))")
        labels = page.evaluate(
            "() => Chart.getChart(document.querySelector('canvas[data-chart]')).data.datasets.map(d => d.label)"
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "staff-forecast.png"), full_page=True)
        browser.close()
    assert labels[:5] == ["Actual units", "P90", "P10", "Forecast (P50)", "Seasonal naive"]
    assert not errors, errors
