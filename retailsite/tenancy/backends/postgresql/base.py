"""PostgreSQL backend that carries the current tenant into every transaction.

Before each query the backend makes sure the transaction's `app.tenant_id` and
`app.all_tenants` settings match the context variables, using `set_config(..., true)`
(the equivalent of SET LOCAL): the value dies with the transaction, so a pooled or
reused connection can never carry one request's or task's tenant into the next.
A query outside any transaction (autocommit) is run inside a short transaction of its
own so that it, too, sees the tenant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from django.db import transaction
from django.db.backends.postgresql import base
from psycopg import pq

from retailsite.tenancy.context import current_actor, current_tenant_id, is_platform_scope
from retailsite.tenancy.scope import actor_tag, platform_tag

_UNSET = object()


class DatabaseOperations(base.DatabaseOperations):  # type: ignore[name-defined]
    def execute_sql_flush(self, sql_list: list[str]) -> None:
        # TRUNCATE is not subject to RLS, so the application role may not run it. Flushing
        # (tests only) acts as the login role for the duration.
        role = self.connection.settings_dict.get("SET_ROLE")
        if not role:
            return super().execute_sql_flush(sql_list)
        with self.connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
        try:
            super().execute_sql_flush(sql_list)
        finally:
            with self.connection.cursor() as cursor:
                cursor.execute(f'SET ROLE "{role}"')


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tenant_applied: object = _UNSET
        self.execute_wrappers.append(_apply_tenant_setting)

    def init_connection_state(self) -> None:
        super().init_connection_state()
        self._tenant_applied = _UNSET
        role = self.settings_dict.get("SET_ROLE")
        if role:
            with self.connection.cursor() as cursor:
                cursor.execute(f'SET ROLE "{role}"')
            if not self.get_autocommit():
                self.connection.commit()

    # Any end of a transaction (or of a savepoint, which may undo a set_config) forgets
    # what was applied, so the next query re-applies it.
    def _commit(self) -> None:
        self._tenant_applied = _UNSET
        super()._commit()  # type: ignore[misc]

    def _rollback(self) -> None:
        self._tenant_applied = _UNSET
        super()._rollback()  # type: ignore[misc]

    def _savepoint_rollback(self, sid: str) -> None:
        super()._savepoint_rollback(sid)  # type: ignore[misc]
        self._tenant_applied = _UNSET

    def _set_autocommit(self, autocommit: bool) -> None:
        self._tenant_applied = _UNSET
        super()._set_autocommit(autocommit)  # type: ignore[misc]

    def close(self) -> None:
        self._tenant_applied = _UNSET
        super().close()

    def apply_tenant_setting(self) -> None:
        """Apply the current tenant to the open transaction if it differs."""
        actor = current_actor()
        wanted = (current_tenant_id(), is_platform_scope(), actor)
        if self._tenant_applied == wanted:
            return
        if self.connection.info.transaction_status == pq.TransactionStatus.INERROR:
            return  # only ROLLBACK (TO SAVEPOINT) can run now; the next query re-applies
        tenant_id, platform, _ = wanted
        actor_name = actor.as_setting() if actor else ""
        request_id = actor.request_id if actor else ""
        client_ip = actor.client_ip if actor else ""
        # Server-side binding: the tags travel as parameters, so other sessions' pg_stat_activity never shows them.
        with psycopg.Cursor(self.connection) as cursor:
            cursor.execute(
                "SELECT set_config('app.tenant_id', %s, true), set_config('app.all_tenants', %s, true), "
                "set_config('app.actor', %s, true), set_config('app.request_id', %s, true), "
                "set_config('app.client_ip', %s, true), set_config('app.actor_tag', %s, true)",
                [
                    "" if tenant_id is None else str(tenant_id),
                    platform_tag() if platform else "",
                    actor_name,
                    request_id,
                    client_ip,
                    actor_tag(actor_name, request_id, client_ip) if actor else "",
                ],
            )
        self._tenant_applied = wanted


def _apply_tenant_setting(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    connection: DatabaseWrapper = context["connection"]
    if connection.in_atomic_block or not connection.get_autocommit():
        connection.apply_tenant_setting()
        return execute(sql, params, many, context)
    if current_tenant_id() is None and not is_platform_scope() and current_actor() is None:
        # Nothing to apply: with no setting, row-level security shows no tenant rows.
        return execute(sql, params, many, context)
    with transaction.atomic(using=connection.alias):
        connection.apply_tenant_setting()
        return execute(sql, params, many, context)
