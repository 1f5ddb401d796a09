"""Customer predictions engine, end to end, on a synthetic store with planted behaviour.

The store: each customer switches between an active state (buying about ``weekly_rate`` orders a week,
viewing and carting products) and a dormant one (nothing but a few views), with small weekly switching
probabilities — so customers who bought often lately keep buying, and long-quiet ones stay quiet. Each
customer has a spend level (order amounts scatter around it) and a favourite category that 80% of their
orders fall into. Demographics carry no signal and are partly missing; some buyers are missing from the
customers table altogether. The last 90 days are held out from training for the calibration test.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest

from forecasting.engine.customers import (
    SEGMENT_NAMES,
    CustomerPredictionModels,
    CustomerTables,
    TrainingConfig,
    calibration_bins,
    expected_calibration_error,
    train_customer_models,
)

START = pd.Timestamp("2023-01-01")
DAYS = 735
HELD_OUT_FROM = START + pd.Timedelta(days=DAYS - 90)  # training sees nothing from here on
CATEGORY_POPULARITY = {"Books": 0.30, "Toys": 0.24, "Garden": 0.16, "Kitchen": 0.12, "Sports": 0.10, "Music": 0.08}
ACTIVITY_FEATURES = {
    "recency_days",
    "orders_30d",
    "orders_90d",
    "spend_30d",
    "spend_90d",
    "days_since_last_event",
    "events_view_30d",
    "events_cart_30d",
    "recency_over_gap",
    "gap_last_days",
}
DEMOGRAPHIC_FEATURES = {"age", "age_missing", "gender", "gender_missing", "region", "region_missing"}
GENDER_GROUPS = {"F", "M", "X", "unknown"}
# Customers are born 1950-2005 (below): every band of domain.age_bands but "<18", and the unknowns.
AGE_GROUPS = {"18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown"}


def _spread_over_weeks(rng: np.random.Generator, counts_by_week: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(customer, day) of every happening, where ``counts_by_week[w, c]`` happen to customer c in week w."""
    weeks, customers = np.nonzero(counts_by_week)
    repeats = counts_by_week[weeks, customers]
    weeks, customers = np.repeat(weeks, repeats), np.repeat(customers, repeats)
    return customers, weeks * 7 + rng.random(len(weeks)) * 7


def synthetic_store(
    n_customers: int = 3000, *, seed: int = 0, missing_share: float = 0.15, loyalty: float = 0.8
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    weeks = DAYS // 7
    categories = np.array(list(CATEGORY_POPULARITY))
    signup_day = rng.integers(-365, DAYS - 30, size=n_customers)
    weekly_rate = np.exp(rng.normal(np.log(0.45), 0.6, size=n_customers))
    spend_level = np.exp(rng.normal(np.log(40), 0.5, size=n_customers))
    favourite = rng.choice(len(categories), size=n_customers, p=list(CATEGORY_POPULARITY.values()))
    stop, restart = 0.04, 0.01  # weekly chances to fall dormant / to come back
    active = np.where(signup_day < 0, rng.random(n_customers) < restart / (stop + restart), False)
    activity = np.zeros((weeks, n_customers), dtype=bool)
    joined = np.zeros((weeks, n_customers), dtype=bool)
    for week in range(weeks):
        joined[week] = signup_day < (week + 1) * 7
        newcomers = (signup_day >= week * 7) & joined[week]
        flips = rng.random(n_customers)
        active = (np.where(active, flips >= stop, flips < restart) | newcomers) & joined[week]
        activity[week] = active

    buyer, day = _spread_over_weeks(rng, rng.poisson(weekly_rate * activity))
    category = np.where(
        rng.random(len(buyer)) < loyalty, favourite[buyer], rng.integers(0, len(categories), size=len(buyer))
    )
    orders = pd.DataFrame(
        {
            "order_id": np.arange(len(buyer)),
            "customer_id": buyer,
            "ordered_at": START + pd.to_timedelta(day, unit="D"),
            "amount": np.round(spend_level[buyer] * np.exp(rng.normal(0, 0.3, size=len(buyer))), 2),
            "category": categories[category],
        }
    )
    event_frames = []
    for kind, mean in (
        ("view", (2.0 * weekly_rate * activity + 0.2) * joined),
        ("cart", 0.6 * weekly_rate * activity),
    ):
        who, when = _spread_over_weeks(rng, rng.poisson(mean))
        event_frames.append(
            pd.DataFrame({"customer_id": who, "event_type": kind, "occurred_at": START + pd.to_timedelta(when, "D")})
        )
    gender = rng.choice(np.array(["F", "M", "X"]), size=n_customers, p=[0.48, 0.47, 0.05]).astype(object)
    gender[rng.random(n_customers) < missing_share] = ""
    birth_year = rng.integers(1950, 2006, size=n_customers).astype(float)
    birth_year[rng.random(n_customers) < missing_share] = np.nan
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(n_customers),
            "gender": gender,
            "birth_year": birth_year,
            "city": rng.choice(np.array(["Lyon", "Paris", "Nantes", "Lille", ""]), size=n_customers),
            "signed_up_at": START + pd.to_timedelta(signup_day, unit="D"),
        }
    )
    customers = customers[rng.random(n_customers) >= 0.02]  # some buyers never made it into the customers table
    return orders, pd.concat(event_frames, ignore_index=True), customers


