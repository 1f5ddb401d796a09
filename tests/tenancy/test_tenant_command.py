"""`manage.py tenant create|set|show` and the validation of every tenant setting."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from retailsite.tenancy.models import Tenant
from retailsite.tenancy.settings_registry import registered_settings

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("tenant", *args, stdout=out)
    return out.getvalue()


def test_create_then_show_lists_every_registered_setting_with_defaults() -> None:
    run("create", "corner-shop", "--name", "Corner Shop", "--currency", "EUR", "--timezone", "Europe/Berlin")
    tenant = Tenant.objects.get(slug="corner-shop")
    assert (tenant.name, tenant.currency, tenant.timezone) == ("Corner Shop", "EUR", "Europe/Berlin")
    shown = run("show", "corner-shop")
    assert "Europe/Berlin" in shown
    for key in ("retrain_time", "forecast_frequency", "forecast_horizon", "inventory_budget", "event_retention_days"):
        assert key in shown
    assert "forecast_frequency = W  (default)" in shown


def test_set_validates_and_stores_typed_values() -> None:
    run("create", "shop", "--name", "Shop")
    out = run(
        "set",
        "shop",
        "forecast_frequency=M",
        "forecast_horizon=6",
        "inventory_budget=2500.5",
        "exclude_purchased=no",
        "event_weights=view:1,cart:2,purchase:8",
    )
    assert "forecast_horizon = 6" in out
    tenant = Tenant.objects.get(slug="shop")
    assert tenant.setting("forecast_frequency") == "M"
    assert tenant.setting("forecast_horizon") == 6
    assert tenant.setting("inventory_budget") == 2500.5
    assert tenant.setting("exclude_purchased") is False
    assert tenant.setting("event_weights") == {"view": 1.0, "cart": 2.0, "purchase": 8.0}
    assert tenant.setting("review_period_days") == 7  # untouched default


@pytest.mark.parametrize(
    ("assignment", "expected_fragment"),
    [
        ("forecast_frequency=Q", "one of D, W, M"),
        ("forecast_horizon=0", "forecast_horizon must be >= 1"),
        ("forecast_horizon=soon", "an integer"),
        ("retrain_time=25:00", "HH:MM"),
        ("inventory_budget=-5", "inventory_budget must be >= 0"),
        ("event_weights=click:3", "name:number"),
        ("no_such_key=1", "Valid settings: activation_tolerance"),
        ("forecast_horizon", "is not KEY=VALUE"),
    ],
)
def test_bad_key_or_value_is_refused_and_nothing_is_saved(assignment: str, expected_fragment: str) -> None:
    run("create", "shop", "--name", "Shop")
    with pytest.raises(CommandError) as error:
        run("set", "shop", "forecast_horizon=4", assignment)
    assert expected_fragment in str(error.value)
    assert Tenant.objects.get(slug="shop").settings == {}  # the valid assignment was not saved either


def test_unknown_key_message_lists_every_valid_setting() -> None:
    run("create", "shop", "--name", "Shop")
    with pytest.raises(CommandError) as error:
        run("set", "shop", "colour=blue")
    for key in registered_settings():
        assert key in str(error.value)


def test_create_refuses_duplicates_and_bad_core_fields() -> None:
    run("create", "shop", "--name", "Shop")
    with pytest.raises(CommandError, match="already exists"):
        run("create", "shop", "--name", "Again")
    with pytest.raises(CommandError, match="time zone"):
        run("create", "other", "--name", "Other", "--timezone", "Mars/Olympus")
    with pytest.raises(CommandError, match="ISO 4217"):
        run("create", "third", "--name", "Third", "--currency", "euro")
    with pytest.raises(CommandError, match="lowercase"):
        run("create", "Bad Slug!", "--name", "Bad")
    assert list(Tenant.objects.values_list("slug", flat=True)) == ["shop"]


def test_set_and_show_unknown_tenant_name_the_known_ones() -> None:
    run("create", "shop", "--name", "Shop")
    with pytest.raises(CommandError, match=r"No tenant 'nope'\. Known tenants: shop"):
        run("show", "nope")


def test_set_core_fields_via_set() -> None:
    run("create", "shop", "--name", "Shop")
    run("set", "shop", "name=Renamed Shop", "timezone=Asia/Tokyo")
    tenant = Tenant.objects.get(slug="shop")
    assert (tenant.name, tenant.timezone) == ("Renamed Shop", "Asia/Tokyo")
