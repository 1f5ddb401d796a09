"""Where the tenant comes from: storefront path, mapped domain, staff membership — never a parameter."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.utils import timezone

from retailsite.tenancy import selectors
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import TenantDomain
from tests.factories import ProductFactory, TenantDomainFactory, TenantFactory

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


def test_a_deactivated_or_renamed_store_changes_at_once_in_this_process(client, stores) -> None:
    a, _ = stores
    assert client.get("/s/alpha/").status_code == 200  # the store is now kept in-process
    a.name = "Alpha Renamed"
    a.save()
    assert "Alpha Renamed" in client.get("/s/alpha/").content.decode()
    a.is_active = False
    a.save()
    assert client.get("/s/alpha/").status_code == 404


def test_a_change_made_by_another_process_shows_once_the_kept_copy_expires(client, stores, monkeypatch) -> None:
    from retailsite.tenancy.models import Tenant

    a, _ = stores
    assert client.get("/s/alpha/").status_code == 200
    # A queryset update sends no signal: as if another process had deactivated the store.
    Tenant.objects.filter(pk=a.pk).update(is_active=False)
    later = time.monotonic() + selectors.TENANT_CACHE_SECONDS  # the kept copy's seconds have passed
    monkeypatch.setattr(selectors._tenants, "_clock", lambda: later)
    assert client.get("/s/alpha/").status_code == 404


def test_a_request_cannot_change_the_kept_store_for_the_next_one(stores) -> None:
    first = selectors.tenant_get_by_slug("alpha")
    assert first is not None
    first.name = "Changed in memory"
    first.settings["forecast_horizon"] = 99
    again = selectors.tenant_get_by_slug("alpha")
    assert again is not None and again.name == "Alpha" and "forecast_horizon" not in again.settings


def test_a_query_parameter_cannot_choose_the_tenant(client, stores) -> None:
    _a, b = stores
    page = client.get(f"/s/alpha/?tenant={b.id}&tenant_id={b.id}").content.decode()
    assert "Alpha Teapot" in page and "Beta Bicycle" not in page


def test_mapped_custom_domain_serves_its_store(client, settings, stores) -> None:
    a, _ = stores
    settings.ALLOWED_HOSTS = ["shop.alpha.example", "testserver"]
    TenantDomainFactory(tenant=a, domain="shop.alpha.example", verified_at=timezone.now())  # clears the look-up
    page = client.get("/", HTTP_HOST="shop.alpha.example").content.decode()
    assert "Alpha Teapot" in page and "Beta Bicycle" not in page
    # The platform host still shows the list of stores.
    assert "Stores on this platform" in client.get("/").content.decode()


# -- F4: which names may be a store's, and proving control of one -------------------------------------------------


def _owner_client(client, tenant):  # type: ignore[no-untyped-def]
    from tests.factories import MembershipFactory

    client.force_login(MembershipFactory(tenant=tenant, role="owner").user)
    return client


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "testserver", "shop.localhost", "[::1]"])
def test_the_platforms_own_names_cannot_be_mapped(client, stores, name) -> None:
    a, _ = stores
    response = _owner_client(client, a).post("/admin/tenancy/tenantdomain/add/", {"domain": name})
    assert response.status_code == 200  # the form again, with the error
    assert "cannot be a store" in response.content.decode() or "not a domain name" in response.content.decode()
    with tenant_context(a):
        assert not TenantDomain.objects.exists()


def test_a_platform_name_mapped_anyway_never_turns_the_platform_into_a_store(client, stores) -> None:
    a, _ = stores
    TenantDomainFactory(tenant=a, domain="localhost", verified_at=timezone.now())
    page = client.get("/", HTTP_HOST="localhost").content.decode()
    assert "Stores on this platform" in page and "Alpha Teapot" not in page


def test_a_domain_another_store_has_is_refused_in_the_form_without_naming_it(client, stores) -> None:
    a, b = stores
    TenantDomainFactory(tenant=b, domain="taken.example.com")
    response = _owner_client(client, a).post("/admin/tenancy/tenantdomain/add/", {"domain": "Taken.Example.com"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "taken.example.com is not available" in body and b.slug not in body


def test_a_domain_serves_only_once_its_txt_record_proves_control(client, settings, stores, monkeypatch) -> None:
    from retailsite.tenancy import domains

    a, _ = stores
    settings.ALLOWED_HOSTS = ["shop.alpha.example", "testserver"]
    owner = _owner_client(client, a)
    assert owner.post("/admin/tenancy/tenantdomain/add/", {"domain": "shop.alpha.example"}).status_code == 302
    with tenant_context(a):
        mapped = TenantDomain.objects.get()
    assert "Alpha Teapot" not in Client().get("/", HTTP_HOST="shop.alpha.example").content.decode()

    published: dict[str, list[str]] = {}
    monkeypatch.setattr(domains, "dns_txt_values", lambda name: published.get(name, []))
    action = {"action": "verify", "_selected_action": [mapped.pk]}
    assert "is not verified" in owner.post("/admin/tenancy/tenantdomain/", action, follow=True).content.decode()
    name, value = domains.challenge_record(mapped)
    published[name] = ["unrelated", value]
    assert "is verified" in owner.post("/admin/tenancy/tenantdomain/", action, follow=True).content.decode()
    assert "Alpha Teapot" in Client().get("/", HTTP_HOST="shop.alpha.example").content.decode()
