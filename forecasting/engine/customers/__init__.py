"""Customer predictions engine (no Django): expected spend, churn risk, next category and RFM segments.

Plain data frames in (``CustomerTables``), data classes out. Typical use by the Django layer::

    tables = CustomerTables.from_frames(orders, events, customers)
    models = train_customer_models(tables, TrainingConfig(), progress=print)
    scores = models.score_customers(tables)      # one row per customer
    record = models.summary()                    # JSON-ready figures for the versioned run

``scores`` columns: ``expected_spend`` (next 90 days), ``churn_probability`` (no purchase in the next
90 days, calibrated), ``next_category`` and ``next_category_probability`` (given the customer buys),
``segment`` (a readable RFM name). The ``models`` object pickles (fitted scikit-learn estimators inside).
"""

from forecasting.engine.customers.customer_models import (
    ChurnModelResult,
    CustomerPredictionModels,
    ModelResult,
    NextCategoryModelResult,
    SpendModelResult,
    TrainingConfig,
    rolling_cutoffs,
    time_folds,
    train_customer_models,
)
from forecasting.engine.customers.data import CustomerTables, to_utc_timestamp
from forecasting.engine.customers.evaluation import (
    binary_figures,
    calibration_bins,
    category_figures,
    expected_calibration_error,
    group_figures,
    regression_figures,
)
from forecasting.engine.customers.features import (
    CATEGORICAL_FEATURES,
    FeatureSpec,
    age_band,
    build_customer_features,
    customer_groups,
    known_customers,
    missing_value_report,
)
from forecasting.engine.customers.labels import build_customer_labels
from forecasting.engine.customers.segments import SEGMENT_NAMES, SegmentRules, assign_segments

__all__ = [
    "CATEGORICAL_FEATURES",
    "SEGMENT_NAMES",
    "ChurnModelResult",
    "CustomerPredictionModels",
    "CustomerTables",
    "FeatureSpec",
    "ModelResult",
    "NextCategoryModelResult",
    "SegmentRules",
    "SpendModelResult",
    "TrainingConfig",
    "age_band",
    "assign_segments",
    "binary_figures",
    "build_customer_features",
    "build_customer_labels",
    "calibration_bins",
    "category_figures",
    "customer_groups",
    "expected_calibration_error",
    "group_figures",
    "known_customers",
    "missing_value_report",
    "regression_figures",
    "rolling_cutoffs",
    "time_folds",
    "to_utc_timestamp",
    "train_customer_models",
]
