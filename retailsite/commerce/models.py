"""A store's customers, catalog, orders, behavioural events and who follows whom.

Every model is tenant-owned: `tenant_id` first in every unique constraint and index.
Personal fields of Customer are kept together so the privacy layer can encrypt them.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from retailsite.privacy.crypto import blind_index
from retailsite.privacy.fields import EncryptedTextField
from retailsite.tenancy.models import TenantOwnedModel


class Gender(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    OTHER = "X", "Other"
    UNKNOWN = "", "Unknown"


class Customer(TenantOwnedModel):
    external_id = models.CharField(max_length=100)
    # Personal data, encrypted at rest; e-mail look-ups go through the keyed hash `email_hash`.
    email = EncryptedTextField(blank=True)
    email_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    name = EncryptedTextField(blank=True)
    phone = EncryptedTextField(blank=True)
    address = EncryptedTextField(blank=True)
    # Storefront sign-in (shoppers are customers of one store, separate from staff users).
    password = models.CharField(max_length=128, blank=True, default="", editable=False)
    # Demographics used for segment fallbacks and per-group fairness figures.
    birth_year = models.PositiveSmallIntegerField(null=True, blank=True)
    gender = models.CharField(max_length=1, choices=Gender.choices, blank=True, default="")
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    signed_up_at = models.DateTimeField(null=True, blank=True)
    personalization_consent = models.BooleanField(default=True)
    marketing_consent = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Kept by the database on every write that changes the row, whatever the path (ORM, importer, raw SQL):
    # the incremental sync's `updated_after` and its cursor (retailsite/api/sync.py).
    updated_at = models.DateTimeField(auto_now=True)
    change_seq = models.BigIntegerField(default=0, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "external_id"], name="customer_tenant_external_uniq"),
        ]
        indexes = [
            models.Index(fields=["tenant", "email_hash"], name="customer_tenant_emailhash_idx"),
            models.Index(fields=["tenant", "change_seq", "id"], name="customer_tenant_sync_idx"),
        ]

    def __str__(self) -> str:
        return self.external_id

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The blind index must always match the e-mail it indexes, whoever writes the row.
        self.email_hash = blind_index(self.email or "")
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "email" in update_fields:
            kwargs["update_fields"] = {*update_fields, "email_hash"}
        super().save(*args, **kwargs)


class Category(TenantOwnedModel):
    """A node of the category tree; `path` is the full name, e.g. 'Home > Kitchen'."""

    name = models.CharField(max_length=200)
    path = models.CharField(max_length=1000)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["tenant", "path"], name="category_tenant_path_uniq")]

    def __str__(self) -> str:
        return self.path


class Product(TenantOwnedModel):
    external_id = models.CharField(max_length=100, verbose_name="product id / SKU")
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    brand = models.CharField(max_length=200, blank=True)
    tags = models.JSONField(default=list, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Kept by the database on every write that changes the row, whatever the path (ORM, importer, raw SQL):
    # the incremental sync's `updated_after` and its cursor (retailsite/api/sync.py).
    updated_at = models.DateTimeField(auto_now=True)
    change_seq = models.BigIntegerField(default=0, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "external_id"], name="product_tenant_external_uniq"),
        ]
        indexes = [
            models.Index(fields=["tenant", "category", "active"], name="product_tenant_cat_idx"),
            models.Index(fields=["tenant", "change_seq", "id"], name="product_tenant_sync_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"


class Order(TenantOwnedModel):
    external_id = models.CharField(max_length=100)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    ordered_at = models.DateTimeField()
    channel = models.CharField(max_length=30, blank=True, default="")
    # Kept by the database on every write that changes the row, whatever the path (ORM, importer, raw SQL):
    # the incremental sync's `updated_after` and its cursor (retailsite/api/sync.py).
    updated_at = models.DateTimeField(auto_now=True)
    change_seq = models.BigIntegerField(default=0, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "external_id"], name="order_tenant_external_uniq"),
        ]
        indexes = [
            models.Index(fields=["tenant", "ordered_at"], name="order_tenant_time_idx"),
            models.Index(fields=["tenant", "change_seq", "id"], name="order_tenant_sync_idx"),
            models.Index(fields=["tenant", "customer", "ordered_at"], name="order_tenant_cust_idx"),
        ]

    def __str__(self) -> str:
        return self.external_id


class OrderLine(TenantOwnedModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "order", "product"], name="orderline_tenant_order_product_uniq"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="orderline_quantity_positive"),
        ]
        indexes = [models.Index(fields=["tenant", "product"], name="orderline_tenant_product_idx")]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.product_id} x{self.quantity}"


class EventType(models.TextChoices):
    VIEW = "view", "View"
    CART = "cart", "Add to cart"
    WISHLIST = "wishlist", "Wishlist"
    PURCHASE = "purchase", "Purchase"
    RATING = "rating", "Rating"


class Event(TenantOwnedModel):
    """A behavioural signal by a known customer or an anonymous session."""

    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    session_id = models.CharField(max_length=100, blank=True, default="")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="events")
    event_type = models.CharField(max_length=10, choices=EventType.choices)
    value = models.FloatField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    # Identity of the event for idempotent imports and API retries (hash of its content or
    # the caller's idempotency key); a second copy is ignored.
    dedupe_key = models.CharField(max_length=64)
    recommendation_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "dedupe_key"], name="event_tenant_dedupe_uniq"),
            models.CheckConstraint(
                condition=~models.Q(customer__isnull=True, session_id=""), name="event_has_customer_or_session"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "occurred_at"], name="event_tenant_time_idx"),
            models.Index(fields=["tenant", "customer", "occurred_at"], name="event_tenant_cust_idx"),
            models.Index(fields=["tenant", "session_id", "occurred_at"], name="event_tenant_session_idx"),
        ]

    def __str__(self) -> str:
        who = self.customer_id or self.session_id
        return f"{who} {self.event_type} {self.product_id}"


class Follow(TenantOwnedModel):
    """Customer `follower` follows `followee` (the social graph, directed)."""

    follower = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="following")
    followee = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "follower", "followee"], name="follow_tenant_pair_uniq"),
            models.CheckConstraint(condition=~models.Q(follower=models.F("followee")), name="follow_not_self"),
        ]
        indexes = [models.Index(fields=["tenant", "followee"], name="follow_tenant_followee_idx")]

    def __str__(self) -> str:
        return f"{self.follower_id} -> {self.followee_id}"
