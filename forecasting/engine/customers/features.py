"""Per-customer features as of a cut-off time, from orders, events and demographics before it.

Nothing at or after the cut-off is read, so the same builder makes training rows for past cut-offs and
scoring rows for "now". Every column is a float; categorical columns (``CATEGORICAL_FEATURES``) hold the
integer code of a value in the store's vocabulary (``FeatureSpec``).

Missing values are explicit, never dropped:

- Counts and sums with no activity are true zeros (a customer with no orders spent 0).
- Figures that are undefined stay ``NaN`` — recency for a customer who never bought, gap statistics with
  fewer than two/three orders, unknown age or sign-up date, an unknown gender or region code. The models
  are HistGradientBoosting estimators, whose trees learn at every split which side missing values go to,
  so ``NaN`` is a usable signal rather than something to impute.
- Demographic gaps also get indicator columns (``age_missing``, ``gender_missing``, ``region_missing``,
  ``signup_missing``) so that missingness shows up in feature importances and in ``missing_value_report``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from domain.age_bands import age_band_labels
from forecasting.engine.customers.data import OTHER_CATEGORY, CustomerTables, TimeLike, to_utc_timestamp

DAY = pd.Timedelta(days=1)
ACTIVITY_WINDOWS_DAYS = (30, 90, 180, 365)
TREND_BUCKET_DAYS = 30
TREND_BUCKETS = 6  # the spend trend is a slope over the last 6 x 30 days
CATEGORICAL_FEATURES = ("favourite_category", "last_category", "gender", "region")
DEMOGRAPHIC_FEATURES = ("age", "age_missing", "gender", "gender_missing", "region", "region_missing")
UNKNOWN_GROUP = "unknown"


@dataclass(frozen=True)
class FeatureSpec:
    """The store's vocabularies, fixed at training time so that feature columns and codes never shift."""

    categories: tuple[str, ...]
    genders: tuple[str, ...]
    regions: tuple[str, ...]
    event_types: tuple[str, ...]

    @classmethod
    def from_tables(
        cls,
        tables: CustomerTables,
        *,
        max_categories: int = 20,
        max_regions: int = 30,
        max_event_types: int = 8,
    ) -> FeatureSpec:
        """The most common values of each vocabulary; rarer categories/regions fold into 'other'."""
        top_categories = tables.orders["category"].value_counts().index.tolist()
        # "other" is always the last class: rare categories, and ones first seen after training, fold into it.
        categories = [category for category in top_categories if category != OTHER_CATEGORY][:max_categories]
        categories.append(OTHER_CATEGORY)
        genders = sorted(str(value) for value in tables.customers["gender"].dropna().unique())
        regions = tables.customers["region"].dropna().value_counts().index.tolist()
        regions = [str(region) for region in regions[:max_regions]]
        if tables.customers["region"].dropna().nunique() > max_regions:
            regions.append(OTHER_CATEGORY)
        event_types = tables.events["event_type"].value_counts().index.tolist()[:max_event_types]
        return cls(
            categories=tuple(categories),
            genders=tuple(genders),
            regions=tuple(regions),
            event_types=tuple(sorted(event_types)),
        )

    def category_label(self, categories: pd.Series) -> pd.Series:
        """Raw category names mapped onto the vocabulary (unknown ones become 'other')."""
        known = categories.isin(self.categories)
        return categories.where(known, OTHER_CATEGORY)

    def feature_names(self) -> list[str]:
        names = ["has_purchased", "recency_days", "days_since_first_order", "orders_total"]
        names += [f"orders_{days}d" for days in ACTIVITY_WINDOWS_DAYS]
        names += ["spend_total"] + [f"spend_{days}d" for days in ACTIVITY_WINDOWS_DAYS]
        names += ["spend_prev_90d", "avg_order_value", "max_order_value", "spend_trend_per_30d"]
        names += ["gap_mean_days", "gap_std_days", "gap_last_days", "recency_over_gap"]
        names += ["n_categories", "favourite_category", "last_category"]
        names += [share_column(category) for category in self.categories]
        for event_type in self.event_types:
            names += [f"events_{event_type}_total", f"events_{event_type}_30d"]
        names += ["days_since_last_event"]
        names += ["age", "age_missing", "gender", "gender_missing", "region", "region_missing"]
        names += ["tenure_days", "signup_missing"]
        return names


def share_column(category: str) -> str:
    return f"category_share[{category}]"


