"""PostgreSQL triggers that feed the audit log, and their (re)installation after every migrate.

Every table with a `tenant_id` column (and the store table itself) gets audit triggers, so
ORM saves, bulk updates, importer upserts and raw SQL are all recorded. The triggers are
statement-level with transition tables, and write their entries set-based (one INSERT per
statement, however many rows it touched), in one of two granularities:

- per row (one entry per row, with the names of the columns that were set or changed) for
  ordinary tables: customers, products, orders, categories, follows, memberships, API keys, ...;
- per statement (one entry per statement and store: action, table, row count, and for updates
  the union of changed column names) for the high-volume tables in `STATEMENT_LEVEL_TABLES`,
  so a million-line import adds one entry, not a million.

Entries are queued in `privacy_auditpending` with the transaction's `app.actor` (recorded as
"unverified:..." unless `app.actor_tag` proves the application set it), `app.request_id` and
`app.client_ip`. The first entry of a transaction writes a marker row; a deferred constraint
trigger on the marker table seals the queue at commit: under `pg_advisory_xact_lock` for each
store it takes the store's chain head, numbers the entries in order, hashes each onto the
previous one (a running aggregate, `privacy_chain`; `audit.py` documents the canonical form) and appends them to
`privacy_auditlogentry`. Holding the lock only from commit to the end of the commit keeps
concurrent writers of one store from waiting on each other's long transactions (an import,
a retrain).

Every function here that touches the log runs as the platform role (SECURITY DEFINER): the
application role can read the log, but neither write nor remove a log entry, a queued entry or a
marker, so it can neither suppress nor forge an entry with SQL.

Audited writes need READ COMMITTED (Django's default): under REPEATABLE READ a sealer could
miss a concurrent commit's entry, and the unique (tenant_id, seq) constraint would then fail
that commit rather than fork the chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction
from psycopg import sql

from retailsite.tenancy.rls import install_scope_key, tenant_tables

AUDIT_TABLE = "privacy_auditlogentry"
PENDING_TABLE = "privacy_auditpending"
SEAL_MARK_TABLE = "privacy_auditsealmark"
NOT_AUDITED = {AUDIT_TABLE, PENDING_TABLE, SEAL_MARK_TABLE}
# What the application role keeps on them: reading the log, nothing else (the platform role writes).
APP_ROLE_PRIVILEGES: dict[str, tuple[str, ...]] = {AUDIT_TABLE: ("SELECT",), PENDING_TABLE: (), SEAL_MARK_TABLE: ()}
PLATFORM_ROLE_PRIVILEGES: dict[str, str] = {
    AUDIT_TABLE: "SELECT, INSERT",
    PENDING_TABLE: "SELECT, INSERT, DELETE",
    SEAL_MARK_TABLE: "SELECT, INSERT, DELETE",
}
# Functions owned by the platform role; True: the application role may call it.
DEFINER_FUNCTIONS: dict[str, bool] = {
    "privacy_audit_actor()": False,
    "privacy_audit_schedule_seal()": False,
    "privacy_audit_enqueue(bigint, text, text, text, jsonb, bigint)": True,
    "privacy_audit_statement()": False,
    "privacy_audit_seal()": False,
}

# High-volume tables (they need a tenant_id column): one entry per statement. Apps with such
# tables register theirs from ready() (`statement_level_table_register`).
STATEMENT_LEVEL_TABLES: list[str] = [
    "commerce_orderline",
    "commerce_event",
    "commerce_syncdeletion",
]


def statement_level_table_register(*tables: str) -> None:
    """Audit these tables one entry per statement (an app's bulk-written tables), before triggers are installed."""
    for table in tables:
        if table not in STATEMENT_LEVEL_TABLES:
            STATEMENT_LEVEL_TABLES.append(table)


# Platform tables that belong to one store without a tenant_id column: table -> the column holding the store id.
EXTRA_AUDITED_TABLES: dict[str, str] = {"tenancy_tenant": "id"}

# Updates that change only these columns are bookkeeping, not data changes (e.g. an API key's last use, a product's
# search document rewritten because the store's search language changed). Edges add theirs in ready().
IGNORED_UPDATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "api_apikey": ("last_used_at",),
    "commerce_product": ("search_document",),
    # A store's counter moving on: the document it numbered (a purchase order, ...) has its own entry.
    "tenancy_tenantcounter": ("value",),
}

