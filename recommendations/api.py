"""Partner API for recommendations (scope recommendations:read): for a customer, for many
customers at once, similar items, frequently bought together, trending, and re-ranking a list.

Every response carries a `recommendation_id` (it encodes the model version, so events that cite
it are attributed to that version) and every item its score and a reason a person can read.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from retailsite.api.scopes import Scope
from retailsite.api.views.base import TenantApiView, found
from retailsite.commerce.catalog_snapshot import category_id_for_path, product_ids_for_external_ids

from . import serving
from .serving import Filters

TAG = "recommendations"
MAX_BATCH_CUSTOMERS = 100
MAX_RERANK_ITEMS = 500


class FilterInputSerializer(serializers.Serializer):
    k = serializers.IntegerField(min_value=1, max_value=serving.MAX_K, default=10)
    category = serializers.CharField(
        required=False,
        max_length=1000,
        help_text='a category path, e.g. "Home > Kitchen" (its sub-categories included)',
    )
    min_price = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, min_value=0)
    max_price = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, min_value=0)
    exclude = serializers.CharField(required=False, max_length=10_000, help_text="comma-separated product ids")
    include_purchased = serializers.BooleanField(required=False, allow_null=True, default=None)
    max_per_category = serializers.IntegerField(
        required=False, min_value=0, max_value=100, allow_null=True, default=None
    )
    diversity = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        required=False,
        min_value=0,
        max_value=1,
        default=Decimal("0"),
        help_text="0 = in rank order; up to 1 = more variety (MMR: each item weighed against those above it)",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and low > high:
            raise ValidationError({"max_price": ["max_price must be at least min_price."]})
        return attrs


class ItemOutputSerializer(serializers.Serializer):
    product_id = serializers.CharField(source="external_id")
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    category = serializers.CharField(source="category_path")
    score = serializers.FloatField()
    reason = serializers.CharField()
    reason_kind = serializers.CharField()


class ListOutputSerializer(serializers.Serializer):
    recommendation_id = serializers.CharField()
    model_version = serializers.IntegerField(source="model_version_id", allow_null=True)
    surface = serializers.CharField()
    items = ItemOutputSerializer(many=True)


class BatchInputSerializer(FilterInputSerializer):
    customer_ids = serializers.ListField(
        child=serializers.CharField(max_length=100), min_length=1, max_length=MAX_BATCH_CUSTOMERS
    )


class BatchItemOutputSerializer(ListOutputSerializer):
    customer_id = serializers.CharField()


class BatchOutputSerializer(serializers.Serializer):
    results = BatchItemOutputSerializer(many=True)


class RerankInputSerializer(serializers.Serializer):
    customer_id = serializers.CharField(required=False, max_length=100)
    session_id = serializers.CharField(required=False, max_length=100, default="")
    product_ids = serializers.ListField(
        child=serializers.CharField(max_length=100), min_length=1, max_length=MAX_RERANK_ITEMS
    )


def _filters(data: dict[str, Any]) -> Filters:
    category_id = None
    if data.get("category"):
        category_id = category_id_for_path(data["category"].strip())
        if category_id is None:
            raise ValidationError({"category": [f"No category {data['category']!r} in this store."]})
    exclude_ids: frozenset[int] = frozenset()
    if data.get("exclude"):
        wanted = [part.strip() for part in data["exclude"].split(",") if part.strip()]
        exclude_ids = product_ids_for_external_ids(wanted)
    return Filters(
        k=data["k"],
        category_id=category_id,
        min_price=data.get("min_price"),
        max_price=data.get("max_price"),
        exclude_product_ids=exclude_ids,
        include_purchased=data.get("include_purchased"),
        max_per_category=data.get("max_per_category"),
        diversity=float(data.get("diversity") or 0),
    )


class CustomerRecommendationsApi(TenantApiView):
    scope_map = {"GET": Scope.RECOMMENDATIONS_READ}

    @extend_schema(
        tags=[TAG],
        summary="Recommendations for a customer",
        parameters=[FilterInputSerializer],
        responses=ListOutputSerializer,
    )
    def get(self, request: Request, customer_id: str) -> Response:
        filters = _filters(self.validated_query(FilterInputSerializer))
        served = serving.recommend_for_customer_external_id(external_id=customer_id, filters=filters)
        return self.output(ListOutputSerializer, found(served, "customer", customer_id))


class BatchRecommendationsApi(TenantApiView):
    scope_map = {"POST": Scope.RECOMMENDATIONS_READ}

    @extend_schema(
        tags=[TAG],
        summary=f"Recommendations for up to {MAX_BATCH_CUSTOMERS} customers",
        request=BatchInputSerializer,
        responses=BatchOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        data = self.validated(BatchInputSerializer, request.data)
        result = serving.recommend_for_customers_external_ids(external_ids=data["customer_ids"], filters=_filters(data))
        if result.unknown:
            raise ValidationError({"customer_ids": [f"Unknown customer ids: {', '.join(result.unknown[:20])}"]})
        results = [{"customer_id": customer_id, **vars(served)} for customer_id, served in result.served]
        return self.output(BatchOutputSerializer, {"results": results})


class SimilarItemsApi(TenantApiView):
    scope_map = {"GET": Scope.RECOMMENDATIONS_READ}

    @extend_schema(
        tags=[TAG],
        summary="Items similar to a product",
        parameters=[FilterInputSerializer],
        responses=ListOutputSerializer,
    )
    def get(self, request: Request, product_id: str) -> Response:
        filters = _filters(self.validated_query(FilterInputSerializer))
        served = serving.similar_items_external_id(external_id=product_id, filters=filters)
        return self.output(ListOutputSerializer, found(served, "product", product_id))


class BoughtTogetherApi(TenantApiView):
    scope_map = {"GET": Scope.RECOMMENDATIONS_READ}

    @extend_schema(
        tags=[TAG],
        summary="Frequently bought together with a product",
        parameters=[FilterInputSerializer],
        responses=ListOutputSerializer,
    )
    def get(self, request: Request, product_id: str) -> Response:
        filters = _filters(self.validated_query(FilterInputSerializer))
        served = serving.bought_together_external_id(external_id=product_id, filters=filters)
        return self.output(ListOutputSerializer, found(served, "product", product_id))


class TrendingApi(TenantApiView):
    scope_map = {"GET": Scope.RECOMMENDATIONS_READ}

    @extend_schema(
        tags=[TAG],
        summary="Trending products (optionally in a category)",
        parameters=[FilterInputSerializer],
        responses=ListOutputSerializer,
    )
    def get(self, request: Request) -> Response:
        filters = _filters(self.validated_query(FilterInputSerializer))
        return self.output(ListOutputSerializer, serving.trending(filters=filters))


class RerankApi(TenantApiView):
    scope_map = {"POST": Scope.RECOMMENDATIONS_READ}

    @extend_schema(
        tags=[TAG],
        summary="Order the caller's list of products for a shopper",
        request=RerankInputSerializer,
        responses=ListOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        data = self.validated(RerankInputSerializer, request.data)
        customer_id = data.get("customer_id") or None
        # Without personalization consent the customer's list is ordered by popularity only.
        result = serving.rerank_external_ids(
            product_external_ids=data["product_ids"], customer_external_id=customer_id, session_id=data["session_id"]
        )
        if result.unknown_customer:
            found(None, "customer", customer_id or "")  # raises the 404 every look-up by id answers
        if result.unknown_products:
            raise ValidationError({"product_ids": [f"Unknown product ids: {', '.join(result.unknown_products[:20])}"]})
        return self.output(ListOutputSerializer, result.served)
