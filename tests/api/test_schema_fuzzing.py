"""Schema-driven fuzzing: every operation of the published OpenAPI schema, hit with generated
valid and invalid requests through the WSGI app in-process, must never answer 5xx and must
answer only documented status codes, content types and body shapes (the error shape included).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from retailsite.tenancy.models import Tenant
from retailsite.wsgi import application
from tests.api.conftest import issue_key
from tests.factories import CustomerFactory, OrderLineFactory, ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def wsgi_app() -> Iterator[Any]:
    """The project's WSGI app, with Django's per-request connection closing switched off (as the
    test client does), so requests run inside the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_key(store_a: Tenant) -> str:
    # A little data, so that some generated ids ("P1", "C1", ...) and filters hit real rows.
    product = ProductFactory(tenant=store_a, external_id="P1", price=Decimal("3.50"), tags=["a"])
    customer = CustomerFactory(tenant=store_a, external_id="C1")
    OrderLineFactory(tenant=store_a, product=product, order__customer=customer, order__external_id="O1")
    return issue_key(store_a)


def published_schema() -> dict:
    """The schema /api/v1/schema/ serves (same generator), built without a request or database."""
    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(published_schema())


@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_its_schema(case: schemathesis.Case, wsgi_app: Any, fuzz_key: str) -> None:
    case.call_and_validate(app=wsgi_app, headers={"Authorization": f"Bearer {fuzz_key}"}, checks=CHECKS)
