"""The base class of every tenant-scoped API endpoint; other apps' endpoints subclass it too.

    class TrendingApi(TenantApiView):
        scope_map = {"GET": Scope.RECOMMENDATIONS_READ}

        def get(self, request: Request) -> Response: ...

It authenticates (API key or staff session — the credential sets the tenant), checks the
scope of the HTTP method, throttles per credential, and answers errors in the one JSON
shape. Objects are looked up through selectors, which only ever see the current store, so
another store's id is simply not found (404).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar, cast

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from ..authentication import ApiKeyAuthentication, ApiPrincipal, StaffSessionAuthentication
from ..pagination import CappedLimitOffsetPagination
from ..permissions import HasScope
from ..representation import representation
from ..throttling import CredentialRateThrottle

T = TypeVar("T")

# Input serializers, one per class and thread, re-aimed at each request's data: DRF builds a serializer's fields
# afresh (a deep copy of every declared field) for each instance, which cost more than validating the few fields
# of a query string. The fields keep nothing of a validation; the request's data, context and `partial` are set
# anew every time (see `_input_serializer`).
_inputs = threading.local()
_RESULTS = ("_validated_data", "_errors", "_data")


def _input_serializer(
    serializer_class: type[serializers.Serializer], data: Any, partial: bool, context: dict[str, Any]
) -> serializers.Serializer:
    """`serializer_class(data=data, partial=partial, context=context)`, its bound fields kept from an earlier use."""
    if issubclass(serializer_class, serializers.ModelSerializer):
        return serializer_class(data=data, partial=partial, context=context)
    kept: dict[type[serializers.Serializer], serializers.Serializer] = _inputs.__dict__.setdefault("kept", {})
    serializer = kept.get(serializer_class)
    if serializer is None:
        serializer = kept[serializer_class] = serializer_class(data=data, partial=partial, context=context)
        return serializer
    for name in _RESULTS:  # what the last validation left
        serializer.__dict__.pop(name, None)
    serializer.initial_data = data
    serializer.partial = partial
    serializer._context = context
    return serializer


class TenantApiView(APIView):
    scope_map: ClassVar[Mapping[str, str | None]] = {}
    authentication_classes = [ApiKeyAuthentication, StaffSessionAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [CredentialRateThrottle]

    @property
    def principal(self) -> ApiPrincipal:
        return cast(ApiPrincipal, self.request.auth)

    def get_serializer_context(self) -> dict[str, Any]:
        return {"request": self.request, "view": self, "tenant_zone": self.principal.zone}

    def validated(
        self, serializer_class: type[serializers.Serializer], data: Any, *, partial: bool = False
    ) -> dict[str, Any]:
        """Validated input, or a 400 with field errors."""
        serializer = _input_serializer(serializer_class, data, partial, self.get_serializer_context())
        try:
            serializer.is_valid(raise_exception=True)
            return serializer.validated_data
        finally:
            serializer._context = {}  # a kept serializer holds on to no request
            serializer.initial_data = None

    def validated_query(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        # A plain dict, not the QueryDict: DRF reads an absent boolean in a QueryDict as False.
        return self.validated(serializer_class, self.request.query_params.dict())

    def output(self, serializer_class: type[serializers.Serializer], instance: Any, *, status: int = 200) -> Response:
        """The instance as `serializer_class` writes it (through `representation`: bound once per process)."""
        return Response(representation(serializer_class, instance, self.get_serializer_context()), status=status)


class TenantListApiView(TenantApiView):
    pagination_class = CappedLimitOffsetPagination

    def paginated(self, queryset: QuerySet, serializer_class: type[serializers.Serializer]) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return paginator.get_paginated_response(data)


def found(obj: T | None, what: str, external_id: str) -> T:
    """`obj`, or a 404 that says what was not found in this store."""
    if obj is None:
        raise NotFound(f"No {what} with id {external_id!r} in this store.")
    return obj
