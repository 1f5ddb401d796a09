"""Customers and their personal data: list, create, read, replace, change, delete, bulk upsert, export.

Reads need customers:read and writes customers:write — scopes granted only for personal data. The
data-subject export (a zip) also needs, for a staff session, the export capability (managers and owners).
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from retailsite.commerce import selectors, services
from retailsite.commerce.models import Customer
from retailsite.privacy.services import audit_record_read, audit_record_reads, customer_export_zip
from retailsite.tenancy.models import Membership
from retailsite.tenancy.permissions import Capability, membership_can

from ..pagination import SyncListPagination
from ..permissions import read_write
from ..scopes import Scope
from ..serializers import (
    BulkUpsertOutputSerializer,
    CustomerBulkInputSerializer,
    CustomerInputSerializer,
    CustomerOutputSerializer,
    CustomerUpdateInputSerializer,
)
from .base import TenantApiView, TenantListApiView, found

TAG = "customers"


class CustomerListApi(TenantListApiView):
    scope_map = read_write("customers")
    pagination_class = SyncListPagination  # ?updated_after= / ?cursor= (retailsite/api/sync.py)

    @extend_schema(tags=[TAG], summary="List customers", responses=CustomerOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.customer_list(), request, view=self) or []
        # A page of customers is a read of each one's personal data: one audit entry per customer shown,
        # as for the detail route and the admin's customer list.
        audit_record_reads(object_type=Customer, object_ids=[customer.pk for customer in page])
        data = CustomerOutputSerializer(page, many=True, context=self.get_serializer_context()).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        tags=[TAG],
        summary="Create a customer",
        request=CustomerInputSerializer,
        responses={201: CustomerOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.validated(CustomerInputSerializer, request.data)
        customer = services.customer_create(data=data)
        return self.output(CustomerOutputSerializer, customer, status=status.HTTP_201_CREATED)


class CustomerDetailApi(TenantApiView):
    scope_map = read_write("customers")

    @extend_schema(tags=[TAG], summary="Get a customer", responses=CustomerOutputSerializer)
    def get(self, request: Request, customer_id: str) -> Response:
        customer = found(selectors.customer_get_by_external_id(customer_id), "customer", customer_id)
        audit_record_read(object_type=Customer, object_id=customer.pk)
        return self.output(CustomerOutputSerializer, customer)

    @extend_schema(
        tags=[TAG],
        summary="Replace a customer",
        request=CustomerUpdateInputSerializer,
        responses=CustomerOutputSerializer,
    )
    def put(self, request: Request, customer_id: str) -> Response:
        customer = found(selectors.customer_get_by_external_id(customer_id), "customer", customer_id)
        data = self.validated(CustomerUpdateInputSerializer, request.data)
        return self.output(CustomerOutputSerializer, services.customer_update(customer=customer, data=data))

    @extend_schema(
        tags=[TAG],
        summary="Change some fields of a customer",
        request=CustomerUpdateInputSerializer,
        responses=CustomerOutputSerializer,
    )
    def patch(self, request: Request, customer_id: str) -> Response:
        customer = found(selectors.customer_get_by_external_id(customer_id), "customer", customer_id)
        data = self.validated(CustomerUpdateInputSerializer, request.data, partial=True)
        return self.output(CustomerOutputSerializer, services.customer_update(customer=customer, data=data))

    @extend_schema(
        tags=[TAG],
        summary="Delete a customer (their orders are kept without a customer)",
        responses={204: OpenApiResponse(description="Deleted.")},
    )
    def delete(self, request: Request, customer_id: str) -> Response:
        customer = found(selectors.customer_get_by_external_id(customer_id), "customer", customer_id)
        services.customer_delete(customer=customer)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomerBulkUpsertApi(TenantApiView):
    scope_map = {"POST": "customers:write"}

    @extend_schema(
        tags=[TAG],
        summary="Create or replace up to 1,000 customers (all or nothing)",
        request=CustomerBulkInputSerializer,
        responses=BulkUpsertOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        data = self.validated(CustomerBulkInputSerializer, request.data)
        result = services.customer_bulk_upsert(items=data["items"])
        return self.output(BulkUpsertOutputSerializer, result)


class CustomerExportApi(TenantApiView):
    """GET /api/v1/customers/<customer_id>/export/: everything held about a customer (data-subject export)."""

    scope_map = {"GET": Scope.CUSTOMERS_READ}

    @extend_schema(
        tags=[TAG],
        summary="Export everything held about a customer (zip: JSON and CSVs)",
        responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The export.")},
    )
    def get(self, request: Request, customer_id: str) -> HttpResponse:
        user = self.principal.user
        if user is not None and not getattr(user, "is_superuser", False):
            membership = Membership.objects.filter(user=user).first()  # the store of this request
            if not membership_can(membership, Capability.EXPORT_PERSONAL_DATA):
                raise PermissionDenied("Your role may not export personal data.")
        customer = found(selectors.customer_get_by_external_id(customer_id), "customer", customer_id)
        response = HttpResponse(customer_export_zip(customer), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.zip"'
        response["Cache-Control"] = "no-store"
        return response
