"""Partner API: a customer's data-subject export, GET /api/v1/customers/<customer_id>/export/.

The export holds personal data, so it needs the customers:read scope; a staff session must also
hold the export capability (managers and owners). Another store's customer id is not found (404).
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request

from retailsite.api.scopes import Scope
from retailsite.api.selectors import customer_get
from retailsite.api.views.base import TenantApiView, found
from retailsite.tenancy.models import Membership
from retailsite.tenancy.permissions import Capability, membership_can

from .services import customer_export_zip


class CustomerExportApi(TenantApiView):
    scope_map = {"GET": Scope.CUSTOMERS_READ}

    @extend_schema(
        tags=["customers"],
        summary="Export everything held about a customer (zip: JSON and CSVs)",
        responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The export.")},
    )
    def get(self, request: Request, customer_id: str) -> HttpResponse:
        user = self.principal.user
        if user is not None and not getattr(user, "is_superuser", False):
            membership = Membership.objects.filter(user=user).first()  # the store of this request
            if not membership_can(membership, Capability.EXPORT_PERSONAL_DATA):
                raise PermissionDenied("Your role may not export personal data.")
        customer = found(customer_get(customer_id=customer_id), "customer", customer_id)
        response = HttpResponse(customer_export_zip(customer), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.zip"'
        response["Cache-Control"] = "no-store"
        return response
