"""Versioned recommendation models and the lists they precompute for serving.

A training run writes a new `ModelVersion` with its lists, then activates it in one
transaction (or keeps it as rejected, with the reason). Serving reads only the active
version's lists, so a crash mid-training leaves the previous version serving.
"""

from __future__ import annotations

from django.db import models

from retailsite.commerce.models import Customer, Product
from retailsite.tenancy.models import TenantOwnedModel


class ModelVersion(TenantOwnedModel):
    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        ACTIVE = "active", "Active"
        REJECTED = "rejected", "Rejected"
        RETIRED = "retired", "Retired"
        FAILED = "failed", "Failed"

    number = models.PositiveIntegerField(default=0, editable=False, help_text="per store: 1, 2, 3, …")
    algorithm = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    data_cutoff = models.DateTimeField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="offline evaluation on a time-based split")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.TRAINING)
    status_reason = models.TextField(blank=True)
    n_customers = models.PositiveIntegerField(default=0)
    n_products = models.PositiveIntegerField(default=0)
    n_interactions = models.PositiveBigIntegerField(default=0)
    fit_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(status="active"), name="modelversion_one_active_per_tenant"
            ),
            models.UniqueConstraint(fields=["tenant", "number"], name="modelversion_number_per_tenant"),
        ]
        indexes = [models.Index(fields=["tenant", "status", "-created_at"], name="modelversion_tenant_status_idx")]

    def __str__(self) -> str:
        return f"v{self.number} {self.algorithm} ({self.status})"

    @property
    def ndcg_at_10(self) -> float | None:
        value = self.metrics.get("ndcg@10")
        return float(value) if value is not None else None


class CustomerRecommendations(TenantOwnedModel):
    """A customer's precomputed top-N from one model version.

    `items` holds parallel lists: p (product ids), s (scores), k (reason kinds), a (anchor
    product ids or null), c (category ids or null) — compact.
    """

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    items = models.JSONField(default=dict)

    class Meta:
        verbose_name_plural = "customer recommendations"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "model_version", "customer"], name="custrec_tenant_ver_cust_uniq")
        ]


class ProductNeighbours(TenantOwnedModel):
    """A product's similar items and frequently-bought-together items from one model version."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    similar = models.JSONField(default=dict)
    bought_together = models.JSONField(default=dict)

    class Meta:
        verbose_name_plural = "product neighbours"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "model_version", "product"], name="prodnb_tenant_ver_prod_uniq")
        ]


class RankedList(TenantOwnedModel):
    """Non-personal lists of a version: popular, trending, per category and per customer segment."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=120)  # "popular", "trending", "category:<id>", "segment:<key>"
    items = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "model_version", "key"], name="rankedlist_tenant_ver_key_uniq")
        ]
