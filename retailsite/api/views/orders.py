"""Orders with their lines: list, create, read, replace, change, delete, bulk upsert (orders:read / orders:write)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from retailsite.commerce import selectors, services

from ..pagination import SyncListPagination
from ..permissions import read_write
from ..serializers import (
    BulkUpsertOutputSerializer,
    OrderBulkInputSerializer,
    OrderInputSerializer,
    OrderListFilterSerializer,
    OrderOutputSerializer,
    OrderUpdateInputSerializer,
)
from .base import TenantApiView, TenantListApiView, found

TAG = "orders"


class OrderListApi(TenantListApiView):
    scope_map = read_write("orders")
    pagination_class = SyncListPagination  # ?updated_after= / ?cursor= (retailsite/api/sync.py)

    @extend_schema(
        tags=[TAG],
        summary="List orders",
        parameters=[OrderListFilterSerializer],
        responses=OrderOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.validated_query(OrderListFilterSerializer)
        return self.paginated(selectors.order_list(**filters), OrderOutputSerializer)

    @extend_schema(
        tags=[TAG],
        summary="Create an order with its lines",
        request=OrderInputSerializer,
        responses={201: OrderOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.validated(OrderInputSerializer, request.data)
        order = services.order_create(data=data)
        return self.output(OrderOutputSerializer, order, status=status.HTTP_201_CREATED)


class OrderDetailApi(TenantApiView):
    scope_map = read_write("orders")

    @extend_schema(tags=[TAG], summary="Get an order", responses=OrderOutputSerializer)
    def get(self, request: Request, order_id: str) -> Response:
        order = found(selectors.order_get_by_external_id(order_id), "order", order_id)
        return self.output(OrderOutputSerializer, order)

    @extend_schema(
        tags=[TAG],
        summary="Replace an order and its lines",
        request=OrderUpdateInputSerializer,
        responses=OrderOutputSerializer,
    )
    def put(self, request: Request, order_id: str) -> Response:
        order = found(selectors.order_get_by_external_id(order_id), "order", order_id)
        data = self.validated(OrderUpdateInputSerializer, request.data)
        return self.output(OrderOutputSerializer, services.order_update(order=order, data=data))

    @extend_schema(
        tags=[TAG],
        summary="Change some fields of an order (lines, if given, replace the lines)",
        request=OrderUpdateInputSerializer,
        responses=OrderOutputSerializer,
    )
    def patch(self, request: Request, order_id: str) -> Response:
        order = found(selectors.order_get_by_external_id(order_id), "order", order_id)
        data = self.validated(OrderUpdateInputSerializer, request.data, partial=True)
        return self.output(OrderOutputSerializer, services.order_update(order=order, data=data))

    @extend_schema(
        tags=[TAG], summary="Delete an order and its lines", responses={204: OpenApiResponse(description="Deleted.")}
    )
    def delete(self, request: Request, order_id: str) -> Response:
        order = found(selectors.order_get_by_external_id(order_id), "order", order_id)
        services.order_delete(order=order)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrderBulkUpsertApi(TenantApiView):
    scope_map = {"POST": "orders:write"}

    @extend_schema(
        tags=[TAG],
        summary="Create or replace up to 1,000 orders with their lines (all or nothing)",
        request=OrderBulkInputSerializer,
        responses=BulkUpsertOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        data = self.validated(OrderBulkInputSerializer, request.data)
        result = services.order_bulk_upsert(items=data["items"])
        return self.output(BulkUpsertOutputSerializer, result)
