"""The audit log: database triggers record every write (ORM, bulk, raw SQL) with field names only,
each store's entries form a hash chain that the verifier checks, and the application role cannot
change or remove an entry."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import threading

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from retailsite.commerce.models import Customer, Event
from retailsite.privacy.audit import audit_canonical, audit_hash
from retailsite.privacy.models import AuditLogEntry
from retailsite.privacy.services import audit_record_read, audit_record_reads
from retailsite.privacy.triggers import STATEMENT_LEVEL_TABLES, install_audit_triggers
from retailsite.tenancy.context import Actor, acting_as, platform_context, tenant_context
from retailsite.tenancy.rls import tenant_tables
from tests.factories import CustomerFactory, ProductFactory, TenantFactory

from .conftest import as_table_owner, audit_entries, raw, seal_audit_log

pytestmark = pytest.mark.django_db

STAFF = Actor("user", "42", "req-0001-abcd", "203.0.113.9")


def test_orm_writes_are_recorded_with_who_what_and_the_field_names() -> None:
    tenant = TenantFactory()
    with tenant_context(tenant), acting_as(STAFF):
        customer = Customer.objects.create(
            external_id="C-AUDIT", email="zoe@example.org", name="Zoë Quist", city="Xyzzyville"
        )
        customer.city = "Quuxtown"
        customer.save()
        customer_id = customer.pk
        customer.delete()
    created, updated, deleted = audit_entries(tenant, object_type="commerce_customer")
    assert [created.action, updated.action, deleted.action] == ["create", "update", "delete"]
    assert {created.object_id, updated.object_id, deleted.object_id} == {str(customer_id)}
    columns = {f.column for f in Customer._meta.concrete_fields} - {"id", "tenant_id"}
    assert set(created.changed_fields) == columns  # a new row: its columns, never their values
    assert updated.changed_fields == ["city"]
    assert deleted.changed_fields == []
    for entry in (created, updated, deleted):
        assert (entry.actor, entry.request_id, entry.client_ip) == ("user:42", "req-0001-abcd", "203.0.113.9")
        assert entry.row_count == 1


def test_the_log_holds_field_names_but_never_the_values() -> None:
    tenant = TenantFactory()
    customer = CustomerFactory(
        tenant=tenant,
        external_id="C-SECRET",
        email="hidden.person@example.org",
        name="Hidden Person",
        city="Secretville",
    )
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE commerce_customer SET city = 'Newcityname', birth_year = 1971 WHERE id = %s", [customer.pk]
        )
    entries = audit_entries(tenant)
    assert any(e.action == "update" and e.changed_fields == ["birth_year", "city"] for e in entries)
    with platform_context():
        for needle in ("Secretville", "Newcityname", "hidden.person", "Hidden Person", "C-SECRET"):
            assert raw("SELECT count(*) FROM privacy_auditlogentry t WHERE t::text ILIKE %s", [f"%{needle}%"]) == [
                (0,)
            ], needle


def test_a_raw_sql_bulk_update_is_recorded_row_by_row() -> None:
    tenant = TenantFactory()
    ids = sorted(CustomerFactory(tenant=tenant, city="Lyon").pk for _ in range(3))
    other = CustomerFactory(tenant=tenant, city="Paris")
    seal_audit_log()
    with tenant_context(tenant), acting_as(Actor("system", "bulk-fix")), connection.cursor() as cursor:
        cursor.execute("UPDATE commerce_customer SET city = 'Lille' WHERE city = 'Lyon'")
        assert cursor.rowcount == 3
    updates = audit_entries(tenant, action="update")
    assert sorted(int(e.object_id) for e in updates) == ids
    assert str(other.pk) not in {e.object_id for e in updates}
    assert all(e.changed_fields == ["city"] and e.actor == "system:bulk-fix" for e in updates)


def test_high_volume_tables_get_one_entry_per_statement() -> None:
    tenant = TenantFactory()
    customer = CustomerFactory(tenant=tenant)
    product = ProductFactory(tenant=tenant)
    now = timezone.now()
    with tenant_context(tenant):
        Event.objects.bulk_create(
            [
                Event(
                    tenant=tenant,
                    customer=customer,
                    product=product,
                    event_type="view",
                    occurred_at=now,
                    dedupe_key=f"k{i}",
                )
                for i in range(40)
            ]
        )
        with connection.cursor() as cursor:
            cursor.execute("UPDATE commerce_event SET value = 2.5 WHERE dedupe_key LIKE 'k1%%'")  # k1, k10..k19
        Event.objects.all().delete()
    entries = audit_entries(tenant, object_type="commerce_event")
    assert [(e.action, e.row_count, e.object_id) for e in entries] == [
        ("create", 40, ""),
        ("update", 11, ""),
        ("delete", 40, ""),
    ]
    assert entries[1].changed_fields == ["value"]
    assert "commerce_event" in STATEMENT_LEVEL_TABLES


def test_an_update_that_changes_nothing_is_not_an_entry() -> None:
    tenant = TenantFactory()
    customer = CustomerFactory(tenant=tenant)
    before = len(audit_entries(tenant))
    with tenant_context(tenant):
        Customer.objects.get(pk=customer.pk).save()
    assert len(audit_entries(tenant)) == before


def test_changes_to_the_store_itself_are_recorded() -> None:
    tenant = TenantFactory()
    with platform_context():
        tenant.settings = {"event_retention_days": 30}
        tenant.save()
    (entry,) = audit_entries(tenant, object_type="tenancy_tenant", action="update")
    assert entry.object_id == str(tenant.pk) and entry.changed_fields == ["settings"]


def test_every_tenant_table_has_audit_triggers_of_the_right_granularity() -> None:
    rows = raw(
        "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname LIKE 'privacy_audit_%%' AND NOT t.tgisinternal"
    )
    triggers: dict[str, dict[str, str]] = {}
    for table, name, definition in rows:
        triggers.setdefault(table, {})[name] = definition
    for table in [*tenant_tables(), "tenancy_tenant"]:
        if table in ("privacy_auditlogentry", "privacy_auditpending", "privacy_auditsealmark"):
            continue
        assert set(triggers.get(table, {})) == {
            "privacy_audit_insert",
            "privacy_audit_update",
            "privacy_audit_delete",
        }, table
        granularity = "statement" if table in STATEMENT_LEVEL_TABLES else "row"
        assert all(f"privacy_audit_statement('{granularity}'" in d for d in triggers[table].values()), table
    assert "privacy_auditlogentry" not in triggers
    assert "privacy_auditpending" not in triggers
    assert set(triggers["privacy_auditsealmark"]) == {"privacy_audit_seal"}


def test_reads_recorded_by_the_app_join_the_chain() -> None:
    tenant = TenantFactory()
    customers = [CustomerFactory(tenant=tenant) for _ in range(3)]
    with tenant_context(tenant), acting_as(Actor("api_key", "abc123", "req-read-01", "198.51.100.7")):
        audit_record_read(object_type=Customer, object_id=customers[0].pk)
        audit_record_reads(object_type="commerce_customer", object_ids=[c.pk for c in customers[1:]])
    reads = audit_entries(tenant, action="read")
    assert [e.object_id for e in reads] == [str(c.pk) for c in customers]
    assert {e.actor for e in reads} == {"api_key:abc123"}
    with pytest.raises(ValueError, match="unknown audit action"), tenant_context(tenant):
        audit_record_read(object_type=Customer, object_id=1, action="peek")


def test_each_store_has_its_own_unbroken_chain() -> None:
    alpha, beta = TenantFactory(slug="chain-a"), TenantFactory(slug="chain-b")
    for _ in range(3):
        CustomerFactory(tenant=alpha)
        CustomerFactory(tenant=beta)
    for tenant in (alpha, beta):
        entries = audit_entries(tenant)
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        assert entries[0].prev_hash == "0" * 64
        for previous, entry in itertools.pairwise(entries):
            assert entry.prev_hash == previous.hash
    call_command("verify_audit_log", "--tenant", "chain-a")


def test_the_sql_and_python_canonical_forms_agree_on_awkward_text() -> None:
    moment = dt.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=dt.UTC)
    awkward = 'système:"quoted" \\ back\tslash\n ünïcødé ✓ \x01'
    (sql_text,) = raw(
        "SELECT jsonb_build_array(7::bigint, 3::bigint, to_char(%s::timestamptz AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), %s, 'update', 'commerce_customer', '12', '[\"city\", \"name\"]'::jsonb, "
        "5::bigint, 'req', '::1')::text",
        [moment, awkward],
    )[0]
    python_text = audit_canonical(
        tenant_id=7,
        seq=3,
        occurred_at=moment,
        actor=awkward,
        action="update",
        object_type="commerce_customer",
        object_id="12",
        changed_fields=["city", "name"],
        row_count=5,
        request_id="req",
        client_ip="::1",
    )
    assert python_text == sql_text
    assert python_text.startswith('[7, 3, "2024-02-29T23:59:58.123456Z", ')
    assert audit_hash("0" * 64, python_text) == hashlib.sha256(("0" * 64 + sql_text).encode()).hexdigest()


def test_an_entry_with_awkward_text_verifies() -> None:
    tenant = TenantFactory(slug="awkward")
    with tenant_context(tenant), acting_as(Actor("system", 'tâche "nocturne"\n✓', "r-éé", "::1")):
        CustomerFactory(tenant=tenant)
    assert audit_entries(tenant)[-1].actor == 'system:tâche "nocturne"\n✓'
    call_command("verify_audit_log", "--tenant", "awkward")


@pytest.fixture
def logged_store():
    tenant = TenantFactory(slug="tamper")
    for n in range(4):
        CustomerFactory(tenant=tenant, external_id=f"T{n}")
    entries = audit_entries(tenant)
    assert len(entries) >= 4
    return tenant, entries


def test_the_verifier_passes_an_intact_log(logged_store, capsys) -> None:
    call_command("verify_audit_log")
    out = capsys.readouterr().out
    assert "tamper: 5 entries, chain intact" in out  # the store's creation and 4 customers
    assert out.strip().splitlines()[-1].startswith("OK")


def test_editing_one_entry_through_sql_is_reported(logged_store) -> None:
    _, entries = logged_store
    target = entries[1]
    with as_table_owner(), connection.cursor() as cursor:
        cursor.execute("UPDATE privacy_auditlogentry SET actor = 'user:1' WHERE id = %s", [target.pk])
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit_log", "--tenant", "tamper")
    message = str(failure.value)
    assert f"id={target.pk} seq=2" in message and "changed after it was written" in message


def test_recomputing_the_edited_entrys_hash_breaks_the_next_link(logged_store) -> None:
    tenant, entries = logged_store
    target = entries[1]
    forged = audit_hash(
        target.prev_hash,
        audit_canonical(
            tenant_id=tenant.pk,
            seq=target.seq,
            occurred_at=target.occurred_at,
            actor="user:1",
            action=target.action,
            object_type=target.object_type,
            object_id=target.object_id,
            changed_fields=target.changed_fields,
            row_count=target.row_count,
            request_id=target.request_id,
            client_ip=target.client_ip,
        ),
    )
    with as_table_owner(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE privacy_auditlogentry SET actor = 'user:1', hash = %s WHERE id = %s", [forged, target.pk]
        )
    with pytest.raises(CommandError, match=rf"id={entries[2].pk} seq=3: prev_hash"):
        call_command("verify_audit_log", "--tenant", "tamper")


def test_removing_an_entry_is_reported(logged_store) -> None:
    _, entries = logged_store
    with as_table_owner(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM privacy_auditlogentry WHERE id = %s", [entries[2].pk])
    with pytest.raises(CommandError, match=r"seq=4: sequence jumps from 2 to 4: 1 entry missing"):
        call_command("verify_audit_log")


def test_the_application_role_cannot_change_or_remove_entries(logged_store) -> None:
    tenant, entries = logged_store
    with tenant_context(tenant):
        for statement in ("UPDATE privacy_auditlogentry SET actor = 'user:1'", "DELETE FROM privacy_auditlogentry"):
            with (
                pytest.raises(DatabaseError, match="permission denied"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(statement)
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
            AuditLogEntry.objects.filter(pk=entries[0].pk).update(actor="user:1")
        assert AuditLogEntry.objects.count() == len(entries)  # SELECT is allowed
    assert raw(
        "SELECT current_user, has_table_privilege('privacy_auditlogentry', 'INSERT'), "
        "has_table_privilege('privacy_auditlogentry', 'UPDATE'), "
        "has_table_privilege('privacy_auditlogentry', 'DELETE')"
    ) == [(settings.DB_APP_ROLE, False, False, False)]
    call_command("verify_audit_log", "--tenant", "tamper")


def test_another_store_cannot_read_the_log() -> None:
    alpha, beta = TenantFactory(), TenantFactory()
    CustomerFactory(tenant=alpha)
    seal_audit_log()
    with tenant_context(beta):
        assert raw("SELECT DISTINCT tenant_id FROM privacy_auditlogentry") == [(beta.pk,)]
        assert raw("SELECT count(*) FROM privacy_auditlogentry WHERE object_type = 'commerce_customer'") == [(0,)]
    with tenant_context(alpha):
        assert raw("SELECT count(*) FROM privacy_auditlogentry WHERE object_type = 'commerce_customer'") == [(1,)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_committing_transactions_never_fork_a_chain() -> None:
    tenant = TenantFactory(slug="busy")
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for n in range(15):
                with tenant_context(tenant), transaction.atomic():
                    CustomerFactory(tenant=tenant, external_id=f"W{worker}-{n}")
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(worker,)) for worker in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with tenant_context(tenant):
        seqs = list(AuditLogEntry.objects.order_by("seq").values_list("seq", flat=True))
        customers = AuditLogEntry.objects.filter(object_type="commerce_customer").count()
    with as_table_owner():
        assert raw("SELECT count(*) FROM privacy_auditpending") == [(0,)]
    assert customers == 45
    assert seqs == list(range(1, len(seqs) + 1))  # no gap and no duplicate
    call_command("verify_audit_log", "--tenant", "busy")


def test_reinstalling_restores_a_dropped_trigger_and_touches_nothing_else() -> None:
    with as_table_owner():
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER privacy_audit_insert ON commerce_product")
        assert install_audit_triggers() == ["commerce_product: row-level"]
        assert install_audit_triggers() == []
    tenant = TenantFactory()
    product = ProductFactory(tenant=tenant)
    assert [e.object_id for e in audit_entries(tenant, object_type="commerce_product")] == [str(product.pk)]
