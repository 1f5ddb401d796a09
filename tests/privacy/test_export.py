"""Data-subject export: one zip with everything held about the customer, from the service, the
admin and the API; every export is audited without personal values."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from rest_framework.test import APIClient

from retailsite.commerce.models import Order
from retailsite.privacy.services import customer_export_zip
from retailsite.tenancy.context import tenant_context
from tests.api.conftest import issue_key, key_client

from .conftest import audit_entries, raw
from .test_erasure import EMAIL, EXTERNAL_ID, NAME, build_subject

pytestmark = pytest.mark.django_db


def read_zip(payload: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_export_holds_profile_orders_events_follows_models_and_consent() -> None:
    subject = build_subject()
    files = read_zip(customer_export_zip(subject.customer))
    assert {
        "README.txt",
        "customer.json",
        "profile.csv",
        "orders.csv",
        "events.csv",
        "follows.csv",
        "recommendations.csv",
        "predictions.csv",
        "other.csv",
    } <= set(files)
    document = json.loads(files["customer.json"])
    assert document["profile"]["email"] == EMAIL and document["profile"]["name"] == NAME
    assert document["profile"]["external_id"] == EXTERNAL_ID
    assert document["consent"] == {"personalization_consent": True, "marketing_consent": True}
    (order,) = document["orders"]
    assert order["order_id"] == "ORD-1"
    assert sorted((line["product_id"], line["quantity"], line["unit_price"]) for line in order["lines"]) == [
        ("KETTLE", 1, "30.00"),
        ("MUG", 2, "6.50"),
    ]
    assert sorted(e["product_id"] for e in document["events"]) == ["KETTLE", "MUG"]  # not the friend's, not anonymous
    assert [f["customer_id"] for f in document["following"]] == ["FRIEND-1"]
    assert [f["customer_id"] for f in document["followers"]] == ["FRIEND-1"]
    assert [(r["rank"], r["product_id"]) for r in document["recommendations"]] == [(1, "MUG")]
    assert document["predictions"][0]["segment"] == "loyal"

    assert sorted((r["product_id"], r["quantity"]) for r in csv_rows(files["orders.csv"])) == [
        ("KETTLE", "1"),
        ("MUG", "2"),
    ]
    # F10: the anonymous event of the shopper's own browsing session, which erasure deletes as theirs, is exported.
    assert [e["product_id"] for e in document["session_events"]] == ["MUG"]
    assert sorted((r["product_id"], r["signed_in"]) for r in csv_rows(files["events.csv"])) == [
        ("KETTLE", "yes"),
        ("MUG", "no"),
        ("MUG", "yes"),
    ]
    assert sorted(r["direction"] for r in csv_rows(files["follows.csv"])) == ["follows you", "you follow"]
    assert csv_rows(files["profile.csv"])[0]["email"] == EMAIL


def test_an_export_is_audited_without_personal_values() -> None:
    subject = build_subject()
    customer_export_zip(subject.customer)
    (entry,) = audit_entries(subject.tenant, action="export")
    assert (entry.object_type, entry.object_id) == ("commerce_customer", str(subject.customer.pk))
    with tenant_context(subject.tenant):
        for needle in (EMAIL, NAME, EXTERNAL_ID):
            assert raw("SELECT count(*) FROM privacy_auditlogentry t WHERE t::text ILIKE %s", [f"%{needle}%"]) == [(0,)]


def test_the_api_exports_with_the_customers_read_scope() -> None:
    subject = build_subject()
    url = f"/api/v1/customers/{EXTERNAL_ID}/export/"
    response = key_client(issue_key(subject.tenant, ["customers:read"])).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert json.loads(read_zip(response.content)["customer.json"])["profile"]["email"] == EMAIL
    assert key_client(issue_key(subject.tenant, ["catalog:read"])).get(url).status_code == 403
    assert APIClient().get(url).status_code == 401
    assert (
        key_client(issue_key(subject.tenant, ["customers:read"])).get("/api/v1/customers/NOBODY/export/").status_code
        == 404
    )


def test_cells_that_a_spreadsheet_would_run_are_written_as_text() -> None:
    subject = build_subject()
    with tenant_context(subject.tenant):
        Order.objects.filter(customer=subject.customer).update(external_id="=1+2")
    with zipfile.ZipFile(io.BytesIO(customer_export_zip(subject.customer))) as archive:
        orders = archive.read("orders.csv").decode()
    assert "'=1+2" in orders and ",=1+2" not in orders and not orders.startswith("=1+2")
