"""Consent: a customer without personalization consent contributes nothing to the next training, and withdrawing
it (privacy centre, API, admin) drops the lists precomputed for them and their cached results at once."""

from __future__ import annotations

import pytest
from django.test import Client

from forecasting.customer_predictions import load_customer_tables
from recommendations import serving
from recommendations.data_loading import load_training_data
from recommendations.engine.reasons import ReasonKind
from recommendations.models import CustomerRecommendations, ModelVersion
from retailsite.commerce.importers import import_store_data
from retailsite.commerce.models import Customer
from retailsite.privacy.services import customers_personalization_purge
from retailsite.safe_cache import cache_get
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Role
from tests.api.conftest import issue_key, key_client
from tests.factories import (
    CustomerFactory,
    CustomerRecommendationsFactory,
    EventFactory,
    MembershipFactory,
    ModelVersionFactory,
    OrderLineFactory,
    ProductFactory,
    TenantFactory,
)

from .test_erasure import EMAIL, EXTERNAL_ID, Subject, build_subject

pytestmark = pytest.mark.django_db


def test_an_opted_out_customers_events_are_absent_from_the_training_input() -> None:
    tenant = TenantFactory()
    kept, opted_out = CustomerFactory(tenant=tenant), CustomerFactory(tenant=tenant)
    products = [ProductFactory(tenant=tenant) for _ in range(3)]
    for product in products:
        EventFactory(tenant=tenant, customer=kept, product=product, event_type="view")
        EventFactory(tenant=tenant, customer=opted_out, product=product, event_type="cart")
    OrderLineFactory(tenant=tenant, order__customer=opted_out, product=products[0])
    with tenant_context(tenant):
        Customer.objects.filter(pk=opted_out.pk).update(personalization_consent=False)
        loaded = load_training_data(tenant)
    log = loaded.data.events
    assert loaded.customer_ids.tolist() == [kept.pk]
    assert len(log) == 3  # the three views of the consenting customer, nothing of the other
    assert set(loaded.customer_ids[log.users].tolist()) == {kept.pk}
    assert set(log.event_types.tolist()) == {"view"}


def test_an_opted_out_customers_orders_and_events_are_absent_from_the_customer_models_input() -> None:
    tenant = TenantFactory()
    kept, opted_out = CustomerFactory(tenant=tenant), CustomerFactory(tenant=tenant)
    product = ProductFactory(tenant=tenant)
    for who in (kept, opted_out):
        EventFactory(tenant=tenant, customer=who, product=product, event_type="view")
        OrderLineFactory(tenant=tenant, order__customer=who, product=product)
    with tenant_context(tenant):
        Customer.objects.filter(pk=opted_out.pk).update(personalization_consent=False)
        tables = load_customer_tables(tenant)
    for frame in (tables.orders, tables.events, tables.customers):
        ids = frame["customer_id"] if "customer_id" in frame.columns else frame.index  # customers: by id
        assert set(ids) == {kept.pk}


def test_withdrawing_consent_can_drop_precomputed_recommendations_at_once() -> None:
    tenant = TenantFactory()
    customer, other = CustomerFactory(tenant=tenant), CustomerFactory(tenant=tenant)
    version = ModelVersionFactory(tenant=tenant, algorithm="test", status=ModelVersion.Status.ACTIVE)
    for who in (customer, other):
        CustomerRecommendationsFactory(model_version=version, customer=who, items={"p": [], "s": []})
    assert customers_personalization_purge(customers=[customer]) == 1
    with tenant_context(tenant):
        assert list(CustomerRecommendations.objects.values_list("customer_id", flat=True)) == [other.pk]


# -- withdrawal drops the stored lists at once, whichever way the consent is switched off -------------------------


def stored_list_served(subject: Subject) -> list[int]:
    """Products served from the customer's precomputed list, read as if consent did not matter (the strictest
    view: the rows themselves must be gone, not merely skipped)."""
    with tenant_context(subject.tenant):
        served = serving.recommend_for_customer(customer_id=subject.customer.pk, personalized=True)
    return [item.product_id for item in served.items if item.reason_kind == ReasonKind.PERSONALIZED]


