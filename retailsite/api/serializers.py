"""Request and response shapes of the partner API (no business logic here).

Input serializers validate types, lengths and ranges, reusing the CSV importer's cell
parsers and bounds so a value the importer refuses is refused here too. Services check
what needs the database (unknown ids, duplicates). Objects are named by their external id
(`product_id`, `customer_id`, `order_id`); database keys and the tenant never appear, and
input serializers list their fields explicitly, so a request cannot set `tenant`, `id` or
`created_at` (mass assignment).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Model
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from retailsite.commerce.importers.fields import (
    MAX_ABS_EVENT_VALUE,
    MAX_QUANTITY,
    MIN_BIRTH_YEAR,
    FieldError,
    column_max_length,
    parse_datetime,
    parse_text,
)
from retailsite.commerce.importers.kinds.customers import parse_country, parse_email, parse_gender
from retailsite.commerce.importers.kinds.products import MAX_TAG_LENGTH, parse_category_path
from retailsite.commerce.models import Customer, EventType, Order, Product

MAX_BATCH_ITEMS = 1000
MAX_DESCRIPTION_LENGTH = 20_000
_SURROGATE = re.compile("[\ud800-\udfff]")
# Events dated further ahead than this (clock skew) are refused.
_FUTURE_TOLERANCE = timedelta(days=1)


# Personal fields are stored encrypted (unbounded text columns); these are the API's limits.
PERSONAL_FIELD_LIMITS = {"email": 254, "name": 200, "phone": 50, "address": 500}


def _max_length(model: type[Model], field: str) -> int:
    return column_max_length(model, field, PERSONAL_FIELD_LIMITS.get(field))


# -- fields ----------------------------------------------------------------------------------


class PlainTextField(serializers.CharField):
    """Trimmed text without control characters or lone surrogates (neither can be stored)."""

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        if _SURROGATE.search(text):
            raise serializers.ValidationError("contains an invalid character (a lone UTF-16 surrogate)")
        try:
            return parse_text(text, max_length=None)
        except FieldError as error:
            raise serializers.ValidationError(str(error)) from None


class ParsedTextField(PlainTextField):
    """Text checked and normalized by one of the importer's cell parsers."""

    def __init__(self, *, parse: Any, **kwargs: Any) -> None:
        self.parse = parse
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        text = super().to_internal_value(data)
        try:
            return self.parse(text)
        except FieldError as error:
            raise serializers.ValidationError(str(error)) from None


class StoreDateTimeField(serializers.DateTimeField):
    """ISO 8601 date or date-time; without an offset it is in the store's time zone (as in the importer)."""

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601, e.g. 2024-03-31T14:05:00+02:00")
        if _SURROGATE.search(value):
            raise serializers.ValidationError("contains an invalid character (a lone UTF-16 surrogate)")
        zone = self.context.get("tenant_zone") or UTC
        try:
            return parse_datetime(value, default_zone=zone)
        except FieldError as error:
            raise serializers.ValidationError(str(error)) from None


