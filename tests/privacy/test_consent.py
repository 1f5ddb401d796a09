"""Consent: a customer without personalization consent contributes nothing to the next training."""

from __future__ import annotations

import pytest

from recommendations.data_loading import load_training_data
from recommendations.models import CustomerRecommendations, ModelVersion
from retailsite.commerce.models import Customer
from retailsite.privacy.services import customer_recommendations_purge
from retailsite.tenancy.context import tenant_context
from tests.factories import CustomerFactory, EventFactory, OrderLineFactory, ProductFactory, TenantFactory

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


def test_withdrawing_consent_can_drop_precomputed_recommendations_at_once() -> None:
    tenant = TenantFactory()
    customer, other = CustomerFactory(tenant=tenant), CustomerFactory(tenant=tenant)
    with tenant_context(tenant):
        version = ModelVersion.objects.create(algorithm="test", status=ModelVersion.Status.ACTIVE)
        for who in (customer, other):
            CustomerRecommendations.objects.create(model_version=version, customer=who, items={"p": [], "s": []})
    assert customer_recommendations_purge(customer=customer) == 1
    with tenant_context(tenant):
        assert list(CustomerRecommendations.objects.values_list("customer_id", flat=True)) == [other.pk]
