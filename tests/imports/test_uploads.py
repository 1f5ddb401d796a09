"""Uploads: partners (POST /api/v1/imports/) and staff (admin) upload CSV files run by the one importer in a
task, with progress, the importer's file:line: column errors naming the uploaded file, and nothing written
on error."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from imports.models import ImportJob
from imports.services import PROGRESS_KEY
from retailsite.commerce.models import Order, Product
from retailsite.safe_cache import cache_get
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Role
from tests.api.conftest import issue_key, key_client
from tests.factories import MembershipFactory, TenantFactory

pytestmark = pytest.mark.django_db

PRODUCTS = b"product_id,name,price\nP1,Kettle,20.00\nP2,Mug,5.00\n"
CUSTOMERS = b"customer_id\nC1\n"
BAD_ORDERS = b"order_id,customer_id,product_id,quantity,ordered_at\nO1,C1,P1,1,2024-05-01\nO2,C1,P2,1,last tuesday\n"


@pytest.fixture
def store():  # type: ignore[no-untyped-def]
    return TenantFactory(slug="alpha")


def test_a_partner_upload_is_imported_in_the_background_with_progress(
    store, django_capture_on_commit_callbacks
) -> None:
    api = key_client(issue_key(store, scopes=["imports:write", "imports:read"]))
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/imports/",
            {"products": SimpleUploadedFile("my catalog.csv", PRODUCTS, "text/csv")},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    assert response.json()["files"] == {"products": "my_catalog.csv"}
    job = api.get(f"/api/v1/imports/{response.json()['id']}/").json()
    assert job["status"] == "succeeded" and job["errors"] == []
    assert any("products" in line for line in job["summary"])
    with tenant_context(store):
        assert sorted(Product.objects.values_list("external_id", flat=True)) == ["P1", "P2"]
    assert cache_get(PROGRESS_KEY.format(job_id=job["id"]))["phase"]  # progress was published while it ran


def test_a_bad_upload_lists_file_line_column_and_writes_nothing(store, django_capture_on_commit_callbacks) -> None:
    api = key_client(issue_key(store, scopes=["imports:write", "imports:read"]))
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/imports/",
            {
                "products": SimpleUploadedFile("products.csv", PRODUCTS),
                "customers": SimpleUploadedFile("customers.csv", CUSTOMERS),
                "orders": SimpleUploadedFile("orders-may.csv", BAD_ORDERS),
            },
            format="multipart",
        )
    job = api.get(f"/api/v1/imports/{response.json()['id']}/").json()
    assert job["status"] == "failed" and job["error_total"] == 1
    assert job["errors"][0].startswith("orders-may.csv:3: ordered_at: "), job["errors"]
    with tenant_context(store):
        assert not Product.objects.exists() and not Order.objects.exists()  # nothing from any file


def test_uploads_refuse_unknown_kinds_and_need_the_scope(store) -> None:
    api = key_client(issue_key(store, scopes=["imports:write"]))
    response = api.post("/api/v1/imports/", {"pets": SimpleUploadedFile("pets.csv", b"x\n")}, format="multipart")
    assert response.status_code == 400 and "pets" in response.json()["error"]["fields"]
    assert api.post("/api/v1/imports/", {}, format="multipart").status_code == 400
    reader = key_client(issue_key(store, scopes=["catalog:write"]))
    assert reader.post("/api/v1/imports/", {}, format="multipart").status_code == 403
    with tenant_context(store):
        assert not ImportJob.objects.exists()


def test_staff_upload_in_the_admin(store, django_capture_on_commit_callbacks) -> None:
    client = Client()
    client.force_login(MembershipFactory(tenant=store, role=Role.MANAGER).user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/imports/importjob/add/", {"products": SimpleUploadedFile("catalog.csv", PRODUCTS)}, follow=True
        )
    assert response.redirect_chain and "queued" in response.content.decode()
    with tenant_context(store):
        job = ImportJob.objects.get()
    page = client.get(f"/admin/imports/importjob/{job.pk}/change/").content.decode()  # after the task ran
    assert "Succeeded" in page and "products: catalog.csv" in page
    with tenant_context(store):
        job.refresh_from_db()
        assert job.status == "succeeded" and job.requested_by
        assert Product.objects.count() == 2
