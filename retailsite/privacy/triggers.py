"""PostgreSQL triggers that feed the audit log, and their (re)installation after every migrate.

Every table with a `tenant_id` column (and the store table itself) gets audit triggers, so
ORM saves, bulk updates, importer upserts and raw SQL are all recorded:

- row level (one entry per row, with the names of the columns that changed) for ordinary
  tables: customers, products, orders, categories, follows, memberships, API keys, ...;
- statement level with transition tables (one entry per statement and store: action, table,
  row count, and for updates the union of changed column names) for the high-volume tables in
  `STATEMENT_LEVEL_TABLES`, so a million-line import adds one entry, not a million.

Triggers queue entries in `privacy_auditpending` with the transaction's `app.actor`,
`app.request_id` and `app.client_ip`. A deferred constraint trigger on that queue seals the
queue at commit: under `pg_advisory_xact_lock` for each store it takes the store's chain head,
numbers the entries in order, hashes each onto the previous one (`audit.py` documents the
canonical form) and appends them to `privacy_auditlogentry`. Holding the lock only from commit
to the end of the commit keeps concurrent writers of one store from waiting on each other's
long transactions (an import, a retrain).

Audited writes need READ COMMITTED (Django's default): under REPEATABLE READ a sealer could
miss a concurrent commit's entry, and the unique (tenant_id, seq) constraint would then fail
that commit rather than fork the chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from psycopg import sql

from retailsite.tenancy.rls import tenant_tables

AUDIT_TABLE = "privacy_auditlogentry"
PENDING_TABLE = "privacy_auditpending"
NOT_AUDITED = {AUDIT_TABLE, PENDING_TABLE}

# High-volume tables: one entry per statement. Apps with such tables append theirs from ready().
STATEMENT_LEVEL_TABLES: list[str] = [
    "commerce_orderline",
    "commerce_event",
    "recommendations_customerrecommendations",
    "recommendations_productneighbours",
    "recommendations_rankedlist",
    "forecasting_seriesforecast",
    "forecasting_customerprediction",
]

# Platform tables that belong to one store without a tenant_id column: table -> the column holding the store id.
EXTRA_AUDITED_TABLES: dict[str, str] = {"tenancy_tenant": "id"}

# Updates that change only these columns are bookkeeping, not data changes (e.g. an API key's last use).
IGNORED_UPDATE_COLUMNS: dict[str, tuple[str, ...]] = {"api_apikey": ("last_used_at",)}

ROW_TRIGGER = "privacy_audit_row"
STATEMENT_TRIGGERS = {  # trigger name -> (event, transition tables)
    "privacy_audit_stmt_insert": ("INSERT", "NEW TABLE AS privacy_new_rows"),
    "privacy_audit_stmt_update": ("UPDATE", "OLD TABLE AS privacy_old_rows NEW TABLE AS privacy_new_rows"),
    "privacy_audit_stmt_delete": ("DELETE", "OLD TABLE AS privacy_old_rows"),
}
SEAL_TRIGGER = "privacy_audit_seal"
ALL_TRIGGER_NAMES = (ROW_TRIGGER, *STATEMENT_TRIGGERS)

# Two-int4 advisory lock keys live apart from the single-int8 keys of tenancy.locks.
LOCK_CLASS = 1635083369  # "audi"

FUNCTIONS_SQL = r"""
CREATE OR REPLACE FUNCTION privacy_audit_enqueue(
    p_tenant_id bigint, p_action text, p_object_type text, p_object_id text, p_changed_fields jsonb,
    p_row_count bigint) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    saved_tenant text := current_setting('app.tenant_id', true);
    switched boolean := false;
