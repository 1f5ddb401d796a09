"""F1 and F2: what a session of the application role can try with SQL alone, and why it fails.

Every statement runs as the application role (the suite's SET ROLE), with raw SQL, as an attacker
holding an SQL injection would."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from retailsite.privacy.models import AuditLogEntry
from retailsite.tenancy.context import Actor, acting_as, platform_context, tenant_context
from tests.factories import CustomerFactory, TenantFactory
from tests.privacy.conftest import as_table_owner, raw, seal_audit_log

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_stores():
    alpha, beta = TenantFactory(slug="alpha"), TenantFactory(slug="beta")
    CustomerFactory(tenant=alpha, external_id="A1")
    CustomerFactory(tenant=beta, external_id="B1")
    return alpha, beta


@pytest.mark.parametrize("value", ["on", "true", "1"])
def test_setting_the_platform_flag_shows_no_other_store(two_stores, value) -> None:
    alpha, _ = two_stores
    with tenant_context(alpha):
        raw("SELECT set_config('app.tenant_id', '', true), set_config('app.all_tenants', %s, true)", [value])
        assert raw("SELECT count(*) FROM commerce_customer") == [(0,)]
        assert raw("SELECT count(*) FROM privacy_auditlogentry") == [(0,)]


def test_the_platform_scope_of_the_application_still_sees_every_store(two_stores) -> None:
    with platform_context():
        assert raw("SELECT count(DISTINCT tenant_id) FROM commerce_customer") == [(2,)]


def test_the_application_role_cannot_read_the_scope_key_nor_compute_a_tag() -> None:
    for statement in ("SELECT key FROM tenancy_scopekey", "SELECT tenancy_scope_tag('platform')"):
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
            raw(statement)


def test_deleting_the_queue_after_a_write_is_refused_and_the_write_is_logged(two_stores) -> None:
    alpha, _ = two_stores
    with tenant_context(alpha):
        raw("UPDATE commerce_customer SET city = 'x' WHERE external_id = 'A1'")
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
            raw("DELETE FROM privacy_auditpending")
        seal_audit_log()
        assert AuditLogEntry.objects.filter(object_type="commerce_customer", action="update").count() == 1


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO privacy_auditlogentry (tenant_id, seq, occurred_at, actor, action, object_type, object_id, "
        "changed_fields, row_count, request_id, client_ip, prev_hash, hash) "
        "VALUES (%(tenant)s, 99, now(), 'user:1', 'read', 'x', '', '[]', 1, '', '', '', '')",
        "INSERT INTO privacy_auditpending (tenant_id, occurred_at, actor, action, object_type, object_id, "
        "changed_fields, row_count, request_id, client_ip) "
        "VALUES (%(tenant)s, now(), 'user:1', 'read', 'x', '', '[]', 1, '', '')",
        "DELETE FROM privacy_auditlogentry",
        "DELETE FROM privacy_auditsealmark",
        "SELECT setval('commerce_customer_id_seq', 1000000)",
    ],
)
def test_the_application_role_can_neither_forge_nor_remove_entries_nor_move_a_sequence(two_stores, statement) -> None:
    alpha, _ = two_stores
    with (
        tenant_context(alpha),
        pytest.raises(DatabaseError, match="permission denied"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, {"tenant": alpha.pk})


def test_an_actor_set_by_a_setting_alone_is_recorded_as_unverified(two_stores) -> None:
    alpha, _ = two_stores
    with tenant_context(alpha):
        raw("SELECT set_config('app.actor', 'user:1', true)")
        raw("UPDATE commerce_customer SET city = 'y' WHERE external_id = 'A1'")
        seal_audit_log()
        actors = list(AuditLogEntry.objects.filter(action="update").values_list("actor", flat=True))
    assert actors == ["unverified:user:1"]


def test_an_actor_the_application_sets_is_recorded_as_is(two_stores) -> None:
    alpha, _ = two_stores
    with tenant_context(alpha), acting_as(Actor("user", "7", "req-12345678", "")):
        raw("UPDATE commerce_customer SET city = 'z' WHERE external_id = 'A1'")
        seal_audit_log()
        actors = list(AuditLogEntry.objects.filter(action="update").values_list("actor", flat=True))
    assert actors == ["user:7"]


def test_queuing_an_entry_for_another_store_is_refused(two_stores) -> None:
    alpha, beta = two_stores
    with tenant_context(alpha), pytest.raises(DatabaseError, match="current store"), transaction.atomic():
        raw("SELECT privacy_audit_enqueue(%s, 'read', 'x', '1', '[]'::jsonb, 1)", [beta.pk])


def test_check_tenant_isolation_fails_when_the_app_role_can_act_as_the_platform_role(two_stores) -> None:
    with as_table_owner():
        raw(f'GRANT "{settings.DB_PLATFORM_ROLE}" TO "{settings.DB_APP_ROLE}"')
    with pytest.raises(CommandError, match=f"can act as {settings.DB_PLATFORM_ROLE}"):
        call_command("check_tenant_isolation")


def test_check_tenant_isolation_tries_the_settings_attack_and_reports_it(two_stores) -> None:
    with as_table_owner():  # the policy as it was before: a setting opened the platform scope
        raw(
            "ALTER POLICY tenant_isolation ON commerce_category USING ("
            "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint "
            "OR current_setting('app.all_tenants', true) = 'on')"
        )
    with pytest.raises(CommandError, match=r"attack succeeded: SET app\.all_tenants = 'on'"):
        call_command("check_tenant_isolation")


def test_check_tenant_isolation_reports_a_queue_the_app_role_may_empty(two_stores) -> None:
    with as_table_owner():
        raw(f'GRANT DELETE ON privacy_auditpending TO "{settings.DB_APP_ROLE}"')
    with pytest.raises(CommandError, match="DELETE on the audit queue was allowed"):
        call_command("check_tenant_isolation")


def test_kept_heads_catch_entries_removed_from_the_end(two_stores, tmp_path) -> None:
    alpha, _ = two_stores
    seal_audit_log()
    heads = tmp_path / "heads.jsonl"
    call_command("verify_audit_log", "--export-heads", str(heads))
    kept = {json.loads(line)["tenant_id"]: json.loads(line) for line in heads.read_text().splitlines()}
    assert kept[alpha.pk]["seq"] >= 1
    call_command("verify_audit_log", "--expect-head", str(heads))  # nothing changed: passes
    with as_table_owner():  # someone with the owner's rights drops the newest entry; the chain alone stays intact
        raw("DELETE FROM privacy_auditlogentry WHERE tenant_id = %s AND seq = %s", [alpha.pk, kept[alpha.pk]["seq"]])
    call_command("verify_audit_log", "--tenant", "alpha")
    with pytest.raises(CommandError, match="entries were removed from its end"):
        call_command("verify_audit_log", "--expect-head", str(heads))


def test_a_kept_head_file_that_is_not_one_is_named(tmp_path) -> None:
    bad = tmp_path / "heads.jsonl"
    bad.write_text("not json\n")
    with pytest.raises(CommandError, match="line 1: not a kept head"):
        call_command("verify_audit_log", "--expect-head", str(bad))


def test_check_tenant_isolation_notices_a_scope_key_from_other_settings(two_stores, settings) -> None:
    settings.DB_SCOPE_KEY = "not-the-key-the-database-holds"
    with pytest.raises(CommandError, match="scope key is not this process's"):
        call_command("check_tenant_isolation")


def test_the_application_role_may_use_sequences_but_move_none() -> None:
    """F8: nextval needs USAGE only; UPDATE (setval) on no sequence of the schema."""
    movable = raw(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' "
        "AND n.nspname = current_schema() "
        "AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(current_user, c.oid, 'UPDATE') ELSE false END"
    )
    assert movable == []
    assert raw("SELECT has_sequence_privilege(current_user, 'inventory_purchaseorder_id_seq', 'USAGE')") == [(True,)]


def test_check_tenant_isolation_reports_any_sequence_the_app_role_may_move(two_stores) -> None:
    with as_table_owner():
        raw(f'GRANT UPDATE ON SEQUENCE inventory_purchaseorder_id_seq TO "{settings.DB_APP_ROLE}"')
    with pytest.raises(CommandError) as failure:
        call_command("check_tenant_isolation")
    assert "may UPDATE (setval) sequences: inventory_purchaseorder_id_seq" in str(failure.value)
    assert "attack succeeded: setval on a sequence was allowed: inventory_purchaseorder_id_seq" in str(failure.value)
