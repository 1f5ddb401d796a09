"""Partner API for recommendations (scope recommendations:read): for a customer, for many
customers at once, similar items, frequently bought together, trending, and re-ranking a list.

Every response carries a `recommendation_id` (it encodes the model version, so events that cite
it are attributed to that version) and every item its score and a reason a person can read.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from retailsite.api.scopes import Scope
from retailsite.api.views.base import TenantApiView, found
from retailsite.commerce.models import Customer, Product
from retailsite.commerce.selectors import customer_get_by_external_id, product_get_by_external_id

from . import serving
from .serving import Filters, ServedList

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
        category_id = serving.category_id_for_path(data["category"].strip())
        if category_id is None:
            raise ValidationError({"category": [f"No category {data['category']!r} in this store."]})
    exclude_ids: frozenset[int] = frozenset()
    if data.get("exclude"):
        wanted = [part.strip() for part in data["exclude"].split(",") if part.strip()]
        exclude_ids = serving.product_ids_for_external_ids(wanted)
    return Filters(
        k=data["k"],
        category_id=category_id,
        min_price=data.get("min_price"),
        max_price=data.get("max_price"),
        exclude_product_ids=exclude_ids,
        include_purchased=data.get("include_purchased"),
        max_per_category=data.get("max_per_category"),
    )


_CENT = Decimal("0.01")


def _list_output(served: ServedList) -> dict[str, Any]:
    """ListOutputSerializer's output, built directly: this is the hottest response of the API."""
    return {
        "recommendation_id": served.recommendation_id,
        "model_version": served.model_version_id,
        "surface": served.surface,
        "items": [
            {
                "product_id": item.external_id,
                "name": item.name,
                "price": format(item.price.quantize(_CENT), "f"),
                "category": item.category_path,
                "score": float(item.score),
                "reason": item.reason,
                "reason_kind": item.reason_kind,
            }
            for item in served.items
        ],
    }


def _for_customer(customer: Customer, filters: Filters) -> ServedList:
    # Without personalization consent the customer gets non-personalized results.
    return serving.recommend_for_customer(
        customer_id=customer.id, filters=filters, personalized=customer.personalization_consent
    )


_SIMPLE_K = re.compile(r"[0-9]{1,3}")
_SIMPLE_PRICE = re.compile(r"[0-9]{1,10}(\.[0-9]{1,2})?")


def _simple_filter_input(params: dict[str, str]) -> dict[str, Any] | None:
    """FilterInputSerializer's result for the common plain forms (k and a price range), without building
    the serializer; None for anything else, which the serializer then validates (and explains)."""
    if not params.keys() <= {"k", "min_price", "max_price"}:
        return None
    data: dict[str, Any] = {"k": 10, "include_purchased": None, "max_per_category": None}
    if "k" in params:
        if not _SIMPLE_K.fullmatch(params["k"]) or not 1 <= int(params["k"]) <= serving.MAX_K:
            return None
        data["k"] = int(params["k"])
    for name in ("min_price", "max_price"):
        if name in params:
            if not _SIMPLE_PRICE.fullmatch(params[name]):
                return None
            data[name] = Decimal(params[name]).quantize(_CENT)
    if "min_price" in data and "max_price" in data and data["min_price"] > data["max_price"]:
        return None
    return data


class CustomerRecommendationsApi(TenantApiView):
    scope_map = {"GET": Scope.RECOMMENDATIONS_READ}

    @extend_schema(
        tags=[TAG],
        summary="Recommendations for a customer",
        parameters=[FilterInputSerializer],
        responses=ListOutputSerializer,
    )
    def get(self, request: Request, customer_id: str) -> Response:
        params = request.query_params.dict()
        data = _simple_filter_input(params)
        filters = _filters(data if data is not None else self.validated_query(FilterInputSerializer))
        served = serving.recommend_for_customer_external_id(external_id=customer_id, filters=filters)
        return Response(_list_output(found(served, "customer", customer_id)))


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
        filters = _filters(data)
        wanted = list(dict.fromkeys(data["customer_ids"]))
        customers = {c.external_id: c for c in Customer.objects.filter(external_id__in=wanted)}
        unknown = [cid for cid in wanted if cid not in customers]
        if unknown:
            raise ValidationError({"customer_ids": [f"Unknown customer ids: {', '.join(unknown[:20])}"]})
        results = []
        for customer_id in wanted:
            served = _for_customer(customers[customer_id], filters)
            results.append({**ListOutputSerializer(served).data, "customer_id": customer_id})
        return Response({"results": results})


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
        product = found(product_get_by_external_id(product_id), "product", product_id)
        return self.output(ListOutputSerializer, serving.similar_items(product_id=product.id, filters=filters))


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
        product = found(product_get_by_external_id(product_id), "product", product_id)
        return self.output(ListOutputSerializer, serving.bought_together(product_id=product.id, filters=filters))


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
        customer = None
        if data.get("customer_id"):
            customer = found(customer_get_by_external_id(data["customer_id"]), "customer", data["customer_id"])
        wanted = list(dict.fromkeys(data["product_ids"]))
        ids = dict(Product.objects.filter(external_id__in=wanted).values_list("external_id", "id"))
        unknown = [pid for pid in wanted if pid not in ids]
        if unknown:
            raise ValidationError({"product_ids": [f"Unknown product ids: {', '.join(unknown[:20])}"]})
        personalized = customer is not None and customer.personalization_consent
        served = serving.rerank(
            customer_id=customer.id if personalized else None,
            product_ids=[ids[pid] for pid in wanted],
            session_id=data["session_id"] if customer is None else "",
        )
        return self.output(ListOutputSerializer, served)
