"""PostgreSQL row-level security: the second wall behind the tenant-scoped managers.

Every table with a `tenant_id` column gets RLS ENABLEd and FORCEd with one policy:
rows are visible and writable only when `tenant_id` equals the transaction's
`app.tenant_id` setting, or in the platform scope. With no setting, nothing.

The platform scope is not a setting the application role can turn on: `app.all_tenants`
must carry a tag made with a key that only the platform role can read (`scope.py`), and
`tenancy_platform_scope()`, a SECURITY DEFINER function owned by that role, checks it. The
application role is never a member of the platform role or of the owning role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from psycopg import sql

POLICY_NAME = "tenant_isolation"
POLICY_EXPRESSION = (
    "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint OR (SELECT tenancy_platform_scope())"
)
SCOPE_KEY_TABLE = "tenancy_scopekey"

# The key table and the functions that check tags against it (see scope.py). The functions run as
# their owner, the platform role; only it may read the key, so no caller can compute a tag.
SCOPE_SQL = r"""
CREATE TABLE IF NOT EXISTS tenancy_scopekey (id integer PRIMARY KEY CHECK (id = 1), key bytea NOT NULL);

CREATE OR REPLACE FUNCTION tenancy_scope_tag(message text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
    SELECT encode(sha256(k.key || sha256(k.key || convert_to(message, 'UTF8'))), 'hex')
      FROM tenancy_scopekey k WHERE k.id = 1
$fn$;

CREATE OR REPLACE FUNCTION tenancy_platform_scope() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
    SELECT coalesce(current_setting('app.all_tenants', true) = tenancy_scope_tag('platform'), false)
$fn$;
"""
# Functions owned by the platform role; the application role may execute only the public ones.
SCOPE_FUNCTIONS = {"tenancy_scope_tag(text)": False, "tenancy_platform_scope()": True}


def tenant_tables() -> list[str]:
    """Every table in the current schema that has a tenant_id column."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name FROM information_schema.columns c
            JOIN information_schema.tables t
              ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id'
              AND t.table_type = 'BASE TABLE'
            ORDER BY c.table_name
            """
        )
        return [row[0] for row in cursor.fetchall()]


def _role_exists(cursor: Any, role: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    return cursor.fetchone() is not None


def install_scope_key(raw_cursor: Any) -> None:
    """Create the key table and the tag functions, store this deployment's key, give them to the platform role."""
    from .scope import scope_key

    raw_cursor.execute(SCOPE_SQL)
    raw_cursor.execute(
        "INSERT INTO tenancy_scopekey (id, key) VALUES (1, %s) ON CONFLICT (id) DO UPDATE SET key = EXCLUDED.key",
        [scope_key()],
    )
    raw_cursor.execute(sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(sql.Identifier(SCOPE_KEY_TABLE)))
    for signature in SCOPE_FUNCTIONS:
        raw_cursor.execute(sql.SQL("REVOKE ALL ON FUNCTION {} FROM PUBLIC").format(sql.SQL(signature)))
    platform = settings.DB_PLATFORM_ROLE
    if _role_exists(raw_cursor, platform):
        ident = sql.Identifier(platform)
        raw_cursor.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(SCOPE_KEY_TABLE), ident))
        for signature in SCOPE_FUNCTIONS:
            give_function_to_platform_role(raw_cursor, signature)


def give_function_to_platform_role(raw_cursor: Any, signature: str) -> None:
    """Make the platform role own a (SECURITY DEFINER) function, if that role exists yet."""
    platform = settings.DB_PLATFORM_ROLE
    if _role_exists(raw_cursor, platform):
        raw_cursor.execute(
            sql.SQL("ALTER FUNCTION {} OWNER TO {}").format(sql.SQL(signature), sql.Identifier(platform))
        )


