"""Browser endpoints under /api/v1/browser/, called by the beacon and widget (static/js/retail-widget.js).

Authenticated by a publishable key (`?key=pk_...`, as a beacon cannot set headers) from one of the key's
allowed origins (the Origin header; CORS answers only those origins). They act for the page's visitor only
(`visitor`: the random id the script keeps in the browser), never for a customer account:

- GET  recommendations/?key=&visitor=&k=   "recommended for you" for this visitor
- POST events/?key=   {"visitor", "product_id", "event_type": "view" | "cart", "recommendation_id"}

Rate limits: per key (PUBLISHABLE_KEY_RATE_LIMIT) and per visitor of a key (VISITOR_RATE_LIMIT).
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from recommendations.serving import Filters, recommend_for_customer
from retailsite.api.authentication import _activate
from retailsite.commerce.services import events_ingest
from retailsite.tenancy.models import Tenant

from .selectors import PublishableKeyInfo, presented_key, publishable_key_info, request_origin

VISITOR = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class PublishableKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, PublishableKeyInfo]:
        info = publishable_key_info(presented_key(request))
        if info is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked publishable key.")
        origin = request_origin(request)
        if origin not in info.allowed_origins:
            raise exceptions.PermissionDenied(f"This key may not be used from {origin or 'a page without an Origin'}.")
        _activate(request, Tenant.objects.get(pk=info.tenant_id))
        return None, info

    def authenticate_header(self, request: Request) -> str:
        return 'PublishableKey realm="browser"'


class HasPublishableKey(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, PublishableKeyInfo)


def _visitor(value: object) -> str:
    text = str(value or "")
    if not VISITOR.fullmatch(text):
        raise exceptions.ValidationError({"visitor": ["8-64 letters, digits, '-' or '_' (the script makes one)."]})
    return text


class PublishableKeyThrottle(SimpleRateThrottle):
    scope = "publishable_key"

    def get_rate(self) -> str:
        return settings.PUBLISHABLE_KEY_RATE_LIMIT

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return f"throttle:pk:{request.auth.key}" if isinstance(request.auth, PublishableKeyInfo) else None


class VisitorThrottle(PublishableKeyThrottle):
    scope = "visitor"

    def get_rate(self) -> str:
        return settings.VISITOR_RATE_LIMIT

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        visitor = request.query_params.get("visitor") or (
            request.data.get("visitor") if request.method == "POST" and isinstance(request.data, dict) else ""
        )
        if not isinstance(request.auth, PublishableKeyInfo) or not visitor:
            return None
        return f"throttle:pkv:{request.auth.key}:{str(visitor)[:64]}"


class BrowserApiView(APIView):
    schema = None  # not part of the partner API's schema: documented in docs/api.md, "Browser integration"
    authentication_classes = [PublishableKeyAuthentication]
    permission_classes = [HasPublishableKey]
    throttle_classes = [PublishableKeyThrottle, VisitorThrottle]


def session_for(visitor: str) -> str:
    return f"w-{visitor}"  # apart from the storefront's own visitor ids


class BrowserRecommendationsApi(BrowserApiView):
    def get(self, request: Request) -> Response:
        visitor = _visitor(request.query_params.get("visitor"))
        k = request.query_params.get("k", "8")
        if not k.isdigit() or not 1 <= int(k) <= 20:
            raise exceptions.ValidationError({"k": ["A whole number from 1 to 20."]})
        served = recommend_for_customer(customer_id=None, session_id=session_for(visitor), filters=Filters(k=int(k)))
        return Response(
            {
                "recommendation_id": served.recommendation_id,
                "items": [
                    {"product_id": i.external_id, "name": i.name, "price": f"{i.price:.2f}", "reason": i.reason}
                    for i in served.items
                ],
            }
        )


class BrowserEventInputSerializer(serializers.Serializer):
    visitor = serializers.CharField(max_length=64)
    product_id = serializers.CharField(max_length=100)
    event_type = serializers.ChoiceField(choices=["view", "cart"])
    recommendation_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class BrowserEventApi(BrowserApiView):
    def post(self, request: Request) -> Response:
        serializer = BrowserEventInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = events_ingest(
            events=[
                {
                    "session_id": session_for(_visitor(data["visitor"])),
                    "product_external_id": data["product_id"],
                    "event_type": data["event_type"],
                    "recommendation_id": data["recommendation_id"],
                }
            ],
            batch=False,
        )
        return Response({"created": result.created}, status=201)
