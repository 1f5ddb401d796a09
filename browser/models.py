"""Publishable keys: public credentials for a partner's web pages, bound to the origins allowed to use them.

A publishable key can do two things, for the visitor of the page only: write that visitor's behavioural
events (views, add-to-carts, clicks on recommended items) and read recommendations for that visitor. It
is public by design (it sits in the page's HTML), so it is stored as is; what protects it is the origin
binding (CORS and an Origin check on every request) and the rate limits per key and per visitor.
"""

from __future__ import annotations

from django.db import models

from retailsite.tenancy.models import TenantOwnedModel


class PublishableKey(TenantOwnedModel):
    key = models.CharField(max_length=40, unique=True, editable=False)
    name = models.CharField(max_length=100)
    allowed_origins = models.JSONField(
        default=list, help_text="scheme://host[:port] of every site that may use the key, e.g. https://shop.example.com"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"
