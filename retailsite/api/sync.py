"""Incremental sync of list endpoints (customers, products, orders, stock): `?updated_after=` and a cursor.

Consistency rule. Every write that changes a row stamps it (a database trigger, whatever the write path)
with `updated_at` and the next value of one sequence (`change_seq`), holding its store's sync lock shared
until it commits. A sync page takes that lock exclusively for its own transaction before it reads: every
writer that stamped before has committed, and every writer after it stamps a larger value. Pages list rows
in (change_seq, id) order, so following `next` from a cursor returns every change exactly once — the row
as it is when read — however writes interleave; a row changed again is listed again, later. A page waits
at most SYNC_LOCK_TIMEOUT for writes in progress (a large import holds the lock until it commits), then
answers 503 with Retry-After.

Deletions are in the same feed, in the same order: a row deleted (or its external id changed, as erasure does)
leaves a `SyncDeletion` entry stamped from the same sequence under the same lock (commerce migration 0005), listed
as `{"<kind>_id": ..., "deleted": true, "deleted_at": ...}` — so a delete and a re-create of one id arrive in the
order they happened, like the removed entries of Microsoft Graph's delta queries or Google's sync tokens. Entries
are kept for the store's `sync_deletion_retention_days`; a cursor older than that may have missed some and is
answered 410 (`cursor_expired`): start again with `updated_after`. Deletions ignore a list's other filters.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import OperationalError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from retailsite.commerce.models import SyncDeletion
from retailsite.tenancy.context import require_tenant_id
from retailsite.tenancy.models import Tenant

from .apps import SYNC_KINDS
from .exceptions import InvalidInput

SYNC_LOCK_CLASS = 1937337955  # "sync": the key class of the stores' sync locks (the triggers use it too)
SYNC_LOCK_TIMEOUT = "3s"
SYNC_PARAMETERS = ("updated_after", "cursor")
# A cursor expires this long before the deletion entries it relies on are purged: a writer's stamp and its
# `now()` may be a transaction's length apart.
CURSOR_EXPIRY_MARGIN = dt.timedelta(days=1)


class SyncQuerySerializer(serializers.Serializer):
    updated_after = serializers.DateTimeField(
        required=False, help_text="only rows changed after this time (ISO 8601); starts a sync"
    )
    cursor = serializers.CharField(required=False, max_length=100, help_text="the `cursor` of the previous page")


@dataclass(frozen=True)
class Cursor:
    change_seq: int
    row_id: int
    issued_at: dt.datetime  # no change or deletion after the position was made before this time


def wants_sync(request: Request) -> bool:
    return any(name in request.query_params for name in SYNC_PARAMETERS)


def encode_cursor(change_seq: int, row_id: int, issued_at: dt.datetime) -> str:
    text = f"{change_seq}.{row_id}.{int(issued_at.timestamp())}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Cursor:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        change_seq, row_id, issued = (int(part) for part in text.split("."))
        issued_at = dt.datetime.fromtimestamp(issued, tz=dt.UTC)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError, OSError):
        raise InvalidInput({"cursor": ["Not a cursor this API handed out; pass the `cursor` of a page."]}) from None
    return Cursor(change_seq, row_id, issued_at)


@dataclass(frozen=True)
class DeletedEntry:
    """A deletion as listed in the feed (no other data: an erased customer's entry holds nothing personal)."""

    id_field: str
    external_id: str
    deleted_at: dt.datetime

    def as_json(self) -> dict[str, Any]:
        deleted_at = serializers.DateTimeField().to_representation(self.deleted_at)  # as the rows' times are
        return {self.id_field: self.external_id, "deleted": True, "deleted_at": deleted_at}


def sync_page(queryset: QuerySet, request: Request, limit: int) -> tuple[list[Any], dict[str, Any]]:
    """One page of the change feed for `queryset` (any filters applied): the rows to serialize, in order, and the
    envelope (`next`, `cursor`, and where the deletion entries go between the rows)."""
    raw = {name: request.query_params[name] for name in SYNC_PARAMETERS if name in request.query_params}
    query = SyncQuerySerializer(data=raw)
    if not query.is_valid():
        raise InvalidInput({name: [str(message) for message in messages] for name, messages in query.errors.items()})
    kind, id_field = SYNC_KINDS[queryset.model._meta.db_table]
    given = decode_cursor(query.validated_data["cursor"]) if "cursor" in query.validated_data else None
    if given is not None and given.issued_at < timezone.now() - _deletions_kept() + CURSOR_EXPIRY_MARGIN:
        raise SyncCursorExpired()
    _wait_for_writers()
    now = timezone.now()
    rows = queryset
    deletions = SyncDeletion.objects.filter(kind=kind)
    if "updated_after" in query.validated_data:
        rows = rows.filter(updated_at__gt=query.validated_data["updated_after"])
        deletions = deletions.filter(deleted_at__gt=query.validated_data["updated_after"])
    if given is not None:
        rows = rows.filter(Q(change_seq__gt=given.change_seq) | Q(change_seq=given.change_seq, id__gt=given.row_id))
        # Stamps are unique (one nextval each) and never 0 for a deletion: nothing else to compare.
        deletions = deletions.filter(change_seq__gt=given.change_seq)
    live = list(rows.order_by("change_seq", "id")[: limit + 1])
    gone = list(deletions.order_by("change_seq").values_list("change_seq", "external_id", "deleted_at")[: limit + 1])
    merged: list[tuple[int, int, Any]] = sorted(
        [(row.change_seq, row.pk, row) for row in live]
        + [(seq, 0, DeletedEntry(id_field, external_id, at)) for seq, external_id, at in gone],
        key=lambda item: (item[0], item[1]),
    )
    more, merged = len(merged) > limit, merged[:limit]
    if merged:
        seq, row_id, last = merged[-1]
        # With more to come the position is as old as its last entry; a page that listed everything is as new as
        # the read (which waited for every writer before it).
        issued = now if not more else last.deleted_at if isinstance(last, DeletedEntry) else last.updated_at
        cursor: str | None = encode_cursor(seq, row_id, min(issued, now))
    elif given is not None:
        cursor = encode_cursor(given.change_seq, given.row_id, now)
    else:
        cursor = None
    url = request.build_absolute_uri()
    return [item for _, _, item in merged if not isinstance(item, DeletedEntry)], {
        # Always a cursor to resume from later: the last entry listed (or the one given, on an empty page).
        "cursor": cursor,
        "next": replace_query_param(url, "cursor", cursor) if more else None,
        "layout": [item.as_json() if isinstance(item, DeletedEntry) else None for _, _, item in merged],
    }


def _deletions_kept() -> dt.timedelta:
    tenant = Tenant.objects.get(pk=require_tenant_id())
    return dt.timedelta(days=int(tenant.setting("sync_deletion_retention_days")))


class SyncCursorExpired(APIException):
    status_code = 410
    default_code = "cursor_expired"
    default_detail = (
        "This cursor is older than the deletions this store keeps for partners; "
        "start again with ?updated_after= (or a full list) and keep the new cursor."
    )


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
    """The page: the serialized rows with the deletion entries put back where they belong in the order."""
    rows = iter(data)
    results = [entry if entry is not None else next(rows) for entry in envelope["layout"]]
    return Response({"next": envelope["next"], "cursor": envelope["cursor"], "results": results})