def _codes(values: pd.Series, vocabulary: tuple[str, ...], fold_unknown_to: str | None) -> pd.Series:
    """Integer codes (as floats) of values in a vocabulary; missing values stay NaN."""
    lookup = {value: float(code) for code, value in enumerate(vocabulary)}
    other_code = lookup.get(fold_unknown_to, np.nan) if fold_unknown_to is not None else np.nan
    coded = values.map(lambda value: np.nan if pd.isna(value) else lookup.get(value, other_code))
    return coded.astype(float)


def known_customers(tables: CustomerTables, cutoff: pd.Timestamp) -> pd.Index:
    """Customers the store knew before the cut-off: signed up before it, or active before it."""
    signed_up = tables.customers.index[tables.customers["signed_up_at"] < cutoff]
    ordered = tables.orders.loc[tables.orders["ordered_at"] < cutoff, "customer_id"]
    active = tables.events.loc[tables.events["occurred_at"] < cutoff, "customer_id"]
    ids = pd.Index(np.concatenate([np.asarray(signed_up), ordered.to_numpy(), active.to_numpy()])).unique()
    return ids.sort_values().rename("customer_id")


def build_customer_features(
    tables: CustomerTables,
    cutoff: TimeLike,
    spec: FeatureSpec,
    *,
    customer_ids: Iterable[object] | None = None,
) -> pd.DataFrame:
    """One row per customer (index ``customer_id``) with the columns of ``spec.feature_names()``.

    ``customer_ids`` defaults to the customers known before the cut-off (see ``known_customers``); pass
    every customer id to score all current customers, including those with no history at all.
    """
    cutoff = to_utc_timestamp(cutoff)
    index = (
        known_customers(tables, cutoff)
        if customer_ids is None
        else pd.Index(list(customer_ids), name="customer_id").unique()
    )
    columns: dict[str, pd.Series] = {}
    columns.update(_purchase_features(tables.orders, cutoff, spec))
    columns.update(_event_features(tables.events, cutoff, spec))
    frame = pd.DataFrame(columns).reindex(index=index, columns=spec.feature_names())
    zero_when_absent = [name for name in frame.columns if _is_count_like(name)]
    frame[zero_when_absent] = frame[zero_when_absent].fillna(0.0)
    frame["has_purchased"] = (frame["orders_total"] > 0).astype(float)
    demographics = _demographic_features(tables.customers.reindex(index), cutoff, spec)
    for name, values in demographics.items():
        frame[name] = values.to_numpy()
    return frame.astype(float)


def _is_count_like(name: str) -> bool:
    """Counts and sums: with no activity they are a true zero, not a missing value."""
    return name.startswith(("orders_", "spend_", "events_")) or name == "n_categories"


def _purchase_features(orders: pd.DataFrame, cutoff: pd.Timestamp, spec: FeatureSpec) -> dict[str, pd.Series]:
    lines = orders[orders["ordered_at"] < cutoff]
    if lines.empty:
        return {}
    per_order = (
        lines.groupby(["customer_id", "order_id"], sort=False)
        .agg(ordered_at=("ordered_at", "min"), amount=("amount", "sum"))
        .reset_index()
        .sort_values(["customer_id", "ordered_at"], kind="stable")
    )
    age_days = (cutoff - per_order["ordered_at"]) / DAY
    by_customer = per_order.groupby("customer_id", sort=False)
    features: dict[str, pd.Series] = {
        "recency_days": by_customer["ordered_at"].max().rsub(cutoff) / DAY,
        "days_since_first_order": by_customer["ordered_at"].min().rsub(cutoff) / DAY,
        "orders_total": by_customer.size().astype(float),
        "spend_total": by_customer["amount"].sum(),
        "avg_order_value": by_customer["amount"].mean(),
        "max_order_value": by_customer["amount"].max(),
    }
    customer = per_order["customer_id"]
    for days in ACTIVITY_WINDOWS_DAYS:
        inside = age_days < days
        features[f"orders_{days}d"] = inside.groupby(customer, sort=False).sum().astype(float)
        features[f"spend_{days}d"] = per_order["amount"].where(inside, 0.0).groupby(customer, sort=False).sum()
    previous_quarter = (age_days >= 90) & (age_days < 180)
    features["spend_prev_90d"] = per_order["amount"].where(previous_quarter, 0.0).groupby(customer).sum()
    features["spend_trend_per_30d"] = _spend_trend(per_order["amount"], age_days, customer)

    # Inter-purchase gaps (days between consecutive orders of a customer).
    gaps = per_order.groupby("customer_id", sort=False)["ordered_at"].diff() / DAY
    gap_groups = gaps.groupby(customer, sort=False)
    features["gap_mean_days"] = gap_groups.mean()
    features["gap_std_days"] = gap_groups.std(ddof=1)
    features["gap_last_days"] = gap_groups.last()
    features["recency_over_gap"] = features["recency_days"] / features["gap_mean_days"].where(
        features["gap_mean_days"] > 0
    )

    # Category mix: the share of the customer's order lines in each category of the vocabulary.
    labels = spec.category_label(lines["category"])
    counts = pd.crosstab(lines["customer_id"], labels)
    counts = counts.reindex(columns=list(spec.categories), fill_value=0)
    line_totals = counts.sum(axis=1)
    for category in spec.categories:
        features[share_column(category)] = counts[category] / line_totals.where(line_totals > 0)
    features["n_categories"] = (counts > 0).sum(axis=1).astype(float)
    category_codes = {category: float(code) for code, category in enumerate(spec.categories)}
    if len(counts):
        features["favourite_category"] = counts.idxmax(axis=1).map(category_codes)
    else:
        features["favourite_category"] = pd.Series(dtype=float)
    latest_lines = lines.assign(label=labels).sort_values(["ordered_at", "amount"], kind="stable")
    features["last_category"] = latest_lines.groupby("customer_id")["label"].last().map(category_codes)
    return features


