"""Behavioural events from partners: one at a time or up to 1,000 per call, stored once each (events:write)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from retailsite.commerce import services

from ..serializers import EventBatchInputSerializer, EventIngestOutputSerializer, EventInputSerializer, PlainTextField
from .base import TenantApiView

TAG = "events"
IDEMPOTENCY_HEADER = "Idempotency-Key"

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=IDEMPOTENCY_HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    description="Any string up to 200 characters, unique per logical request. Retrying a call with the same key "
    "stores nothing twice (events without an event_id are identified by key and position).",
)


class _IdempotencyKeySerializer(serializers.Serializer):
    key = PlainTextField(max_length=200, required=False, allow_blank=True)


class _EventsApi(TenantApiView):
    scope_map = {"POST": "events:write"}

    def idempotency_key(self) -> str | None:
        raw = self.request.headers.get(IDEMPOTENCY_HEADER)
        if raw is None:
            return None
        serializer = _IdempotencyKeySerializer(data={"key": raw})
        if not serializer.is_valid():
            raise serializers.ValidationError({IDEMPOTENCY_HEADER: serializer.errors["key"]})
        return serializer.validated_data.get("key") or None


class EventCreateApi(_EventsApi):
    @extend_schema(
        tags=[TAG],
        summary="Record one event",
        request=EventInputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: EventIngestOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        key = self.idempotency_key()
        event = self.validated(EventInputSerializer, request.data)
        result = services.events_ingest(events=[event], idempotency_key=key, batch=False)
        return self.output(EventIngestOutputSerializer, result, status=status.HTTP_201_CREATED)


class EventBatchApi(_EventsApi):
    @extend_schema(
        tags=[TAG],
        summary="Record up to 1,000 events (all or nothing)",
        request=EventBatchInputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: EventIngestOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        key = self.idempotency_key()
        data = self.validated(EventBatchInputSerializer, request.data)
        result = services.events_ingest(events=data["events"], idempotency_key=key)
        return self.output(EventIngestOutputSerializer, result, status=status.HTTP_201_CREATED)
