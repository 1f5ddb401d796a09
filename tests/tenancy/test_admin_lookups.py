"""F3: the customer list filters only by its declared filters; no role reads a hidden column back through a
lookup in the query string (`?password__startswith=pb` once read a password hash one character at a time)."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password

from retailsite.commerce.models import Customer
from retailsite.encryption.crypto import blind_index
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Role
from tests.factories import CustomerFactory, MembershipFactory, TenantFactory

pytestmark = pytest.mark.django_db

LIST = "/admin/commerce/customer/"


@pytest.fixture
def shop():
    tenant = TenantFactory(slug="alpha")
    with tenant_context(tenant):
        customer = CustomerFactory(
            tenant=tenant, external_id="ALPHA-1", email="alice@alpha.example", name="Alice Alpha", city="Lyon"
        )
        Customer.objects.filter(pk=customer.pk).update(password=make_password("hunter2-hunter2"), gender="F")
        customer.refresh_from_db()
    return tenant, customer


def login(client, tenant, role: str) -> None:
    client.force_login(MembershipFactory(tenant=tenant, role=role).user)


def probes(customer: Customer) -> dict[str, tuple[str, str]]:
    """lookup -> (a prefix of the real value, a prefix it does not have)."""
    return {
        "password__startswith": (customer.password[:6], "zzzzzz"),
        "email_hash__startswith": (blind_index("alice@alpha.example")[:3], "zzz"),
        "name__startswith": (str(Customer.objects.filter(pk=customer.pk).values_list("name", flat=True)[0])[:4], "zz"),
        "external_id__startswith": ("ALPHA", "ZZZ"),
    }


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER, Role.ANALYST, Role.VIEWER])
def test_no_undeclared_lookup_tells_a_right_prefix_from_a_wrong_one(client, shop, role) -> None:
    tenant, customer = shop
    login(client, tenant, role)
    with tenant_context(tenant):
        lookups = probes(customer)
    for lookup, (right, wrong) in lookups.items():
        hit = client.get(LIST, {lookup: right})
        miss = client.get(LIST, {lookup: wrong})
        assert hit.status_code == miss.status_code == 400, lookup
        assert "ALPHA-1" not in hit.content.decode(), lookup


def test_declared_filters_still_work(client, shop) -> None:
    tenant, _ = shop
    login(client, tenant, Role.ANALYST)
    assert "ALPHA-1" in client.get(LIST, {"personalization_consent__exact": "1"}).content.decode()
    assert "ALPHA-1" not in client.get(LIST, {"personalization_consent__exact": "0"}).content.decode()


def test_demographics_are_personal_data_hidden_from_analysts_and_viewers(client, shop) -> None:
    tenant, customer = shop
    for role, sees in ((Role.MANAGER, True), (Role.ANALYST, False), (Role.VIEWER, False)):
        client.logout()
        login(client, tenant, role)
        listing = client.get(LIST).content.decode()
        detail = client.get(f"{LIST}{customer.pk}/change/").content.decode()
        assert ("Lyon" in listing) is sees and ("Lyon" in detail) is sees, role
        assert ("Birth year" in listing) is sees, role
        assert client.get(LIST, {"gender__exact": "F"}).status_code == (200 if sees else 400), role
