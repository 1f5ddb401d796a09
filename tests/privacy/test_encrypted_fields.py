"""Encrypted fields write a new token only when the value changes (so the audit log shows real changes
only), and never keep a token of a key that a rotation is retiring."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from retailsite.commerce.models import Customer
from retailsite.encryption import crypto
from retailsite.tenancy.context import tenant_context
from tests.factories import CustomerFactory, TenantFactory

from .conftest import audit_entries

pytestmark = pytest.mark.django_db


def stored_email(customer_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT email FROM commerce_customer WHERE id = %s", [customer_id])
        return cursor.fetchone()[0]


def test_saving_an_unchanged_value_keeps_the_stored_token() -> None:
    tenant = TenantFactory()
    created = CustomerFactory(tenant=tenant, email="same@example.org")
    with tenant_context(tenant):
        before = stored_email(created.pk)
        customer = Customer.objects.get(pk=created.pk)
        customer.email = "same@example.org"  # e.g. an admin form posting the unchanged value back
        customer.city = "Nantes"
        customer.save()
        assert stored_email(created.pk) == before
        customer.email = "other@example.org"
        customer.save()
        assert stored_email(created.pk) != before
        assert Customer.objects.get(pk=created.pk).email == "other@example.org"
    updates = [e.changed_fields for e in audit_entries(tenant, action="update")]
    assert updates == [["city"], ["email", "email_hash"]]


def test_a_value_read_before_a_rotation_is_reencrypted_under_the_new_key(settings) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    crypto.reset_key_cache()
    try:
        tenant = TenantFactory()
        created = CustomerFactory(tenant=tenant, email="rotating@example.org")
        with tenant_context(tenant):
            customer = Customer.objects.get(pk=created.pk)  # loaded under the old key
            settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
            crypto.reset_key_cache()
            customer.save()
            token = stored_email(created.pk)
        new_only = Fernet(new_key.encode())
        assert new_only.decrypt(token[len(crypto.TOKEN_PREFIX) :].encode()).decode() == "rotating@example.org"
    finally:
        crypto.reset_key_cache()
