"""A store's customers, catalog, orders, behavioural events and who follows whom.

Every model is tenant-owned: `tenant_id` first in every unique constraint and index.
Personal fields of Customer are kept together so the privacy layer can encrypt them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.indexes import GinIndex, GistIndex, OpClass
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F

from domain.events import EVENT_CART, EVENT_PURCHASE, EVENT_RATING, EVENT_VIEW, EVENT_WISHLIST
from retailsite.encryption.crypto import blind_index
from retailsite.encryption.fields import EncryptedTextField
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


# What a customer record holds besides its id, named as every writer names it: the services set these
# (retailsite/commerce/services.py) and customers.csv has them as its optional columns (importers/kinds/customers.py).
CUSTOMER_FIELDS = (
    "email",
    "name",
    "phone",
    "address",
    "birth_year",
    "gender",
    "city",
    "country",
    "signed_up_at",
    "personalization_consent",
    "marketing_consent",
)


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
    # The full-text document (name A; brand and category path B; description C) in the store's search language.
    # A database trigger writes it on every insert and on changes of those fields, whoever writes the row (the
    # importer's COPY, the API, admin); a category rename and a change of the store's `search_language` rewrite
    # it too (see retailsite/commerce/search.py).
    search_document = SearchVectorField(null=True, editable=False)
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
            GinIndex(fields=["tenant", "search_document"], name="product_tenant_search_idx"),  # btree_gin
            # btree_gist; nearest names by trigram distance (search typos)
            GistIndex(F("tenant_id"), OpClass(F("name"), name="gist_trgm_ops"), name="product_tenant_name_trgm_idx"),
            models.Index(fields=["tenant", "change_seq", "id"], name="product_tenant_sync_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"


# The same for a product (`category` is a category path, resolved to a row by whoever writes it): the services
# set these, products.csv has them as columns (`name` required, the others optional).
PRODUCT_FIELDS = ("name", "description", "category", "brand", "tags", "price", "cost", "active")


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
    """domain.events.EVENT_TYPES as model choices (a test holds the two lists equal)."""

    VIEW = EVENT_VIEW, "View"
    CART = EVENT_CART, "Add to cart"
    WISHLIST = EVENT_WISHLIST, "Wishlist"
    PURCHASE = EVENT_PURCHASE, "Purchase"
    RATING = EVENT_RATING, "Rating"


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
            # A shopper's (or a session's) latest events by time. Every column a page reads of them is in the index,
            # so that read is index-only where the visibility map allows, not tens of scattered table pages
            # (recommendations.serving.candidates.recent_events_sql).
            models.Index(
                fields=["tenant", "customer", "occurred_at"],
                include=["event_type", "product", "id"],
                name="event_cust_recent_idx",
            ),
            # A shopper's latest event (the storefront's activity stamp, read on every page) in one index descent,
            # however long their history: through the index above it read every event of theirs.
            models.Index(fields=["tenant", "customer", "id"], name="event_tenant_cust_id_idx"),
            models.Index(
                fields=["tenant", "session_id", "occurred_at"],
                include=["event_type", "product", "id"],
                name="event_session_recent_idx",
            ),
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


class SyncDeletion(TenantOwnedModel):
    """A customer, product, order or stock item that left the store, as the partner sync feed lists it: the
    external id, the kind and when — nothing else, so an erased customer's entry holds no personal data but the id
    partners need to delete their copy. Written by database triggers on every path that deletes a row or changes
    its external id (erasure replaces it with a pseudonym), with a stamp of the same sequence as the rows' changes
    (retailsite/api/sync.py); purged after the store's `sync_deletion_retention_days`."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer"
        PRODUCT = "product"
        ORDER = "order"
        STOCK = "stock"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    external_id = models.CharField(max_length=100)
    deleted_at = models.DateTimeField()
    change_seq = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "kind", "change_seq"], name="syncdeletion_tenant_feed_idx"),
            models.Index(fields=["tenant", "deleted_at"], name="syncdeletion_tenant_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.external_id} deleted"
