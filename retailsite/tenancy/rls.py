"""PostgreSQL row-level security: the second wall behind the tenant-scoped managers.

Every table with a `tenant_id` column gets RLS ENABLEd and FORCEd with one policy:
rows are visible and writable only when `tenant_id` equals the transaction's
`app.tenant_id` setting (or in the explicit platform scope). With no setting, nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from psycopg import sql

POLICY_NAME = "tenant_isolation"
POLICY_EXPRESSION = (
    "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint "
    "OR current_setting('app.all_tenants', true) = 'on'"
)


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


def apply_rls() -> list[str]:
    """Enable and force RLS with the tenant policy on every tenant table (idempotent)."""
    tables = tenant_tables()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg cursor: composes identifiers safely
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
    raw_cursor.execute(sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}").format(ident))
    # Tables whose rows must never change once written (e.g. the audit log) revoke here.
    for table in APPEND_ONLY_TABLES:
        raw_cursor.execute("SELECT to_regclass(%s)", [table])
        if raw_cursor.fetchone()[0] is not None:
            raw_cursor.execute(sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(sql.Identifier(table), ident))


# Filled by apps that own append-only tables (the privacy app's audit log).
APPEND_ONLY_TABLES: list[str] = []


def post_migrate_apply_rls(sender: Any, using: str = "default", plan: Any = None, **kwargs: Any) -> None:
    # `flush` also sends post_migrate (without a plan); only a real migrate changes tables.
    if plan is not None:
        apply_rls()


def create_roles(
    *, owner_role: str, app_role: str, app_password: str | None, owner_password: str | None, database: str
) -> list[str]:
    """Create the owning (migrations) role and the application role. Run as a superuser."""
    done: list[str] = []
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for role, password, attributes in (
            (owner_role, owner_password, "LOGIN NOSUPERUSER NOBYPASSRLS"),
            (app_role, app_password, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
        ):
            if _role_exists(raw, role):
                raw.execute(sql.SQL("ALTER ROLE {} " + attributes).format(sql.Identifier(role)))
                done.append(f"role {role} exists; attributes reset to {attributes}")
            else:
                raw.execute(sql.SQL("CREATE ROLE {} " + attributes).format(sql.Identifier(role)))
                done.append(f"created role {role} ({attributes})")
            if password:
                raw.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
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
        # Tables the owner creates later are readable/writable by the app role automatically.
        raw.execute(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
            ).format(sql.Identifier(owner_role), sql.Identifier(app_role))
        )
        raw.execute(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {}"
            ).format(sql.Identifier(owner_role), sql.Identifier(app_role))
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

    @property
    def ok(self) -> bool:
        return self.exists and not self.superuser and not self.bypass_rls and not self.owns_tables


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
    return reports, RoleReport(app_role, exists=True, superuser=row[0], bypass_rls=row[1], owns_tables=owned)
