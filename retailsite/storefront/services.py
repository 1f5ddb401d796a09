"""Write-side storefront operations: recording what shoppers do, as behavioural events.

Events go straight to PostgreSQL through the partner API's ingestion service (the same
dedupe and validation), so "because you viewed" changes on the very next page load. Nothing
is recorded for a shopper without personalization consent.
"""

from __future__ import annotations

import re

from django.utils import timezone

from retailsite.api.services import events_ingest
from retailsite.commerce.models import EventType, Product

from .shopper import Shopper

# The shape serving gives recommendation ids ("v<version>-<16 hex>", or "v<version>-e<experiment><arm>-<16 hex>"
# under an online experiment); anything else is dropped.
RECOMMENDATION_ID_PATTERN = re.compile(r"^v\d{1,18}(-e\d{1,9}[a-z][a-z0-9_]{0,15})?-[0-9a-f]{16}$")


def clean_recommendation_id(raw: str | None) -> str:
    """The recommendation id from a link or form if it is well formed, else ''."""
    text = (raw or "").strip()
    return text if RECOMMENDATION_ID_PATTERN.fullmatch(text) else ""


def shopper_event_record(
    *, shopper: Shopper, product: Product, event_type: EventType, recommendation_id: str = ""
) -> bool:
    """Store one event for the shopper now; returns False (and stores nothing) without consent."""
    if not shopper.personalized:
        return False
    events_ingest(
        events=[
            {
                "customer_external_id": shopper.customer.external_id if shopper.customer else None,
                "session_id": shopper.visitor_id,
                "product_external_id": product.external_id,
                "event_type": str(event_type),
                "occurred_at": timezone.now(),
                "recommendation_id": clean_recommendation_id(recommendation_id),
            }
        ],
        batch=False,
    )
    return True