AUDIT_TRIGGERS = {  # trigger name -> (event, transition tables)
    "privacy_audit_insert": ("INSERT", "NEW TABLE AS privacy_new_rows"),
    "privacy_audit_update": ("UPDATE", "OLD TABLE AS privacy_old_rows NEW TABLE AS privacy_new_rows"),
    "privacy_audit_delete": ("DELETE", "OLD TABLE AS privacy_old_rows"),
}
SEAL_TRIGGER = "privacy_audit_seal"
# Names used by earlier versions of this module, removed on reinstall.
RETIRED_TRIGGERS = (
    "privacy_audit_row",
    "privacy_audit_stmt_insert",
    "privacy_audit_stmt_update",
    "privacy_audit_stmt_delete",
)
RETIRED_FUNCTIONS = ("privacy_audit_row()", "privacy_audit_seal_needed()")

# Two-int4 advisory lock keys live apart from the single-int8 keys of tenancy.locks.
LOCK_CLASS = 1635083369  # "audi"

FUNCTIONS_SQL = r"""
CREATE UNLOGGED TABLE IF NOT EXISTS privacy_auditsealmark (xact xid8 PRIMARY KEY);

-- Who acts: app.actor as the application set it, proven by app.actor_tag (a tag made with the key only
-- the application and the platform role hold, see tenancy/scope.py). A session that sets app.actor
-- without the key is recorded as "unverified:<what it claimed>"; no setting at all, as its login role.
CREATE OR REPLACE FUNCTION privacy_audit_actor() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
    v_claim text := coalesce(current_setting('app.actor', true), '');
BEGIN
    IF v_claim = '' THEN
        RETURN 'db:' || session_user;
    END IF;
    IF current_setting('app.actor_tag', true) = tenancy_scope_tag(concat_ws(chr(31), 'actor', v_claim,
            coalesce(current_setting('app.request_id', true), ''),
            coalesce(current_setting('app.client_ip', true), ''))) THEN
        RETURN v_claim;
    END IF;
    RETURN 'unverified:' || v_claim;
END
$fn$;

-- The transaction's first queued entry (or the first since a seal) schedules one seal at commit: a
-- marker row keyed by the transaction, whose deferred constraint trigger seals. Only this role may
-- write or remove markers, so no session can skip its seal.
CREATE OR REPLACE FUNCTION privacy_audit_schedule_seal() RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
    INSERT INTO privacy_auditsealmark (xact) VALUES (pg_current_xact_id()) ON CONFLICT (xact) DO NOTHING
$fn$;

-- Queue one entry recorded by the application (reads, exports, erasures), in the current store only
-- (or any store in the platform scope).
CREATE OR REPLACE FUNCTION privacy_audit_enqueue(
    p_tenant_id bigint, p_action text, p_object_type text, p_object_id text, p_changed_fields jsonb,
    p_row_count bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
BEGIN
    IF p_tenant_id IS DISTINCT FROM NULLIF(current_setting('app.tenant_id', true), '')::bigint
       AND NOT tenancy_platform_scope() THEN
        RAISE EXCEPTION 'audit entries may be queued only for the current store' USING ERRCODE = '42501';
    END IF;
    INSERT INTO privacy_auditpending (tenant_id, occurred_at, actor, action, object_type, object_id,
                                      changed_fields, row_count, request_id, client_ip)
    VALUES (p_tenant_id, statement_timestamp(), privacy_audit_actor(),
            p_action, p_object_type, coalesce(p_object_id, ''), coalesce(p_changed_fields, '[]'::jsonb),
            p_row_count, coalesce(current_setting('app.request_id', true), ''),
            coalesce(current_setting('app.client_ip', true), ''));
    PERFORM privacy_audit_schedule_seal();
END
$fn$;

-- The audit trigger of every audited table. Arguments: granularity ('row' or 'statement'), the
-- column holding the store id, and the comma-separated columns whose changes alone are not audited.
-- Runs as the platform role: the rows already passed their table's row-level security, and the queue
-- must accept every one of their entries (the store table's rows belong to other stores than the current one).
CREATE OR REPLACE FUNCTION privacy_audit_statement() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
    v_mode text := TG_ARGV[0];
    v_tenant_column text := TG_ARGV[1];
    v_ignored text[] := string_to_array(coalesce(TG_ARGV[2], ''), ',');
    v_actor text := privacy_audit_actor();
    v_request_id text := coalesce(current_setting('app.request_id', true), '');
    v_client_ip text := coalesce(current_setting('app.client_ip', true), '');
    v_table text := TG_TABLE_NAME;
    v_columns jsonb;
    v_queued bigint;
BEGIN
    -- Each branch names only the transition tables its event has (plpgsql plans lazily).
    IF TG_OP = 'INSERT' AND v_mode = 'row' THEN
        -- A new row: its table's columns (the same for every row, so looked up once per statement).
        SELECT coalesce(jsonb_agg(a.attname ORDER BY a.attname), '[]'::jsonb) INTO v_columns
          FROM pg_attribute a
         WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
           AND a.attname NOT IN ('id', v_tenant_column);
        EXECUTE format(
            'INSERT INTO privacy_auditpending (tenant_id, occurred_at, actor, action, object_type, object_id, '
            '                                  changed_fields, row_count, request_id, client_ip) '
            'SELECT n.%I, statement_timestamp(), $1, ''create'', $2, n.id::text, $3, 1, $4, $5 '
            '  FROM privacy_new_rows n ORDER BY n.id', v_tenant_column)
        USING v_actor, v_table, v_columns, v_request_id, v_client_ip;
    ELSIF TG_OP = 'UPDATE' AND v_mode = 'row' THEN
        INSERT INTO privacy_auditpending (tenant_id, occurred_at, actor, action, object_type, object_id,
                                          changed_fields, row_count, request_id, client_ip)
        SELECT (d.j ->> v_tenant_column)::bigint, statement_timestamp(), v_actor, 'update', v_table,
               coalesce(d.j ->> 'id', ''), d.fields, 1, v_request_id, v_client_ip
          FROM (SELECT p.j, p.id,
                       (SELECT coalesce(jsonb_agg(e.key ORDER BY e.key), '[]'::jsonb) FROM jsonb_each(p.j) e
                         WHERE e.value IS DISTINCT FROM p.old -> e.key AND e.key <> ALL (v_ignored)) AS fields
                  FROM (SELECT to_jsonb(n.*) AS j, to_jsonb(o.*) AS old, n.id
                          FROM privacy_new_rows n JOIN privacy_old_rows o ON o.id = n.id) p) d
         -- nothing changed, or only bookkeeping columns (left out of the list): not an entry
         WHERE jsonb_array_length(d.fields) > 0
         ORDER BY d.id;
    ELSIF TG_OP = 'DELETE' AND v_mode = 'row' THEN
        EXECUTE format(
            'INSERT INTO privacy_auditpending (tenant_id, occurred_at, actor, action, object_type, object_id, '
            '                                  changed_fields, row_count, request_id, client_ip) '
            'SELECT o.%I, statement_timestamp(), $1, ''delete'', $2, o.id::text, ''[]''::jsonb, 1, $3, $4 '
            '  FROM privacy_old_rows o ORDER BY o.id', v_tenant_column)
        USING v_actor, v_table, v_request_id, v_client_ip;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO privacy_auditpending (tenant_id, occurred_at, actor, action, object_type, object_id,
                                          changed_fields, row_count, request_id, client_ip)
        SELECT n.tenant_id, statement_timestamp(), v_actor, 'create', v_table, '', '[]'::jsonb, count(*),
               v_request_id, v_client_ip
          FROM privacy_new_rows n GROUP BY n.tenant_id ORDER BY n.tenant_id;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO privacy_auditpending (tenant_id, occurred_at, actor, action, object_type, object_id,
                                          changed_fields, row_count, request_id, client_ip)
        SELECT c.tenant_id, statement_timestamp(), v_actor, 'update', v_table, '', f.fields, c.row_total,
               v_request_id, v_client_ip
          FROM (SELECT r.tenant_id, count(*) AS row_total FROM privacy_new_rows r GROUP BY r.tenant_id) c
          CROSS JOIN LATERAL (
                SELECT coalesce(jsonb_agg(k.key ORDER BY k.key), '[]'::jsonb) AS fields FROM (
                    SELECT DISTINCT e.key
                      FROM privacy_new_rows nr JOIN privacy_old_rows o ON o.id = nr.id,
                           LATERAL jsonb_each(to_jsonb(nr.*)) e
                     WHERE nr.tenant_id = c.tenant_id AND e.value IS DISTINCT FROM to_jsonb(o.*) -> e.key) k) f
         WHERE f.fields <> '[]'::jsonb
         ORDER BY c.tenant_id;
    ELSE
        INSERT INTO privacy_auditpending (tenant_id, occurred_at, actor, action, object_type, object_id,
                                          changed_fields, row_count, request_id, client_ip)
        SELECT o.tenant_id, statement_timestamp(), v_actor, 'delete', v_table, '', '[]'::jsonb, count(*),
               v_request_id, v_client_ip
          FROM privacy_old_rows o GROUP BY o.tenant_id ORDER BY o.tenant_id;
    END IF;
    GET DIAGNOSTICS v_queued = ROW_COUNT;
    IF v_queued > 0 THEN
        PERFORM privacy_audit_schedule_seal();
    END IF;
    RETURN NULL;
END
$fn$;

-- One link of a chain: sha256(previous hash || canonical text), hex; `seed` is the chain's head
-- before the first row of a window.
CREATE OR REPLACE FUNCTION privacy_chain_step(state text, seed text, canonical text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN
    RETURN encode(sha256(convert_to(coalesce(state, seed) || canonical, 'UTF8')), 'hex');
END
$fn$;

CREATE OR REPLACE AGGREGATE privacy_chain(text, text) (SFUNC = privacy_chain_step, STYPE = text);

-- Deferred until commit: append the transaction's queued entries to their stores' chains.
CREATE OR REPLACE FUNCTION privacy_audit_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
    v_last_id bigint;
BEGIN
    -- Only this transaction's own queued rows are visible (others' are uncommitted, and every
    -- commit empties its own).
    DELETE FROM privacy_auditsealmark;
    -- One sealer per store at a time, until this transaction ends, so a chain never forks;
    -- stores locked in id order, so two multi-store transactions cannot deadlock.
    PERFORM pg_advisory_xact_lock(__LOCK_CLASS__, (q.tenant_id % 2147483648)::int)
       FROM (SELECT DISTINCT tenant_id FROM privacy_auditpending ORDER BY tenant_id) q;
    SELECT max(id) INTO v_last_id FROM privacy_auditpending;
    IF v_last_id IS NULL THEN  -- nothing queued (the rows were rolled back to a savepoint)
        RETURN NULL;
    END IF;
    -- A new statement, so a new snapshot: it sees every chain head committed before the locks.
    WITH heads AS (
        SELECT t.tenant_id, coalesce(h.seq, 0) AS seq, coalesce(h.hash, repeat('0', 64)) AS hash
          FROM (SELECT DISTINCT tenant_id FROM privacy_auditpending WHERE id <= v_last_id) t
          LEFT JOIN LATERAL (SELECT e.seq, e.hash FROM privacy_auditlogentry e WHERE e.tenant_id = t.tenant_id
                              ORDER BY e.seq DESC LIMIT 1) h ON true
    ), numbered AS (
        SELECT p.*, heads.seq + row_number() OVER (PARTITION BY p.tenant_id ORDER BY p.id) AS new_seq,
               heads.hash AS head_hash
          FROM privacy_auditpending p JOIN heads ON heads.tenant_id = p.tenant_id
         WHERE p.id <= v_last_id
    ), hashed AS (
        SELECT n.*, privacy_chain(n.head_hash, jsonb_build_array(
                   n.tenant_id, n.new_seq,
                   to_char(n.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                   n.actor, n.action, n.object_type, n.object_id, n.changed_fields, n.row_count,
                   n.request_id, n.client_ip)::text)
               OVER (PARTITION BY n.tenant_id ORDER BY n.id ROWS UNBOUNDED PRECEDING) AS new_hash
          FROM numbered n
    )
    INSERT INTO privacy_auditlogentry (tenant_id, seq, occurred_at, actor, action, object_type, object_id,
                                       changed_fields, row_count, request_id, client_ip, prev_hash, hash)
    SELECT h.tenant_id, h.new_seq, h.occurred_at, h.actor, h.action, h.object_type, h.object_id,
           h.changed_fields, h.row_count, h.request_id, h.client_ip,
           coalesce(lag(h.new_hash) OVER (PARTITION BY h.tenant_id ORDER BY h.id), h.head_hash), h.new_hash
      FROM hashed h
     ORDER BY h.tenant_id, h.new_seq;
    DELETE FROM privacy_auditpending WHERE id <= v_last_id;
    -- Entries queued after this (possible when the seal runs early, SET CONSTRAINTS ... IMMEDIATE)
    -- find no marker and schedule another seal.
    RETURN NULL;
END
$fn$;
""".replace("__LOCK_CLASS__", str(LOCK_CLASS))


