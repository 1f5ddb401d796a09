"""The "forecasts" training step end to end on a small generated store: `manage.py train --only forecasts` forecasts
demand and trains the customer models; customer predictions cover consenting customers only."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from forecasting.models import CustomerModelRun, CustomerPrediction, ForecastRun, RunStatus, SeriesForecast
from retailsite.commerce.demo import generate_store, write_csvs
from retailsite.commerce.importers import import_store_data
from retailsite.commerce.models import Customer, Product
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import TrainingRun
from retailsite.tenancy.training_steps import training_step_get
from tests.factories import CustomerModelRunFactory, ForecastRunFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_store():
    """About 400 days of a small generated store ending yesterday, with some customers withholding consent."""
    tenant = TenantFactory(
        slug="demo-small", timezone="UTC", settings={"forecast_frequency": "W", "forecast_horizon": 6}
    )
    store = generate_store(
        customers=500,
        products=24,
        days=400,
        seed=7,
        end_date=timezone.now().date() - dt.timedelta(days=1),
        activity=2.0,
    )
    with tempfile.TemporaryDirectory() as directory:
        paths = write_csvs(store, directory)
        import_store_data(
            tenant=tenant, files={kind: paths[kind] for kind in ("customers", "products", "orders", "events")}
        )
    with tenant_context(tenant):
        # Make sure both kinds of customers exist whatever the generator drew.
        withheld = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:20])
        Customer.objects.filter(pk__in=withheld).update(personalization_consent=False)
    return tenant


def test_the_step_is_registered_for_the_schedule_and_chains_inventory() -> None:
    step = training_step_get("forecasts")
    assert step.schedule_setting == "forecast_time"
    assert step.then == ("inventory",)


def test_manage_py_train_only_forecasts_end_to_end(demo_store) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("train", "--tenant", demo_store.slug, "--only", "forecasts", stdout=out, stderr=err)

    assert "== forecasts (demo-small)" in out.getvalue()
    assert "forecasting demand" in err.getvalue()  # progress shown
    with tenant_context(demo_store):
        run = ForecastRun.objects.get()
        assert run.status == RunStatus.SUCCEEDED
        active = set(Product.objects.filter(active=True).values_list("pk", flat=True))
        forecast = set(SeriesForecast.objects.filter(run=run, level="product").values_list("product_id", flat=True))
        assert forecast == active
        assert SeriesForecast.objects.filter(run=run, level="total").count() == 1
        # Products with most of a year of their own weekly sales are forecast from it, not as a category share.
        products = SeriesForecast.objects.filter(run=run, level="product")
        seasoned = [row for row in products if sum(1 for v in row.history["values"][-48:] if v) >= 40]
        assert seasoned, "the generated store should have products selling most weeks"
        assert all(row.route != "new_product" for row in seasoned), [row.method for row in seasoned]
        # The store total and every category are served nothing worse than the seasonal naive in their backtest.
        for row in SeriesForecast.objects.filter(run=run, level__in=("total", "category")):
            if row.backtest.get("baseline", {}).get("mase") is not None:
                assert row.backtest["mase"] <= row.backtest["baseline"]["mase"] + 1e-9, (row.level, row.method)
        assert TrainingRun.objects.get(step="forecasts").status == TrainingRun.Status.SUCCEEDED

        customer_run = CustomerModelRun.objects.get()
        assert customer_run.status == RunStatus.SUCCEEDED, customer_run.error
        scored = set(CustomerPrediction.objects.filter(run=customer_run).values_list("customer_id", flat=True))
        consenting = set(Customer.objects.filter(personalization_consent=True).values_list("pk", flat=True))
        withheld = set(Customer.objects.filter(personalization_consent=False).values_list("pk", flat=True))
        assert scored and scored <= consenting
        assert not scored & withheld
        assert {"spend", "churn", "next_category"} <= set(customer_run.figures["models"])

    # The export command reads the run just stored: one row per active product and forecast period.
    with tempfile.TemporaryDirectory() as directory:
        target = Path(directory) / "forecasts.csv"
        call_command("export_forecasts", "--tenant", demo_store.slug, "--output", str(target), stdout=io.StringIO())
        lines = target.read_text().splitlines()
    assert lines[0] == "product_id,period_start,p10,p50,p90,model"
    assert len(lines) - 1 == len(active) * 6


def test_runs_left_running_by_a_dead_worker_are_marked_failed_by_the_next_step() -> None:
    # A worker died in the middle of writing forecasts: its runs stay "running" forever unless the next run of
    # the step (which holds the store's lock, so nothing else is alive) closes them.
    tenant = TenantFactory()
    # Left as a dead worker leaves them: running, never finished.
    dead_forecast = ForecastRunFactory(
        tenant=tenant, frequency="W", horizon=4, status=RunStatus.RUNNING, finished_at=None
    )
    dead_customers = CustomerModelRunFactory(tenant=tenant, status=RunStatus.RUNNING)
    call_command("train", "--tenant", tenant.slug, "--only", "forecasts", stdout=io.StringIO(), stderr=io.StringIO())
    with tenant_context(tenant):
        for stale in (ForecastRun.objects.get(pk=dead_forecast.pk), CustomerModelRun.objects.get(pk=dead_customers.pk)):
            assert stale.status == RunStatus.FAILED
            assert "interrupted" in stale.error and stale.finished_at is not None
