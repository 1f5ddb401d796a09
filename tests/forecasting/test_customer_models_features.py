"""Customer predictions engine, small parts: features, labels, segments, cut-offs and figures on tiny stores
whose right answers are worked out by hand."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from forecasting.engine.customers import (
    CustomerTables,
    FeatureSpec,
    SegmentRules,
    assign_segments,
    binary_figures,
    build_customer_features,
    build_customer_labels,
    calibration_bins,
    customer_groups,
    group_figures,
    missing_value_report,
    regression_figures,
    rolling_cutoffs,
    time_folds,
)

CUTOFF = pd.Timestamp("2024-06-01")


def days_before(days: float) -> pd.Timestamp:
    return CUTOFF - pd.Timedelta(days=days)


def tiny_store() -> CustomerTables:
    """Ann: three orders before the cut-off and one two-line order after it. Bob: views only. Cleo: one
    order and no row in the customers table."""
    orders = pd.DataFrame(
        [
            ("o1", "ann", days_before(100), 10.0, "Books"),
            ("o2", "ann", days_before(40), 30.0, "Toys"),
            ("o3", "ann", days_before(10), 20.0, "Books"),
            ("o4", "ann", days_before(-5), 5.0, "Books"),  # after the cut-off: a label, never a feature
            ("o4", "ann", days_before(-5), 15.0, "Toys"),
            ("o5", "ann", days_before(-95), 50.0, "Garden"),  # beyond the 90-day horizon
            ("o6", "cleo", days_before(200), 7.5, "Garden"),
        ],
        columns=["order_id", "customer_id", "ordered_at", "amount", "category"],
    )
    events = pd.DataFrame(
        [
            ("bob", "view", days_before(50)),
            ("bob", "view", days_before(3)),
            ("ann", "cart", days_before(12)),
            ("bob", "view", days_before(-1)),  # after the cut-off
            (None, "view", days_before(2)),  # an anonymous session: belongs to no customer
        ],
        columns=["customer_id", "event_type", "occurred_at"],
    )
    customers = pd.DataFrame(
        [
            ("ann", "F", 1990, "Lyon", days_before(400)),
            ("bob", "", None, "", days_before(60)),
        ],
        columns=["customer_id", "gender", "birth_year", "city", "signed_up_at"],
    )
    return CustomerTables.from_frames(orders, events, customers)


@pytest.fixture
def tables() -> CustomerTables:
    return tiny_store()


@pytest.fixture
def spec(tables: CustomerTables) -> FeatureSpec:
    return FeatureSpec.from_tables(tables)


def test_purchase_features_match_hand_computation(tables: CustomerTables, spec: FeatureSpec) -> None:
    features = build_customer_features(tables, CUTOFF, spec)
    ann = features.loc["ann"]
    assert ann["has_purchased"] == 1
    assert ann["recency_days"] == pytest.approx(10)
    assert ann["days_since_first_order"] == pytest.approx(100)
    assert (ann["orders_total"], ann["orders_30d"], ann["orders_90d"], ann["orders_365d"]) == (3, 1, 2, 3)
    assert ann["spend_total"] == pytest.approx(60)
    assert ann["spend_90d"] == pytest.approx(50)
    assert ann["spend_prev_90d"] == pytest.approx(10)
    assert ann["avg_order_value"] == pytest.approx(20)
    assert ann["max_order_value"] == pytest.approx(30)
    # Gaps of 60 and 30 days.
    assert ann["gap_mean_days"] == pytest.approx(45)
    assert ann["gap_std_days"] == pytest.approx(math.sqrt(450))
    assert ann["gap_last_days"] == pytest.approx(30)
    assert ann["recency_over_gap"] == pytest.approx(10 / 45)
    # 30-day buckets, oldest to newest: spend 0, 0, 10, 0, 30, 20 -> least-squares slope 90 / 17.5.
    assert ann["spend_trend_per_30d"] == pytest.approx(90 / 17.5)
    assert ann["category_share[Books]"] == pytest.approx(2 / 3)
    assert ann["category_share[Toys]"] == pytest.approx(1 / 3)
    assert ann["category_share[Garden]"] == 0
    assert ann["n_categories"] == 2
    assert spec.categories[int(ann["favourite_category"])] == "Books"
    assert spec.categories[int(ann["last_category"])] == "Books"


def test_orders_and_events_after_the_cutoff_are_never_features(tables: CustomerTables, spec: FeatureSpec) -> None:
    before = build_customer_features(tables, CUTOFF, spec)
    only_past = build_customer_features(tables.before(CUTOFF), CUTOFF, spec)
    pd.testing.assert_frame_equal(before, only_past)
    assert before.loc["bob", "events_view_total"] == 2


def test_customer_without_orders_has_zero_counts_and_undefined_purchase_figures(
    tables: CustomerTables, spec: FeatureSpec
) -> None:
    bob = build_customer_features(tables, CUTOFF, spec).loc["bob"]
    assert bob["has_purchased"] == 0
    assert bob["orders_total"] == 0 and bob["spend_total"] == 0 and bob["spend_trend_per_30d"] == 0
    for undefined in ("recency_days", "avg_order_value", "gap_mean_days", "category_share[Books]", "last_category"):
        assert math.isnan(bob[undefined]), undefined
    assert bob["events_view_total"] == 2 and bob["events_view_30d"] == 1
    assert bob["days_since_last_event"] == pytest.approx(3)


def test_missing_demographics_are_explicit_and_reported(tables: CustomerTables, spec: FeatureSpec) -> None:
    features = build_customer_features(tables, CUTOFF, spec)
    assert features.loc["ann", "age"] == 2024 - 1990
    assert features.loc["ann", ["age_missing", "gender_missing", "region_missing", "signup_missing"]].sum() == 0
    assert spec.genders[int(features.loc["ann", "gender"])] == "F"
    assert features.loc["ann", "tenure_days"] == pytest.approx(400)
    # Bob's empty gender and city are unknown, not a category called "".
    assert features.loc["bob", ["age_missing", "gender_missing", "region_missing"]].tolist() == [1, 1, 1]
    assert features.loc["bob", "signup_missing"] == 0
    # Cleo is not in the customers table at all: everything demographic is missing, and still she has a row.
    assert features.loc["cleo", ["age_missing", "gender_missing", "region_missing", "signup_missing"]].sum() == 4
    assert math.isnan(features.loc["cleo", "tenure_days"])
    report = missing_value_report(features)
    assert report["age"] == 2 and report["gender"] == 2 and report["tenure_days"] == 1
    groups = customer_groups(features, spec)
    assert groups.loc["ann"].tolist() == ["F", "25-34"]
    assert groups.loc["bob"].tolist() == ["unknown", "unknown"]


def test_known_customers_and_explicit_customer_list(tables: CustomerTables, spec: FeatureSpec) -> None:
    # Before Bob signed up and before Cleo's order only Ann is known.
    early = build_customer_features(tables, days_before(250), spec)
    assert sorted(early.index) == ["ann"]
    everyone = build_customer_features(tables, days_before(250), spec, customer_ids=["ann", "bob", "cleo", "dan"])
    assert list(everyone.index) == ["ann", "bob", "cleo", "dan"]
    assert everyone.loc["dan", "orders_total"] == 0


def test_labels_from_the_90_days_after_the_cutoff(tables: CustomerTables, spec: FeatureSpec) -> None:
    labels = build_customer_labels(tables, CUTOFF, pd.Index(["ann", "bob", "cleo"]), spec, horizon_days=90)
    assert labels.loc["ann", "spend_next"] == pytest.approx(20)  # the Garden order at +95 days is outside
    assert labels.loc["ann", "churned"] == 0
    assert labels.loc["ann", "next_category"] == "Toys"  # the biggest line of the first order after the cut-off
    assert labels.loc["bob", "spend_next"] == 0 and labels.loc["bob", "churned"] == 1
    assert labels.loc["bob", "next_category"] is None
    longer = build_customer_labels(tables, CUTOFF, pd.Index(["ann"]), spec, horizon_days=120)
    assert longer.loc["ann", "spend_next"] == pytest.approx(70)


def test_rare_categories_fold_into_other() -> None:
    orders = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2, 3],
            "ordered_at": pd.date_range("2024-01-01", periods=6, freq="D"),
            "amount": 1.0,
            "category": ["A", "A", "A", "B", "B", "C"],
        }
    )
    spec = FeatureSpec.from_tables(CustomerTables.from_frames(orders), max_categories=2)
    assert spec.categories == ("A", "B", "other")
    features = build_customer_features(CustomerTables.from_frames(orders), "2024-02-01", spec)
    assert features.loc[3, "category_share[other]"] == 1


def test_time_zone_aware_times_are_read_in_utc() -> None:
    orders = pd.DataFrame(
        {
            "customer_id": [1],
            "ordered_at": [pd.Timestamp("2024-06-01 01:30", tz="Europe/Paris")],  # 23:30 UTC the day before
            "amount": [5.0],
            "category": ["A"],
        }
    )
    tables = CustomerTables.from_frames(orders)
    spec = FeatureSpec.from_tables(tables)
    features = build_customer_features(tables, pd.Timestamp("2024-06-01", tz="UTC"), spec)
    assert features.loc[1, "recency_days"] == pytest.approx(0.5 / 24)


def test_bad_input_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="lacks column"):
        CustomerTables.from_frames(pd.DataFrame({"customer_id": [1], "amount": [1.0]}))
    bad_amount = pd.DataFrame({"customer_id": [1], "ordered_at": ["2024-01-01"], "amount": ["ten"], "category": ["A"]})
    with pytest.raises(ValueError, match="amount"):
        CustomerTables.from_frames(bad_amount)


def segment_features(rows: dict[str, tuple[float, float, float, float]]) -> pd.DataFrame:
    """Rows of (recency_days, days_since_first_order, orders_365d, orders_total) by customer."""
    columns = ["recency_days", "days_since_first_order", "orders_365d", "orders_total"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def test_segment_rules_name_each_kind_of_customer() -> None:
    nan = float("nan")
    cases = {
        # customer: ((recency, days since first order, orders in 365 days, orders ever), expected segment)
        "recent_and_often": ((3, 300, 8, 12), "Champions"),
        "prospect": ((nan, nan, 0, 0), "Prospects"),
        "first_order_last_week": ((7, 7, 1, 1), "New"),
        "regular_not_recent": ((60, 400, 4, 6), "Loyal"),
        "one_order_two_months_ago": ((60, 60, 1, 1), "Promising"),
        "repeat_buyer_gone_quiet": ((120, 500, 3, 9), "At risk"),
        "one_order_four_months_ago": ((120, 120, 1, 1), "About to sleep"),
        "gone_for_a_year": ((400, 900, 0, 5), "Hibernating"),
    }
    features = segment_features({name: values for name, (values, _) in cases.items()})
    segments = assign_segments(features, SegmentRules())
    assert segments.to_dict() == {name: expected for name, (_, expected) in cases.items()}
    assert set(SegmentRules().describe()) == set(segments.unique())


def test_store_rules_raise_the_champion_bar_in_a_busy_store() -> None:
    busy = segment_features(
        {f"c{i}": (5, 400, orders, orders) for i, orders in enumerate([4, 6, 8, 10, 12, 14, 16, 20])}
    )
    rules = SegmentRules.for_store(busy)
    assert rules.frequent_orders == math.ceil(np.quantile([4, 6, 8, 10, 12, 14, 16, 20], 0.75))
    segments = assign_segments(busy, rules)
    assert segments["c7"] == "Champions" and segments["c0"] == "Loyal"


def test_rolling_cutoffs_step_back_from_the_last_complete_period() -> None:
    cutoffs = rolling_cutoffs(
        "2023-01-01", "2024-12-31", horizon_days=90, n_cutoffs=10, step_days=90, min_history_days=90
    )
    assert cutoffs[-1] == pd.Timestamp("2024-10-02")  # 90 days before 2024-12-31
    assert all(later - earlier == pd.Timedelta(days=90) for earlier, later in itertools.pairwise(cutoffs))
    assert cutoffs[0] >= pd.Timestamp("2023-04-01")
    assert len(cutoffs) == 7


def test_time_folds_never_train_on_labels_that_overlap_the_validated_period() -> None:
    cutoffs = [pd.Timestamp("2024-01-01") + pd.Timedelta(days=30 * k) for k in range(6)]
    folds = time_folds(cutoffs, horizon_days=90)
    assert [validation for _, validation in folds] == cutoffs[3:]
    for training, validation in folds:
        assert all(cutoff + pd.Timedelta(days=90) <= validation for cutoff in training)
    assert folds[0][0] == cutoffs[:1]


def test_figures_equal_hand_computed_values() -> None:
    regression = regression_figures(np.array([0.0, 10.0, 20.0]), np.array([5.0, 10.0, 14.0]))
    assert regression["mae"] == pytest.approx(11 / 3)
    assert regression["r2"] == pytest.approx(1 - 61 / 200)
    # Scores of positives 0.8, 0.4 and of negatives 0.6, 0.2: three of four pairs ranked right.
    binary = binary_figures(np.array([1, 1, 0, 0]), np.array([0.8, 0.4, 0.6, 0.2]))
    assert binary["roc_auc"] == pytest.approx(0.75)
    assert binary["brier"] == pytest.approx((0.04 + 0.36 + 0.36 + 0.04) / 4)
    assert binary["positive_rate"] == 0.5 and binary["predicted_positive_rate"] == 0.5
    single_class = binary_figures(np.array([1, 1]), np.array([0.9, 0.8]))
    assert single_class["roc_auc"] is None  # undefined, reported as such rather than as a number


def test_group_figures_split_errors_by_group() -> None:
    groups = pd.DataFrame({"gender": ["F", "F", "M", "unknown"], "age_band": ["25-34", "65+", "25-34", "unknown"]})
    actual, predicted = np.array([10.0, 20.0, 30.0, 40.0]), np.array([12.0, 14.0, 30.0, 0.0])
    result = group_figures(groups, lambda rows: regression_figures(actual[rows], predicted[rows]))
    assert result["gender"]["F"]["mae"] == pytest.approx(4)
    assert result["gender"]["M"]["mae"] == 0
    assert result["gender"]["unknown"]["mae"] == 40
    assert result["age_band"]["25-34"]["n"] == 2 and result["age_band"]["25-34"]["mae"] == pytest.approx(1)


def test_calibration_bins() -> None:
    probability = np.array([0.05, 0.05, 0.15, 0.95, 0.95, 0.95, 0.95])
    actual = np.array([0, 0, 1, 1, 1, 1, 0])
    table = calibration_bins(actual, probability, n_bins=10)
    assert table["n"].tolist() == [2, 1, 4]
    assert table["observed_rate"].tolist() == [0.0, 1.0, 0.75]
    assert table["lower"].tolist() == [0.0, 0.1, 0.9]


def test_engine_does_not_import_django() -> None:
    code = "import sys, forecasting.engine.customers; assert not [m for m in sys.modules if m.startswith('django')]"
    subprocess.run([sys.executable, "-c", code], check=True)