@dataclass(frozen=True)
class TriggerPlan:
    table: str
    level: str  # "row" or "statement": the granularity of the entries
    tenant_column: str = "tenant_id"

    @property
    def arguments(self) -> tuple[str, str, str]:
        return self.level, self.tenant_column, ",".join(IGNORED_UPDATE_COLUMNS.get(self.table, ()))


def audit_trigger_plan() -> list[TriggerPlan]:
    """Which tables get which granularity, from the current schema."""
    statement_level = set(STATEMENT_LEVEL_TABLES)
    plan = [
        TriggerPlan(table, "statement" if table in statement_level else "row")
        for table in tenant_tables()
        if table not in NOT_AUDITED
    ]
    with connection.cursor() as cursor:
        for table, column in EXTRA_AUDITED_TABLES.items():
            cursor.execute("SELECT to_regclass(%s)", [table])
            if cursor.fetchone()[0] is not None:
                plan.append(TriggerPlan(table, "row", column))
    return plan


def _existing_triggers(cursor: object) -> dict[str, dict[str, str]]:
    """table -> {trigger name: definition} for the audit triggers present now (current and retired)."""
    cursor.execute(  # type: ignore[attr-defined]
        "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND NOT t.tgisinternal AND t.tgname = ANY(%s)",
        [[*AUDIT_TRIGGERS, *RETIRED_TRIGGERS, SEAL_TRIGGER]],
    )
    existing: dict[str, dict[str, str]] = {}
    for table, name, definition in cursor.fetchall():  # type: ignore[attr-defined]
        existing.setdefault(table, {})[name] = definition
    return existing


