"""The demand forecasting pipeline on PostgreSQL under row-level security: reading a store's history into periods,
forecasting every product, category and the store total, storing a versioned run, and keeping the previous run
serving when a run fails."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from forecasting import forecast_runs, selectors
from forecasting.forecast_runs import NotEnoughHistory, forecast_run_create, forecast_runs_prune, load_demand_history
from forecasting.models import ForecastRun, RunStatus, SeriesForecast, SeriesLevel
from forecasting.periods import last_complete_period, period_start
from retailsite.commerce.selectors import product_get_by_external_id
from retailsite.tenancy.context import tenant_context
from tests.builders.forecasting import UTC, add_order, build_planted_store
from tests.factories import ForecastRunFactory, SeriesForecastFactory, TenantFactory

pytestmark = pytest.mark.django_db

HORIZON = 4


@pytest.fixture
def tenant():
    return TenantFactory(
        slug="planted", timezone="Europe/Paris", settings={"forecast_frequency": "W", "forecast_horizon": HORIZON}
    )


def _index(store, external_id: str, history) -> int:
    return int(np.searchsorted(history.product_ids, store.products[external_id]))


def _category_index(store, path: str, history) -> int:
    return int(np.searchsorted(history.category_ids, store.categories[path]))


# ---------------------------------------------------------------------------------------------------- periods


def test_periods_start_on_monday_and_the_first_of_the_month() -> None:
    sunday, monday = dt.date(2024, 2, 11), dt.date(2024, 2, 12)
    assert period_start(sunday, "W") == dt.date(2024, 2, 5)
    assert period_start(monday, "W") == monday
    assert period_start(dt.date(2024, 2, 29), "M") == dt.date(2024, 2, 1)
    # A live store: every week before today's is history, quiet days included; today's week is not over.
    assert last_complete_period(sunday, dt.date(2024, 2, 12), "W") == dt.date(2024, 2, 5)
    assert last_complete_period(dt.date(2024, 2, 14), dt.date(2024, 2, 22), "W") == dt.date(2024, 2, 12)
    assert last_complete_period(sunday, sunday, "W") == dt.date(2024, 1, 29)
    assert last_complete_period(dt.date(2024, 3, 31), dt.date(2024, 4, 2), "M") == dt.date(2024, 3, 1)
    # Data that stopped long ago (a historical import): a week whose data ends on a Wednesday is a partial week.
    assert last_complete_period(dt.date(2024, 2, 14), dt.date(2024, 6, 1), "W") == dt.date(2024, 2, 5)
    assert last_complete_period(sunday, dt.date(2024, 6, 1), "W") == dt.date(2024, 2, 5)


# ---------------------------------------------------------------------------------------------------- reading


def test_history_is_aggregated_per_local_week_up_the_category_tree(tenant) -> None:
    store = build_planted_store(tenant, weeks=30)
    # Sunday 11 February 2024 23:30 in Paris is still week 5 there; 00:30 on Monday is week 6, though both
    # moments fall on Sunday in UTC.
    add_order(tenant, store, "late-sunday", "G1", dt.datetime(2024, 2, 11, 22, 30, tzinfo=UTC), 100)
    add_order(tenant, store, "early-monday", "G1", dt.datetime(2024, 2, 11, 23, 30, tzinfo=UTC), 1000)
    # Week 7: ten more units of K1 at twice the price.
    add_order(tenant, store, "dear", "K1", dt.datetime(2024, 2, 20, 9, 0, tzinfo=UTC), 10, unit_price="20.00")
    # An order in the week that holds "today" is not history yet.
    add_order(
        tenant,
        store,
        "this-week",
        "K1",
        dt.datetime.combine(store.week_start(30) + dt.timedelta(days=1), dt.time(9), tzinfo=UTC),
        50,
    )

    with tenant_context(tenant):
        history = load_demand_history(tenant, today=store.today)

    assert history.frequency == "W"
    assert history.first_period == dt.date(2024, 1, 1)
    assert history.n_periods == 30
    assert history.last_period == store.week_start(29)
    assert history.data_cutoff == store.week_start(29) + dt.timedelta(days=6)
    assert all(start.weekday() == 0 for start in history.period_starts)

    g1 = history.units[_index(store, "G1", history)]
    assert g1[4] == 3 and g1[5] == 3 + 100 and g1[6] == 3 + 1000 and g1[7] == 3
    k1 = _index(store, "K1", history)
    assert history.units[k1, 7] == 13 + 10
    assert history.average_prices[k1, 7] == pytest.approx((13 * 10 + 10 * 20) / 23)
    assert history.average_prices[k1, 0] == pytest.approx(10.0)
    assert np.isnan(history.average_prices[_index(store, "Z1", history)]).all()

    planted = {key: np.asarray(units, dtype=float) for key, units in store.weekly_units.items()}
    planted["G1"][5] += 100
    planted["G1"][6] += 1000
    planted["K1"][7] += 10
    categories = history.category_units
    kitchen = planted["K1"] + planted["K2"] + planted["N1"]
    np.testing.assert_array_equal(categories[_category_index(store, "Home > Kitchen", history)], kitchen)
    np.testing.assert_array_equal(categories[_category_index(store, "Home", history)], kitchen + planted["G1"])
    # The discontinued product's sales still count for its category and the store.
    np.testing.assert_array_equal(categories[_category_index(store, "Toys", history)], planted["T1"] + planted["X1"])
    np.testing.assert_array_equal(history.total_units, sum(planted.values()))


def _aggregate_in_pandas(tenant, freq: str, before: dt.datetime) -> list[tuple]:  # type: ignore[no-untyped-def]
    """An independent oracle for the SQL aggregation: the raw order lines, grouped in pandas."""
    import pandas as pd

    from retailsite.commerce.models import OrderLine

    lines = list(
        OrderLine.objects.filter(order__ordered_at__lt=before).values_list(
            "product_id", "order__ordered_at", "quantity", "unit_price"
        )
    )
    frame = pd.DataFrame(lines, columns=["product_id", "ordered_at", "quantity", "unit_price"])
    local = pd.to_datetime(frame["ordered_at"], utc=True).dt.tz_convert(tenant.timezone).dt.tz_localize(None)
    day = local.dt.normalize()
    if freq == "W":
        day = day - pd.to_timedelta(day.dt.weekday, unit="D")
    elif freq == "M":
        day = day.dt.to_period("M").dt.start_time
    frame["period"] = day.to_numpy().astype("datetime64[D]")
    frame["units"] = frame["quantity"].astype(float)
    frame["revenue"] = frame["units"] * frame["unit_price"].astype(float)
    grouped = frame.groupby(["product_id", "period"], sort=False)[["units", "revenue"]].sum().reset_index()
    return sorted(
        zip(
            grouped["product_id"].tolist(),
            grouped["period"].to_numpy().astype("datetime64[D]").tolist(),
            grouped["units"].tolist(),
            grouped["revenue"].tolist(),
            strict=True,
        )
    )


def test_the_database_and_the_python_aggregation_agree(tenant) -> None:
    store = build_planted_store(tenant, weeks=12)
    add_order(tenant, store, "early-monday", "G1", dt.datetime(2024, 2, 11, 23, 30, tzinfo=UTC), 1000)
    before = dt.datetime(2024, 3, 25, tzinfo=UTC)
    with tenant_context(tenant):
        for freq in ("D", "W", "M"):
            in_sql = forecast_runs._sales_from_postgresql(tenant, freq, before)
            in_python = _aggregate_in_pandas(tenant, freq, before)

            def rows(sales):
                return sorted(
                    zip(
                        sales.product_ids.tolist(),
                        sales.period_days.tolist(),
                        sales.units.tolist(),
                        sales.revenue.tolist(),
                        strict=True,
                    )
                )

            assert rows(in_sql) == in_python
            assert len(rows(in_sql)) > 0


def test_a_store_without_orders_has_nothing_to_forecast(tenant) -> None:
    with tenant_context(tenant), pytest.raises(NotEnoughHistory):
        forecast_run_create(tenant=tenant, today=dt.date(2024, 3, 1))
    with tenant_context(tenant):
        assert not ForecastRun.objects.exists()


# ---------------------------------------------------------------------------------------------------- the run


@pytest.fixture
def planted_run(tenant):
    store = build_planted_store(tenant, weeks=60)
    with tenant_context(tenant):
        run = forecast_run_create(tenant=tenant, today=store.today)
    return store, run


def test_the_pipeline_stores_products_categories_and_the_total(tenant, planted_run) -> None:
    store, run = planted_run
    with tenant_context(tenant):
        rows = list(SeriesForecast.objects.filter(run=run).select_related("product", "category"))
        run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.finished_at is not None
    assert run.frequency == "W" and run.horizon == HORIZON
    products = {row.product.external_id: row for row in rows if row.level == SeriesLevel.PRODUCT}
    categories = {row.category.path: row for row in rows if row.level == SeriesLevel.CATEGORY}
    totals = [row for row in rows if row.level == SeriesLevel.TOTAL]
    # Every active product, the never-sold one included; the discontinued one only inside its category.
    assert set(products) == {"K1", "K2", "G1", "T1", "N1", "Z1"}
    assert set(categories) == {"Home", "Home > Kitchen", "Home > Garden", "Toys"}
    assert len(totals) == 1
    assert run.n_series == len(rows) == 11

    next_mondays = [(store.week_start(60) + dt.timedelta(weeks=k)).isoformat() for k in range(HORIZON)]
    for row in rows:
        assert row.periods == next_mondays
        p10, p50, p90 = (np.asarray(v) for v in (row.p10, row.p50, row.p90))
        assert len(p50) == HORIZON and len(row.baseline_p50) == HORIZON
        assert (p10 >= 0).all() and (p10 <= p50).all() and (p50 <= p90).all(), row
        assert row.horizon_total == pytest.approx(p50.sum(), abs=0.01)

    # Planted structure: a constant 3 a week is forecast at about 3; routes follow the demand pattern.
    assert np.allclose(products["G1"].p50, 3.0, atol=0.5)
    assert products["K1"].route == "regular" and products["K1"].backtest["mase"] is not None
    assert products["K1"].backtest["baseline"]["mase"] is not None
    assert products["T1"].route == "intermittent" and products["T1"].demand_class in ("intermittent", "lumpy")
    assert products["N1"].route == "new_product" and products["N1"].method.startswith("category_share")
    assert products["Z1"].route == "new_product"
    assert products["K1"].category.path == "Home > Kitchen"
    # Recent actuals for the charts end with the last complete week.
    assert products["K1"].history["values"][-1] == store.weekly_units["K1"][59]
    assert totals[0].history["values"][-1] == sum(units[59] for units in store.weekly_units.values())
    assert categories["Toys"].history["values"][-3:] == [
        store.weekly_units["T1"][w] + store.weekly_units["X1"][w] for w in (57, 58, 59)
    ]
    # Aggregated backtest figures, forecast beside the seasonal naive, per level.
    for level in ("product", "category", "total"):
        assert run.metrics[level]["forecast"]["n_series"] >= 1
        assert set(run.metrics[level]) == {"forecast", "baseline"}
    assert run.details["routes"]["product"]["new_product"] == 2


def test_a_failed_run_leaves_the_previous_run_serving(tenant, planted_run, monkeypatch) -> None:
    store, first = planted_run

    def broken_engine(*args, **kwargs):
        raise RuntimeError("statsforecast exploded")

    monkeypatch.setattr(forecast_runs, "forecast_many", broken_engine)
    with tenant_context(tenant), pytest.raises(RuntimeError, match="exploded"):
        forecast_run_create(tenant=tenant, today=store.today)
    with tenant_context(tenant):
        failed = ForecastRun.objects.exclude(pk=first.pk).get()
        assert failed.status == RunStatus.FAILED and "exploded" in failed.error
        assert not SeriesForecast.objects.filter(run=failed).exists()
        assert selectors.forecast_run_latest() == first
        k1 = product_get_by_external_id("K1")
        assert selectors.forecast_for_product(product=k1).run_id == first.pk


def test_a_failure_while_writing_stores_no_rows(tenant, planted_run, monkeypatch) -> None:
    store, first = planted_run

    def broken_details(*args, **kwargs):
        raise RuntimeError("disk full")

    # Fails inside the write transaction, after the rows were inserted: they must be rolled back with it.
    monkeypatch.setattr(forecast_runs, "_run_details", broken_details)
    with tenant_context(tenant), pytest.raises(RuntimeError):
        forecast_run_create(tenant=tenant, today=store.today)
    with tenant_context(tenant):
        failed = ForecastRun.objects.exclude(pk=first.pk).get()
        assert failed.status == RunStatus.FAILED
        assert SeriesForecast.objects.filter(run=failed).count() == 0
        assert SeriesForecast.objects.filter(run=first).count() == 11
        assert selectors.forecast_run_latest() == first


def test_old_runs_are_pruned_once_newer_ones_succeed(tenant) -> None:
    with tenant_context(tenant):
        runs = [
            ForecastRunFactory(tenant=tenant, frequency="W", horizon=4, status=status, finished_at=None)
            for status in (
                RunStatus.FAILED,
                RunStatus.SUCCEEDED,
                RunStatus.SUCCEEDED,
                RunStatus.FAILED,
                RunStatus.SUCCEEDED,
                RunStatus.SUCCEEDED,
                RunStatus.RUNNING,
            )
        ]
        assert forecast_runs_prune(keep=3) == 2  # the failed and succeeded runs older than the third newest success
        remaining = set(ForecastRun.objects.values_list("pk", flat=True))
    assert remaining == {runs[3].pk, runs[4].pk, runs[5].pk, runs[6].pk, runs[2].pk}


def test_price_what_if_scales_every_quantile_by_the_elasticity(tenant) -> None:
    with tenant_context(tenant):
        run = ForecastRunFactory(tenant=tenant, frequency="W", horizon=2, status=RunStatus.SUCCEEDED, finished_at=None)
        series = SeriesForecastFactory(
            run=run,
            level=SeriesLevel.TOTAL,
            method="m",
            periods=["2024-01-01", "2024-01-08"],
            p10=[5.0, 10.0],
            p50=[10.0, 20.0],
            p90=[15.0, 30.0],
            baseline_p50=[9.0, 9.0],
            elasticity=-2.0,
        )
        what_if = selectors.forecast_what_if(series=series, price_change=-0.10)
        # 10% cheaper with elasticity -2: demand x 0.9 ** -2 = 1.2346.
        assert what_if.multiplier == pytest.approx(1 / 0.81)
        assert what_if.p50 == pytest.approx([12.346, 24.691], abs=1e-3)
        assert what_if.p10 == pytest.approx([6.173, 12.346], abs=1e-3)
        series.elasticity = None
        assert selectors.forecast_what_if(series=series, price_change=-0.1) is None


def test_a_failing_elasticity_fit_still_yields_forecasts(tenant, monkeypatch) -> None:
    store = build_planted_store(tenant, weeks=60)
    real_engine = forecast_runs.forecast_many

    def engine_with_a_singular_price_fit(series, *args, **kwargs):
        if any(item.prices is not None for item in series.values()):
            raise np.linalg.LinAlgError("Singular matrix")
        return real_engine(series, *args, **kwargs)

    monkeypatch.setattr(forecast_runs, "forecast_many", engine_with_a_singular_price_fit)
    with tenant_context(tenant):
        run = forecast_run_create(tenant=tenant, today=store.today)
        assert run.status == RunStatus.SUCCEEDED
        assert SeriesForecast.objects.filter(run=run, level=SeriesLevel.PRODUCT).count() == 6
    assert any("elasticities not estimated" in note for note in run.details["notes"])


def test_category_elasticity_is_its_products_weighted_by_recent_units() -> None:
    product_category = np.asarray([11, 11, 11, 12], dtype=np.int64)  # Kitchen x3, Garden
    category_ids, members = forecast_runs._category_membership([(10, 0), (11, 10), (12, 10)], product_category)
    units = np.asarray([[5.0, 5.0], [10.0, 20.0], [0.0, 0.0], [15.0, 5.0]])  # recent units 10, 30, 0, 20
    history = forecast_runs.DemandHistory(
        frequency="W",
        first_period=dt.date(2024, 1, 1),
        n_periods=2,
        data_cutoff=dt.date(2024, 1, 14),
        product_ids=np.arange(1, 5),
        product_active=np.ones(4, dtype=bool),
        product_category=product_category,
        units=units,
        revenue=units * 10,
        category_ids=category_ids,
        category_members=members,
    )
    elasticities = np.asarray([-1.0, -3.0, np.nan, -2.0])
    by_category, total = forecast_runs._weighted_elasticities(history, elasticities, season_length=52)
    home, kitchen, garden = by_category
    assert kitchen == pytest.approx((10 * -1 + 30 * -3) / 40)
    assert garden == pytest.approx(-2.0)
    assert home == pytest.approx((10 * -1 + 30 * -3 + 20 * -2) / 60)
    assert total == pytest.approx(home)
