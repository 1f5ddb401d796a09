"""limit/offset pagination with a hard cap on the page size, and the incremental sync's cursor pages."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response

from .sync import SYNC_PARAMETERS, sync_page, sync_response, wants_sync

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
DELETED_ENTRY_SCHEMA = {
    "type": "object",
    "description": "Sync only: an object deleted (or erased) since the cursor, named by its id field.",
    "properties": {
        "deleted": {"type": "boolean", "enum": [True]},
        "deleted_at": {"type": "string", "format": "date-time"},
    },
    "required": ["deleted", "deleted_at"],
    "additionalProperties": {"type": "string"},
}


class CappedLimitOffsetPagination(LimitOffsetPagination):
    """`?limit=` above MAX_PAGE_SIZE is served as MAX_PAGE_SIZE; a bad limit falls back to the default."""

    default_limit = DEFAULT_PAGE_SIZE
    max_limit = MAX_PAGE_SIZE


class SyncListPagination(CappedLimitOffsetPagination):
    """The pages of a syncable list (customers, products, orders, stock): with `?updated_after=` or `?cursor=`,
    a page of the change feed with its deletion entries (see sync.py); otherwise limit/offset."""

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list | None:
        self.sync_envelope: dict[str, Any] | None = None
        if wants_sync(request):
            self.request = request
            page, self.sync_envelope = sync_page(queryset, request, self.get_limit(request) or self.default_limit)
            return page
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        envelope = getattr(self, "sync_envelope", None)
        if envelope is not None:
            return sync_response(data, envelope)
        return super().get_paginated_response(data)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        envelope = super().get_paginated_response_schema(schema)
        # In sync mode (`updated_after` or `cursor` given) there is no count and no previous page, but a cursor,
        # and the results hold deletion entries among the rows.
        envelope["required"] = ["results"]
        envelope["properties"]["cursor"] = {"type": "string", "nullable": True}
        envelope["properties"]["results"] = {
            "type": "array",
            "items": {"oneOf": [schema.get("items", {}), DELETED_ENTRY_SCHEMA]},
        }
        return envelope

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        descriptions = {
            "updated_after": "Sync: only rows changed (and objects deleted) after this time (ISO 8601); pages "
            "follow `next`.",
            "cursor": "Sync: resume after the page that returned this `cursor`.",
        }
        return super().get_schema_operation_parameters(view) + [
            {
                "name": name,
                "required": False,
                "in": "query",
                "description": descriptions[name],
                "schema": {"type": "string", "format": "date-time"} if name == "updated_after" else {"type": "string"},
            }
            for name in SYNC_PARAMETERS
        ]