def _call(item: TriggerPlan) -> str:
    """How pg_get_triggerdef prints the function call of this table's triggers."""
    return "privacy_audit_statement(" + ", ".join(f"'{argument}'" for argument in item.arguments) + ")"


def _create_statements(item: TriggerPlan) -> list[sql.Composed]:
    arguments = sql.SQL(", ").join(sql.Literal(argument) for argument in item.arguments)
    return [
        sql.SQL(
            "CREATE TRIGGER {} AFTER {} ON {} REFERENCING {} FOR EACH STATEMENT "
            "EXECUTE FUNCTION privacy_audit_statement({})"
        ).format(sql.Identifier(name), sql.SQL(event), sql.Identifier(item.table), sql.SQL(transitions), arguments)
        for name, (event, transitions) in AUDIT_TRIGGERS.items()
    ]


def install_audit_triggers() -> list[str]:
    """Create the functions and bring every table's audit triggers in line with the plan.

    Idempotent, and touches only tables whose triggers are missing or different, so running it
    after every migrate takes no lock on tables that are already right."""
    changed: list[str] = []
    with transaction.atomic(), connection.cursor() as cursor:  # all or nothing
        cursor.execute("SELECT to_regclass(%s), to_regclass(%s)", [AUDIT_TABLE, PENDING_TABLE])
        if None in cursor.fetchone():
            return []  # the privacy tables are not migrated yet
        raw = cursor.cursor
        install_scope_key(raw)  # the actor check's tag function (also run by every migrate's apply_rls)
        existing = _existing_triggers(cursor)
        if SEAL_TRIGGER in existing.get(PENDING_TABLE, {}):  # where earlier versions sealed from
            raw.execute(
                sql.SQL("DROP TRIGGER {} ON {}").format(sql.Identifier(SEAL_TRIGGER), sql.Identifier(PENDING_TABLE))
            )
        for function in RETIRED_FUNCTIONS:
            raw.execute(f"DROP FUNCTION IF EXISTS {function}")
        cursor.execute(FUNCTIONS_SQL)
        _secure_functions_and_tables(raw)
        if SEAL_TRIGGER not in existing.get(SEAL_MARK_TABLE, {}):
            raw.execute(
                sql.SQL(
                    "CREATE CONSTRAINT TRIGGER {} AFTER INSERT ON {} DEFERRABLE INITIALLY DEFERRED "
                    "FOR EACH ROW EXECUTE FUNCTION privacy_audit_seal()"
                ).format(sql.Identifier(SEAL_TRIGGER), sql.Identifier(SEAL_MARK_TABLE))
            )
            changed.append(f"{SEAL_MARK_TABLE}: seal trigger")
        for item in audit_trigger_plan():
            present = existing.get(item.table, {})
            if set(present) == set(AUDIT_TRIGGERS) and all(_call(item) in d for d in present.values()):
                continue
            for name in present:
                raw.execute(
                    sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(sql.Identifier(name), sql.Identifier(item.table))
                )
            for statement in _create_statements(item):
                raw.execute(statement)
            changed.append(f"{item.table}: {item.level}-level")
        for table, triggers in existing.items():  # tables no longer audited keep no stale trigger
            for name in set(triggers) & set(RETIRED_TRIGGERS):
                raw.execute(
                    sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(sql.Identifier(name), sql.Identifier(table))
                )
    return changed