BEGIN
    -- The row already passed the table's row-level security; the store table itself and rows
    -- written in another store's context at commit need the queue to accept that store's entry.
    IF coalesce(current_setting('app.all_tenants', true), '') <> 'on'
       AND coalesce(saved_tenant, '') <> p_tenant_id::text THEN
        PERFORM set_config('app.tenant_id', p_tenant_id::text, true);
        switched := true;
    END IF;
    INSERT INTO privacy_auditpending (tenant_id, occurred_at, actor, action, object_type, object_id,
                                      changed_fields, row_count, request_id, client_ip)
    VALUES (p_tenant_id, statement_timestamp(),
            coalesce(nullif(current_setting('app.actor', true), ''), 'db:' || session_user),
            p_action, p_object_type, coalesce(p_object_id, ''), coalesce(p_changed_fields, '[]'::jsonb),
            p_row_count, coalesce(current_setting('app.request_id', true), ''),
            coalesce(current_setting('app.client_ip', true), ''));
    IF switched THEN
        PERFORM set_config('app.tenant_id', coalesce(saved_tenant, ''), true);
    END IF;
END
$fn$;

CREATE OR REPLACE FUNCTION privacy_audit_row() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    tenant_column text := TG_ARGV[0];
    ignored text[] := string_to_array(coalesce(TG_ARGV[1], ''), ',');
    new_row jsonb;
    old_row jsonb;
    fields jsonb;
    subject jsonb;
    action text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        new_row := to_jsonb(NEW);
        SELECT coalesce(jsonb_agg(key ORDER BY key), '[]'::jsonb) INTO fields FROM jsonb_each(new_row)
         WHERE key NOT IN ('id', tenant_column) AND value NOT IN ('null'::jsonb, '""'::jsonb);
        subject := new_row;
        action := 'create';
    ELSIF TG_OP = 'UPDATE' THEN
        new_row := to_jsonb(NEW);
        old_row := to_jsonb(OLD);
        SELECT coalesce(jsonb_agg(n.key ORDER BY n.key), '[]'::jsonb) INTO fields FROM jsonb_each(new_row) n
         WHERE n.value IS DISTINCT FROM old_row -> n.key;
        IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(fields) f WHERE f <> ALL (ignored)) THEN
            RETURN NULL;  -- nothing changed, or only bookkeeping columns
        END IF;
        subject := new_row;
        action := 'update';
    ELSE
        subject := to_jsonb(OLD);
        fields := '[]'::jsonb;
        action := 'delete';
    END IF;
    PERFORM privacy_audit_enqueue((subject ->> tenant_column)::bigint, action, TG_TABLE_NAME,
                                  coalesce(subject ->> 'id', ''), fields, 1);
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION privacy_audit_statement() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    r record;
    fields jsonb;
BEGIN
    -- Each branch names only the transition tables its event has (plpgsql plans lazily).
    IF TG_OP = 'INSERT' THEN
        FOR r IN SELECT tenant_id, count(*) AS n FROM privacy_new_rows GROUP BY tenant_id LOOP
            PERFORM privacy_audit_enqueue(r.tenant_id, 'create', TG_TABLE_NAME, '', '[]'::jsonb, r.n);
        END LOOP;
    ELSIF TG_OP = 'UPDATE' THEN
        FOR r IN SELECT tenant_id, count(*) AS n FROM privacy_new_rows GROUP BY tenant_id LOOP
            SELECT coalesce(jsonb_agg(k.key ORDER BY k.key), '[]'::jsonb) INTO fields FROM (
                SELECT DISTINCT e.key
                  FROM privacy_new_rows n JOIN privacy_old_rows o ON o.id = n.id,
                       LATERAL jsonb_each(to_jsonb(n)) e
                 WHERE n.tenant_id = r.tenant_id AND e.value IS DISTINCT FROM to_jsonb(o) -> e.key) k;
            IF fields <> '[]'::jsonb THEN
                PERFORM privacy_audit_enqueue(r.tenant_id, 'update', TG_TABLE_NAME, '', fields, r.n);
            END IF;
        END LOOP;
    ELSE
        FOR r IN SELECT tenant_id, count(*) AS n FROM privacy_old_rows GROUP BY tenant_id LOOP
            PERFORM privacy_audit_enqueue(r.tenant_id, 'delete', TG_TABLE_NAME, '', '[]'::jsonb, r.n);
        END LOOP;
    END IF;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION privacy_audit_seal() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    sealed_upto bigint := coalesce(nullif(current_setting('app.audit_sealed_upto', true), ''), '0')::bigint;
    saved_all text;
    r record;
    current_tenant bigint := NULL;
    prev_seq bigint;
    prev_hash text;
    canonical text;
    last_id bigint := 0;
    tenant_ids bigint[] := '{}';
    seqs bigint[] := '{}';
    times timestamptz[] := '{}';
    actors text[] := '{}';
    actions text[] := '{}';
    object_types text[] := '{}';
    object_ids text[] := '{}';
    fields jsonb[] := '{}';
    row_counts bigint[] := '{}';
    request_ids text[] := '{}';
    client_ips text[] := '{}';
    prev_hashes text[] := '{}';
    hashes text[] := '{}';
