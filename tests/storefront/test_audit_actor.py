"""A signed-in shopper's own actions are attributed to them in the audit log, not to "anonymous"."""

from __future__ import annotations

import pytest
from django.test import Client

from retailsite.commerce.models import Order
from retailsite.tenancy.context import tenant_context
from tests.privacy.conftest import audit_entries

from .conftest import Shop

pytestmark = pytest.mark.django_db


def actors(shop: Shop, object_type: str, object_id: int) -> set[str]:
    return {entry.actor for entry in audit_entries(shop.tenant, object_type=object_type, object_id=str(object_id))}


def test_consent_change_and_checkout_by_a_signed_in_shopper_name_the_shopper(
    signed_in_client: Client, shop: Shop
) -> None:
    before = {
        entry.seq
        for entry in audit_entries(shop.tenant, object_type="commerce_customer", object_id=str(shop.shopper.pk))
    }

    assert signed_in_client.post(shop.url("privacy/"), {"marketing": "on"}).status_code == 302
    signed_in_client.post(shop.url("cart/add/"), {"product": shop.products["Leaf Rake"].pk, "quantity": 1})
    assert signed_in_client.post(shop.url("checkout/")).status_code == 302

    consent_changes = [
        entry
        for entry in audit_entries(shop.tenant, object_type="commerce_customer", object_id=str(shop.shopper.pk))
        if entry.seq not in before
    ]
    assert consent_changes and {entry.actor for entry in consent_changes} == {f"shopper:{shop.shopper.pk}"}
    assert {entry.request_id for entry in consent_changes} != {""}
    with tenant_context(shop.tenant):
        order = Order.objects.get(customer=shop.shopper)
    assert actors(shop, "commerce_order", order.pk) == {f"shopper:{shop.shopper.pk}"}


def test_an_anonymous_visitor_is_not_taken_for_a_shopper(client: Client, shop: Shop) -> None:
    response = client.post(
        shop.url("account/sign-up/"),
        {"name": "Cleo", "email": "cleo@example.com", "password": "violet harbour lantern 7"},
    )
    assert response.status_code == 302
    created = [
        entry
        for entry in audit_entries(shop.tenant, object_type="commerce_customer", action="create")
        if entry.request_id
    ]
    assert created and all(entry.actor.startswith("anonymous") for entry in created)


def test_a_clients_own_request_id_never_reaches_the_audit_log(client, shop, settings) -> None:  # type: ignore[no-untyped-def]
    """F15: only a configured proxy's X-Request-ID is trusted; F11: a visitor's address is kept as its network."""
    from retailsite.privacy.models import AuditLogEntry
    from retailsite.tenancy.context import platform_context
    from tests.privacy.conftest import seal_audit_log

    settings.TRUSTED_PROXY_IPS = ["10.9.9.9"]
    response = client.post(
        shop.url("account/sign-up/"),
        {"email": "nia@example.com", "password": "amber willow kettle 42", "name": "Nia"},
        HTTP_X_REQUEST_ID="attacker-chosen-id-0001",
        REMOTE_ADDR="203.0.113.77",
    )
    assert response.status_code == 302
    assert response["X-Request-ID"] != "attacker-chosen-id-0001"
    seal_audit_log()
    with platform_context():
        entries = list(
            AuditLogEntry.objects.filter(
                object_type="commerce_customer", action="create", actor__startswith="anonymous"
            )
        )
    assert entries and all(entry.request_id != "attacker-chosen-id-0001" for entry in entries)
    assert {entry.client_ip for entry in entries} == {"203.0.113.0/24"}
