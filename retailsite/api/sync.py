"""Incremental sync of list endpoints (customers, products, orders, stock): `?updated_after=` and a cursor.

Consistency rule. Every write that changes a row stamps it (a database trigger, whatever the write path)
with `updated_at` and the next value of one sequence (`change_seq`), holding its store's sync lock shared
until it commits. A sync page takes that lock exclusively for its own transaction before it reads: every
writer that stamped before has committed, and every writer after it stamps a larger value. Pages list rows
in (change_seq, id) order, so following `next` from a cursor returns every change exactly once — the row
as it is when read — however writes interleave; a row changed again is listed again, later. A page waits
at most SYNC_LOCK_TIMEOUT for writes in progress (a large import holds the lock until it commits), then
answers 503 with Retry-After. Deleted rows are not listed (no tombstones); compare ids to find deletions.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.db import OperationalError, connection, transaction
from django.db.models import Q, QuerySet
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from retailsite.tenancy.context import require_tenant_id

from .exceptions import InvalidInput

SYNC_LOCK_CLASS = 1937337955  # "sync": the key class of the stores' sync locks (the triggers use it too)
SYNC_LOCK_TIMEOUT = "3s"
SYNC_PARAMETERS = ("updated_after", "cursor")


class SyncQuerySerializer(serializers.Serializer):
    updated_after = serializers.DateTimeField(
        required=False, help_text="only rows changed after this time (ISO 8601); starts a sync"
    )
    cursor = serializers.CharField(required=False, max_length=100, help_text="the `cursor` of the previous page")


def wants_sync(request: Request) -> bool:
    return any(name in request.query_params for name in SYNC_PARAMETERS)


def encode_cursor(change_seq: int, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{change_seq}.{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        change_seq, row_id = (int(part) for part in text.split("."))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput({"cursor": ["Not a cursor this API handed out; pass the `cursor` of a page."]}) from None
    return change_seq, row_id


def sync_page(queryset: QuerySet, request: Request, limit: int) -> tuple[list[Any], dict[str, Any]]:
    """One page of the change feed and its envelope (`next`, `cursor`), for `queryset` (any filters applied)."""
    raw = {name: request.query_params[name] for name in SYNC_PARAMETERS if name in request.query_params}
    query = SyncQuerySerializer(data=raw)
    if not query.is_valid():
        raise InvalidInput({name: [str(message) for message in messages] for name, messages in query.errors.items()})
    _wait_for_writers()
    rows = queryset
    if "updated_after" in query.validated_data:
        rows = rows.filter(updated_at__gt=query.validated_data["updated_after"])
    if "cursor" in query.validated_data:
        after_xid, after_id = decode_cursor(query.validated_data["cursor"])
        rows = rows.filter(Q(change_seq__gt=after_xid) | Q(change_seq=after_xid, id__gt=after_id))
    page = list(rows.order_by("change_seq", "id")[: limit + 1])
    more, page = len(page) > limit, page[:limit]
    cursor = encode_cursor(page[-1].change_seq, page[-1].pk) if page else query.validated_data.get("cursor", "")
    url = request.build_absolute_uri()
    return page, {
        # Always a cursor to resume from later: the last row listed (or the one given, on an empty page).
        "cursor": cursor or None,
        "next": replace_query_param(url, "cursor", cursor) if more else None,
    }


class SyncBusy(APIException):
    status_code = 503
    default_code = "unavailable"
    default_detail = "A large write to this store is still in progress; retry this page shortly."


def _wait_for_writers() -> None:
    """Take the store's sync lock for the rest of this transaction: writers in progress finish first."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:  # a savepoint: a timeout leaves the request usable
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [SYNC_LOCK_TIMEOUT])
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, (%s %% 2147483648)::int)", [SYNC_LOCK_CLASS, require_tenant_id()]
            )
    except OperationalError:
        raise SyncBusy() from None
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', '0', true)")


def sync_response(data: list[Any], envelope: dict[str, Any]) -> Response:
    return Response({"next": envelope["next"], "cursor": envelope["cursor"], "results": data})