@pytest.fixture(scope="module")
def store() -> CustomerTables:
    return CustomerTables.from_frames(*synthetic_store())


@pytest.fixture(scope="module")
def trained(store: CustomerTables) -> CustomerPredictionModels:
    return train_customer_models(store, TrainingConfig(random_state=0), as_of=HELD_OUT_FROM)


@pytest.fixture(scope="module")
def held_out(store: CustomerTables, trained: CustomerPredictionModels) -> pd.DataFrame:
    """Scores as of the hold-out start next to what customers then did (computed straight from the orders)."""
    features = trained.build_features(store)
    scores = trained.predict(features)
    later = store.orders[store.orders["ordered_at"] >= HELD_OUT_FROM]
    scores["churned"] = (~scores.index.isin(later["customer_id"])).astype(int)
    scores["orders_30d"] = features["orders_30d"]
    return scores


def test_spend_regression_beats_the_mean_and_last_period(trained: CustomerPredictionModels) -> None:
    figures, baselines = trained.spend.figures, trained.spend.baseline_figures
    assert figures["mae"] < 0.8 * baselines["training_mean"]["mae"]
    assert figures["mae"] < baselines["last_90_days"]["mae"]
    assert figures["r2"] > 0.3
    assert baselines["training_mean"]["r2"] < 0.05


def test_churn_ranks_and_scores_better_than_the_base_rate(trained: CustomerPredictionModels) -> None:
    figures, baselines = trained.churn.figures, trained.churn.baseline_figures
    assert figures["roc_auc"] > 0.8
    assert baselines["base_rate"]["roc_auc"] == pytest.approx(0.5)
    assert figures["brier"] < 0.75 * baselines["base_rate"]["brier"]
    assert figures["roc_auc"] > baselines["no_order_in_last_90_days"]["roc_auc"]


def test_next_category_uses_category_loyalty(trained: CustomerPredictionModels) -> None:
    figures, baselines = trained.next_category.figures, trained.next_category.baseline_figures
    assert figures["accuracy"] > baselines["most_frequent_overall"]["accuracy"] + 0.25
    assert figures["f1_macro"] > baselines["most_frequent_overall"]["f1_macro"] + 0.3
    # Loyalty is 80%: knowing a customer's favourite is about as good as it gets.
    assert figures["accuracy"] > 0.65


def test_churn_probabilities_are_calibrated_on_a_later_held_out_period(held_out: pd.DataFrame) -> None:
    actual, probability = held_out["churned"].to_numpy(), held_out["churn_probability"].to_numpy()
    table = calibration_bins(actual, probability, n_bins=10)
    populated = table[table["n"] >= 100]
    assert len(populated) >= 4
    # Per bin: within 0.05 plus 2.5 binomial standard errors of the observed rate.
    gaps = (populated["mean_probability"] - populated["observed_rate"]).abs()
    noise = np.sqrt(populated["mean_probability"] * (1 - populated["mean_probability"]) / populated["n"])
    assert (gaps <= 0.05 + 2.5 * noise).all(), table
    assert expected_calibration_error(actual, probability) < 0.05
    base_rate_brier = actual.mean() * (1 - actual.mean())
    assert np.mean((probability - actual) ** 2) < 0.75 * base_rate_brier


def test_recent_frequent_buyers_get_low_churn_risk_and_keep_buying(held_out: pd.DataFrame) -> None:
    frequent = held_out[held_out["orders_30d"] >= 3]
    quiet = held_out[held_out["orders_30d"] == 0]
    assert len(frequent) > 50
    assert frequent["churn_probability"].mean() < 0.25
    assert frequent["churned"].mean() < 0.25
    assert quiet["churn_probability"].mean() > frequent["churn_probability"].mean() + 0.4


def test_scores_every_current_customer(store: CustomerTables, trained: CustomerPredictionModels) -> None:
    known = store.before(HELD_OUT_FROM)
    scores = trained.score_customers(known)
    # Everyone in the customers table, plus buyers and browsers missing from it.
    everyone = set(known.customers.index) | set(known.orders["customer_id"]) | set(known.events["customer_id"])
    assert set(scores.index) == everyone
    assert list(scores.columns) == [
        "expected_spend",
        "churn_probability",
        "next_category",
        "next_category_probability",
        "segment",
    ]
    assert (scores["expected_spend"] >= 0).all()
    assert scores["churn_probability"].between(0, 1).all()
    assert scores["next_category_probability"].between(0, 1).all()
    assert set(scores["next_category"]) <= set(CATEGORY_POPULARITY)
    assert set(scores["segment"]) <= set(SEGMENT_NAMES)
    assert not scores.isna().any().any()


