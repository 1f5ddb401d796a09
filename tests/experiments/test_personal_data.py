"""Exposures are personal data: a customer's export shows them (with those of their anonymous browsing sessions),
erasure and consent withdrawal remove them, and the retention purge removes expired ones and keeps recent ones."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile

import pytest
from django.utils import timezone

from experiments.models import Exposure
from experiments.services import ArmSpec, experiment_create, experiment_start
from recommendations.serving import recommend_for_customer
from retailsite.privacy.services import (
    customer_consent_set,
    customer_erasure_perform,
    customer_export_zip,
    personal_data_purge_expired,
)
from retailsite.tenancy.context import tenant_context
from tests.factories import CustomerFactory, EventFactory, ProductFactory, TenantFactory

pytestmark = pytest.mark.django_db
SESSION = "sess-ines-laptop"


@pytest.fixture
def store():  # type: ignore[no-untyped-def]
    """A running experiment; Ines was shown it signed in and, before, in an anonymous session of hers; Omar too."""
    tenant = TenantFactory(slug="alpha")
    with tenant_context(tenant):
        for index in range(4):
            ProductFactory(tenant=tenant, external_id=f"P{index}")
        ines = CustomerFactory(tenant=tenant, external_id="C-INES")
        omar = CustomerFactory(tenant=tenant, external_id="C-OMAR")
        EventFactory(tenant=tenant, customer=ines, session_id=SESSION)  # the session is hers
        experiment = experiment_start(
            experiment=experiment_create(
                name="Diversity", arms=[ArmSpec("control", 50, True), ArmSpec("diverse", 50, False, max_per_category=2)]
            )
        )
        served = {
            "ines": recommend_for_customer(customer_id=ines.pk),
            "ines anonymous": recommend_for_customer(customer_id=None, session_id=SESSION),
            "omar": recommend_for_customer(customer_id=omar.pk),
        }
        recommend_for_customer(customer_id=ines.pk)  # a second list: one exposure, two lists
    arms = {
        who: list_.recommendation_id.split("-")[1].removeprefix(f"e{experiment.pk}") for who, list_ in served.items()
    }
    return {"tenant": tenant, "ines": ines, "omar": omar, "experiment": experiment, "arms": arms}


def _exposed(store) -> set[str]:  # type: ignore[no-untyped-def]
    with tenant_context(store["tenant"]):
        return {
            "ines" if customer_id == store["ines"].pk else "omar" if customer_id else f"session {session}"
            for customer_id, session in Exposure.objects.values_list("customer_id", "session_id")
        }


def test_the_export_holds_the_customers_exposures_and_those_of_her_sessions(store) -> None:
    assert _exposed(store) == {"ines", "omar", f"session {SESSION}"}
    archive = zipfile.ZipFile(io.BytesIO(customer_export_zip(store["ines"])))
    rows = list(csv.DictReader(io.StringIO(archive.read("experiments.csv").decode())))
    assert sorted((row["signed_in"], row["arm"], row["lists_shown"]) for row in rows) == sorted(
        [("yes", store["arms"]["ines"], "2"), ("no", store["arms"]["ines anonymous"], "1")]
    )
    assert {row["experiment_name"] for row in rows} == {"Diversity"}
    assert len(json.loads(archive.read("customer.json"))["experiments"]) == 2
    assert "experiments.csv" in archive.read("README.txt").decode()
    omar = zipfile.ZipFile(io.BytesIO(customer_export_zip(store["omar"])))
    assert [row["signed_in"] for row in csv.DictReader(io.StringIO(omar.read("experiments.csv").decode()))] == ["yes"]


def test_erasure_leaves_none_of_the_customers_exposures(store) -> None:
    with tenant_context(store["tenant"]):
        record = customer_erasure_perform(customer=store["ines"])
    assert _exposed(store) == {"omar"}
    assert record.removed["experiments.Exposure"] == 2


def test_withdrawing_personalization_consent_purges_the_customers_exposures(store) -> None:
    customer_consent_set(customer=store["ines"], personalization=False, marketing=False)
    assert _exposed(store) == {"omar", f"session {SESSION}"}  # an anonymous session has no consent to withdraw


def test_the_retention_purge_removes_expired_exposures_and_keeps_recent_ones(store) -> None:
    tenant = store["tenant"]
    tenant.settings = {"event_retention_days": 30}
    tenant.save()
    now = timezone.now()
    with tenant_context(tenant):
        # Ines was last shown the experiment 31 days ago (first 40 days ago); Omar 29 days ago.
        Exposure.objects.filter(customer=store["ines"]).update(
            first_at=now - dt.timedelta(days=40), last_at=now - dt.timedelta(days=31)
        )
        Exposure.objects.filter(customer=store["omar"]).update(
            first_at=now - dt.timedelta(days=40), last_at=now - dt.timedelta(days=29)
        )
    purged = personal_data_purge_expired(tenant=tenant)
    assert purged["experiments"] == 1
    assert _exposed(store) == {"omar", f"session {SESSION}"}
    assert personal_data_purge_expired(tenant=tenant)["experiments"] == 0  # safe to run again
