"""limit/offset pagination with a hard cap on the page size, and the incremental sync's cursor pages."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response

from .sync import SYNC_PARAMETERS, sync_page, sync_response, wants_sync

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class CappedLimitOffsetPagination(LimitOffsetPagination):
    """`?limit=` above MAX_PAGE_SIZE is served as MAX_PAGE_SIZE; a bad limit falls back to the default."""

    default_limit = DEFAULT_PAGE_SIZE
    max_limit = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list | None:
        """With `?updated_after=` or `?cursor=` on a syncable list: a page of the change feed (see sync.py)."""
        self.sync_envelope: dict[str, Any] | None = None
        if wants_sync(request) and hasattr(queryset, "model") and hasattr(queryset.model, "change_seq"):
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
        # In sync mode (`updated_after` or `cursor` given) there is no count and no previous page, but a cursor.
        envelope["required"] = ["results"]
        envelope["properties"]["cursor"] = {"type": "string", "nullable": True}
        return envelope

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        model = getattr(getattr(view, "sync_model", None), "change_seq", None)
        if model is None:
            return parameters
        descriptions = {
            "updated_after": "Sync: only rows changed after this time (ISO 8601); pages follow `next`.",
            "cursor": "Sync: resume after the page that returned this `cursor`.",
        }
        return parameters + [
            {
                "name": name,
                "required": False,
                "in": "query",
                "description": descriptions[name],
                "schema": {"type": "string", "format": "date-time"} if name == "updated_after" else {"type": "string"},
            }
            for name in SYNC_PARAMETERS
        ]
