"""URLs of the partner API, mounted at /api/ (`path("api/", include("retailsite.api.urls"))`).

Version 1 lives under /api/v1/. Objects are addressed by their external ids, which may
not contain "/". Anything else under /api/ gets a JSON 404, never an HTML page.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

# Registers the API-key security scheme with drf-spectacular where the schema is served (and loaded by anything
# that generates it from these URLs), not at start-up: drf-spectacular costs every manage.py command half a second.
from . import schema  # noqa: F401
from .exceptions import not_found
from .views.catalog import ProductBulkUpsertApi, ProductDetailApi, ProductListApi
from .views.customers import CustomerBulkUpsertApi, CustomerDetailApi, CustomerExportApi, CustomerListApi
from .views.events import EventBatchApi, EventCreateApi
from .views.meta import WhoAmIApi
from .views.orders import OrderBulkUpsertApi, OrderDetailApi, OrderListApi

app_name = "api"

# Endpoints of other apps plug in here: each app keeps its own urls module whose views
# subclass retailsite.api.views.base.TenantApiView (credential -> tenant, scope_map, throttling,
# the JSON error shape). Uncomment / add one line per app:
#   path("", include("recommendations.api_urls")),  # /api/v1/recommendations/...  recommendations:read
#   path("", include("forecasting.api_urls")),      # /api/v1/forecasts/...        forecasts:read
#   path("", include("inventory.api_urls")),        # /api/v1/inventory/...        inventory:read / :write
# New detail routes (with an id in the path) are picked up by the cross-tenant (BOLA) test
# in tests/api/test_isolation.py, which fails until it knows how to create such an object.
V1_EXTENSIONS: list[URLPattern | URLResolver] = [
    path("", include("recommendations.api_urls")),
    path("", include("inventory.api_urls")),
    path("", include("forecasting.api_urls")),
    path("", include("experiments.api_urls")),  # /api/v1/experiments/...  experiments:read / :write
    path("", include("imports.api_urls")),  # /api/v1/imports/...  imports:read / :write
]

v1_patterns: list[URLPattern | URLResolver] = [
    path("whoami/", WhoAmIApi.as_view(), name="whoami"),
    path("products/", ProductListApi.as_view(), name="product-list"),
    path("products/bulk/", ProductBulkUpsertApi.as_view(), name="product-bulk"),
    path("products/<str:product_id>/", ProductDetailApi.as_view(), name="product-detail"),
    path("customers/", CustomerListApi.as_view(), name="customer-list"),
    path("customers/bulk/", CustomerBulkUpsertApi.as_view(), name="customer-bulk"),
    path("customers/<str:customer_id>/", CustomerDetailApi.as_view(), name="customer-detail"),
    path("customers/<str:customer_id>/export/", CustomerExportApi.as_view(), name="customer-export"),
    path("orders/", OrderListApi.as_view(), name="order-list"),
    path("orders/bulk/", OrderBulkUpsertApi.as_view(), name="order-bulk"),
    path("orders/<str:order_id>/", OrderDetailApi.as_view(), name="order-detail"),
    path("events/", EventCreateApi.as_view(), name="event-create"),
    path("events/batch/", EventBatchApi.as_view(), name="event-batch"),
    *V1_EXTENSIONS,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:v1:schema"), name="docs"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("v1/", include((v1_patterns, "v1"))),
    re_path(r"^.*$", not_found, name="not-found"),
]
