"""The widget on a page of another origin, in headless Chromium: it renders a "recommended for you" strip from
the store's API (CORS for the key's origin), and a click on an item lands as an event attributed to the list."""

from __future__ import annotations

import threading
from decimal import Decimal
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from browser.services import publishable_key_create
from retailsite.commerce.models import Event
from retailsite.tenancy.context import tenant_context
from tests.factories import ProductFactory, TenantFactory
from tests.storefront.test_browser import CHROMIUM, chromium_page

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]
PARTNER_PORTS = range(8385, 8400)  # this helper's port range; the live server: DJANGO_LIVE_TEST_SERVER_ADDRESS

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Partner shop</title>
<script src="{api}/static/js/retail-widget.js" data-endpoint="{api}/api/v1/browser" data-key="{key}" defer></script>
</head><body><h1>A partner's own shop</h1>
<div id="strip" data-retailsite-widget data-k="4" data-product-url="/product.html?id={{id}}"></div>
</body></html>"""


def _partner_site(directory: Path) -> ThreadingHTTPServer:
    handler = partial(SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    for port in PARTNER_PORTS:
        try:
            return ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError:
            continue
    raise RuntimeError("no free port for the partner site")


@pytest.mark.django_db(transaction=True)
def test_the_widget_renders_on_another_origin_and_its_click_is_attributed(live_server, tmp_path: Path) -> None:
    tenant = TenantFactory(slug="alpha")
    with tenant_context(tenant):
        for i in range(6):
            ProductFactory(tenant=tenant, external_id=f"P{i}", name=f"Garden thing {i}", price=Decimal("9.90"))
    site = _partner_site(tmp_path)
    origin = f"http://127.0.0.1:{site.server_port}"
    assert origin != live_server.url  # another origin: the API answers it only through CORS
    with tenant_context(tenant):
        key = publishable_key_create(name="partner", allowed_origins=[origin])
    (tmp_path / "index.html").write_text(PAGE.format(api=live_server.url, key=key.key))
    (tmp_path / "product.html").write_text("<!doctype html><title>Product</title><h1>Product page</h1>")
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        with chromium_page() as page:
            page.goto(origin + "/index.html")
            strip = page.locator("#strip .retailsite-strip")
            strip.get_by_role("heading", name="Recommended for you").wait_for()
            links = strip.get_by_role("link")
            assert links.count() == 4
            recommendation_id = links.first.get_attribute("data-recommendation-id")
            clicked = links.first.text_content()
            links.first.click()
            page.wait_for_url("**/product.html?id=*")
            assert page.get_by_role("heading", level=1).text_content() == "Product page"
            assert not page.failed_responses, page.failed_responses
    finally:
        site.shutdown()
        site.server_close()
    with tenant_context(tenant):
        events = list(Event.objects.values_list("event_type", "product__name", "recommendation_id", "session_id"))
    assert len(events) == 1
    event_type, name, rid, session = events[0]
    assert (event_type, name, rid) == ("view", clicked, recommendation_id)
    assert rid.startswith("v") and session.startswith("w-")