class BoundedFloatField(serializers.FloatField):
    """A finite number no larger in size than the importer accepts."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=-MAX_ABS_EVENT_VALUE, max_value=MAX_ABS_EVENT_VALUE, **kwargs)

    def to_internal_value(self, data: Any) -> float:
        try:
            number = super().to_internal_value(data)
        except OverflowError:
            self.fail("invalid")
        if not math.isfinite(number):
            self.fail("invalid")
        return number


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), **kwargs)


# -- products --------------------------------------------------------------------------------


class ProductInputSerializer(serializers.Serializer):
    """A product as a partner sends it. PUT and bulk upsert replace every field (omitted ones take the default)."""

    product_id = PlainTextField(source="external_id", max_length=_max_length(Product, "external_id"))
    name = PlainTextField(max_length=_max_length(Product, "name"))
    description = PlainTextField(max_length=MAX_DESCRIPTION_LENGTH, allow_blank=True, default="")
    category = ParsedTextField(
        parse=parse_category_path,
        allow_null=True,
        allow_blank=True,
        default=None,
        help_text="Category path such as 'Home > Kitchen'; missing levels are created.",
    )
    brand = PlainTextField(max_length=_max_length(Product, "brand"), allow_blank=True, default="")
    tags = serializers.ListField(child=PlainTextField(max_length=MAX_TAG_LENGTH), max_length=100, default=list)
    price = _money(default=Decimal("0"))
    cost = _money(allow_null=True, default=None)
    active = serializers.BooleanField(default=True)

    class Meta:
        ref_name = "ProductInput"

    def validate_category(self, value: list[str] | str | None) -> list[str]:
        return value if isinstance(value, list) else []  # blank or null: no category

    def validate_tags(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class ProductUpdateInputSerializer(ProductInputSerializer):
    """The product_id is the address (URL) of the product and is never changed by an update."""

    product_id = None  # type: ignore[assignment]  # the URL names the row

    class Meta:
        ref_name = "ProductUpdateInput"


class ProductOutputSerializer(serializers.Serializer):
    product_id = serializers.CharField(source="external_id")
    name = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField(source="category.path", allow_null=True)
    brand = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    cost = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(help_text="last change, whatever wrote it (see incremental sync)")

    class Meta:
        ref_name = "Product"


class ProductBulkInputSerializer(serializers.Serializer):
    items = ProductInputSerializer(many=True, allow_empty=False, max_length=MAX_BATCH_ITEMS)  # type: ignore[call-arg]

    class Meta:
        ref_name = "ProductBulkInput"


class ProductListFilterSerializer(serializers.Serializer):
    active = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Only active (true) or inactive (false) products."
    )
    category = PlainTextField(
        required=False, max_length=1000, help_text="A category path; products in it and in its sub-categories."
    )

    class Meta:
        ref_name = "ProductListFilter"


# -- customers -------------------------------------------------------------------------------


class CustomerInputSerializer(serializers.Serializer):
    """A customer with personal data (needs customers:write). PUT and bulk upsert replace every field."""

    customer_id = PlainTextField(source="external_id", max_length=_max_length(Customer, "external_id"))
    email = ParsedTextField(parse=parse_email, max_length=_max_length(Customer, "email"), allow_blank=True, default="")
    name = PlainTextField(max_length=_max_length(Customer, "name"), allow_blank=True, default="")
    phone = PlainTextField(max_length=_max_length(Customer, "phone"), allow_blank=True, default="")
    address = PlainTextField(max_length=_max_length(Customer, "address"), allow_blank=True, default="")
    birth_year = serializers.IntegerField(min_value=MIN_BIRTH_YEAR, allow_null=True, default=None)
    gender = ParsedTextField(
        parse=parse_gender,
        max_length=20,
        allow_blank=True,
        default="",
        help_text="F, M, X or empty (also female/male/other).",
    )
    city = PlainTextField(max_length=_max_length(Customer, "city"), allow_blank=True, default="")
    country = ParsedTextField(
        parse=parse_country,
        max_length=2,
        allow_blank=True,
        default="",
        help_text="Two-letter ISO 3166 code such as FR.",
    )
    signed_up_at = StoreDateTimeField(allow_null=True, default=None)
    personalization_consent = serializers.BooleanField(default=True)
    marketing_consent = serializers.BooleanField(default=False)

    class Meta:
        ref_name = "CustomerInput"

    def validate_birth_year(self, value: int | None) -> int | None:
        if value is not None and value > date.today().year:
            raise serializers.ValidationError(f"birth year {value} is in the future")
        return value


class CustomerUpdateInputSerializer(CustomerInputSerializer):
    customer_id = None  # type: ignore[assignment]  # the URL names the row

    class Meta:
        ref_name = "CustomerUpdateInput"


class CustomerOutputSerializer(serializers.Serializer):
    customer_id = serializers.CharField(source="external_id")
    email = serializers.CharField()
    name = serializers.CharField()
    phone = serializers.CharField()
    address = serializers.CharField()
    birth_year = serializers.IntegerField(allow_null=True)
    gender = serializers.CharField()
    city = serializers.CharField()
    country = serializers.CharField()
    signed_up_at = serializers.DateTimeField(allow_null=True)
    personalization_consent = serializers.BooleanField()
    marketing_consent = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(help_text="last change, whatever wrote it (see incremental sync)")

    class Meta:
        ref_name = "Customer"


class CustomerBulkInputSerializer(serializers.Serializer):
    items = CustomerInputSerializer(many=True, allow_empty=False, max_length=MAX_BATCH_ITEMS)  # type: ignore[call-arg]

    class Meta:
        ref_name = "CustomerBulkInput"


# -- orders ----------------------------------------------------------------------------------


class OrderLineInputSerializer(serializers.Serializer):
    product_id = PlainTextField(source="product_external_id", max_length=_max_length(Product, "external_id"))
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    unit_price = _money(
        required=False,
        allow_null=True,
        help_text="Defaults to the line's current price, or the product's price for a new line.",
    )

    class Meta:
        ref_name = "OrderLineInput"


class OrderInputSerializer(serializers.Serializer):
    """An order with all its lines. PUT and bulk upsert replace the lines; PATCH replaces them only if given."""

    order_id = PlainTextField(source="external_id", max_length=_max_length(Order, "external_id"))
    customer_id = PlainTextField(
        source="customer_external_id",
        max_length=_max_length(Customer, "external_id"),
        allow_null=True,
        allow_blank=True,
        default=None,
        help_text="The buyer's customer_id; null for a guest order.",
    )
    ordered_at = StoreDateTimeField()
    channel = PlainTextField(max_length=_max_length(Order, "channel"), allow_blank=True, default="")
    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=MAX_BATCH_ITEMS)  # type: ignore[call-arg]

    class Meta:
        ref_name = "OrderInput"


class OrderUpdateInputSerializer(OrderInputSerializer):
    order_id = None  # type: ignore[assignment]  # the URL names the row

    class Meta:
        ref_name = "OrderUpdateInput"


class OrderLineOutputSerializer(serializers.Serializer):
    product_id = serializers.CharField(source="product.external_id")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ref_name = "OrderLine"


class OrderOutputSerializer(serializers.Serializer):
    order_id = serializers.CharField(source="external_id")
    customer_id = serializers.CharField(source="customer.external_id", allow_null=True)
    ordered_at = serializers.DateTimeField()
    channel = serializers.CharField()
    lines = OrderLineOutputSerializer(many=True, source="lines.all")
    total = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField(help_text="last change of the order or its lines (see incremental sync)")

    class Meta:
        ref_name = "Order"

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2))
    def get_total(self, order: Order) -> str:
        total = sum((line.quantity * line.unit_price for line in order.lines.all()), Decimal("0"))
        return f"{total:.2f}"


class OrderBulkInputSerializer(serializers.Serializer):
    items = OrderInputSerializer(many=True, allow_empty=False, max_length=MAX_BATCH_ITEMS)  # type: ignore[call-arg]

    class Meta:
        ref_name = "OrderBulkInput"


class OrderListFilterSerializer(serializers.Serializer):
    customer_id = PlainTextField(required=False, max_length=_max_length(Customer, "external_id"))
    ordered_after = StoreDateTimeField(required=False, help_text="Orders at or after this time.")
    ordered_before = StoreDateTimeField(required=False, help_text="Orders before this time.")

    class Meta:
        ref_name = "OrderListFilter"


# -- bulk results ----------------------------------------------------------------------------


class BulkUpsertOutputSerializer(serializers.Serializer):
    created = serializers.ListField(child=serializers.CharField(), help_text="External ids of the new objects.")
    updated = serializers.ListField(child=serializers.CharField(), help_text="External ids of the replaced objects.")

    class Meta:
        ref_name = "BulkUpsertResult"


# -- events ----------------------------------------------------------------------------------


class EventInputSerializer(serializers.Serializer):
    event_id = PlainTextField(
        required=False, max_length=200, help_text="Your id for this event: sending it again never stores it twice."
    )
    customer_id = PlainTextField(
        source="customer_external_id",
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=_max_length(Customer, "external_id"),
    )
    session_id = PlainTextField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="An anonymous visitor's session; needed when there is no customer_id.",
    )
    product_id = PlainTextField(source="product_external_id", max_length=_max_length(Product, "external_id"))
    event_type = serializers.ChoiceField(choices=EventType.choices)
    value = BoundedFloatField(required=False, allow_null=True, help_text="The rating for a rating event.")
    occurred_at = StoreDateTimeField(required=False, allow_null=True, help_text="Defaults to the time received.")
    recommendation_id = PlainTextField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="The recommendation_id of the list the shopper acted on, if any.",
    )

    class Meta:
        ref_name = "EventInput"

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("customer_external_id") and not attrs.get("session_id"):
            raise serializers.ValidationError({"customer_id": ["An event needs a customer_id or a session_id."]})
        if attrs["event_type"] == EventType.RATING and attrs.get("value") is None:
            raise serializers.ValidationError({"value": ["A rating event needs a numeric value."]})
        if attrs.get("occurred_at") is not None and attrs["occurred_at"] > timezone.now() + _FUTURE_TOLERANCE:
            raise serializers.ValidationError({"occurred_at": ["The event is dated in the future."]})
        return attrs


class EventBatchInputSerializer(serializers.Serializer):
    events = EventInputSerializer(many=True, allow_empty=False, max_length=MAX_BATCH_ITEMS)  # type: ignore[call-arg]

    class Meta:
        ref_name = "EventBatchInput"


class EventIngestOutputSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    created = serializers.IntegerField(help_text="Events stored by this call.")
    duplicates = serializers.IntegerField(help_text="Events already stored (a retry), not stored again.")

    class Meta:
        ref_name = "EventIngestResult"


# -- misc ------------------------------------------------------------------------------------


class WhoAmIOutputSerializer(serializers.Serializer):
    store = serializers.CharField(help_text="The store's slug.")
    store_name = serializers.CharField()
    credential = serializers.ChoiceField(choices=["api_key", "staff_session"])
    key_prefix = serializers.CharField(allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField())

    class Meta:
        ref_name = "WhoAmI"
