"""Inventory endpoints of the partner API, under /api/v1/inventory/ (URLs in inventory/api_urls.py).

- GET  plan/                     the active reorder plan's lines, paginated, with the plan's summary (inventory:read)
- GET  stock/                    every product's stock, paginated (inventory:read)
- POST stock/bulk/               create or replace the stock of up to 1,000 products, all or nothing (inventory:write)
- GET, PUT, PATCH stock/<product_id>/   one product's stock (inventory:read / inventory:write)

The views subclass the API app's TenantApiView (credential -> store, scope_map, throttling, the JSON error shape)
and stay thin: selectors read, `inventory.services.stock_items_write` writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from retailsite.api.pagination import CappedLimitOffsetPagination, SyncListPagination
from retailsite.api.scopes import Scope
from retailsite.api.serializers import BulkUpsertOutputSerializer
from retailsite.api.views.base import TenantApiView, TenantListApiView, found
from retailsite.commerce.models import Product
from retailsite.commerce.services import UpsertResult
from retailsite.errors import InvalidInput

from . import selectors
from .serializers import (
    PlanFilterSerializer,
    PlanLineOutputSerializer,
    PlanSummarySerializer,
    StockBulkInputSerializer,
    StockInputSerializer,
    StockOutputSerializer,
)
from .services import STOCK_FIELDS, stock_items_write

TAG = "inventory"
WRITABLE_FIELDS: tuple[str, ...] = (*STOCK_FIELDS, "supplier")


PLAN_SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The plan the lines belong to: id, status, created_at, activated_at, forecast_run, frequency, "
    "review_period_days, budget, warehouse_capacity, free_volume, order_value, order_volume, "
    "n_products, n_to_order, solver_status, solver_message, simulation (plan vs naive rule).",
    "required": ["id", "status"],
    "properties": {"id": {"type": "integer"}, "status": {"type": "string"}},
}


class PlanLinePagination(CappedLimitOffsetPagination):
    """The usual envelope plus `plan`: the summary of the plan the lines belong to."""

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        envelope = super().get_paginated_response_schema(schema)
        envelope["properties"]["plan"] = PLAN_SUMMARY_SCHEMA
        return envelope


class ReorderPlanApi(TenantListApiView):
    scope_map = {"GET": Scope.INVENTORY_READ}
    pagination_class = PlanLinePagination

    @extend_schema(
        tags=[TAG],
        summary="The active reorder plan: one line per product",
        parameters=[PlanFilterSerializer],
        responses=PlanLineOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.validated_query(PlanFilterSerializer)
        plan = selectors.active_plan()
        if plan is None:
            raise NotFound(
                "This store has no active reorder plan yet; it is computed after each forecast run "
                "(or with manage.py train --only inventory)."
            )
        response = self.paginated(
            selectors.plan_lines(plan, to_order_only=filters["to_order"]), PlanLineOutputSerializer
        )
        response.data["plan"] = PlanSummarySerializer(plan).data
        return response


class StockListApi(TenantListApiView):
    scope_map = {"GET": Scope.INVENTORY_READ}
    pagination_class = SyncListPagination  # ?updated_after= / ?cursor= (retailsite/api/sync.py)

    @extend_schema(tags=[TAG], summary="List the stock of every product", responses=StockOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.stock_item_list(), request, view=self) or []
        in_transit = selectors.in_transit_by_product(item.product_id for item in page)
        data = StockOutputSerializer(
            page, many=True, context={**self.get_serializer_context(), "in_transit": in_transit}
        ).data
        return paginator.get_paginated_response(data)


def _stock_output(view: TenantApiView, product: Product, *, status: int = 200) -> Response:
    item = selectors.stock_item_get(product_id=product.external_id)
    context = {**view.get_serializer_context(), "in_transit": selectors.in_transit_by_product([product.pk])}
    return Response(StockOutputSerializer(item, context=context).data, status=status)


class StockDetailApi(TenantApiView):
    scope_map = {
        "GET": Scope.INVENTORY_READ,
        "HEAD": Scope.INVENTORY_READ,
        "PUT": Scope.INVENTORY_WRITE,
        "PATCH": Scope.INVENTORY_WRITE,
    }

    @extend_schema(tags=[TAG], summary="Get a product's stock", responses=StockOutputSerializer)
    def get(self, request: Request, product_id: str) -> Response:
        item = found(selectors.stock_item_get(product_id=product_id), "stock for product", product_id)
        return _stock_output(self, item.product)

    @extend_schema(
        tags=[TAG],
        summary="Create or replace a product's stock",
        request=StockInputSerializer,
        responses={200: StockOutputSerializer, 201: StockOutputSerializer},
    )
    def put(self, request: Request, product_id: str) -> Response:
        product = found(Product.objects.filter(external_id=product_id).first(), "product", product_id)
        data = self.validated(StockInputSerializer, request.data)
        result = stock_items_write([{**data, "product_id": product.pk}], fields=WRITABLE_FIELDS)
        return _stock_output(self, product, status=201 if result.created else 200)

    @extend_schema(
        tags=[TAG],
        summary="Change some fields of a product's stock",
        request=StockInputSerializer,
        responses=StockOutputSerializer,
    )
    def patch(self, request: Request, product_id: str) -> Response:
        item = found(selectors.stock_item_get(product_id=product_id), "stock for product", product_id)
        data = self.validated(StockInputSerializer, request.data, partial=True)
        fields = [name for name in WRITABLE_FIELDS if name in data]
        if fields:
            stock_items_write([{**data, "product_id": item.product_id}], fields=fields)
        return _stock_output(self, item.product)


def _products_by_external_id(items: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """external id -> pk for the items' products; unknown or repeated ids are a 400 naming the items."""
    wanted = [item["product_id"] for item in items]
    known = dict(Product.objects.filter(external_id__in=set(wanted)).values_list("external_id", "pk"))
    errors: dict[str, list[str]] = {}
    first_seen: dict[str, int] = {}
    for index, external_id in enumerate(wanted):
        earlier = first_seen.setdefault(external_id, index)
        if external_id not in known:
            errors[f"items[{index}].product_id"] = [f"No product with id {external_id!r} in this store."]
        elif earlier != index:
            errors[f"items[{index}].product_id"] = [f"{external_id!r} already appears at items[{earlier}]."]
    if errors:
        raise InvalidInput(errors)
    return known


class StockBulkUpsertApi(TenantApiView):
    scope_map = {"POST": Scope.INVENTORY_WRITE}

    @extend_schema(
        tags=[TAG],
        summary="Create or replace the stock of up to 1,000 products (all or nothing)",
        request=StockBulkInputSerializer,
        responses=BulkUpsertOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        items = self.validated(StockBulkInputSerializer, request.data)["items"]
        products = _products_by_external_id(items)
        rows = [
            {**{k: v for k, v in item.items() if k != "product_id"}, "product_id": products[item["product_id"]]}
            for item in items
        ]
        result = stock_items_write(rows, fields=WRITABLE_FIELDS)
        external = {pk: external_id for external_id, pk in products.items()}
        return self.output(
            BulkUpsertOutputSerializer,
            UpsertResult(
                created=[external[pk] for pk in result.created], updated=[external[pk] for pk in result.updated]
            ),
        )
