"""Personal data is encrypted at rest; e-mail look-ups go through the blind index."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from retailsite.commerce.models import Customer
from retailsite.encryption import crypto
from retailsite.tenancy.context import tenant_context
from tests.factories import CustomerFactory, MembershipFactory, TenantFactory

pytestmark = pytest.mark.django_db


def test_raw_select_finds_no_personal_data_in_clear() -> None:
    tenant = TenantFactory()
    CustomerFactory(
        tenant=tenant,
        email="Jane.Doe@example.org",
        name="Jane Doe",
        phone="+33 6 12 34 56 78",
        address="12 rue de la Paix, Paris",
    )
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute("SELECT email, name, phone, address, email_hash FROM commerce_customer")
        email, name, phone, address, email_hash = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM commerce_customer WHERE customer_text LIKE '%%example.org%%' "
            "OR customer_text LIKE '%%Jane%%' OR customer_text LIKE '%%Paix%%'".replace(
                "customer_text", "commerce_customer::text"
            )
        )
        assert cursor.fetchone() == (0,)
    for stored in (email, name, phone, address):
        assert stored.startswith("enc1:")
    assert "jane" not in email_hash.lower() and len(email_hash) == 64
    with tenant_context(tenant):
        customer = Customer.objects.get()
    assert (customer.email, customer.name) == ("Jane.Doe@example.org", "Jane Doe")


def test_blind_index_finds_a_customer_by_email_case_insensitively() -> None:
    tenant = TenantFactory()
    CustomerFactory(tenant=tenant, external_id="C1", email="Jane.Doe@example.org")
    CustomerFactory(tenant=tenant, external_id="C2", email="john@example.org")
    with tenant_context(tenant):
        found = Customer.objects.filter(email_hash=crypto.blind_index("  jane.doe@EXAMPLE.org "))
        assert [c.external_id for c in found] == ["C1"]


def test_admin_searches_email_through_the_blind_index(client) -> None:
    tenant = TenantFactory()
    CustomerFactory(tenant=tenant, external_id="C-JANE", email="jane@example.org")
    CustomerFactory(tenant=tenant, external_id="C-JOHN", email="john@example.org")
    client.force_login(MembershipFactory(tenant=tenant, role="manager").user)
    page = client.get("/admin/commerce/customer/?q=JANE@example.org").content.decode()
    assert "C-JANE" in page and "C-JOHN" not in page


def test_key_rotation_keeps_data_readable(settings) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    crypto.reset_key_cache()
    try:
        tenant = TenantFactory()
        CustomerFactory(tenant=tenant, email="rotate@example.org")
        settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
        crypto.reset_key_cache()
        from django.core.management import call_command

        call_command("rotate_encryption_keys")
        settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is retired
        crypto.reset_key_cache()
        with tenant_context(tenant):
            assert Customer.objects.get().email == "rotate@example.org"
    finally:
        crypto.reset_key_cache()
