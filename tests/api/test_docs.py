"""The OpenAPI schema and the browsable docs, served without any CDN."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_the_schema_documents_every_endpoint_its_security_and_errors() -> None:
    schema = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    for path in (
        "/api/v1/products/",
        "/api/v1/products/{product_id}/",
        "/api/v1/products/bulk/",
        "/api/v1/customers/{customer_id}/",
        "/api/v1/orders/bulk/",
        "/api/v1/events/batch/",
    ):
        assert path in paths
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    for operations in paths.values():
        for operation in operations.values():
            for code in ("400", "401", "403", "404", "429"):
                assert operation["responses"][code]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }
    listing = paths["/api/v1/products/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"limit", "offset", "category", "active"}


def test_the_docs_page_loads_its_assets_from_this_server() -> None:
    response = APIClient().get("/api/v1/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(not re.match(r"^(https?:)?//", asset) for asset in assets)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in assets
    # The files exist locally (drf-spectacular-sidecar), so staticfiles / whitenoise can serve them.
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