def apply_rls() -> list[str]:
    """Enable and force RLS with the tenant policy on every tenant table (idempotent)."""
    tables = tenant_tables()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg cursor: composes identifiers safely
        install_scope_key(raw)
        for table in tables:
            ident = sql.Identifier(table)
            raw.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(ident))
            raw.execute(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(ident))
            raw.execute(sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(sql.Identifier(POLICY_NAME), ident))
            raw.execute(
                sql.SQL("CREATE POLICY {} ON {} USING ({}) WITH CHECK ({})").format(
                    sql.Identifier(POLICY_NAME), ident, sql.SQL(POLICY_EXPRESSION), sql.SQL(POLICY_EXPRESSION)
                )
            )
        grant_app_role_privileges(raw)
    return tables


def grant_app_role_privileges(raw_cursor: Any) -> None:
    """Give the application role data access (never ownership) to every table."""
    role = settings.DB_APP_ROLE
    if not _role_exists(raw_cursor, role):
        return
    ident = sql.Identifier(role)
    raw_cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident))
    raw_cursor.execute(
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(ident)
    )
    # No UPDATE on sequences: nextval needs only USAGE, and setval would let the role move any numbering.
    raw_cursor.execute(sql.SQL("REVOKE UPDATE ON ALL SEQUENCES IN SCHEMA public FROM {}").format(ident))
    raw_cursor.execute(sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(ident))
    for signature, public in SCOPE_FUNCTIONS.items():
        if public:
            raw_cursor.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(sql.SQL(signature), ident))
    # Tables the application role may only read, or not touch at all (the audit log and its queue).
    for table, kept in {SCOPE_KEY_TABLE: (), **RESTRICTED_TABLES}.items():
        raw_cursor.execute("SELECT to_regclass(%s)", [table])
        if raw_cursor.fetchone()[0] is None:
            continue
        raw_cursor.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(sql.Identifier(table), ident))
        if kept:
            raw_cursor.execute(
                sql.SQL("GRANT {} ON {} TO {}").format(
                    sql.SQL(", ").join(sql.SQL(privilege) for privilege in kept), sql.Identifier(table), ident
                )
            )


# Filled by apps whose tables the application role may only partly use: table -> the privileges it keeps
# (the privacy app: SELECT on the audit log, nothing on its queue; the database writes both).
RESTRICTED_TABLES: dict[str, tuple[str, ...]] = {}


def post_migrate_apply_rls(sender: Any, using: str = "default", plan: Any = None, **kwargs: Any) -> None:
    # `flush` also sends post_migrate (without a plan); only a real migrate changes tables.
    if plan is not None:
        apply_rls()


def create_roles(
    *,
    owner_role: str,
    app_role: str,
    app_password: str | None,
    owner_password: str | None,
    database: str,
    platform_role: str | None = None,
) -> list[str]:
    """Create the owning (migrations) role, the application role and the platform role (which owns the
    functions that may see every store: no login, and only the owner may act as it). Run as a superuser."""
    platform_role = platform_role or settings.DB_PLATFORM_ROLE
    done: list[str] = []
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for role, password, attributes in (
            (owner_role, owner_password, "LOGIN NOSUPERUSER NOBYPASSRLS"),
            (app_role, app_password, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
            (platform_role, None, "NOLOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE"),
        ):
            if _role_exists(raw, role):
                raw.execute(sql.SQL("ALTER ROLE {} " + attributes).format(sql.Identifier(role)))
                done.append(f"role {role} exists; attributes reset to {attributes}")
            else:
                raw.execute(sql.SQL("CREATE ROLE {} " + attributes).format(sql.Identifier(role)))
                done.append(f"created role {role} ({attributes})")
            if password:
                raw.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
        # The owner hands the SECURITY DEFINER functions it creates to the platform role; the application
        # role must be a member of neither (it could then act as them).
        raw.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(platform_role), sql.Identifier(owner_role)))
        for role in (platform_role, owner_role):
            raw.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [app_role, role])
            if raw.fetchone()[0]:
                raw.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(role), sql.Identifier(app_role)))
                done.append(f"{app_role} was a member of {role}: revoked")
        raw.execute(
            sql.SQL("GRANT CONNECT, CREATE ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(owner_role)
            )
        )
        raw.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), sql.Identifier(app_role))
        )
        raw.execute(sql.SQL("GRANT ALL ON SCHEMA public TO {}").format(sql.Identifier(owner_role)))
        raw.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(app_role)))
        # The platform role may own functions in the schema (ALTER FUNCTION ... OWNER needs CREATE).
        raw.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(sql.Identifier(platform_role)))
        # Tables the owner creates later are readable/writable by the app role automatically.
        raw.execute(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
            ).format(sql.Identifier(owner_role), sql.Identifier(app_role))
        )
        raw.execute(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}"
            ).format(sql.Identifier(owner_role), sql.Identifier(app_role))
        )
        raw.execute(
            sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public REVOKE UPDATE ON SEQUENCES FROM {}").format(
                sql.Identifier(owner_role), sql.Identifier(app_role)
            )
        )
        done.append(f"granted {app_role} data access to {owner_role}'s tables in {database}")
    return done


