"""Who may do what with personal data: owners and managers export, erase and read the audit log;
analysts and viewers do none of it; another store's staff never reach this store's customers.
Reads of personal data through the admin and the API are audited."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client

from retailsite.commerce.models import Customer
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.middleware import SESSION_TENANT_KEY
from retailsite.tenancy.models import Role
from tests.api.conftest import issue_key, key_client
from tests.factories import MembershipFactory

from .conftest import audit_entries, seal_audit_log
from .test_erasure import EMAIL, EXTERNAL_ID, Subject, build_subject

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/commerce/customer/"
PRIVILEGED = [Role.OWNER, Role.MANAGER]
UNPRIVILEGED = [Role.ANALYST, Role.VIEWER]


@pytest.fixture
def subject() -> Subject:
    return build_subject()


def staff_client(subject: Subject, role: str) -> Client:
    client = Client()
    membership = MembershipFactory(tenant=subject.tenant, role=role)
    client.force_login(membership.user)
    session = client.session
    session[SESSION_TENANT_KEY] = subject.tenant.pk
    session.save()
    return client


def post_action(client: Client, subject: Subject, action: str, **extra: str):
    return client.post(CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: [subject.customer.pk], **extra})


def customer_erased(subject: Subject) -> bool:
    with tenant_context(subject.tenant):
        return Customer.objects.get(pk=subject.customer.pk).external_id != EXTERNAL_ID


@pytest.mark.parametrize("role", PRIVILEGED)
def test_owner_and_manager_export_from_the_admin(subject: Subject, role: str) -> None:
    response = post_action(staff_client(subject, role), subject, "export_personal_data")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert json.loads(archive.read("customer.json"))["profile"]["email"] == EMAIL
    assert len(audit_entries(subject.tenant, action="export")) == 1


@pytest.mark.parametrize("role", PRIVILEGED)
def test_owner_and_manager_erase_after_confirming(subject: Subject, role: str) -> None:
    client = staff_client(subject, role)
    confirm = post_action(client, subject, "erase_personal_data")
    assert confirm.status_code == 200 and "Yes, erase 1 customer" in confirm.content.decode()
    assert not customer_erased(subject)
    assert post_action(client, subject, "erase_personal_data", confirm="yes").status_code == 302
    assert customer_erased(subject)


@pytest.mark.parametrize("role", UNPRIVILEGED)
def test_analyst_and_viewer_can_neither_export_nor_erase(subject: Subject, role: str) -> None:
    client = staff_client(subject, role)
    listing = client.get(CHANGELIST).content.decode()
    assert "export_personal_data" not in listing and "erase_personal_data" not in listing
    for action in ("export_personal_data", "erase_personal_data"):
        response = post_action(client, subject, action, confirm="yes")
        assert response.get("Content-Type", "") != "application/zip"
    assert not customer_erased(subject)
    assert audit_entries(subject.tenant, action="export") == []


@pytest.mark.parametrize(
    ("role", "allowed"), [(Role.OWNER, True), (Role.MANAGER, True), (Role.ANALYST, False), (Role.VIEWER, False)]
)
def test_only_owner_and_manager_read_the_audit_log(subject: Subject, role: str, allowed: bool) -> None:
    client = staff_client(subject, role)
    seal_audit_log()
    response = client.get("/admin/privacy/auditlogentry/")
    assert response.status_code == (200 if allowed else 403)
    index = client.get("/admin/").content.decode()
    assert ("/admin/privacy/auditlogentry/" in index) is allowed
    if allowed:
        assert "commerce_customer" in response.content.decode()


def test_the_audit_log_admin_is_read_only(subject: Subject) -> None:
    client = staff_client(subject, Role.OWNER)
    entry = audit_entries(subject.tenant)[0]
    page = client.get(f"/admin/privacy/auditlogentry/{entry.pk}/change/").content.decode()
    assert 'name="_save"' not in page and entry.actor in page
    assert client.get("/admin/privacy/auditlogentry/add/").status_code == 403
    assert client.post(f"/admin/privacy/auditlogentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403


def test_another_stores_owner_cannot_export_or_erase_this_stores_customer(subject: Subject) -> None:
    intruder = staff_client(build_subject(slug="other-store"), Role.OWNER)
    post_action(intruder, subject, "export_personal_data")
    post_action(intruder, subject, "erase_personal_data", confirm="yes")
    assert not customer_erased(subject)
    assert audit_entries(subject.tenant, action="export") == []


def test_the_admin_change_page_records_a_read_only_for_roles_that_see_personal_data(subject: Subject) -> None:
    url = f"{CHANGELIST}{subject.customer.pk}/change/"
    assert staff_client(subject, Role.ANALYST).get(url).status_code == 200
    assert audit_entries(subject.tenant, action="read") == []
    assert EMAIL in staff_client(subject, Role.MANAGER).get(url).content.decode()
    reads = audit_entries(subject.tenant, action="read")
    assert [(e.object_id, e.actor.split(":")[0]) for e in reads] == [(str(subject.customer.pk), "user")]


def test_the_api_customer_detail_records_a_read(subject: Subject) -> None:
    response = key_client(issue_key(subject.tenant, ["customers:read"])).get(f"/api/v1/customers/{EXTERNAL_ID}/")
    assert response.status_code == 200
    (entry,) = audit_entries(subject.tenant, action="read")
    assert entry.object_id == str(subject.customer.pk)


@pytest.mark.parametrize(
    ("role", "status"), [(Role.OWNER, 200), (Role.MANAGER, 200), (Role.ANALYST, 403), (Role.VIEWER, 403)]
)
def test_the_api_export_follows_the_staff_role(subject: Subject, role: str, status: int) -> None:
    response = staff_client(subject, role).get(f"/api/v1/customers/{EXTERNAL_ID}/export/")
    assert response.status_code == status


def test_the_api_customer_list_records_a_read_of_each_customer_shown(subject: Subject) -> None:
    api = key_client(issue_key(subject.tenant, ["customers:read"]))
    page = api.get("/api/v1/customers/", {"limit": 1})
    assert page.status_code == 200 and [c["email"] for c in page.json()["results"]] == [EMAIL]
    (entry,) = audit_entries(subject.tenant, action="read")
    assert entry.object_id == str(subject.customer.pk) and entry.actor.startswith("api_key:")
    assert entry.object_type == "commerce_customer"
    # The next page shows the other customer: one more entry, for that customer only.
    api.get("/api/v1/customers/", {"limit": 1, "offset": 1})
    reads = audit_entries(subject.tenant, action="read")
    assert [e.object_id for e in reads] == [str(subject.customer.pk), str(subject.friend.pk)]
    assert EMAIL not in str([(e.object_id, e.changed_fields, e.actor) for e in reads])


def test_a_staff_session_without_personal_data_rights_cannot_list_customers_through_the_api(subject: Subject) -> None:
    for role in UNPRIVILEGED:
        response = staff_client(subject, role).get("/api/v1/customers/")
        assert response.status_code == 403 and EMAIL not in response.content.decode()
    assert audit_entries(subject.tenant, action="read") == []
