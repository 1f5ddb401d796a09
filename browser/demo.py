"""The demo store's publishable key, for the widget demo page served by the demo itself (/widget-demo/<slug>/)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .models import PublishableKey
from .services import publishable_key_create

if TYPE_CHECKING:
    from retailsite.tenancy.models import Tenant

DEMO_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000"]


def demo_publishable_key() -> PublishableKey:
    existing = PublishableKey.objects.filter(is_active=True, name="demo widget").first()
    return existing or publishable_key_create(name="demo widget", allowed_origins=DEMO_ORIGINS)


def demo_widget_step(*, tenant: Tenant, seed: int) -> list[str]:
    """seed_demo's step (registered in apps.py): the key the widget demo page uses."""
    return [f"widget demo: /widget-demo/{tenant.slug}/ (publishable key {demo_publishable_key().key})"]
