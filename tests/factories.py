"""factory_boy factories. Tenant-owned rows are created inside their tenant's context,
since row-level security refuses any other write."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from forecasting.models import CustomerModelRun, CustomerPrediction, ForecastRun, RunStatus, SeriesForecast, SeriesLevel
from imports.models import ImportJob
from inventory.models import StockItem
from recommendations.models import CustomerRecommendations, ModelVersion, ProductNeighbours
from retailsite.commerce import models as commerce
from retailsite.privacy.models import ErasureRecord
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Membership, Role, Tenant, TenantDomain, TrainingRun
from webhooks.models import WebhookDelivery, WebhookEndpoint


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"store-{n}")
    name = factory.LazyAttribute(lambda o: f"Store {o.slug}")
    currency = "EUR"
    timezone = "Europe/Paris"


class TenantOwnedFactory(factory.django.DjangoModelFactory):
    """Creates the row as its tenant (RLS WITH CHECK) and defaults to a fresh tenant."""

    class Meta:
        abstract = True

    tenant = factory.SubFactory(TenantFactory)

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> Any:
        with tenant_context(kwargs["tenant"]):
            return super()._create(model_class, *args, **kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(TenantOwnedFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Role.MANAGER


class CustomerFactory(TenantOwnedFactory):
    class Meta:
        model = commerce.Customer

    external_id = factory.Sequence(lambda n: f"C{n:05d}")
    email = factory.LazyAttribute(lambda o: f"{o.external_id.lower()}@shopper.example")
    name = factory.Faker("name")
    birth_year = 1985
    gender = "F"
    city = "Lyon"


class CategoryFactory(TenantOwnedFactory):
    class Meta:
        model = commerce.Category

    name = factory.Sequence(lambda n: f"Category {n}")
    path = factory.LazyAttribute(lambda o: o.name)


class ProductFactory(TenantOwnedFactory):
    class Meta:
        model = commerce.Product

    external_id = factory.Sequence(lambda n: f"P{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    category = factory.SubFactory(CategoryFactory, tenant=factory.SelfAttribute("..tenant"))
    price = Decimal("10.00")


class OrderFactory(TenantOwnedFactory):
    class Meta:
        model = commerce.Order

    external_id = factory.Sequence(lambda n: f"O{n:06d}")
    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    ordered_at = factory.LazyFunction(timezone.now)


class OrderLineFactory(TenantOwnedFactory):
    class Meta:
        model = commerce.OrderLine

    order = factory.SubFactory(OrderFactory, tenant=factory.SelfAttribute("..tenant"))
    product = factory.SubFactory(ProductFactory, tenant=factory.SelfAttribute("..tenant"))
    quantity = 1
    unit_price = Decimal("10.00")


class EventFactory(TenantOwnedFactory):
    class Meta:
        model = commerce.Event

    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    product = factory.SubFactory(ProductFactory, tenant=factory.SelfAttribute("..tenant"))
    event_type = commerce.EventType.VIEW
    occurred_at = factory.LazyFunction(timezone.now)
    dedupe_key = factory.Sequence(lambda n: f"event-{n}")


class FollowFactory(TenantOwnedFactory):
    class Meta:
        model = commerce.Follow

    follower = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    followee = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))


# -- platform and app rows that tests used to create by hand ------------------------------------------------
# Rows that belong to another row (a series to its run) take that row's tenant.


class TenantDomainFactory(TenantOwnedFactory):
    class Meta:
        model = TenantDomain

    domain = factory.Sequence(lambda n: f"shop-{n}.example")


class TrainingRunFactory(TenantOwnedFactory):
    class Meta:
        model = TrainingRun

    step = "recommendations"
    status = TrainingRun.Status.SUCCEEDED


class ModelVersionFactory(TenantOwnedFactory):
    class Meta:
        model = ModelVersion

    algorithm = "test"
    status = ModelVersion.Status.ACTIVE
    number = factory.Sequence(lambda n: n + 1)  # per store in production (training numbers them); unique here


class CustomerRecommendationsFactory(TenantOwnedFactory):
    class Meta:
        model = CustomerRecommendations

    model_version = factory.SubFactory(ModelVersionFactory)
    tenant = factory.LazyAttribute(lambda o: o.model_version.tenant)
    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    items = factory.LazyFunction(lambda: {"p": [], "s": []})


class ForecastRunFactory(TenantOwnedFactory):
    class Meta:
        model = ForecastRun

    status = RunStatus.SUCCEEDED
    frequency = "W"
    horizon = 2
    finished_at = factory.LazyFunction(timezone.now)


class SeriesForecastFactory(TenantOwnedFactory):
    class Meta:
        model = SeriesForecast

    run = factory.SubFactory(ForecastRunFactory)
    tenant = factory.LazyAttribute(lambda o: o.run.tenant)
    level = SeriesLevel.PRODUCT
    method = "test"


class CustomerModelRunFactory(TenantOwnedFactory):
    class Meta:
        model = CustomerModelRun

    status = RunStatus.SUCCEEDED


class CustomerPredictionFactory(TenantOwnedFactory):
    class Meta:
        model = CustomerPrediction

    run = factory.SubFactory(CustomerModelRunFactory)
    tenant = factory.LazyAttribute(lambda o: o.run.tenant)
    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    expected_spend = 0.0
    churn_probability = 0.5
    segment = "Loyal"


class StockItemFactory(TenantOwnedFactory):
    class Meta:
        model = StockItem

    product = factory.SubFactory(ProductFactory, tenant=factory.SelfAttribute("..tenant"))


class ProductNeighboursFactory(TenantOwnedFactory):
    class Meta:
        model = ProductNeighbours

    model_version = factory.SubFactory(ModelVersionFactory)
    tenant = factory.LazyAttribute(lambda o: o.model_version.tenant)
    product = factory.SubFactory(ProductFactory, tenant=factory.SelfAttribute("..tenant"))
    similar = factory.LazyFunction(dict)
    bought_together = factory.LazyFunction(dict)


class ImportJobFactory(TenantOwnedFactory):
    class Meta:
        model = ImportJob

    files = factory.LazyFunction(dict)


class ErasureRecordFactory(TenantOwnedFactory):
    class Meta:
        model = ErasureRecord

    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    pseudonym = factory.Sequence(lambda n: f"erased-{n:04d}")


class WebhookEndpointFactory(TenantOwnedFactory):
    class Meta:
        model = WebhookEndpoint

    url = factory.Sequence(lambda n: f"https://hooks{n}.example/receive")
    # A Standard Webhooks secret: "whsec_" + base64 of 24 bytes (a fixed test value, never a real key).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class WebhookDeliveryFactory(TenantOwnedFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    tenant = factory.LazyAttribute(lambda o: o.endpoint.tenant)
    message_id = factory.Sequence(lambda n: f"msg_{n}")
    event_type = "import.finished"
    payload = factory.LazyFunction(dict)
    next_attempt_at = factory.LazyFunction(timezone.now)
