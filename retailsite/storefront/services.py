"""Write-side storefront operations: recording what shoppers do, as behavioural events.

Events are buffered in Redis and written to PostgreSQL in batches (`event_buffer.py`: no commit on the request
path; the loss window is documented there), with the same identity (`dedupe_key`) the partner API and the importer
give an event. Nothing is recorded for a shopper without personalization consent.
"""

from __future__ import annotations

import re

from django.utils import timezone

from retailsite.commerce.models import EventType
from retailsite.commerce.services import RecordedEvent, event_identity

from .event_buffer import EVENTS
from .shopper import Shopper

# The shape serving gives recommendation ids ("v<version>-<16 hex>", or "v<version>-e<experiment><arm>-<16 hex>"
# under an online experiment); anything else is dropped.
RECOMMENDATION_ID_PATTERN = re.compile(r"^v\d{1,18}(-e\d{1,9}[a-z][a-z0-9_]{0,15})?-[0-9a-f]{16}$")


def clean_recommendation_id(raw: str | None) -> str:
    """The recommendation id from a link or form if it is well formed, else ''."""
    text = (raw or "").strip()
    return text if RECOMMENDATION_ID_PATTERN.fullmatch(text) else ""


def shopper_event_record(
    *, shopper: Shopper, product_id: int, product_external_id: str, event_type: EventType, recommendation_id: str = ""
) -> bool:
    """Record one event for the shopper (buffered; written at once if Redis is unavailable).

    Returns False (and records nothing) without consent.
    """
    if not shopper.personalized:
        return False
    occurred_at = timezone.now()
    customer = shopper.customer
    identity = {
        "customer_external_id": customer.external_id if customer else None,
        "session_id": shopper.visitor_id,
        "product_external_id": product_external_id,
        "event_type": str(event_type),
        "occurred_at": occurred_at,
    }
    event = RecordedEvent(
        tenant_id=shopper.tenant.pk,
        customer_id=customer.pk if customer else None,
        session_id=shopper.visitor_id or "",
        product_id=product_id,
        event_type=str(event_type),
        occurred_at=occurred_at.isoformat(),
        recommendation_id=clean_recommendation_id(recommendation_id),
        dedupe_key=event_identity(identity, idempotency_key=None, index=0),
    )
    EVENTS.record(event)
    return True
