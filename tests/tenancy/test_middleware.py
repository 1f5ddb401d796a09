"""Where the tenant comes from: storefront path, mapped domain, staff membership — never a parameter."""

from __future__ import annotations

import pytest

from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import TenantDomain
from retailsite.tenancy.selectors import clear_domain_cache
from tests.factories import ProductFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stores():
    a, b = TenantFactory(slug="alpha", name="Alpha"), TenantFactory(slug="beta", name="Beta")
    ProductFactory(tenant=a, name="Alpha Teapot")
    ProductFactory(tenant=b, name="Beta Bicycle")
    return a, b


def test_storefront_path_selects_the_store(client, stores) -> None:
    page = client.get("/s/alpha/").content.decode()
    assert "Alpha Teapot" in page and "Beta Bicycle" not in page
    page = client.get("/s/beta/").content.decode()
    assert "Beta Bicycle" in page and "Alpha Teapot" not in page


def test_unknown_store_is_404(client, stores) -> None:
    assert client.get("/s/gamma/").status_code == 404


def test_a_query_parameter_cannot_choose_the_tenant(client, stores) -> None:
    _a, b = stores
    page = client.get(f"/s/alpha/?tenant={b.id}&tenant_id={b.id}").content.decode()
    assert "Alpha Teapot" in page and "Beta Bicycle" not in page


def test_mapped_custom_domain_serves_its_store(client, settings, stores) -> None:
    a, _ = stores
    settings.ALLOWED_HOSTS = ["shop.alpha.example", "testserver"]
    with tenant_context(a):
        TenantDomain.objects.create(domain="shop.alpha.example")
    clear_domain_cache()
    page = client.get("/", HTTP_HOST="shop.alpha.example").content.decode()
    assert "Alpha Teapot" in page and "Beta Bicycle" not in page
    # The platform host still shows the list of stores.
    assert "Stores on this platform" in client.get("/").content.decode()