def stored_rows(subject: Subject) -> dict[int, int]:
    with tenant_context(subject.tenant):
        rows = CustomerRecommendations.objects.values_list("customer_id", flat=True)
        return {customer_id: list(rows).count(customer_id) for customer_id in set(rows)}


@pytest.fixture
def subject() -> Subject:
    subject = build_subject(slug="consent")
    lamp = ProductFactory(tenant=subject.tenant, external_id="LAMP")  # not yet bought: the list may show it
    with tenant_context(subject.tenant):
        version = ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE)
        CustomerRecommendations.objects.filter(customer=subject.customer).update(
            items={"p": [lamp.pk], "s": [0.9], "k": [ReasonKind.PERSONALIZED.value]}
        )
        CustomerRecommendationsFactory(model_version=version, customer=subject.friend, items={"p": [], "s": []})
    # Before: the stored list is served, and the friend has one too.
    assert stored_list_served(subject) != []
    assert stored_rows(subject) == {subject.customer.pk: 1, subject.friend.pk: 1}
    assert cache_get(subject.cache_key) is not None
    return subject


def assert_withdrawn_and_purged(subject: Subject) -> None:
    with tenant_context(subject.tenant):
        assert not Customer.objects.get(pk=subject.customer.pk).personalization_consent
    assert stored_rows(subject) == {subject.friend.pk: 1}  # theirs gone, nobody else's
    assert stored_list_served(subject) == []
    assert cache_get(subject.cache_key) is None


def test_withdrawing_in_the_privacy_centre_drops_the_stored_list(client: Client, subject: Subject) -> None:
    signed_in = client.post(
        f"/s/{subject.tenant.slug}/account/sign-in/", {"email": EMAIL, "password": "shopper passphrase"}
    )
    assert signed_in.status_code == 302
    assert client.post(f"/s/{subject.tenant.slug}/privacy/", {"marketing": "on"}).status_code == 302
    assert_withdrawn_and_purged(subject)


def test_withdrawing_through_the_api_drops_the_stored_list(subject: Subject) -> None:
    api = key_client(issue_key(subject.tenant, ["customers:read", "customers:write"]))
    response = api.patch(f"/api/v1/customers/{EXTERNAL_ID}/", {"personalization_consent": False}, format="json")
    assert response.status_code == 200
    assert_withdrawn_and_purged(subject)


def test_withdrawing_in_a_bulk_upsert_drops_the_stored_list(subject: Subject) -> None:
    api = key_client(issue_key(subject.tenant, ["customers:read", "customers:write"]))
    response = api.post(
        "/api/v1/customers/bulk/",
        {
            "items": [
                {"customer_id": EXTERNAL_ID, "email": EMAIL, "personalization_consent": False},
                {"customer_id": "FRIEND-1", "personalization_consent": True},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert_withdrawn_and_purged(subject)


def test_withdrawing_in_the_admin_drops_the_stored_list(subject: Subject) -> None:
    client = Client()
    client.force_login(MembershipFactory(tenant=subject.tenant, role=Role.MANAGER).user)
    with tenant_context(subject.tenant):
        customer = Customer.objects.get(pk=subject.customer.pk)
    form = {
        field: getattr(customer, field) or ""
        for field in ("external_id", "email", "name", "phone", "address", "gender", "city", "country", "birth_year")
    }
    form.update(marketing_consent="on")  # personalization_consent unticked
    response = client.post(f"/admin/commerce/customer/{customer.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert_withdrawn_and_purged(subject)


def test_withdrawing_in_a_csv_import_drops_the_stored_list(subject: Subject, tmp_path) -> None:
    customers = tmp_path / "customers.csv"
    customers.write_text(f"customer_id,personalization_consent\n{EXTERNAL_ID},false\nFRIEND-1,true\n")
    import_store_data(tenant=subject.tenant, files={"customers": customers})
    assert_withdrawn_and_purged(subject)


def test_saving_other_fields_keeps_the_stored_list(subject: Subject) -> None:
    api = key_client(issue_key(subject.tenant, ["customers:read", "customers:write"]))
    assert api.patch(f"/api/v1/customers/{EXTERNAL_ID}/", {"city": "Lyon"}, format="json").status_code == 200
    assert stored_rows(subject) == {subject.customer.pk: 1, subject.friend.pk: 1}
    assert stored_list_served(subject) != []
