"""The second wall: PostgreSQL row-level security, proven with raw SQL as the application role."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from retailsite.commerce.models import Customer, Product
from retailsite.tenancy.context import TenantContextMissing, platform_context, tenant_context
from retailsite.tenancy.rls import tenant_tables
from tests.factories import (
    CustomerFactory,
    EventFactory,
    FollowFactory,
    MembershipFactory,
    OrderLineFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_stores():
    a, b = TenantFactory(slug="alpha"), TenantFactory(slug="beta")
    for tenant, prefix in ((a, "A"), (b, "B")):
        line = OrderLineFactory(
            tenant=tenant,
            order__external_id=f"{prefix}-O1",
            product__external_id=f"{prefix}-P1",
            order__customer__external_id=f"{prefix}-C1",
        )
        EventFactory(tenant=tenant, customer=line.order.customer, product=line.product)
        FollowFactory(tenant=tenant, follower=line.order.customer)
        MembershipFactory(tenant=tenant)
    return a, b


def raw_rows(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def test_suite_runs_as_application_role_not_superuser() -> None:
    ((user, superuser, bypass),) = raw_rows(
        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    assert user == settings.DB_APP_ROLE
    assert superuser is False and bypass is False


def test_orm_and_raw_sql_see_only_the_current_tenant(two_stores) -> None:
    a, b = two_stores
    with tenant_context(a):
        assert list(Customer.objects.values_list("tenant_id", flat=True).distinct()) == [a.id]
        assert set(Customer.all_objects.values_list("tenant_id", flat=True)) == {a.id}
        for table in tenant_tables():
            tenants = {row[0] for row in raw_rows(f'SELECT DISTINCT tenant_id FROM "{table}"')}
            assert tenants <= {a.id}, f"{table} leaked tenants {tenants - {a.id}}"
        assert raw_rows("SELECT count(*) FROM commerce_customer WHERE tenant_id = %s", [b.id]) == [(0,)]


def test_every_tenant_table_reads_empty_without_a_tenant(two_stores) -> None:
    tables = tenant_tables()
    assert "commerce_customer" in tables and "tenancy_membership" in tables
    for table in tables:
        assert raw_rows(f'SELECT count(*) FROM "{table}"') == [(0,)], table


def test_platform_scope_is_an_explicit_opt_in(two_stores) -> None:
    with platform_context():
        assert raw_rows("SELECT count(DISTINCT tenant_id) FROM commerce_customer") == [(2,)]
        assert Customer.objects.count() >= 2


def test_insert_for_another_tenant_is_refused_by_the_database(two_stores) -> None:
    a, b = two_stores
    with tenant_context(a):
        with (
            pytest.raises(DatabaseError, match="row-level security"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                "INSERT INTO commerce_customer (tenant_id, external_id, email, name, phone, address, gender, "
                "city, country, personalization_consent, marketing_consent, created_at) "
                "VALUES (%s, 'intruder', '', '', '', '', '', '', '', true, false, now())",
                [b.id],
            )
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            Product.objects.create(tenant=b, external_id="intruder", name="x")
    with tenant_context(b):
        assert not Customer.objects.filter(external_id="intruder").exists()
        assert not Product.objects.filter(external_id="intruder").exists()


def test_update_of_another_tenants_rows_is_refused(two_stores) -> None:
    a, b = two_stores
    with tenant_context(b):
        b_customer_id = Customer.objects.get(external_id="B-C1").id
    with tenant_context(a):
        # B's row is invisible: the UPDATE matches nothing.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE commerce_customer SET city = 'hacked' WHERE id = %s", [b_customer_id])
            assert cursor.rowcount == 0
        # Moving one of A's rows into B violates the policy's WITH CHECK.
        with (
            pytest.raises(DatabaseError, match="row-level security"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("UPDATE commerce_customer SET tenant_id = %s WHERE external_id = 'A-C1'", [b.id])
    with tenant_context(b):
        assert Customer.objects.get(id=b_customer_id).city != "hacked"
    with tenant_context(a):
        assert Customer.objects.filter(external_id="A-C1").exists()


def test_managers_fail_closed_without_a_tenant(two_stores) -> None:
    with pytest.raises(TenantContextMissing):
        list(Customer.objects.all())
    with pytest.raises(TenantContextMissing):
        Product.objects.count()


def test_check_tenant_isolation_passes_and_lists_every_table(two_stores, capsys) -> None:
    call_command("check_tenant_isolation")
    output = capsys.readouterr().out
    for table in tenant_tables():
        assert table in output
    assert "cannot bypass" in output


def test_check_tenant_isolation_fails_when_a_table_is_not_forced() -> None:
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")  # the owner may weaken its table; the check must notice
        cursor.execute("ALTER TABLE commerce_event NO FORCE ROW LEVEL SECURITY")
        cursor.execute(f'SET ROLE "{settings.DB_APP_ROLE}"')
    with pytest.raises(CommandError, match="commerce_event"):
        call_command("check_tenant_isolation")
    # the test transaction rolls back, restoring FORCE


@pytest.mark.django_db(transaction=True)
def test_a_reused_connection_does_not_carry_the_tenant_into_the_next_transaction() -> None:
    a = TenantFactory(slug="gamma")
    CustomerFactory(tenant=a, external_id="G1")
    with tenant_context(a), transaction.atomic():
        assert raw_rows("SELECT current_setting('app.tenant_id', true)") == [(str(a.id),)]
        assert raw_rows("SELECT count(*) FROM commerce_customer") == [(1,)]
    # Same connection, next transaction, no tenant: nothing carried over.
    with transaction.atomic():
        assert raw_rows("SELECT coalesce(current_setting('app.tenant_id', true), '')") == [("",)]
        assert raw_rows("SELECT count(*) FROM commerce_customer") == [(0,)]
    # Autocommit queries outside any transaction are also scoped.
    with tenant_context(a):
        assert raw_rows("SELECT count(*) FROM commerce_customer") == [(1,)]
    assert raw_rows("SELECT count(*) FROM commerce_customer") == [(0,)]


@pytest.mark.django_db(transaction=True)
def test_a_request_does_not_leak_its_tenant_into_the_next_request(client) -> None:
    a = TenantFactory(slug="delta")
    CustomerFactory(tenant=a, external_id="D1")
    assert client.get("/s/delta/").status_code == 200
    # After the request, this thread's context and the connection carry no tenant.
    assert raw_rows("SELECT count(*) FROM commerce_customer") == [(0,)]
    assert client.get("/").status_code == 200
    assert raw_rows("SELECT count(*) FROM commerce_customer") == [(0,)]


def test_savepoint_rollback_does_not_lose_the_tenant(two_stores) -> None:
    a, _ = two_stores
    with tenant_context(a):
        try:
            with transaction.atomic():
                assert Customer.objects.filter(external_id="A-C1").count() == 1
                raise RuntimeError("roll back to savepoint")
        except RuntimeError:
            pass
        # set_config inside the rolled-back savepoint was undone; the backend re-applies it.
        assert Customer.objects.filter(external_id="A-C1").count() == 1
