"""The storefront in a real headless Chromium (Debian's `chromium`, driven by Playwright) against a live server.

A shopper opens the home page and sees recommendations, views a product, comes back and finds it in
"because you viewed", adds to the cart, creates an account at checkout and places the order; the
privacy centre's links lead somewhere. A screenshot of the home page is kept in test-artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from retailsite.commerce.models import Event, Order
from retailsite.tenancy.context import tenant_context

from .conftest import Shop

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")


@contextmanager
def chromium_page() -> Iterator[Any]:
    """A fresh page in headless Chromium. Playwright's sync API runs an event loop in this thread, so the
    test reads the database only after this block has closed (Django refuses ORM calls inside a loop)."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        # Every failed response the pages caused (the browser's own /favicon.ico probe aside).
        page.failed_responses = []
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and not response.url.endswith("/favicon.ico")
                and page.failed_responses.append(f"{response.status} {response.url}")
            ),
        )
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.mark.django_db(transaction=True)
def test_a_shopper_browses_gets_live_recommendations_and_checks_out(live_server, shop: Shop) -> None:
    with chromium_page() as page:
        order_id = shop_like_a_customer(page, live_server.url, shop)

    # What the browser did is in the database.
    with tenant_context(shop.tenant):
        order = Order.objects.get(external_id=order_id)
        assert order.customer is not None and order.customer.email == "grace@example.com"
        assert [(line.product.name, line.quantity) for line in order.lines.select_related("product")] == [
            ("Leaf Rake", 2)
        ]
        kinds = list(Event.objects.order_by("pk").values_list("event_type", "product__name", "recommendation_id"))
    assert [(kind, name) for kind, name, _ in kinds] == [
        ("view", "Garden Hose"),
        ("view", "Leaf Rake"),
        ("cart", "Leaf Rake"),
        ("purchase", "Leaf Rake"),
    ]
    assert all(rid.startswith("v") for _, _, rid in kinds)  # every step is attributed to a recommendation


def shop_like_a_customer(page: Any, server_url: str, shop: Shop) -> str:
    """The journey; returns the id of the order placed."""
    expect = sync_api.expect
    home_url = server_url + shop.home

    # 1. The home page shows recommendations, each with its reason.
    page.goto(home_url)
    for_you = page.locator("#for-you")
    expect(for_you.get_by_role("heading", name="Recommended for you")).to_be_visible()
    expect(for_you.locator(".card").first).to_be_visible()
    assert for_you.locator(".card").count() >= 4
    assert for_you.locator(".card .why").count() == for_you.locator(".card").count()
    expect(page.locator("#trending")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "storefront-home.png"), full_page=True)

    # 2. View a product from the recommendations.
    for_you.get_by_role("link", name="Garden Hose").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Garden Hose")
    assert "rid=v" in page.url

    # 3. Back home: "because you viewed" shows it, without any retrain.
    page.get_by_role("link", name=shop.tenant.name, exact=True).click()
    viewed = page.locator("#because-viewed")
    expect(viewed.get_by_role("heading")).to_have_text("Because you viewed Garden Hose")
    expect(viewed.get_by_role("link", name="Leaf Rake")).to_be_visible()
    expect(viewed.get_by_text("Because you viewed Garden Hose").first).to_be_visible()

    # 4. Add a recommended product to the cart.
    viewed.get_by_role("link", name="Leaf Rake").click()
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
    expect(page.locator("table.lines")).to_contain_text("Leaf Rake")
    expect(page.locator(".badge")).to_have_text("2")

    # 5. Checkout asks an anonymous shopper to sign in or sign up, then places a real order.
    page.get_by_role("link", name="Go to checkout").click()
    expect(page.get_by_role("heading", name="Sign in to place your order")).to_be_visible()
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Name", exact=True).fill("Grace")
    page.get_by_label("E-mail", exact=True).fill("grace@example.com")
    page.get_by_label("Password", exact=True).fill("violet harbour lantern 7")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your order")
    order_id = page.locator(".order-id").inner_text()
    assert re.fullmatch(r"web-\d{8}-[0-9A-F]{10}", order_id)

    # 6. The privacy centre and its links are reachable.
    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Privacy").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Privacy centre")
    for link_name in ("Download my data", "Delete my account"):
        href = page.get_by_role("link", name=link_name).get_attribute("href")
        assert page.request.get(server_url + href).status == 200, link_name
    page.get_by_role("link", name="Delete my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete my account")

    assert page.failed_responses == []
    return order_id
