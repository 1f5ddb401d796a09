"""Endpoints about the credential itself."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from ..scopes import ALL_SCOPES
from ..serializers import WhoAmIOutputSerializer
from .base import TenantApiView


class WhoAmIApi(TenantApiView):
    """Which store and scopes this credential has (any valid credential; also a cheap health probe)."""

    scope_map = {"GET": None}

    @extend_schema(
        tags=["credential"], summary="The store and scopes of this credential", responses=WhoAmIOutputSerializer
    )
    def get(self, request: Request) -> Response:
        principal = self.principal
        return self.output(
            WhoAmIOutputSerializer,
            {
                "store": principal.tenant.slug,
                "store_name": principal.tenant.name,
                "credential": "api_key" if principal.api_key is not None else "staff_session",
                "key_prefix": principal.api_key.prefix if principal.api_key is not None else None,
                "scopes": [scope for scope in ALL_SCOPES if principal.has_scope(scope)],
            },
        )
