"""limit/offset pagination with a hard cap on the page size."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class CappedLimitOffsetPagination(LimitOffsetPagination):
    """`?limit=` above MAX_PAGE_SIZE is served as MAX_PAGE_SIZE; a bad limit falls back to the default."""

    default_limit = DEFAULT_PAGE_SIZE
    max_limit = MAX_PAGE_SIZE
