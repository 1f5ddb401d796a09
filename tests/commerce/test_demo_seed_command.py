"""manage.py seed_demo on PostgreSQL: the loaded store matches the generator's, staff logins work, re-runs
change nothing."""

from __future__ import annotations

from datetime import UTC, date
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from experiments.models import Experiment, Exposure
from retailsite.commerce.demo import generate_store
from retailsite.commerce.models import Customer, Event, Follow, Order, OrderLine, Product
from retailsite.encryption import crypto
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Membership, Tenant

SIZE = {"customers": 80, "products": 40, "days": 45, "seed": 5}
END = date(2025, 3, 31)


def _seed(*extra: str) -> str:
    out = StringIO()
    call_command(
        "seed_demo",
        "--tenant",
        "demo-test",
        "--customers",
        str(SIZE["customers"]),
        "--products",
        str(SIZE["products"]),
        "--days",
        str(SIZE["days"]),
        "--seed",
        str(SIZE["seed"]),
        "--no-progress",
        *extra,
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()


def _stored_counts(tenant: Tenant) -> dict[str, int]:
    with tenant_context(tenant):
        return {
            "customers": Customer.objects.count(),
            "products": Product.objects.count(),
            "orders": Order.objects.count(),
            "order_lines": OrderLine.objects.count(),
            # The generated history; the demo experiment's simulated responses are checked on their own.
            "events": Event.objects.exclude(recommendation_id__regex=r"^v[0-9]+-e[0-9]+").count(),
            "follows": Follow.objects.count(),
        }


@pytest.mark.django_db
def test_seed_demo_loads_a_store_whose_counts_match_the_generator() -> None:
    output = _seed("--end-date", END.isoformat(), "--with-staff")
    tenant = Tenant.objects.get(slug="demo-test")
    assert tenant.name == "Demo Store"

    store = generate_store(**SIZE, end_date=END)
    expected = store.summary()
    stored = _stored_counts(tenant)
    assert stored == {key: expected[key] for key in stored}
    with tenant_context(tenant):  # one running experiment, with shoppers exposed and responding
        experiment = Experiment.objects.get()
        assert experiment.status == Experiment.Status.RUNNING
        assert Exposure.objects.filter(experiment=experiment).count() > 0
        assert Event.objects.filter(recommendation_id__regex=rf"^v[0-9]+-e{experiment.pk}[a-z]").exists()
    assert stored["orders"] > 20 and stored["events"] > 200 and stored["follows"] > 20
    with tenant_context(tenant):
        last_order = Order.objects.latest("ordered_at").ordered_at.astimezone(UTC).date()
        assert last_order == END
        assert Product.objects.filter(category__path__contains=" > ").count() == SIZE["products"]
        assert Customer.objects.filter(personalization_consent=False).count() == int(
            (~store.customers.column("personalization_consent")).sum()
        )
    assert f"{stored['order_lines']:,} order lines" in output
    # The apps' demo steps ran: the experiment above, and the widget demo page's key is announced.
    assert "started experiment" in output and "widget demo: /widget-demo/demo-test/" in output


@pytest.mark.django_db
def test_seed_demo_with_staff_creates_working_logins_once() -> None:
    _seed("--end-date", END.isoformat(), "--with-staff")
    _seed("--end-date", END.isoformat(), "--with-staff")
    tenant = Tenant.objects.get(slug="demo-test")
    users = get_user_model().objects.filter(username__in=["demo-owner", "demo-analyst"])
    assert users.count() == 2 and all(user.is_staff and not user.is_superuser for user in users)
    assert authenticate(username="demo-owner", password="demo-password-123") is not None
    with tenant_context(tenant):
        roles = dict(Membership.objects.values_list("user__username", "role"))
    assert roles == {"demo-owner": "owner", "demo-analyst": "analyst"}


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing_and_reuses_the_loaded_end_date() -> None:
    _seed("--end-date", END.isoformat())
    tenant = Tenant.objects.get(slug="demo-test")
    first = _stored_counts(tenant)
    with tenant_context(tenant):
        first_orders = sorted(Order.objects.values_list("external_id", "ordered_at"))
    output = _seed()  # no --end-date: the end of the data already loaded
    assert END.isoformat() in output and output.count(" 0 created, 0 updated,") == 6  # customers … social, stock
    assert _stored_counts(tenant) == first
    with tenant_context(tenant):
        assert sorted(Order.objects.values_list("external_id", "ordered_at")) == first_orders
    assert Tenant.objects.filter(slug="demo-test").count() == 1


@pytest.mark.django_db
def test_seed_demo_refuses_a_too_short_history() -> None:
    with pytest.raises(CommandError, match="at least 7"):
        call_command("seed_demo", "--tenant", "demo-test", "--days", "3", stdout=StringIO())
    assert not Tenant.objects.filter(slug="demo-test").exists()


@pytest.mark.django_db(transaction=True)
def test_write_csv_writes_files_that_import_data_loads_into_a_new_store(tmp_path) -> None:
    out = _seed("--end-date", END.isoformat(), "--write-csv", str(tmp_path / "sample"))
    assert not Tenant.objects.filter(slug="demo-test").exists()  # only files, no store
    files = sorted(path.name for path in (tmp_path / "sample").iterdir())
    assert files == ["customers.csv", "events.csv", "orders.csv", "products.csv", "social.csv", "stock.csv"]
    # The command prints the import_data line to load them; run exactly that (with a store of our own).
    printed = next(line.strip() for line in out.splitlines() if "import_data" in line)
    args = printed.split()[2:]  # after "./manage import_data"
    call_command("tenant", "create", "corner-shop", "--name", "Corner Shop", stdout=StringIO())
    args[args.index("SLUG")] = "corner-shop"
    call_command("import_data", *args, stdout=StringIO(), stderr=StringIO())
    store = generate_store(**SIZE, end_date=END)
    with tenant_context(Tenant.objects.get(slug="corner-shop")):
        assert Customer.objects.count() == len(store.customers)
        assert Product.objects.count() == len(store.products)
        assert Order.objects.count() > 0


@pytest.mark.django_db
def test_seed_demo_without_encryption_keys_outside_debug_writes_nothing_and_says_which_key(settings) -> None:
    settings.DEBUG = False
    settings.BLIND_INDEX_KEY = ""
    crypto.reset_key_cache()
    try:
        with pytest.raises(CommandError, match="BLIND_INDEX_KEY must be set"):
            _seed()
        assert not Tenant.objects.filter(slug="demo-test").exists()  # no empty store left behind
    finally:
        crypto.reset_key_cache()
