"""Webhooks: subscriptions, emitting an event (one delivery row per subscribed endpoint), delivering it.

A delivery is a row first and a Celery task second: the row is written in the transaction of the change
that caused the event and the task is queued when that commits, so an event is never sent for a change
that rolled back, and never lost if the broker drops the task (a periodic sweep re-queues due rows).
Each attempt POSTs the same body with the same `webhook-id`, signed per Standard Webhooks
(`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`); a non-2xx answer or a
network error schedules the next attempt with exponential backoff, up to MAX_ATTEMPTS.
"""

from __future__ import annotations

import base64
import json
import secrets
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from retailsite.tenancy.context import require_tenant_id

from .models import EventType, WebhookDelivery, WebhookEndpoint
from .urls_check import UnsafeWebhookUrl, webhook_url_check

MAX_ATTEMPTS = 8
BACKOFF_SECONDS = (5, 30, 120, 600, 1800, 3600, 3 * 3600)  # after attempt 1, 2, ...
TIMEOUT_SECONDS = 10


class WebhookError(ValueError):
    """A subscription that cannot be saved; the message says why."""


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_endpoint_create(*, url: str, events: list[str], description: str = "") -> WebhookEndpoint:
    unknown = sorted(set(events) - set(EventType.values))
    if unknown:
        raise WebhookError(f"Unknown event type(s) {', '.join(unknown)}; valid: {', '.join(EventType.values)}.")
    try:
        webhook_url_check(url)
    except UnsafeWebhookUrl as error:
        raise WebhookError(str(error)) from None
    return WebhookEndpoint.objects.create(url=url, events=events, description=description, secret=new_secret())


def webhook_event_emit(*, event_type: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Queue `event_type` with `data` to every endpoint of the current store that wants it."""
    now = timezone.now()
    message_id = f"msg_{secrets.token_hex(12)}"
    payload = {"type": event_type, "timestamp": now.isoformat(), "data": data}
    deliveries = [
        WebhookDelivery.objects.create(
            endpoint=endpoint,
            message_id=message_id,
            event_type=event_type,
            payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
            next_attempt_at=now,
        )
        for endpoint in WebhookEndpoint.objects.filter(is_active=True)
        if endpoint.wants(event_type)
    ]
    if deliveries:
        tenant_id = require_tenant_id()
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: _enqueue(tenant_id, ids))
    return deliveries


def _enqueue(tenant_id: int, delivery_ids: list[int], countdown: float = 0) -> None:
    from .tasks import deliver_webhook

    for delivery_id in delivery_ids:
        deliver_webhook.apply_async(args=[tenant_id, delivery_id], countdown=countdown)


def signed_request(delivery: WebhookDelivery) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    now = timezone.now()
    signature = Webhook(str(delivery.endpoint.secret)).sign(delivery.message_id, now, body)
    return body, {
        "Content-Type": "application/json",
        "User-Agent": "retailsite-webhooks/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # a redirect could point anywhere (SSRF)
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def webhook_delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """One attempt: POST, record the outcome, and return the delivery (None if it is not due any more)."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("endpoint")
            .filter(pk=delivery_id, status__in=(WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING))
            .first()
        )
        if delivery is None:
            return None  # delivered, given up, or another worker is on it
        status_code, error = _post(delivery)
        delivery.attempts += 1
        delivery.last_status_code, delivery.last_error = status_code, error
        now = timezone.now()
        if status_code is not None and 200 <= status_code < 300:
            delivery.status, delivery.delivered_at = WebhookDelivery.Status.SUCCEEDED, now
        elif delivery.attempts >= MAX_ATTEMPTS or not delivery.endpoint.is_active:
            delivery.status = WebhookDelivery.Status.FAILED
        else:
            delivery.status = WebhookDelivery.Status.RETRYING
            delay = backoff_seconds(delivery.attempts)
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            tenant_id = delivery.tenant_id
            transaction.on_commit(lambda: _enqueue(tenant_id, [delivery_id], countdown=delay))
        delivery.save()
    return delivery


def backoff_seconds(attempts: int) -> float:
    from django.conf import settings

    scale = float(getattr(settings, "WEBHOOKS_BACKOFF_SCALE", 1.0))  # tests shrink the waits
    return BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1] * scale


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    try:
        webhook_url_check(delivery.endpoint.url)
    except UnsafeWebhookUrl as error:
        return None, str(error)
    body, headers = signed_request(delivery)
    request = urllib.request.Request(delivery.endpoint.url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return None, f"{type(error).__name__}: {error}"[:500]


def due_deliveries() -> list[tuple[int, int]]:
    """(tenant id, delivery id) of deliveries whose attempt is due (the sweep re-queues them)."""
    due = WebhookDelivery.all_objects.filter(
        status__in=(WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING),
        next_attempt_at__lte=timezone.now() - timedelta(seconds=60),
    )
    return list(due.values_list("tenant_id", "pk")[:1000])