@dataclass
class TableIsolation:
    table: str
    rls_enabled: bool
    rls_forced: bool
    has_policy: bool
    owner: str

    @property
    def ok(self) -> bool:
        return self.rls_enabled and self.rls_forced and self.has_policy


@dataclass
class RoleReport:
    role: str
    exists: bool
    superuser: bool = False
    bypass_rls: bool = False
    owns_tables: list[str] | None = None
    member_of: list[str] | None = None  # roles it can act as that could lower the wall
    updatable_sequences: list[str] | None = None  # sequences it could move with setval (needs UPDATE)

    @property
    def ok(self) -> bool:
        return (
            self.exists
            and not self.superuser
            and not self.bypass_rls
            and not self.owns_tables
            and not self.member_of
            and not self.updatable_sequences
        )


def inspect_isolation(app_role: str) -> tuple[list[TableIsolation], RoleReport]:
    tables = tenant_tables()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = %s),
                   pg_get_userbyid(c.relowner)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relname = ANY(%s)
            ORDER BY c.relname
            """,
            [POLICY_NAME, tables],
        )
        reports = [TableIsolation(*row) for row in cursor.fetchall()]
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [app_role])
        row = cursor.fetchone()
        if row is None:
            return reports, RoleReport(app_role, exists=False)
        owned = [r.table for r in reports if r.owner == app_role]
        # Any role that owns a table or bypasses RLS (the owner, the platform role, superusers): if the
        # application role can act as it, the wall is its to lower.
        cursor.execute(
            """
            SELECT r.rolname FROM pg_roles r
            WHERE r.rolname <> %s AND pg_has_role(%s, r.oid, 'MEMBER')
              AND (r.rolsuper OR r.rolbypassrls OR r.rolname = ANY(%s))
            ORDER BY r.rolname
            """,
            [app_role, app_role, sorted({r.owner for r in reports})],
        )
        member_of = [name for (name,) in cursor.fetchall()]
        # nextval needs USAGE only; UPDATE would allow setval (move any numbering, e.g. to collide or to probe).
        cursor.execute(
            """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'S' AND n.nspname = current_schema()
              -- CASE: the planner may test the privilege before relkind, and it errors on anything but a sequence
              AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(%s, c.oid, 'UPDATE') ELSE false END
            ORDER BY c.relname
            """,
            [app_role],
        )
        updatable = [name for (name,) in cursor.fetchall()]
    return reports, RoleReport(
        app_role,
        exists=True,
        superuser=row[0],
        bypass_rls=row[1],
        owns_tables=owned,
        member_of=member_of,
        updatable_sequences=updatable,
    )


# -- the attack itself ----------------------------------------------------------------------------

FORGED_PLATFORM_VALUES = ("on", "true", "1", "yes")


def _denied(cursor: Any, statement: str, params: list[Any] | None = None) -> bool:
    """Run `statement` in a savepoint; True if the database refused it for lack of privilege."""
    from django.db import DatabaseError

    try:
        with transaction.atomic():
            cursor.execute(statement, params or [])
    except DatabaseError as error:
        return "permission denied" in str(error)
    return False


# setval to where the sequence already is: sequences ignore rollbacks, so an attempt that worked must move nothing.
SETVAL_IN_PLACE = (
    "SELECT setval(%s::regclass, coalesce(pg_sequence_last_value(%s::regclass), 1), "
    "pg_sequence_last_value(%s::regclass) IS NOT NULL)"
)


def _sequences(cursor: Any) -> list[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'S' AND n.nspname = current_schema() ORDER BY c.relname"
    )
    return [name for (name,) in cursor.fetchall()]


def attack_the_wall() -> list[str]:
    """Try, as the connected role, what a session of the application role could try with SQL alone, in
    a transaction that is rolled back: open the platform scope with `app.all_tenants`, suppress or forge
    audit entries, move any sequence of the schema. Returns every attempt that worked (empty: the wall held)."""
    from .context import no_tenant_context, tenant_context

    succeeded: list[str] = []
    with no_tenant_context(), transaction.atomic():
        store_ids = []
        with connection.cursor() as cursor:
            for name in ("probe-a", "probe-b"):
                cursor.execute(
                    "INSERT INTO tenancy_tenant (slug, name, currency, timezone, settings, is_active, created_at) "
                    "VALUES (%s, %s, 'USD', 'UTC', '{}', true, now()) RETURNING id",
                    [f"isolation-{name}-{connection.connection.info.backend_pid}", name],
                )
                store_ids.append(cursor.fetchone()[0])
        for store_id in store_ids:
            with tenant_context(store_id), connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO commerce_category (tenant_id, name, path) VALUES (%s, 'probe', 'probe')", [store_id]
                )
        with connection.cursor() as cursor:
            for value in FORGED_PLATFORM_VALUES:
                cursor.execute(
                    "SELECT set_config('app.tenant_id', '', true), set_config('app.all_tenants', %s, true)", [value]
                )
                cursor.execute("SELECT count(*) FROM commerce_category WHERE tenant_id = ANY(%s)", [store_ids])
                if cursor.fetchone()[0]:
                    succeeded.append(f"SET app.all_tenants = {value!r} showed other stores' rows")
            if not _denied(cursor, "DELETE FROM privacy_auditpending"):
                succeeded.append("DELETE on the audit queue was allowed")
            if not _denied(cursor, "DELETE FROM privacy_auditlogentry"):
                succeeded.append("DELETE on the audit log was allowed")
            if not _denied(
                cursor,
                "INSERT INTO privacy_auditlogentry (tenant_id, seq, occurred_at, actor, action, object_type, "
                "object_id, changed_fields, row_count, request_id, client_ip, prev_hash, hash) "
                "VALUES (%s, 999999, now(), 'x', 'read', 'x', '', '[]', 1, '', '', '', '')",
                [store_ids[0]],
            ):
                succeeded.append("INSERT into the audit log was allowed")
            moved = [name for name in _sequences(cursor) if not _denied(cursor, SETVAL_IN_PLACE, [name] * 3)]
            if moved:
                succeeded.append(f"setval on a sequence was allowed: {', '.join(moved)}")
        # An actor named by setting app.actor alone is recorded as unverified.
        with tenant_context(store_ids[0]), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('app.actor', 'user:1', true), set_config('app.actor_tag', '', true)")
            cursor.execute("UPDATE commerce_category SET name = 'probe-2' WHERE tenant_id = %s", [store_ids[0]])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # seal now, inside this transaction
            cursor.execute(
                "SELECT actor FROM privacy_auditlogentry WHERE tenant_id = %s AND action = 'update' "
                "AND object_type = 'commerce_category'",
                [store_ids[0]],
            )
            actors = [actor for (actor,) in cursor.fetchall()]
            if actors != ["unverified:user:1"]:
                succeeded.append(f"an actor set by app.actor alone was recorded as {actors}")
        transaction.set_rollback(True)
    return succeeded