def test_segments_separate_loyal_from_lapsed_customers(trained: CustomerPredictionModels) -> None:
    summary = trained.segment_summary
    assert summary["Champions"]["n"] > 0 and summary["Hibernating"]["n"] > 0
    assert summary["Champions"]["churn_rate"] < summary["Hibernating"]["churn_rate"] - 0.4
    assert summary["Champions"]["mean_spend_next"] > 3 * summary["Hibernating"]["mean_spend_next"]
    # Every customer of the newest labelled cut-off (the churn model's latest validation rows) has one segment.
    assert sum(segment["n"] for segment in summary.values()) == trained.churn.figures["n"]


def test_importances_point_at_the_planted_signal(trained: CustomerPredictionModels) -> None:
    for model in (trained.spend, trained.churn):
        ranked = list(model.importances)
        assert set(ranked[:3]) & ACTIVITY_FEATURES, (model.name, ranked[:5])
        top = model.importances[ranked[0]]
        assert all(model.importances[name] < 0.2 * top for name in DEMOGRAPHIC_FEATURES), model.name
    category_ranked = list(trained.next_category.importances)
    assert category_ranked[0].startswith(("category_share[", "favourite_category", "last_category"))


def test_per_group_figures_cover_every_gender_and_age_band(trained: CustomerPredictionModels) -> None:
    for model in (trained.spend, trained.churn, trained.next_category):
        assert set(model.group_figures["gender"]) == GENDER_GROUPS, model.name
        assert set(model.group_figures["age_band"]) == AGE_GROUPS, model.name
        for grouping in ("gender", "age_band"):
            sizes = sum(group["n"] for group in model.group_figures[grouping].values())
            assert sizes == model.figures["n"]
    for group in trained.spend.group_figures["gender"].values():
        assert group["mae"] is not None and group["mean_actual"] is not None
    for group in trained.churn.group_figures["age_band"].values():
        assert group["positive_rate"] is not None and group["predicted_positive_rate"] is not None
        if group["n"] >= 100:
            assert group["roc_auc"] > 0.7
    for group in trained.next_category.group_figures["gender"].values():
        assert group["accuracy"] is not None


def test_missing_demographics_are_reported_and_scored(store: CustomerTables, trained: CustomerPredictionModels) -> None:
    for column in ("age", "gender", "region", "tenure_days"):
        assert trained.missing_values[column] > 0, column
    assert any("missing values" in note for note in trained.notes)
    not_in_table = sorted(set(store.orders["customer_id"]) - set(store.customers.index))[:20]
    assert not_in_table
    features = trained.build_features(store, customer_ids=not_in_table)
    assert (features["gender_missing"] == 1).all() and (features["age_missing"] == 1).all()
    scores = trained.predict(features)
    assert np.isfinite(scores[["expected_spend", "churn_probability", "next_category_probability"]]).all().all()


def test_folds_validate_only_on_later_periods(trained: CustomerPredictionModels) -> None:
    horizon = pd.Timedelta(days=90)
    assert trained.cutoffs == [HELD_OUT_FROM - horizon * k for k in (4, 3, 2, 1)]
    for model in (trained.spend, trained.churn, trained.next_category):
        assert len(model.fold_figures) == 2
        for fold in model.fold_figures:
            validation = pd.Timestamp(fold["validation_cutoff"])
            assert all(pd.Timestamp(cutoff) + horizon <= validation for cutoff in fold["training_cutoffs"])
        assert len(model.search_results) == TrainingConfig().n_candidates
        assert model.params == min(model.search_results, key=lambda r: r["mean_validation_loss"])["params"]


def test_trained_models_survive_pickling(store: CustomerTables, trained: CustomerPredictionModels) -> None:
    features = trained.build_features(store)
    restored = pickle.loads(pickle.dumps(trained))
    pd.testing.assert_frame_equal(restored.predict(features), trained.predict(features))
    summary = json.loads(json.dumps(trained.summary(), allow_nan=False))  # stored as strict JSON
    assert set(summary["models"]) == {"spend", "churn", "next_category"}
    assert summary["models"]["churn"]["figures"]["roc_auc"] == trained.churn.figures["roc_auc"]
    assert "estimator" not in summary["models"]["churn"]