def _spend_trend(amount: pd.Series, age_days: pd.Series, customer: pd.Series) -> pd.Series:
    """Least-squares slope of spend per 30-day bucket over the last 6 buckets (money per 30 days).

    With fixed buckets the slope is linear in each bucket's spend, so every order contributes
    amount x weight(bucket) and the slope is one grouped sum.
    """
    bucket = TREND_BUCKETS - 1 - np.floor(age_days / TREND_BUCKET_DAYS)  # newest bucket = 5
    centred = np.arange(TREND_BUCKETS) - (TREND_BUCKETS - 1) / 2
    weight_per_bucket = centred / np.sum(centred**2)
    inside = bucket >= 0
    weights = np.where(inside, weight_per_bucket[np.clip(bucket, 0, TREND_BUCKETS - 1).astype(int)], 0.0)
    return (amount * weights).groupby(customer, sort=False).sum()


def _event_features(events: pd.DataFrame, cutoff: pd.Timestamp, spec: FeatureSpec) -> dict[str, pd.Series]:
    past = events[events["occurred_at"] < cutoff]
    recent = past["occurred_at"] >= cutoff - 30 * DAY
    features: dict[str, pd.Series] = {}
    for event_type in spec.event_types:
        of_type = past["event_type"] == event_type
        features[f"events_{event_type}_total"] = of_type.groupby(past["customer_id"]).sum().astype(float)
        features[f"events_{event_type}_30d"] = (of_type & recent).groupby(past["customer_id"]).sum().astype(float)
    features["days_since_last_event"] = past.groupby("customer_id")["occurred_at"].max().rsub(cutoff) / DAY
    return features


def _demographic_features(customers: pd.DataFrame, cutoff: pd.Timestamp, spec: FeatureSpec) -> dict[str, pd.Series]:
    birth_year = customers["birth_year"]
    plausible = (birth_year >= 1900) & (birth_year <= cutoff.year)  # typos like 19850 count as unknown
    age = (cutoff.year - birth_year).where(plausible)
    tenure = ((cutoff - customers["signed_up_at"]) / DAY).clip(lower=0.0)
    gender = customers["gender"].astype(object)
    region = customers["region"].astype(object)
    return {
        "age": age,
        "age_missing": age.isna().astype(float),
        "gender": _codes(gender, spec.genders, fold_unknown_to=None),
        "gender_missing": gender.isna().astype(float),
        "region": _codes(region, spec.regions, fold_unknown_to=OTHER_CATEGORY),
        "region_missing": region.isna().astype(float),
        "tenure_days": tenure,
        "signup_missing": customers["signed_up_at"].isna().astype(float),
    }


def age_band(age: pd.Series) -> pd.Series:
    """The platform's age bands (domain.age_bands: '<18', '18-24', ..., '65+'), 'unknown' where missing."""
    return pd.Series(age_band_labels(age.to_numpy(dtype=float), unknown=UNKNOWN_GROUP), index=age.index)


def customer_groups(features: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Gender and age band of each customer, for per-group (fairness) figures; gaps read 'unknown'."""
    gender_names = dict(enumerate(spec.genders))
    gender = features["gender"].map(lambda code: gender_names.get(int(code)) if pd.notna(code) else None)
    return pd.DataFrame(
        {"gender": gender.fillna(UNKNOWN_GROUP).astype(str), "age_band": age_band(features["age"])},
        index=features.index,
    )


def missing_value_report(features: pd.DataFrame) -> dict[str, int]:
    """How many rows lack each feature (only columns with at least one gap)."""
    counts = features.isna().sum()
    return {str(name): int(count) for name, count in counts.items() if count > 0}
