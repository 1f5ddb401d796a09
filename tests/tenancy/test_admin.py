"""Staff admin: each staff user sees only their selected store; roles decide what they may do."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from retailsite.commerce.models import Customer
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Membership, Role
from tests.factories import CustomerFactory, MembershipFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def stores():
    a, b = TenantFactory(slug="alpha", name="Alpha"), TenantFactory(slug="beta", name="Beta")
    CustomerFactory(tenant=a, external_id="ALPHA-1", email="alice@alpha.example", name="Alice Alpha")
    CustomerFactory(tenant=b, external_id="BETA-1", email="bob@beta.example", name="Bob Beta")
    return a, b


def login_as(client, tenant, role: str):
    membership = MembershipFactory(tenant=tenant, role=role)
    client.force_login(membership.user)
    return membership


def test_manager_sees_only_their_store_and_personal_data(client, stores) -> None:
    a, _ = stores
    login_as(client, a, Role.MANAGER)
    page = client.get("/admin/commerce/customer/").content.decode()
    assert "ALPHA-1" in page and "alice@alpha.example" in page
    assert "BETA-1" not in page and "bob@beta.example" not in page


def test_other_stores_objects_are_404_in_the_admin(client, stores) -> None:
    a, b = stores
    login_as(client, a, Role.OWNER)
    with tenant_context(b):
        beta_id = Customer.objects.get(external_id="BETA-1").id
    assert client.get(f"/admin/commerce/customer/{beta_id}/change/").status_code in (302, 404)
    response = client.post(f"/admin/commerce/customer/{beta_id}/delete/", {"post": "yes"})
    assert response.status_code in (302, 404)
    with tenant_context(b):
        assert Customer.objects.filter(id=beta_id).exists()


def test_analyst_sees_customers_without_personal_fields(client, stores) -> None:
    a, _ = stores
    login_as(client, a, Role.ANALYST)
    with tenant_context(a):
        alpha_id = Customer.objects.get(external_id="ALPHA-1").id
    listing = client.get("/admin/commerce/customer/").content.decode()
    assert "ALPHA-1" in listing
    assert "alice@alpha.example" not in listing and "Alice Alpha" not in listing
    detail = client.get(f"/admin/commerce/customer/{alpha_id}/change/").content.decode()
    assert "alice@alpha.example" not in detail
    # Searching by e-mail must not become a side channel.
    assert "ALPHA-1" not in client.get("/admin/commerce/customer/?q=alice%40alpha").content.decode()


@pytest.mark.parametrize("role", [Role.ANALYST, Role.VIEWER])
def test_read_only_roles_cannot_change_or_delete(client, stores, role) -> None:
    a, _ = stores
    login_as(client, a, role)
    with tenant_context(a):
        alpha_id = Customer.objects.get(external_id="ALPHA-1").id
    response = client.post(f"/admin/commerce/customer/{alpha_id}/change/", {"external_id": "CHANGED"})
    assert response.status_code == 403
    assert client.post(f"/admin/commerce/customer/{alpha_id}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/commerce/customer/add/").status_code == 403
    with tenant_context(a):
        assert Customer.objects.filter(id=alpha_id, external_id="ALPHA-1").exists()


def test_manager_creates_a_customer_in_their_own_store(client, stores) -> None:
    a, b = stores
    login_as(client, a, Role.MANAGER)
    response = client.post(
        "/admin/commerce/customer/add/",
        {
            "external_id": "NEW-1",
            "email": "",
            "name": "",
            "phone": "",
            "address": "",
            "gender": "",
            "city": "",
            "country": "",
            "personalization_consent": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(a):
        assert Customer.objects.filter(external_id="NEW-1").exists()
    with tenant_context(b):
        assert not Customer.objects.filter(external_id="NEW-1").exists()


def test_staff_without_membership_sees_nothing(client, stores) -> None:
    user = UserFactory()
    client.force_login(user)
    assert client.get("/admin/commerce/customer/").status_code == 403


def test_switching_to_a_store_you_are_not_member_of_is_refused(client, stores) -> None:
    a, b = stores
    login_as(client, a, Role.OWNER)
    client.post("/staff/switch-store/", {"tenant_id": str(b.id)})
    page = client.get("/admin/commerce/customer/").content.decode()
    assert "ALPHA-1" in page and "BETA-1" not in page


def test_member_of_two_stores_switches_between_them(client, stores) -> None:
    a, b = stores
    membership = login_as(client, a, Role.MANAGER)
    MembershipFactory(tenant=b, user=membership.user, role=Role.VIEWER)
    client.post("/staff/switch-store/", {"tenant_id": str(b.id)})
    page = client.get("/admin/commerce/customer/").content.decode()
    assert "BETA-1" in page and "ALPHA-1" not in page
    # ...and in Beta they are only a viewer.
    assert client.get("/admin/commerce/customer/add/").status_code == 403


def test_platform_superuser_sees_every_store(client, stores) -> None:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    client.force_login(admin)
    page = client.get("/admin/commerce/customer/").content.decode()
    assert "ALPHA-1" in page and "BETA-1" in page


def test_owner_manages_members_but_manager_cannot(client, stores) -> None:
    a, _ = stores
    member = MembershipFactory(tenant=a, role=Role.VIEWER)
    login_as(client, a, Role.OWNER)
    invited = client.post("/admin/tenancy/invitation/add/", {"invitee": "newhire", "role": Role.ANALYST})
    assert invited.status_code == 302
    response = client.post(f"/admin/tenancy/membership/{member.pk}/change/", {"role": Role.ANALYST})
    assert response.status_code == 302
    with tenant_context(a):
        assert Membership.objects.get(pk=member.pk).role == Role.ANALYST
    client.logout()
    login_as(client, a, Role.MANAGER)
    assert client.get("/admin/tenancy/invitation/add/").status_code == 403
    assert client.post(f"/admin/tenancy/membership/{member.pk}/change/", {"role": Role.OWNER}).status_code == 403
    with tenant_context(a):
        assert Membership.objects.get(pk=member.pk).role == Role.ANALYST


def test_owner_edits_tenant_settings_with_validation(client, stores) -> None:
    a, _ = stores
    login_as(client, a, Role.OWNER)
    base = {"name": "Alpha", "currency": "EUR", "timezone": "Europe/Paris"}
    bad = client.post(f"/admin/tenancy/tenant/{a.id}/change/", {**base, "settings_text": "forecast_horizon=-1"})
    assert bad.status_code == 200 and "forecast_horizon must be &gt;= 1" in bad.content.decode()
    good = client.post(f"/admin/tenancy/tenant/{a.id}/change/", {**base, "settings_text": "forecast_horizon=8"})
    assert good.status_code == 302
    a.refresh_from_db()
    assert a.setting("forecast_horizon") == 8


def test_a_platform_superuser_cannot_point_an_order_at_another_stores_customer(client, stores) -> None:
    """F18: the admin form refuses a cross-store reference (the database unchanged)."""
    from retailsite.commerce.models import Order
    from tests.factories import OrderFactory

    a, b = stores
    with tenant_context(a):
        order = OrderFactory(tenant=a, customer=Customer.objects.get(external_id="ALPHA-1"))
    with tenant_context(b):
        beta_customer = Customer.objects.get(external_id="BETA-1")
    admin = get_user_model().objects.create_superuser("root2", "root2@example.com", PASSWORD)
    client.force_login(admin)
    response = client.post(
        f"/admin/commerce/order/{order.pk}/change/",
        {
            "external_id": order.external_id,
            "customer": beta_customer.pk,
            "ordered_at_0": "2026-01-01",
            "ordered_at_1": "10:00:00",
            "channel": order.channel,
            "lines-TOTAL_FORMS": "0",
            "lines-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200 and "belongs to another store" in response.content.decode()
    with tenant_context(a):
        assert Order.objects.get(pk=order.pk).customer_id != beta_customer.pk