def test_a_tiny_single_category_store_still_trains_and_predicts() -> None:
    orders, events, customers = synthetic_store(120, seed=3, missing_share=0.5)
    orders["category"] = "Books"
    tables = CustomerTables.from_frames(orders, events, customers)
    models = train_customer_models(tables, TrainingConfig(n_candidates=1))
    scores = models.score_customers(tables)
    assert len(scores) >= 100
    assert (scores["next_category"] == "Books").all()
    assert np.allclose(scores["next_category_probability"], 1.0)
    assert scores["churn_probability"].between(0, 1).all()


def test_excluded_sensitive_features_stay_out_but_groups_are_still_reported() -> None:
    tables = CustomerTables.from_frames(*synthetic_store(600, seed=5))
    models = train_customer_models(
        tables, TrainingConfig(n_candidates=1, exclude_features=("gender", "gender_missing", "age", "age_missing"))
    )
    assert not {"gender", "age"} & set(models.churn.feature_names)
    assert not {"gender", "age"} & set(models.churn.importances)
    assert set(models.churn.group_figures["gender"]) == GENDER_GROUPS


def test_too_short_a_history_is_refused_clearly() -> None:
    orders = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "ordered_at": [START, START + pd.Timedelta(days=100)],
            "amount": [10.0, 20.0],
            "category": ["Books", "Toys"],
        }
    )
    with pytest.raises(ValueError, match="not enough history"):
        train_customer_models(CustomerTables.from_frames(orders))


def test_data_after_as_of_is_ignored() -> None:
    orders, events, customers = synthetic_store(600, seed=7)
    full = CustomerTables.from_frames(orders, events, customers)
    quick = TrainingConfig(n_candidates=1, n_cutoffs=2, search_folds=1)
    with_later_data = train_customer_models(full, quick, as_of=HELD_OUT_FROM)
    without = train_customer_models(full.before(HELD_OUT_FROM), quick)
    assert without.as_of == with_later_data.as_of == HELD_OUT_FROM  # the midnight after the last activity
    features = with_later_data.build_features(full)
    pd.testing.assert_frame_equal(with_later_data.predict(features), without.predict(features))
    assert with_later_data.churn.figures == without.churn.figures


def _tiny_orders(rows: list[tuple[int, int, str]]) -> pd.DataFrame:
    """Orders from (customer, day, category) triples, 25.0 each."""
    return pd.DataFrame(
        {
            "customer_id": [customer for customer, _, _ in rows],
            "ordered_at": [START + pd.Timedelta(days=day, hours=12) for _, day, _ in rows],
            "amount": 25.0,
            "category": [category for _, _, category in rows],
        }
    )


def test_a_tiny_store_without_repeat_buyers_skips_next_category_with_a_reason() -> None:
    # Six customers shop during the first four months; only one comes back, much later. Spend and churn can
    # still be learned (everyone has a label), the next category cannot (one purchase after the cut-offs).
    rows = [(customer, day, "Books" if customer % 2 else "Toys") for customer in range(6) for day in (5, 35, 65, 95)]
    rows.append((0, 400, "Books"))
    tables = CustomerTables.from_frames(_tiny_orders(rows))
    models = train_customer_models(tables, TrainingConfig(n_candidates=1))

    assert models.next_category is None
    assert "purchase" in models.skipped["next_category"]
    summary = json.loads(json.dumps(models.summary(), allow_nan=False))
    assert set(summary["models"]) == {"spend", "churn"}
    assert summary["skipped_models"] == {"next_category": models.skipped["next_category"]}
    assert any(note.startswith("next_category model not trained") for note in summary["notes"])
    scores = models.score_customers(tables)
    assert len(scores) == 6
    assert scores["next_category"].isna().all() and scores["next_category_probability"].isna().all()
    assert scores["churn_probability"].between(0, 1).all() and (scores["expected_spend"] >= 0).all()
    restored = pickle.loads(pickle.dumps(models))
    pd.testing.assert_frame_equal(
        restored.predict(models.build_features(tables)), models.predict(models.build_features(tables))
    )


def test_a_tiny_store_with_a_one_off_category_and_no_events_or_demographics_trains() -> None:
    # 40 regulars buying Books about every three weeks, and a single Garden order: a class with one member and
    # feature columns without any value (no events, no customer table) used to crash scikit-learn.
    rng = np.random.default_rng(4)
    rows = [(customer, int(day), "Books") for customer in range(40) for day in np.arange(rng.integers(0, 20), 450, 21)]
    rows.append((7, 300, "Garden"))
    tables = CustomerTables.from_frames(_tiny_orders(rows))
    models = train_customer_models(tables, TrainingConfig(n_candidates=1))

    assert models.next_category is not None and not models.skipped
    scores = models.score_customers(tables)
    assert len(scores) == 40
    assert set(scores["next_category"]) <= {"Books", "Garden", "other"}
    assert scores["next_category_probability"].between(0, 1).all()
    assert scores["churn_probability"].between(0, 1).all()