def _secure_functions_and_tables(raw_cursor: object) -> None:
    """The platform role owns the sealing functions and writes the log; the application role only reads it."""
    from django.conf import settings

    from retailsite.tenancy.rls import _role_exists, give_function_to_platform_role, grant_app_role_privileges

    for signature in DEFINER_FUNCTIONS:
        raw_cursor.execute(sql.SQL("REVOKE ALL ON FUNCTION {} FROM PUBLIC").format(sql.SQL(signature)))  # type: ignore[attr-defined]
        give_function_to_platform_role(raw_cursor, signature)
    platform = settings.DB_PLATFORM_ROLE
    if _role_exists(raw_cursor, platform):
        for table, privileges in PLATFORM_ROLE_PRIVILEGES.items():
            raw_cursor.execute(  # type: ignore[attr-defined]
                sql.SQL("GRANT {} ON {} TO {}").format(
                    sql.SQL(privileges), sql.Identifier(table), sql.Identifier(platform)
                )
            )
        raw_cursor.execute(  # type: ignore[attr-defined]
            sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {}").format(sql.Identifier(platform))
        )
    app = settings.DB_APP_ROLE
    if _role_exists(raw_cursor, app):
        grant_app_role_privileges(raw_cursor)  # applies APP_ROLE_PRIVILEGES (registered in apps.py)
        for signature, public in DEFINER_FUNCTIONS.items():
            if public:
                raw_cursor.execute(  # type: ignore[attr-defined]
                    sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(sql.SQL(signature), sql.Identifier(app))
                )


def post_migrate_install_audit_triggers(
    sender: object, using: str = "default", plan: object = None, **kwargs: object
) -> None:
    # `flush` also sends post_migrate (without a plan); only a real migrate changes tables.
    if plan is not None:
        install_audit_triggers()
