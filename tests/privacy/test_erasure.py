"""Erasure: the customer's e-mail, name and external id end up in no table (the audit log included)
and in no cached result; orders stay, anonymized; behaviour, social links, recommendations and
predictions go; the customer leaves the training data and a retrain is queued."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from forecasting.models import CustomerPrediction
from recommendations.data_loading import load_training_data
from recommendations.models import CustomerRecommendations, ModelVersion
from retailsite.commerce.models import Customer, Event, Follow, Order, OrderLine, SyncDeletion
from retailsite.privacy import services
from retailsite.privacy.cache import customer_cache_key
from retailsite.privacy.models import ErasureRecord
from retailsite.safe_cache import cache_get, cache_set
from retailsite.tenancy import training_steps
from retailsite.tenancy.context import Actor, acting_as, tenant_context
from retailsite.tenancy.models import Tenant, TrainingRun
from tests.conftest import join_background_training
from tests.factories import (
    CustomerFactory,
    CustomerModelRunFactory,
    CustomerPredictionFactory,
    CustomerRecommendationsFactory,
    EventFactory,
    FollowFactory,
    ModelVersionFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    TenantFactory,
    UserFactory,
)

from .conftest import audit_entries, text_of_every_table_containing

pytestmark = pytest.mark.django_db

EMAIL = "ines.subject@example.org"
NAME = "Inès Sujet-Quarré"
EXTERNAL_ID = "SUBJ-77813"


@dataclass
class Subject:
    tenant: Tenant
    customer: Customer
    friend: Customer
    order: Order
    cache_key: str


def build_subject(slug: str = "erasure") -> Subject:
    tenant = TenantFactory(slug=slug)
    customer = CustomerFactory(
        tenant=tenant,
        external_id=EXTERNAL_ID,
        email=EMAIL,
        name=NAME,
        phone="+33 4 76 00 00",
        address="5 rue du Sujet, Grenoble",
        city="Grenoble",
        country="FR",
        birth_year=1980,
        gender="F",
        password=make_password("shopper passphrase"),
        signed_up_at=timezone.now(),
        marketing_consent=True,
    )
    friend = CustomerFactory(tenant=tenant, external_id="FRIEND-1")
    kettle = ProductFactory(tenant=tenant, external_id="KETTLE", name="Copper Kettle", price=Decimal("30.00"))
    mug = ProductFactory(tenant=tenant, external_id="MUG", name="Blue Mug")
    order = OrderFactory(tenant=tenant, customer=customer, external_id="ORD-1")
    OrderLineFactory(tenant=tenant, order=order, product=kettle, quantity=1, unit_price=Decimal("30.00"))
    OrderLineFactory(tenant=tenant, order=order, product=mug, quantity=2, unit_price=Decimal("6.50"))
    for product in (kettle, mug):
        EventFactory(tenant=tenant, customer=customer, product=product, session_id="v-subject-browser")
    EventFactory(tenant=tenant, customer=None, product=mug, session_id="v-subject-browser")  # before sign-in
    EventFactory(tenant=tenant, customer=friend, product=kettle)
    FollowFactory(tenant=tenant, follower=customer, followee=friend)
    FollowFactory(tenant=tenant, follower=friend, followee=customer)
    version = ModelVersionFactory(tenant=tenant, algorithm="test", status=ModelVersion.Status.ACTIVE)
    CustomerRecommendationsFactory(
        model_version=version, customer=customer, items={"p": [mug.pk], "s": [0.9], "k": ["personalized"]}
    )
    run = CustomerModelRunFactory(tenant=tenant, status="succeeded")
    CustomerPredictionFactory(run=run, customer=customer, expected_spend=120.0, churn_probability=0.2, segment="loyal")
    # Django admin history names the object by its external id.
    LogEntry.objects.create(
        user=UserFactory(),
        content_type=ContentType.objects.get_for_model(Customer),
        object_id=str(customer.pk),
        object_repr=str(customer),
        action_flag=CHANGE,
        change_message='[{"changed": {"fields": ["City"]}}]',
    )
    # Where the storefront keeps the shopper's home sections (the namespace it registers with privacy.cache).
    cache_key = customer_cache_key("storefront:home", tenant.pk, customer_id=customer.pk)
    cache_set(cache_key, {"customer": EXTERNAL_ID, "email": EMAIL, "items": [mug.pk]}, timeout=600)
    return Subject(tenant, customer, friend, order, cache_key)


def erase(subject: Subject) -> ErasureRecord:
    with tenant_context(subject.tenant), acting_as(Actor("user", "5", "req-erase-0001", "192.0.2.4")):
        return services.customer_erasure_perform(customer=subject.customer)


def cached_values_containing(needle: str) -> list[str]:
    """Every key in the cache whose stored value mentions `needle` (Redis: raw pickled bytes)."""
    backend = cache._cache
    if not hasattr(backend, "get_client"):
        pytest.skip("needs the Redis cache of the test settings")
    client = backend.get_client(write=False)
    return [key.decode() for key in client.scan_iter(count=1000) if needle.encode() in (client.get(key) or b"")]


def test_after_erasure_the_email_and_name_are_in_no_table_and_no_cache_and_the_id_only_in_the_sync_feed() -> None:
    subject = build_subject()
    before = text_of_every_table_containing(EXTERNAL_ID)
    assert {"commerce_customer", "django_admin_log"} <= set(before)  # the scan finds what is there
    assert cached_values_containing(EXTERNAL_ID) == [f"retailsite:1:{subject.cache_key}"]

    erase(subject)

    for needle in (EMAIL, NAME, "ines.subject", "Sujet-Quarr"):
        assert text_of_every_table_containing(needle) == {}, needle
        assert cached_values_containing(needle) == [], needle
    # The external id stays in one place: the sync feed's deletion entry, which tells the store's partners to delete
    # their copy (their own id for the customer, nothing else), until `sync_deletion_retention_days` purges it.
    assert text_of_every_table_containing(EXTERNAL_ID) == {"commerce_syncdeletion": 1}
    assert cached_values_containing(EXTERNAL_ID) == []
    with tenant_context(subject.tenant):
        assert list(SyncDeletion.objects.values("kind", "external_id")) == [
            {"kind": "customer", "external_id": EXTERNAL_ID}
        ]
    assert cache_get(subject.cache_key) is None
    assert audit_entries(subject.tenant, action="erase")  # the audit log was part of the scan


def test_orders_stay_anonymized_and_everything_else_about_the_customer_goes() -> None:
    subject = build_subject()
    record = erase(subject)
    with tenant_context(subject.tenant):
        customer = Customer.objects.get(pk=subject.customer.pk)
        assert customer.external_id == record.pseudonym and customer.external_id.startswith("erased-")
        assert (customer.email, customer.email_hash, customer.name, customer.phone, customer.address) == ("",) * 5
        assert (customer.password, customer.gender, customer.city, customer.country) == ("",) * 4
        assert customer.birth_year is None and customer.signed_up_at is None
        assert not customer.personalization_consent and not customer.marketing_consent
        # Orders kept for accounting, attached to the anonymized record, lines intact.
        order = Order.objects.get(pk=subject.order.pk)
        assert order.customer_id == customer.pk
        assert sorted(OrderLine.objects.filter(order=order).values_list("quantity", "unit_price")) == [
            (1, Decimal("30.00")),
            (2, Decimal("6.50")),
        ]
        # Behaviour (including the same browser's anonymous events), social links, models' output: gone.
        assert not Event.objects.filter(customer=customer).exists()
        assert not Event.objects.filter(session_id="v-subject-browser").exists()
        assert Event.objects.filter(customer=subject.friend).count() == 1
        assert not Follow.objects.filter(follower=customer).exists()
        assert not Follow.objects.filter(followee=customer).exists()
        assert not CustomerRecommendations.objects.filter(customer=customer).exists()
        assert not CustomerPrediction.objects.filter(customer=customer).exists()
    assert record.removed["commerce.Event"] == 3 and record.removed["commerce.Follow"] == 2
    assert record.removed["orders kept (anonymized)"] == 1
    assert record.requested_by == "user:5"
    (entry,) = audit_entries(subject.tenant, action="erase")
    assert (entry.object_type, entry.object_id, entry.actor) == ("commerce_customer", str(customer.pk), "user:5")


def test_the_erased_customer_leaves_the_training_data() -> None:
    subject = build_subject()
    with tenant_context(subject.tenant):
        before = load_training_data(subject.tenant)
    assert subject.customer.pk in before.customer_ids.tolist()
    erase(subject)
    with tenant_context(subject.tenant):
        after = load_training_data(subject.tenant)
    assert after.customer_ids.tolist() == [subject.friend.pk]
    assert set(after.customer_ids[after.data.events.users].tolist()) == {subject.friend.pk}


def test_erasure_queues_a_retrain_of_the_installed_recommendations_step(monkeypatch) -> None:
    queued: list[tuple[int, str, str]] = []
    monkeypatch.setattr(
        "retailsite.tenancy.tasks.enqueue_training",
        lambda *, tenant_id, step_name, trigger, background: queued.append((tenant_id, step_name, trigger)),
    )
    subject = build_subject()
    record = erase(subject)
    assert record.retrain_queued and queued == [(subject.tenant.pk, "recommendations", "erasure")]


def test_without_a_step_that_learns_from_customers_nothing_is_queued(monkeypatch) -> None:
    # The forecasting and inventory steps stay installed: they are not retrained for an erasure.
    monkeypatch.delitem(training_steps._STEPS, "recommendations", raising=False)
    assert {step.name for step in training_steps.training_steps()} >= {"forecasts", "inventory"}
    queued: list[str] = []
    monkeypatch.setattr(
        "retailsite.tenancy.tasks.enqueue_training", lambda **kwargs: queued.append(kwargs["step_name"])
    )
    subject = build_subject()
    assert erase(subject).retrain_queued is False
    assert queued == []


def test_erase_command(capsys) -> None:
    subject = build_subject()
    call_command("customer", "erase", "--tenant", "erasure", EXTERNAL_ID, "--yes")
    assert "Erased; the record is now erased-" in capsys.readouterr().out
    with tenant_context(subject.tenant):
        assert not Customer.objects.filter(external_id=EXTERNAL_ID).exists()
    (entry,) = audit_entries(subject.tenant, action="erase")
    assert entry.actor == "system:command:customer-erase"


def test_export_command_writes_the_zip(tmp_path: Path) -> None:
    build_subject()
    target = tmp_path / "subject.zip"
    call_command("customer", "export", "--tenant", "erasure", EXTERNAL_ID, "--output", str(target))
    with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as archive:
        assert EMAIL in archive.read("customer.json").decode()


def test_the_storefront_privacy_centre_erases_through_this_service(client) -> None:
    subject = build_subject(slug="shop-erase")
    session = client.session
    session[f"shopper:{subject.tenant.pk}:customer"] = subject.customer.pk
    session.save()
    assert client.get("/s/shop-erase/privacy/erase/").status_code == 200
    assert client.post("/s/shop-erase/privacy/erase/").status_code == 302
    with tenant_context(subject.tenant):
        customer = Customer.objects.get(pk=subject.customer.pk)
    assert customer.external_id.startswith("erased-") and customer.email == ""


def _tiny_store_without_categories(slug: str) -> tuple[Tenant, Customer]:
    """Two shoppers, three products with no category, five views: the store of the reported IndexError."""
    tenant = TenantFactory(slug=slug)
    with tenant_context(tenant):
        shoppers = [CustomerFactory(tenant=tenant, external_id=f"C{n}") for n in (1, 2)]
        products = [ProductFactory(tenant=tenant, category=None) for _ in range(3)]
        for shopper, product in ((0, 0), (0, 1), (1, 1), (1, 2), (0, 2)):
            EventFactory(tenant=tenant, customer=shoppers[shopper], product=products[product])
    return tenant, shoppers[0]


@pytest.mark.django_db(transaction=True)
def test_erasing_in_a_tiny_store_succeeds_and_its_retrain_does_not_crash(capsys) -> None:
    tenant, shopper = _tiny_store_without_categories("tiny-erase")
    call_command("customer", "erase", "--tenant", "tiny-erase", "C1", "--yes")
    join_background_training()
    assert "Erased; the record is now erased-" in capsys.readouterr().out
    with tenant_context(tenant):
        assert Customer.objects.get(pk=shopper.pk).external_id.startswith("erased-")
        runs = list(TrainingRun.objects.filter(step="recommendations").values_list("trigger", "status"))
    assert runs == [("erasure", TrainingRun.Status.SUCCEEDED)]


@pytest.mark.django_db(transaction=True)
def test_the_erasure_stands_whatever_happens_to_the_retrain(monkeypatch, capsys) -> None:
    def broken_training(tenant: Tenant, progress: object) -> str:
        raise IndexError("the retrain blew up")

    monkeypatch.setitem(
        training_steps._STEPS,
        "recommendations",
        training_steps.TrainingStep("recommendations", 10, broken_training, retrain_on_erasure=True),
    )
    tenant, shopper = _tiny_store_without_categories("broken-retrain")
    call_command("customer", "erase", "--tenant", "broken-retrain", "C1", "--yes")
    join_background_training()
    assert "Retrain queued: yes" in capsys.readouterr().out
    with tenant_context(tenant):
        assert Customer.objects.get(pk=shopper.pk).external_id.startswith("erased-")
        assert ErasureRecord.objects.filter(customer=shopper.pk).exists()


@pytest.mark.parametrize("extra", [[], ["--no-input"]])
def test_erase_without_yes_and_without_a_terminal_refuses_naming_the_flag(extra) -> None:
    subject = build_subject()
    with pytest.raises(CommandError, match="Pass --yes"):
        call_command("customer", "erase", "--tenant", "erasure", EXTERNAL_ID, *extra)
    with tenant_context(subject.tenant):
        assert Customer.objects.filter(external_id=EXTERNAL_ID).exists()


def test_the_storefront_says_the_retrain_was_queued(client, monkeypatch) -> None:
    monkeypatch.setitem(
        training_steps._STEPS,
        "recommendations",
        training_steps.TrainingStep("recommendations", 10, lambda tenant, progress: "trained", retrain_on_erasure=True),
    )
    monkeypatch.setattr("retailsite.tenancy.tasks.enqueue_training", lambda **kwargs: None)
    subject = build_subject(slug="shop-message")
    session = client.session
    session[f"shopper:{subject.tenant.pk}:customer"] = subject.customer.pk
    session.save()
    page = client.post("/s/shop-message/privacy/erase/", follow=True).content.decode()
    assert "were deleted" in page and "being retrained without your data" in page


def test_erasure_removes_the_home_page_the_storefront_cached_for_the_shopper(client) -> None:
    subject = build_subject(slug="shop-home-cache")
    cache.delete(subject.cache_key)
    session = client.session
    session[f"shopper:{subject.tenant.pk}:customer"] = subject.customer.pk
    session.save()
    assert client.get("/s/shop-home-cache/").status_code == 200
    assert cache_get(subject.cache_key) is not None  # the storefront cached this shopper's sections here
    visitor_key = customer_cache_key("storefront:home", subject.tenant.pk, customer_id=None, visitor_id="v-old-visit")
    cache_set(visitor_key, ("stamp", "Because you viewed ..."), timeout=600)
    with tenant_context(subject.tenant):
        Event.objects.filter(customer=subject.customer).update(session_id="v-old-visit")

    erase(subject)

    assert cache_get(subject.cache_key) is None
    assert cache_get(visitor_key) is None  # the same browsing session's anonymous entry too


def test_an_entry_cached_by_a_racing_request_before_the_erasure_is_never_served(client) -> None:
    """A request that read the shopper's rows before the erasure committed may store its page after the purge:
    the version key bumped by the erasure makes that entry stale."""
    from retailsite.privacy.cache import customer_cache_invalidate, customer_cache_version

    tenant_id, customer_id = 10**9, 42
    before = customer_cache_version(tenant_id, customer_id)
    customer_cache_invalidate(tenant_id, customer_id)
    assert customer_cache_version(tenant_id, customer_id) != before
