"""Products: list, create, read, replace, change, delete, bulk upsert (scopes catalog:read / catalog:write)."""

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
    ProductBulkInputSerializer,
    ProductInputSerializer,
    ProductListFilterSerializer,
    ProductOutputSerializer,
    ProductUpdateInputSerializer,
)
from .base import TenantApiView, TenantListApiView, found

TAG = "catalog"


class ProductListApi(TenantListApiView):
    scope_map = read_write("catalog")
    pagination_class = SyncListPagination  # ?updated_after= / ?cursor= (retailsite/api/sync.py)

    @extend_schema(
        tags=[TAG],
        summary="List products",
        parameters=[ProductListFilterSerializer],
        responses=ProductOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.validated_query(ProductListFilterSerializer)
        return self.paginated(selectors.product_list(**filters), ProductOutputSerializer)

    @extend_schema(
        tags=[TAG], summary="Create a product", request=ProductInputSerializer, responses={201: ProductOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        data = self.validated(ProductInputSerializer, request.data)
        product = services.product_create(data=data)
        return self.output(ProductOutputSerializer, product, status=status.HTTP_201_CREATED)


class ProductDetailApi(TenantApiView):
    scope_map = read_write("catalog")

    @extend_schema(tags=[TAG], summary="Get a product", responses=ProductOutputSerializer)
    def get(self, request: Request, product_id: str) -> Response:
        product = found(selectors.product_get_by_external_id(product_id), "product", product_id)
        return self.output(ProductOutputSerializer, product)

    @extend_schema(
        tags=[TAG], summary="Replace a product", request=ProductUpdateInputSerializer, responses=ProductOutputSerializer
    )
    def put(self, request: Request, product_id: str) -> Response:
        product = found(selectors.product_get_by_external_id(product_id), "product", product_id)
        data = self.validated(ProductUpdateInputSerializer, request.data)
        return self.output(ProductOutputSerializer, services.product_update(product=product, data=data))

    @extend_schema(
        tags=[TAG],
        summary="Change some fields of a product",
        request=ProductUpdateInputSerializer,
        responses=ProductOutputSerializer,
    )
    def patch(self, request: Request, product_id: str) -> Response:
        product = found(selectors.product_get_by_external_id(product_id), "product", product_id)
        data = self.validated(ProductUpdateInputSerializer, request.data, partial=True)
        return self.output(ProductOutputSerializer, services.product_update(product=product, data=data))

    @extend_schema(
        tags=[TAG],
        summary="Delete a product (refused if it appears in orders)",
        responses={204: OpenApiResponse(description="Deleted.")},
    )
    def delete(self, request: Request, product_id: str) -> Response:
        product = found(selectors.product_get_by_external_id(product_id), "product", product_id)
        services.product_delete(product=product)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProductBulkUpsertApi(TenantApiView):
    scope_map = {"POST": "catalog:write"}

    @extend_schema(
        tags=[TAG],
        summary="Create or replace up to 1,000 products (all or nothing)",
        request=ProductBulkInputSerializer,
        responses=BulkUpsertOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        data = self.validated(ProductBulkInputSerializer, request.data)
        result = services.product_bulk_upsert(items=data["items"])
        return self.output(BulkUpsertOutputSerializer, result)
