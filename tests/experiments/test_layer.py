"""Experiments in the store: starting rules, serving by arm, attribution, results, promotion, pruning."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from experiments.models import Arm, Experiment, Exposure
from experiments.services import ArmSpec, ExperimentError, experiment_create, experiment_start, experiment_stop
from recommendations.models import CustomerRecommendations, ModelVersion
from recommendations.training import prune_old_versions
from retailsite.commerce.models import Event
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Role
from tests.api.conftest import issue_key, key_client
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    ModelVersionFactory,
    ProductFactory,
    ProductNeighboursFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db
RID = re.compile(r"^v(\d+)-e(\d+)([a-z][a-z0-9_]*)-[0-9a-f]{16}$")


def _version(status: str, products, customers) -> ModelVersion:  # type: ignore[no-untyped-def]
    version = ModelVersionFactory(tenant=products[0].tenant, status=status, metrics={"ndcg@10": 0.1})
    ids = [p.pk for p in products]
    CustomerRecommendations.objects.bulk_create(
        [
            CustomerRecommendations(tenant_id=version.tenant_id, model_version=version, customer=c, items={"p": ids})
            for c in customers
        ]
    )
    ProductNeighboursFactory(model_version=version, product=products[0], similar={}, bought_together={})
    return version


@pytest.fixture
def store():  # type: ignore[no-untyped-def]
    tenant = TenantFactory(slug="alpha", name="Alpha")
    with tenant_context(tenant):
        old_products = [ProductFactory(tenant=tenant, external_id=f"OLD{i}", price=Decimal("10.00")) for i in range(3)]
        new_products = [ProductFactory(tenant=tenant, external_id=f"NEW{i}", price=Decimal("20.00")) for i in range(3)]
        customers = [CustomerFactory(tenant=tenant, external_id=f"C{i:03d}") for i in range(60)]
        old = _version(ModelVersion.Status.RETIRED, old_products, customers)
        new = _version(ModelVersion.Status.ACTIVE, new_products, customers)
        rejected = _version(ModelVersion.Status.REJECTED, old_products, customers)
    return {"tenant": tenant, "old": old, "new": new, "rejected": rejected, "customers": customers}


def _customer_pk(store, external_id: str) -> int:  # type: ignore[no-untyped-def]
    return next(c.pk for c in store["customers"] if c.external_id == external_id)


def _arms(old: ModelVersion) -> list[ArmSpec]:
    return [ArmSpec("control", 50, True), ArmSpec("older", 50, False, old.pk)]


def test_a_version_that_failed_its_offline_gate_never_starts(store) -> None:
    with tenant_context(store["tenant"]):
        with pytest.raises(ExperimentError, match="passed the offline gate"):
            experiment_create(
                name="bad", arms=[ArmSpec("control", 50, True), ArmSpec("b", 50, False, store["rejected"].pk)]
            )
        # Created fine, then the arm is pointed at the rejected version behind the service's back: start refuses.
        experiment = experiment_create(name="x", arms=_arms(store["old"]))
        Arm.objects.filter(experiment=experiment, key="older").update(model_version=store["rejected"])
        with pytest.raises(ExperimentError, match="rejected"):
            experiment_start(experiment=experiment)
        assert Experiment.objects.get(pk=experiment.pk).status == Experiment.Status.DRAFT


def test_shares_must_add_up_and_one_control(store) -> None:
    with tenant_context(store["tenant"]):
        with pytest.raises(ExperimentError, match="add up to 90%"):
            experiment_create(name="x", arms=[ArmSpec("a", 40, True), ArmSpec("b", 50)])
        with pytest.raises(ExperimentError, match="Exactly one arm"):
            experiment_create(name="x", arms=[ArmSpec("a", 50), ArmSpec("b", 50)])
        assert not Experiment.objects.exists()


def test_only_one_experiment_runs_at_a_time(store) -> None:
    with tenant_context(store["tenant"]):
        experiment_start(experiment=experiment_create(name="one", arms=_arms(store["old"])))
        second = experiment_create(name="two", arms=_arms(store["old"]))
        with pytest.raises(ExperimentError, match="Another experiment is running"):
            experiment_start(experiment=second)


def test_each_customer_is_served_their_arms_version_every_time_and_the_id_names_the_arm(store) -> None:
    tenant = store["tenant"]
    with tenant_context(tenant):
        experiment = experiment_start(experiment=experiment_create(name="old vs new", arms=_arms(store["old"])))
    api = key_client(issue_key(tenant))
    seen: dict[str, set[str]] = {}
    for _round in range(2):
        for customer in store["customers"]:
            body = api.get(f"/api/v1/recommendations/customers/{customer.external_id}/?k=3").json()
            match = RID.match(body["recommendation_id"])
            assert match, body["recommendation_id"]
            version, experiment_id, arm = int(match[1]), int(match[2]), match[3]
            assert experiment_id == experiment.pk
            products = {item["product_id"] for item in body["items"]}
            expected = store["old"] if arm == "older" else store["new"]
            assert version == expected.pk
            assert products == ({"OLD0", "OLD1", "OLD2"} if arm == "older" else {"NEW0", "NEW1", "NEW2"})
            seen.setdefault(customer.external_id, set()).add(arm)
    assert all(len(arms) == 1 for arms in seen.values())  # sticky
    counts = {arm: sum(1 for arms in seen.values() if arm in arms) for arm in ("control", "older")}
    assert counts["control"] > 10 and counts["older"] > 10
    with tenant_context(tenant):
        assert Exposure.objects.count() == 60
        assert set(Exposure.objects.values_list("impressions", flat=True)) == {2}
        experiment_stop(experiment=experiment)
    plain = api.get(f"/api/v1/recommendations/customers/{store['customers'][0].external_id}/").json()
    assert re.fullmatch(r"v\d+-[0-9a-f]{16}", plain["recommendation_id"])  # stopped: no arm any more


def test_results_attribute_events_citing_the_arm_within_the_window(store) -> None:
    tenant = store["tenant"]
    with tenant_context(tenant):
        experiment = experiment_start(
            experiment=experiment_create(name="t", arms=_arms(store["old"]), attribution_window_hours=24)
        )
    api = key_client(issue_key(tenant))
    served = {
        c.external_id: api.get(f"/api/v1/recommendations/customers/{c.external_id}/?k=3").json()
        for c in store["customers"]
    }
    by_arm: dict[str, list[str]] = {}
    for cid, body in served.items():
        by_arm.setdefault(RID.match(body["recommendation_id"])[3], []).append(cid)
    now = timezone.now()
    events = []
    # In "older": 3 customers click, 2 add to cart, 2 buy (one of them twice, in one order). In control: 1 buys.
    older, control = by_arm["older"], by_arm["control"]
    for cid in older[:3]:
        events.append((cid, "view", now))
    for cid in older[:2]:
        events.append((cid, "cart", now))
    for cid in older[:2]:
        events.append((cid, "purchase", now))
    events.append((control[0], "purchase", now))
    # Outside the window (this shopper last saw the arm 30 hours ago), and citing no recommendation: neither counts.
    with tenant_context(tenant):
        Exposure.objects.filter(subject_key=f"c:{_customer_pk(store, control[1])}").update(
            first_at=now - dt.timedelta(hours=31), last_at=now - dt.timedelta(hours=30)
        )
    events.append((control[1], "purchase", now))
    body = {
        "events": [
            {
                "customer_id": cid,
                "product_id": served[cid]["items"][0]["product_id"],
                "event_type": kind,
                "occurred_at": when.isoformat(),
                "recommendation_id": served[cid]["recommendation_id"],
            }
            for cid, kind, when in events
        ]
        + [
            {
                "customer_id": control[2],
                "product_id": "NEW0",
                "event_type": "purchase",
                "occurred_at": now.isoformat(),
            }
        ]
    }
    response = api.post("/api/v1/events/batch/", body, format="json")
    assert response.status_code in (200, 201, 202), response.content
    results = api.get(f"/api/v1/experiments/{experiment.pk}/results/").json()
    arms = {arm["key"]: arm for arm in results["arms"]}
    assert arms["older"]["exposed"] == len(older) and arms["control"]["exposed"] == len(control)
    assert (arms["older"]["clicks"], arms["older"]["add_to_carts"], arms["older"]["orders"]) == (3, 2, 2)
    assert (arms["control"]["clicks"], arms["control"]["orders"], arms["control"]["converters"]) == (0, 1, 1)
    assert arms["older"]["revenue"] == "20.00"  # two purchases of a 10.00 product (no order lines: its price)
    assert arms["older"]["conversion"] == pytest.approx(2 / len(older))
    low, high = arms["older"]["conversion_ci"]
    assert low < 2 / len(older) < high
    assert arms["control"]["p_value"] is None and 0 < arms["older"]["p_value"] <= 1
    assert results["test"]["planned_per_arm"] > 1000 and results["test"]["significant"] is False


def test_staff_results_page_shows_arms_and_charts_and_promotes_the_winner(store) -> None:
    tenant = store["tenant"]
    with tenant_context(tenant):
        experiment = experiment_start(experiment=experiment_create(name="page", arms=_arms(store["old"])))
        older = Arm.objects.get(experiment=experiment, key="older")
    analyst = Client()
    analyst.force_login(MembershipFactory(tenant=tenant, role=Role.ANALYST).user)
    page = analyst.get(f"/staff/experiments/{experiment.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-chart="conversion-chart"' in html and 'data-chart="p-value-chart"' in html
    assert "older" in html and "Promote" not in html  # analysts read; they do not promote
    assert analyst.post(f"/staff/experiments/{experiment.pk}/promote/", {"arm": older.pk}).status_code == 403
    owner = Client()
    owner.force_login(MembershipFactory(tenant=tenant, role=Role.OWNER).user)
    assert "Promote" in owner.get(f"/staff/experiments/{experiment.pk}/").content.decode()
    promoted = owner.post(f"/staff/experiments/{experiment.pk}/promote/", {"arm": older.pk}, follow=True)
    assert "now serves every shopper" in promoted.content.decode()
    with tenant_context(tenant):
        assert ModelVersion.objects.get(pk=store["old"].pk).status == ModelVersion.Status.ACTIVE
        done = Experiment.objects.get(pk=experiment.pk)
        assert done.status == Experiment.Status.STOPPED and done.winner_id == older.pk


def test_pruning_keeps_the_lists_of_versions_an_experiment_serves(store) -> None:
    with tenant_context(store["tenant"]):
        experiment_start(experiment=experiment_create(name="p", arms=_arms(store["old"])))
        for _ in range(4):  # newer versions push the old one out of the rollback window
            ModelVersionFactory(tenant=store["tenant"], status=ModelVersion.Status.RETIRED)
        prune_old_versions(keep=3)
        assert CustomerRecommendations.objects.filter(model_version=store["old"]).exists()
        assert not CustomerRecommendations.objects.filter(model_version=store["rejected"]).exists()


def test_api_creates_starts_and_refuses_bad_arms(store) -> None:
    api = key_client(issue_key(store["tenant"], scopes=["experiments:read", "experiments:write"]))
    bad = api.post(
        "/api/v1/experiments/",
        {
            "name": "x",
            "arms": [
                {"key": "a", "share": 50, "control": True},
                {"key": "b", "share": 50, "model_version": store["rejected"].pk},
            ],
        },
        format="json",
    )
    assert bad.status_code == 400 and "offline gate" in bad.content.decode()
    made = api.post(
        "/api/v1/experiments/",
        {
            "name": "diversity",
            "start": True,
            "arms": [
                {"key": "a", "share": 50, "control": True},
                {"key": "diverse", "share": 50, "max_per_category": 1},
            ],
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["status"] == "running" and made.json()["planned_per_arm"] > 0
    listed = api.get("/api/v1/experiments/").json()
    assert [e["name"] for e in listed["results"]] == ["diversity"]
    reader = key_client(issue_key(store["tenant"], scopes=["experiments:read"]))
    assert reader.post(f"/api/v1/experiments/{made.json()['id']}/stop/").status_code == 403
    assert api.post(f"/api/v1/experiments/{made.json()['id']}/stop/").json()["status"] == "stopped"


def test_exports_are_not_exposures(store, tmp_path) -> None:
    from django.core.management import call_command

    with tenant_context(store["tenant"]):
        experiment_start(experiment=experiment_create(name="e", arms=_arms(store["old"])))
    call_command("export_recommendations", tenant="alpha", output=str(tmp_path / "out.csv"))
    with tenant_context(store["tenant"]):
        assert not Exposure.objects.exists()
        assert Event.objects.count() == 0