BEGIN
    -- The first firing at commit seals every entry this transaction queued; the others find
    -- theirs sealed already and return at once.
    IF NEW.id <= sealed_upto THEN
        RETURN NULL;
    END IF;
    -- Only this transaction's own queued rows are visible (others' are uncommitted, and every
    -- commit empties its own), so the platform scope here reveals nothing of other stores.
    saved_all := coalesce(current_setting('app.all_tenants', true), '');
    PERFORM set_config('app.all_tenants', 'on', true);
    -- One sealer per store at a time, until this transaction ends, so a chain never forks;
    -- stores locked in id order, so two multi-store transactions cannot deadlock.
    PERFORM pg_advisory_xact_lock(__LOCK_CLASS__, (q.tenant_id % 2147483648)::int)
       FROM (SELECT DISTINCT tenant_id FROM privacy_auditpending ORDER BY tenant_id) q;
    FOR r IN SELECT * FROM privacy_auditpending ORDER BY tenant_id, id LOOP
        IF current_tenant IS DISTINCT FROM r.tenant_id THEN
            current_tenant := r.tenant_id;
            SELECT e.seq, e.hash INTO prev_seq, prev_hash FROM privacy_auditlogentry e
             WHERE e.tenant_id = r.tenant_id ORDER BY e.seq DESC LIMIT 1;
            IF NOT FOUND THEN
                prev_seq := 0;
                prev_hash := repeat('0', 64);
            END IF;
        END IF;
        prev_seq := prev_seq + 1;
        canonical := jsonb_build_array(
            r.tenant_id, prev_seq, to_char(r.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            r.actor, r.action, r.object_type, r.object_id, r.changed_fields, r.row_count, r.request_id,
            r.client_ip)::text;
        tenant_ids := tenant_ids || r.tenant_id;
        seqs := seqs || prev_seq;
        times := times || r.occurred_at;
        actors := actors || r.actor;
        actions := actions || r.action;
        object_types := object_types || r.object_type;
        object_ids := object_ids || r.object_id;
        fields := fields || r.changed_fields;
        row_counts := row_counts || r.row_count;
        request_ids := request_ids || r.request_id;
        client_ips := client_ips || r.client_ip;
        prev_hashes := prev_hashes || prev_hash;
        prev_hash := encode(sha256(convert_to(prev_hash || canonical, 'UTF8')), 'hex');
        hashes := hashes || prev_hash;
        last_id := greatest(last_id, r.id);
    END LOOP;
    INSERT INTO privacy_auditlogentry (tenant_id, seq, occurred_at, actor, action, object_type, object_id,
                                       changed_fields, row_count, request_id, client_ip, prev_hash, hash)
    SELECT * FROM unnest(tenant_ids, seqs, times, actors, actions, object_types, object_ids, fields, row_counts,
                         request_ids, client_ips, prev_hashes, hashes);
    DELETE FROM privacy_auditpending WHERE id <= last_id;
    PERFORM set_config('app.audit_sealed_upto', greatest(last_id, NEW.id)::text, true);
    PERFORM set_config('app.all_tenants', saved_all, true);
    RETURN NULL;
END
$fn$;
""".replace("__LOCK_CLASS__", str(LOCK_CLASS))


@dataclass(frozen=True)
class TriggerPlan:
    table: str
    level: str  # "row" or "statement"
    tenant_column: str = "tenant_id"


def audit_trigger_plan() -> list[TriggerPlan]:
    """Which tables get which kind of trigger, from the current schema."""
    statement_level = set(STATEMENT_LEVEL_TABLES)
    plan = [
        TriggerPlan(table, "statement" if table in statement_level else "row")
        for table in tenant_tables() if table not in NOT_AUDITED
    ]
    with connection.cursor() as cursor:
        for table, column in EXTRA_AUDITED_TABLES.items():
            cursor.execute("SELECT to_regclass(%s)", [table])
            if cursor.fetchone()[0] is not None:
                plan.append(TriggerPlan(table, "row", column))
    return plan


def _existing_triggers(cursor: object) -> dict[str, dict[str, str]]:
    """table -> {trigger name: definition} for the audit triggers present now."""
    cursor.execute(  # type: ignore[attr-defined]
        "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND NOT t.tgisinternal AND t.tgname = ANY(%s)",
        [[*ALL_TRIGGER_NAMES, SEAL_TRIGGER]])
    existing: dict[str, dict[str, str]] = {}
    for table, name, definition in cursor.fetchall():  # type: ignore[attr-defined]
        existing.setdefault(table, {})[name] = definition
    return existing


def _wanted_statements(item: TriggerPlan) -> dict[str, sql.Composed]:
    table = sql.Identifier(item.table)
    if item.level == "row":
        args = [sql.Literal(item.tenant_column), sql.Literal(",".join(IGNORED_UPDATE_COLUMNS.get(item.table, ())))]
        return {ROW_TRIGGER: sql.SQL(
            "CREATE TRIGGER {} AFTER INSERT OR UPDATE OR DELETE ON {} FOR EACH ROW "
            "EXECUTE FUNCTION privacy_audit_row({})").format(
            sql.Identifier(ROW_TRIGGER), table, sql.SQL(", ").join(args))}
    return {
        name: sql.SQL("CREATE TRIGGER {} AFTER {} ON {} REFERENCING {} FOR EACH STATEMENT "
                      "EXECUTE FUNCTION privacy_audit_statement()").format(
            sql.Identifier(name), sql.SQL(event), table, sql.SQL(transitions))
        for name, (event, transitions) in STATEMENT_TRIGGERS.items()
    }


def _row_trigger_matches(definition: str, item: TriggerPlan) -> bool:
    ignored = ",".join(IGNORED_UPDATE_COLUMNS.get(item.table, ()))
    return f"privacy_audit_row('{item.tenant_column}', '{ignored}')" in definition


def install_audit_triggers() -> list[str]:
    """Create the functions and bring every table's audit triggers in line with the plan.

    Idempotent, and touches only tables whose triggers are missing or of the wrong kind, so
    running it after every migrate takes no lock on tables that are already right."""
    if connection.vendor != "postgresql":
        return []
    changed: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s), to_regclass(%s)", [AUDIT_TABLE, PENDING_TABLE])
        if None in cursor.fetchone():
            return []  # the privacy tables are not migrated yet
        cursor.execute(FUNCTIONS_SQL)
        raw = cursor.cursor
        existing = _existing_triggers(cursor)
        if SEAL_TRIGGER not in existing.get(PENDING_TABLE, {}):
            raw.execute(sql.SQL(
                "CREATE CONSTRAINT TRIGGER {} AFTER INSERT ON {} DEFERRABLE INITIALLY DEFERRED "
                "FOR EACH ROW EXECUTE FUNCTION privacy_audit_seal()").format(
                sql.Identifier(SEAL_TRIGGER), sql.Identifier(PENDING_TABLE)))
            changed.append(f"{PENDING_TABLE}: seal trigger")
        for item in audit_trigger_plan():
            present = existing.get(item.table, {})
            wanted = _wanted_statements(item)
            up_to_date = set(present) == set(wanted) and (
                item.level == "statement" or _row_trigger_matches(present[ROW_TRIGGER], item))
            if up_to_date:
                continue
            for name in present:
                raw.execute(sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
                    sql.Identifier(name), sql.Identifier(item.table)))
            for statement in wanted.values():
                raw.execute(statement)
            changed.append(f"{item.table}: {item.level}-level")
    return changed


def post_migrate_install_audit_triggers(sender: object, using: str = "default", plan: object = None,
                                        **kwargs: object) -> None:
    # `flush` also sends post_migrate (without a plan); only a real migrate changes tables.
    if connection.vendor == "postgresql" and plan is not None:
        install_audit_triggers()
