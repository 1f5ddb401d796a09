"""Training the customer models with time-based cross-validation, a small search, and honest figures.

How a training run works:

1. **Rolling cut-offs.** The last cut-off is ``as_of - horizon`` (its labels are the most recent complete
   period); earlier ones step back ``cutoff_step_days`` at a time. At each cut-off the features come from
   before it and the labels from the ``horizon_days`` after it (``features.py``, ``labels.py``).
2. **Time-based folds.** To validate at cut-off ``v`` a model trains only on cut-offs ``c`` with
   ``c + horizon <= v``: its labels end before the validated period starts, so nothing leaks back.
   The most recent ``search_folds`` folds are used.
3. **Search.** A few HistGradientBoosting settings (sampled from a small grid) are tried on those folds;
   the one with the best mean validation loss wins (MAE for spend, Brier score for churn, log loss for the
   next category).
4. **Figures.** The winner's held-out figures on the latest fold (and per fold), trivial baselines on the
   same rows, permutation importances on held-out rows, and per-group figures by gender and age band.
5. **Final fit** of the winner on every cut-off, which then scores customers as of ``as_of``.

Churn probabilities are calibrated with ``CalibratedClassifierCV`` (isotonic with enough rows, else
sigmoid); its inner folds group rows by customer so that a customer's rows never sit on both sides.
Missing values go to HistGradientBoosting as ``NaN`` (see ``features.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import ParameterSampler, StratifiedGroupKFold
from threadpoolctl import threadpool_limits

from forecasting.engine.customers.data import CustomerTables, TimeLike, to_utc_timestamp
from forecasting.engine.customers.evaluation import (
    Figures,
    GroupFigures,
    binary_figures,
    category_figures,
    group_figures,
    regression_figures,
)
from forecasting.engine.customers.features import (
    CATEGORICAL_FEATURES,
    FeatureSpec,
    build_customer_features,
    customer_groups,
    known_customers,
    missing_value_report,
)
from forecasting.engine.customers.labels import build_customer_labels
from forecasting.engine.customers.segments import SEGMENT_NAMES, SegmentRules, assign_segments

Progress = Callable[[str], None]

DEFAULT_GBM_PARAMS: dict[str, Any] = {
    "learning_rate": 0.1,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 50,
    "l2_regularization": 1.0,
}
GBM_SEARCH_SPACE: dict[str, list[Any]] = {
    "learning_rate": [0.05, 0.1, 0.2],
    "max_leaf_nodes": [7, 15, 31],
    "min_samples_leaf": [20, 50, 100],
    "l2_regularization": [0.0, 1.0],
}
MIN_OBSERVED_VALUES = 5  # a feature observed on fewer training rows is set to a constant (see _fit_matrix)
EARLY_STOPPING_MIN_CLASS_ROWS = 10  # fewer rows in a class: no early stopping (its split is stratified)
ISOTONIC_MIN_ROWS = 10_000  # below this, isotonic calibration overfits; a sigmoid is safer


@dataclass(frozen=True)
class TrainingConfig:
    """Settings of a training run; the defaults train a 50,000-customer store in about two CPU-minutes.

    ``n_cutoffs`` cut-offs ``cutoff_step_days`` apart give ``search_folds`` validation folds; each model tries
    ``n_candidates`` hyperparameter settings on each fold. Training sets above ``max_train_rows`` rows are
    subsampled at random; permutation importances use ``importance_rows`` held-out rows.
    """

    horizon_days: int = 90
    n_cutoffs: int = 4
    cutoff_step_days: int = 90
    min_history_days: int = 90
    search_folds: int = 2
    n_candidates: int = 3
    max_iter: int = 200
    max_train_rows: int = 250_000
    importance_rows: int = 2_000
    importance_repeats: int = 3
    calibration: Literal["auto", "isotonic", "sigmoid"] = "auto"
    calibration_folds: int = 2
    n_threads: int = 1  # OpenMP threads of the trees; 2 only pays off on an otherwise idle machine
    random_state: int = 0
    exclude_features: tuple[str, ...] = ()  # e.g. ("gender",) to keep a sensitive attribute out of the models
    max_categories: int = 20
    max_regions: int = 30


# --------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------


@dataclass
class ModelResult:
    """One fitted model and what is known about it. Figures are held-out (latest validation fold)."""

    name: str
    estimator: Any
    feature_names: list[str]
    params: dict[str, Any]
    figures: Figures
    baseline_figures: dict[str, Figures]
    fold_figures: list[dict[str, Any]]
    search_results: list[dict[str, Any]]
    importances: dict[str, float]
    group_figures: GroupFigures

    def _matrix(self, features: pd.DataFrame) -> pd.DataFrame:
        missing = [name for name in self.feature_names if name not in features.columns]
        if missing:
            raise ValueError(f"features lack column(s) {missing[:5]}: build them with the model's FeatureSpec")
        return features[self.feature_names]

    def summary(self) -> dict[str, Any]:
        """Everything but the estimator, JSON-ready (for a versioned run record)."""
        return {
            "name": self.name,
            "params": self.params,
            "figures": self.figures,
            "baseline_figures": self.baseline_figures,
            "fold_figures": self.fold_figures,
            "search_results": self.search_results,
            "importances": self.importances,
            "group_figures": self.group_figures,
        }


@dataclass
class SpendModelResult(ModelResult):
    def predict(self, features: pd.DataFrame) -> pd.Series:
        """Expected spend over the horizon per customer (never negative)."""
        spend = _predict_spend(self.estimator, self._matrix(features))
        return pd.Series(spend, index=features.index, name="expected_spend")


@dataclass
class ChurnModelResult(ModelResult):
    def predict(self, features: pd.DataFrame) -> pd.Series:
        """Calibrated probability that the customer buys nothing over the horizon."""
        probability = _predict_churn(self.estimator, self._matrix(features))
        return pd.Series(probability, index=features.index, name="churn_probability")


@dataclass
class NextCategoryModelResult(ModelResult):
    def predict_proba(self, features: pd.DataFrame) -> pd.DataFrame:
        """Probability of each category being the next one bought, given that the customer buys."""
        probabilities = self.estimator.predict_proba(self._matrix(features))
        return pd.DataFrame(probabilities, index=features.index, columns=[str(c) for c in self.estimator.classes_])

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """The most likely next category and its probability (conditional on buying again)."""
        probabilities = self.predict_proba(features)
        best = probabilities.to_numpy().argmax(axis=1)
        return pd.DataFrame(
            {
                "next_category": probabilities.columns.to_numpy()[best],
                "next_category_probability": probabilities.to_numpy()[np.arange(len(best)), best],
            },
            index=features.index,
        )


@dataclass
class CustomerPredictionModels:
    """The trained customer models of one store, ready to score its customers."""

    spend: SpendModelResult
    churn: ChurnModelResult
    next_category: NextCategoryModelResult | None  # None: skipped (too few repeat buyers), reason in skipped
    segment_rules: SegmentRules
    spec: FeatureSpec
    config: TrainingConfig
    as_of: pd.Timestamp
    cutoffs: list[pd.Timestamp]
    n_training_rows: int
    missing_values: dict[str, int]
    segment_summary: dict[str, Figures]
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # model name -> why it was not trained

    def build_features(
        self, tables: CustomerTables, *, as_of: TimeLike | None = None, customer_ids: Iterable[object] | None = None
    ) -> pd.DataFrame:
        """Features as of ``as_of`` (default: the training's ``as_of``) with this model's vocabularies."""
        moment = self.as_of if as_of is None else to_utc_timestamp(as_of)
        return build_customer_features(tables, moment, self.spec, customer_ids=customer_ids)

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per customer: expected spend, churn probability, next category (+ probability) and segment."""
        frame = pd.DataFrame(index=features.index)
        with threadpool_limits(limits=self.config.n_threads):
            frame["expected_spend"] = self.spend.predict(features)
            frame["churn_probability"] = self.churn.predict(features)
            if self.next_category is not None:
                frame = frame.join(self.next_category.predict(features))
            else:
                frame["next_category"] = pd.Series(None, index=features.index, dtype=object)
                frame["next_category_probability"] = np.nan
        frame["segment"] = assign_segments(features, self.segment_rules)
        return frame

    def score_customers(self, tables: CustomerTables, *, as_of: TimeLike | None = None) -> pd.DataFrame:
        """Scores for every customer of the store: those in the customers table and anyone active before."""
        moment = self.as_of if as_of is None else to_utc_timestamp(as_of)
        ids = tables.customers.index.append(known_customers(tables, moment)).unique()
        return self.predict(self.build_features(tables, as_of=moment, customer_ids=ids))

    def summary(self) -> dict[str, Any]:
        """Figures, baselines, importances, groups, segments and settings — JSON-ready."""
        return {
            "as_of": self.as_of.isoformat(),
            "horizon_days": self.config.horizon_days,
            "cutoffs": [cutoff.isoformat() for cutoff in self.cutoffs],
            "n_training_rows": self.n_training_rows,
            "missing_values": self.missing_values,
            "segment_rules": self.segment_rules.as_dict(),
            "segment_descriptions": self.segment_rules.describe(),
            "segment_summary": self.segment_summary,
            "models": {
                model.name: model.summary()
                for model in (self.spend, self.churn, self.next_category)
                if model is not None
            },
            "skipped_models": self.skipped,
            "notes": self.notes,
        }


# --------------------------------------------------------------------------------------------------------
# Cut-offs and folds
# --------------------------------------------------------------------------------------------------------


def rolling_cutoffs(
    data_start: TimeLike,
    as_of: TimeLike,
    *,
    horizon_days: int,
    n_cutoffs: int,
    step_days: int,
    min_history_days: int,
) -> list[pd.Timestamp]:
    """Up to ``n_cutoffs`` cut-offs, oldest first; the newest is ``as_of - horizon`` so its labels are complete,
    and none is earlier than ``min_history_days`` after the first data."""
    data_start, as_of = to_utc_timestamp(data_start), to_utc_timestamp(as_of)
    newest = as_of - pd.Timedelta(days=horizon_days)
    earliest_allowed = data_start + pd.Timedelta(days=min_history_days)
    cutoffs = [newest - pd.Timedelta(days=step_days * k) for k in range(n_cutoffs)]
    return sorted(cutoff for cutoff in cutoffs if cutoff >= earliest_allowed)


def time_folds(cutoffs: list[pd.Timestamp], *, horizon_days: int) -> list[tuple[list[pd.Timestamp], pd.Timestamp]]:
    """(training cut-offs, validation cut-off) pairs: training labels end before the validated period begins."""
    horizon = pd.Timedelta(days=horizon_days)
    folds = []
    for validation in sorted(cutoffs):
        training = [cutoff for cutoff in cutoffs if cutoff + horizon <= validation]
        if training:
            folds.append((training, validation))
    return folds


# --------------------------------------------------------------------------------------------------------
# Estimators and their outputs
# --------------------------------------------------------------------------------------------------------


def _gbm_arguments(params: dict[str, Any], config: TrainingConfig, feature_names: list[str]) -> dict[str, Any]:
    categorical = [name for name in CATEGORICAL_FEATURES if name in feature_names]
    return {
        "max_iter": config.max_iter,
        "early_stopping": True,
        "validation_fraction": 0.1,
        "n_iter_no_change": 15,
        "random_state": config.random_state,
        "categorical_features": categorical or None,
        **params,
    }


def _classifier_arguments(
    params: dict[str, Any], config: TrainingConfig, feature_names: list[str], target: np.ndarray
) -> dict[str, Any]:
    """Classifier settings; early stopping off when a class is too rare for its stratified validation split
    (scikit-learn raises on a class with one row, or more classes than validation rows, as in tiny stores)."""
    arguments = _gbm_arguments(params, config, feature_names)
    _, counts = np.unique(target, return_counts=True)
    if counts.min(initial=0) < EARLY_STOPPING_MIN_CLASS_ROWS:
        arguments["early_stopping"] = False
    return arguments


def _fit_matrix(matrix: pd.DataFrame, row_sets: Iterable[np.ndarray] = ()) -> pd.DataFrame:
    """The training matrix with columns that are (almost) never observed set to 0.

    Such columns happen in tiny stores (no events yet, no demographics): HistGradientBoosting cannot bin a feature
    without a single value (scikit-learn raises), which can also happen inside its early-stopping split or, given
    ``row_sets`` (e.g. calibration folds), inside one of those subsets. A feature seen on fewer than
    ``MIN_OBSERVED_VALUES`` rows cannot be learned anyway; as a constant it is never split on.
    """
    observed = matrix.notna().to_numpy()
    rare = observed.sum(axis=0) < MIN_OBSERVED_VALUES
    for rows in row_sets:
        rare |= observed[rows].sum(axis=0) < MIN_OBSERVED_VALUES
    if not rare.any():
        return matrix
    return matrix.assign(**dict.fromkeys((str(name) for name in matrix.columns[rare]), 0.0))


def _predict_spend(estimator: Any, matrix: pd.DataFrame) -> np.ndarray:
    return np.clip(np.asarray(estimator.predict(matrix), dtype=float), 0.0, None)


def _predict_churn(estimator: Any, matrix: pd.DataFrame) -> np.ndarray:
    classes = list(estimator.classes_)
    if 1 not in classes:
        return np.zeros(len(matrix))
    return np.asarray(estimator.predict_proba(matrix)[:, classes.index(1)], dtype=float)


def _category_log_loss(actual: np.ndarray, probabilities: np.ndarray, classes: list[str]) -> float:
    """Log loss that tolerates validation classes the training rows never saw (they get probability ~0)."""
    position = {label: index for index, label in enumerate(classes)}
    columns = np.array([position.get(label, -1) for label in actual])
    picked = np.where(columns >= 0, probabilities[np.arange(len(actual)), np.maximum(columns, 0)], 0.0)
    return float(-np.mean(np.log(np.clip(picked, 1e-15, 1.0))))


@dataclass(frozen=True)
class _Recipe:
    """How one model is fitted, applied, scored and explained.

    ``output`` is what the model says for a matrix (spend, churn probability, or a class-probability
    matrix); ``loss`` (lower is better) picks the hyperparameters; ``importance_score`` (higher is better)
    is what permuting a feature is allowed to damage.
    """

    name: str
    fit: Callable[[dict[str, Any], pd.DataFrame, np.ndarray, np.ndarray], Any]
    output: Callable[[Any, pd.DataFrame], np.ndarray]
    loss: Callable[[Any, np.ndarray, np.ndarray], float]
    importance_score: Callable[[Any, np.ndarray, np.ndarray], float]
    figures: Callable[[Any, np.ndarray, np.ndarray], Callable[[np.ndarray], Figures]]
    final_fit: Callable[[dict[str, Any], pd.DataFrame, np.ndarray, np.ndarray], Any] | None = None


def _spend_recipe(config: TrainingConfig, feature_names: list[str]) -> _Recipe:
    def fit(params: dict[str, Any], matrix: pd.DataFrame, target: np.ndarray, _groups: np.ndarray) -> Any:
        if len(target) < 50 or target.sum() <= 0:
            return DummyRegressor(strategy="mean").fit(matrix, target)
        # Poisson loss: spend is non-negative, skewed and often zero; the model predicts its mean.
        estimator = HistGradientBoostingRegressor(loss="poisson", **_gbm_arguments(params, config, feature_names))
        return estimator.fit(_fit_matrix(matrix), target)

    def loss(_estimator: Any, predicted: np.ndarray, target: np.ndarray) -> float:
        return float(np.mean(np.abs(predicted - target)))

    def figures(_estimator: Any, predicted: np.ndarray, target: np.ndarray) -> Callable[[np.ndarray], Figures]:
        return lambda rows: regression_figures(target[rows], predicted[rows])

    return _Recipe(
        "spend",
        fit,
        _predict_spend,
        loss,
        importance_score=lambda estimator, predicted, target: -loss(estimator, predicted, target),
        figures=figures,
    )


def _churn_recipe(config: TrainingConfig, feature_names: list[str]) -> _Recipe:
    def fit(params: dict[str, Any], matrix: pd.DataFrame, target: np.ndarray, _groups: np.ndarray) -> Any:
        if len(np.unique(target)) < 2 or len(target) < 50:
            return DummyClassifier(strategy="prior").fit(matrix, target)
        estimator = HistGradientBoostingClassifier(**_classifier_arguments(params, config, feature_names, target))
        return estimator.fit(_fit_matrix(matrix), target)

    def calibrated_fit(params: dict[str, Any], matrix: pd.DataFrame, target: np.ndarray, groups: np.ndarray) -> Any:
        minority = int(min(np.bincount(target, minlength=2)))
        if minority < config.calibration_folds * 5 or len(target) < 50:
            return fit(params, matrix, target, groups)
        method = config.calibration
        if method == "auto":
            method = "isotonic" if len(target) >= ISOTONIC_MIN_ROWS else "sigmoid"
        # Inner folds keep each customer's rows (one per cut-off) together, so the calibrator sees
        # scores of customers the trees did not train on.
        splitter = StratifiedGroupKFold(
            n_splits=config.calibration_folds, shuffle=True, random_state=config.random_state
        )
        splits = list(splitter.split(matrix, target, groups=groups))
        base = HistGradientBoostingClassifier(**_classifier_arguments(params, config, feature_names, target))
        usable = _fit_matrix(matrix, (train for train, _ in splits))
        return CalibratedClassifierCV(base, method=method, cv=splits).fit(usable, target)

    def brier(_estimator: Any, probability: np.ndarray, target: np.ndarray) -> float:
        return float(np.mean((probability - target) ** 2))

    def importance_score(estimator: Any, probability: np.ndarray, target: np.ndarray) -> float:
        if len(np.unique(target)) < 2:
            return -brier(estimator, probability, target)
        return float(roc_auc_score(target, probability))

    def figures(_estimator: Any, probability: np.ndarray, target: np.ndarray) -> Callable[[np.ndarray], Figures]:
        return lambda rows: binary_figures(target[rows], probability[rows])

    return _Recipe("churn", fit, _predict_churn, brier, importance_score, figures, final_fit=calibrated_fit)


def _category_recipe(config: TrainingConfig, feature_names: list[str]) -> _Recipe:
    def fit(params: dict[str, Any], matrix: pd.DataFrame, target: np.ndarray, _groups: np.ndarray) -> Any:
        if len(np.unique(target)) < 2 or len(target) < 50:
            return DummyClassifier(strategy="prior").fit(matrix, target)
        estimator = HistGradientBoostingClassifier(**_classifier_arguments(params, config, feature_names, target))
        return estimator.fit(_fit_matrix(matrix), target)

    def output(estimator: Any, matrix: pd.DataFrame) -> np.ndarray:
        return np.asarray(estimator.predict_proba(matrix), dtype=float)

    def classes(estimator: Any) -> np.ndarray:
        return np.array([str(label) for label in estimator.classes_], dtype=object)

    def loss(estimator: Any, probabilities: np.ndarray, target: np.ndarray) -> float:
        return _category_log_loss(target, probabilities, list(classes(estimator)))

    def accuracy(estimator: Any, probabilities: np.ndarray, target: np.ndarray) -> float:
        return float(np.mean(classes(estimator)[probabilities.argmax(axis=1)] == target))

    def figures(estimator: Any, probabilities: np.ndarray, target: np.ndarray) -> Callable[[np.ndarray], Figures]:
        predicted = classes(estimator)[probabilities.argmax(axis=1)]
        return lambda rows: category_figures(target[rows], predicted[rows])

    return _Recipe("next_category", fit, output, loss, accuracy, figures)


# --------------------------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------------------------


def _spend_baselines(
    train_target: np.ndarray, features: pd.DataFrame, target: np.ndarray, horizon_days: int
) -> dict[str, Figures]:
    mean_prediction = np.full(len(target), float(train_target.mean()) if len(train_target) else 0.0)
    # Persistence: the next period looks like the last one (the last 90 days, scaled to the horizon).
    persistence = features["spend_90d"].to_numpy() * (horizon_days / 90.0)
    return {
        "training_mean": regression_figures(target, mean_prediction),
        "last_90_days": regression_figures(target, persistence),
    }


def _churn_baselines(train_target: np.ndarray, features: pd.DataFrame, target: np.ndarray) -> dict[str, Figures]:
    base_rate = float(train_target.mean()) if len(train_target) else 0.5
    no_recent_order = (features["orders_90d"].to_numpy() <= 0).astype(float)
    return {
        "base_rate": binary_figures(target, np.full(len(target), base_rate)),
        "no_order_in_last_90_days": binary_figures(target, no_recent_order),
    }


def _category_baselines(
    train_target: np.ndarray, features: pd.DataFrame, target: np.ndarray, spec: FeatureSpec
) -> dict[str, Figures]:
    values, counts = np.unique(train_target.astype(str), return_counts=True)
    overall = str(values[counts.argmax()]) if len(values) else spec.categories[0]
    favourite_codes = features["favourite_category"].to_numpy()
    favourite = np.array(
        [spec.categories[int(code)] if not math.isnan(code) else overall for code in favourite_codes], dtype=object
    )
    return {
        "most_frequent_overall": category_figures(target, np.full(len(target), overall, dtype=object)),
        "customer_favourite": category_figures(target, favourite),
    }


# --------------------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------------------


@dataclass
class _Panel:
    """Features and labels of every customer at every cut-off, stacked (index: cutoff, customer_id)."""

    features: pd.DataFrame
    labels: pd.DataFrame

    def cutoff_of_rows(self) -> np.ndarray:
        return self.features.index.get_level_values("cutoff").to_numpy()

    def customer_of_rows(self) -> np.ndarray:
        return self.features.index.get_level_values("customer_id").to_numpy()


def _build_panel(
    tables: CustomerTables, cutoffs: list[pd.Timestamp], spec: FeatureSpec, horizon_days: int, progress: Progress
) -> _Panel:
    feature_frames, label_frames = [], []
    for number, cutoff in enumerate(cutoffs, start=1):
        features = build_customer_features(tables, cutoff, spec)
        labels = build_customer_labels(tables, cutoff, features.index, spec, horizon_days=horizon_days)
        feature_frames.append(features)
        label_frames.append(labels)
        progress(f"features at cut-off {number}/{len(cutoffs)} ({cutoff.date()}): {len(features)} customers")
    keys = pd.Index(cutoffs, name="cutoff")
    return _Panel(
        features=pd.concat(feature_frames, keys=keys, names=["cutoff", "customer_id"]),
        labels=pd.concat(label_frames, keys=keys, names=["cutoff", "customer_id"]),
    )


def _candidates(config: TrainingConfig) -> list[dict[str, Any]]:
    candidates = [dict(DEFAULT_GBM_PARAMS)]
    draws = max(config.n_candidates * 3, 1)
    sampled = ParameterSampler(GBM_SEARCH_SPACE, n_iter=draws, random_state=config.random_state)
    for params in sampled:
        if len(candidates) >= config.n_candidates:
            break
        if params not in candidates:
            candidates.append(dict(params))
    return candidates


def _subsample(rows: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    if len(rows) <= limit:
        return rows
    return np.sort(rng.choice(rows, size=limit, replace=False))


def _iso(moment: pd.Timestamp) -> str:
    return pd.Timestamp(moment).isoformat()


def _train_one(
    recipe: _Recipe,
    panel: _Panel,
    usable: np.ndarray,
    target: np.ndarray,
    folds: list[tuple[list[pd.Timestamp], pd.Timestamp]],
    feature_names: list[str],
    baselines: Callable[[np.ndarray, pd.DataFrame, np.ndarray], dict[str, Figures]],
    spec: FeatureSpec,
    config: TrainingConfig,
    progress: Progress,
) -> dict[str, Any]:
    """Search, evaluate on the folds, explain, and fit the final model for one target."""
    rng = np.random.default_rng(config.random_state)
    matrix = panel.features[feature_names]
    row_cutoffs, customers = panel.cutoff_of_rows(), panel.customer_of_rows()

    def rows_at(cutoffs: list[pd.Timestamp]) -> np.ndarray:
        return np.flatnonzero(usable & np.isin(row_cutoffs, np.array(cutoffs, dtype=row_cutoffs.dtype)))

    fold_rows = [
        (_subsample(rows_at(training), config.max_train_rows, rng), rows_at([validation]))
        for training, validation in folds
    ]
    fold_rows = [(train, valid) for train, valid in fold_rows if len(train) and len(valid)]
    if not fold_rows:
        raise ValueError(f"{recipe.name}: no fold has both training and validation rows")

    def fit(fitter: Callable[..., Any], params: dict[str, Any], rows: np.ndarray) -> Any:
        return fitter(params, matrix.iloc[rows], target[rows], customers[rows])

    # 1. Search: every candidate on every fold, mean validation loss.
    search_results: list[dict[str, Any]] = []
    fitted = {}
    candidates = _candidates(config)
    for number, params in enumerate(candidates):
        losses = []
        for fold_number, (train, valid) in enumerate(fold_rows):
            estimator = fit(recipe.fit, params, train)
            output = recipe.output(estimator, matrix.iloc[valid])
            fitted[number, fold_number] = (estimator, output)
            losses.append(recipe.loss(estimator, output, target[valid]))
        search_results.append({"params": params, "mean_validation_loss": float(np.mean(losses))})
        progress(f"{recipe.name}: candidate {number + 1}/{len(candidates)}, validation loss {np.mean(losses):.4f}")
    best_number = int(np.argmin([result["mean_validation_loss"] for result in search_results]))
    best_params = candidates[best_number]

    # 2. Held-out figures of the chosen settings per fold (refit when the final model differs, e.g. calibrated).
    fold_figures = []
    for fold_number, (train, valid) in enumerate(fold_rows):
        if recipe.final_fit is None:
            estimator, output = fitted[best_number, fold_number]
        else:
            estimator = fit(recipe.final_fit, best_params, train)
            output = recipe.output(estimator, matrix.iloc[valid])
        figures_of = recipe.figures(estimator, output, target[valid])
        fold_figures.append(
            {
                "validation_cutoff": _iso(row_cutoffs[valid[0]]),
                "training_cutoffs": sorted({_iso(moment) for moment in np.unique(row_cutoffs[train])}),
                "figures": figures_of(np.arange(len(valid))),
                "baseline_figures": baselines(target[train], panel.features.iloc[valid], target[valid]),
            }
        )
    # The latest fold's held-out model explains itself below.
    latest_estimator, latest_figures_of, latest_valid = estimator, figures_of, fold_rows[-1][1]

    # 3. Per-group figures on the latest held-out fold.
    groups = customer_groups(panel.features.iloc[latest_valid], spec)
    per_group = group_figures(groups.reset_index(drop=True), latest_figures_of)

    # 4. Permutation importances of the held-out model on (a sample of) the held-out rows.
    sample = latest_valid[_subsample(np.arange(len(latest_valid)), config.importance_rows, rng)]
    importances = _permutation_importances(recipe, latest_estimator, matrix.iloc[sample], target[sample], config, rng)

    # 5. The final model, on every cut-off.
    every_row = _subsample(np.flatnonzero(usable), config.max_train_rows, rng)
    final_estimator = fit(recipe.final_fit or recipe.fit, best_params, every_row)
    progress(f"{recipe.name}: final model trained on {len(every_row)} rows")
    return {
        "estimator": final_estimator,
        "params": best_params,
        "figures": fold_figures[-1]["figures"],
        "baseline_figures": fold_figures[-1]["baseline_figures"],
        "fold_figures": fold_figures,
        "search_results": search_results,
        "importances": importances,
        "group_figures": per_group,
    }


def _permutation_importances(
    recipe: _Recipe,
    estimator: Any,
    matrix: pd.DataFrame,
    target: np.ndarray,
    config: TrainingConfig,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Mean drop of the held-out score when one feature's values are shuffled (higher = more important).

    Same definition as ``sklearn.inspection.permutation_importance``, but every shuffled copy is stacked
    and scored in a few large ``predict`` calls: tree ensembles pay a fixed cost per call and per tree, so
    this is many times faster than one call per feature and repeat.
    """
    names = [str(name) for name in matrix.columns]
    if isinstance(estimator, DummyClassifier | DummyRegressor) or len(target) < 10:
        return dict.fromkeys(names, 0.0)
    values = matrix.to_numpy(dtype=float)
    rows, repeats = len(values), config.importance_repeats
    reference = recipe.importance_score(estimator, recipe.output(estimator, matrix), target)
    drops = np.zeros(len(names))
    features_per_call = max(1, 400_000 // (rows * repeats))
    for first in range(0, len(names), features_per_call):
        columns = range(first, min(first + features_per_call, len(names)))
        blocks = []
        for column in columns:
            for _ in range(repeats):
                block = values.copy()
                block[:, column] = block[rng.permutation(rows), column]
                blocks.append(block)
        outputs = recipe.output(estimator, pd.DataFrame(np.vstack(blocks), columns=matrix.columns))
        for position, column in enumerate(columns):
            scores = [
                recipe.importance_score(estimator, outputs[start : start + rows], target)
                for start in range((position * repeats) * rows, (position + 1) * repeats * rows, rows)
            ]
            drops[column] = reference - float(np.mean(scores))
    return dict(sorted(zip(names, drops.tolist(), strict=True), key=lambda item: -item[1]))


MIN_NEXT_CATEGORY_ROWS = 20  # buyer rows (customer x cut-off) below which the next category is not learned


def _next_category_shortfall(
    panel: _Panel, buyers: np.ndarray, folds: list[tuple[list[pd.Timestamp], pd.Timestamp]]
) -> str | None:
    """Why the next-category model cannot be trained and validated here, or None when it can.

    It learns only from customers who bought again after a cut-off; a tiny store may have none in a fold.
    """
    total = int(buyers.sum())
    if total < MIN_NEXT_CATEGORY_ROWS:
        return (
            f"only {total} purchase(s) after the training cut-offs; at least {MIN_NEXT_CATEGORY_ROWS} are needed "
            "to learn which category a customer buys next"
        )
    row_cutoffs = panel.cutoff_of_rows()
    for training, validation in folds:
        in_training = np.isin(row_cutoffs, np.array(training, dtype=row_cutoffs.dtype))
        in_validation = row_cutoffs == np.array(validation, dtype=row_cutoffs.dtype)
        if (buyers & in_training).any() and (buyers & in_validation).any():
            return None
    return "no validation fold has customers who bought again both before and after its cut-off"


def _segment_summary(features: pd.DataFrame, labels: pd.DataFrame, rules: SegmentRules) -> dict[str, Figures]:
    """Size, observed churn and next-period spend of each segment at the newest labelled cut-off."""
    segments = assign_segments(features, rules)
    summary: dict[str, Figures] = {}
    for name in SEGMENT_NAMES:
        members = segments == name
        count = int(members.sum())
        summary[name] = {
            "n": float(count),
            "share": float(count / max(len(segments), 1)),
            "churn_rate": float(labels.loc[members, "churned"].mean()) if count else None,
            "mean_spend_next": float(labels.loc[members, "spend_next"].mean()) if count else None,
        }
    return summary


def train_customer_models(
    tables: CustomerTables,
    config: TrainingConfig | None = None,
    *,
    as_of: TimeLike | None = None,
    progress: Progress | None = None,
) -> CustomerPredictionModels:
    """Train the spend, churn and next-category models of one store, with figures, and the segment rules.

    ``as_of`` is "now" (exclusive end of the data): by default the midnight after the last order or event.
    Data at or after ``as_of`` is ignored. Raises ``ValueError`` when the history is too short for at least
    one time-based validation fold.
    """
    config = config or TrainingConfig()
    report = progress or (lambda _message: None)
    data_start, data_last = tables.time_range()
    moment = data_last.floor("D") + pd.Timedelta(days=1) if as_of is None else to_utc_timestamp(as_of)
    tables = tables.before(moment)
    cutoffs = rolling_cutoffs(
        data_start,
        moment,
        horizon_days=config.horizon_days,
        n_cutoffs=config.n_cutoffs,
        step_days=config.cutoff_step_days,
        min_history_days=config.min_history_days,
    )
    folds = time_folds(cutoffs, horizon_days=config.horizon_days)[-config.search_folds :]
    if not folds:
        needed = config.min_history_days + config.horizon_days + max(config.cutoff_step_days, config.horizon_days)
        raise ValueError(
            f"not enough history for a time-based validation: about {needed} days of orders are needed "
            f"(data covers {(moment - data_start).days} days)"
        )
    spec = FeatureSpec.from_tables(tables, max_categories=config.max_categories, max_regions=config.max_regions)
    with threadpool_limits(limits=config.n_threads):
        panel = _build_panel(tables, cutoffs, spec, config.horizon_days, report)
        feature_names = [name for name in spec.feature_names() if name not in set(config.exclude_features)]
        everyone = np.ones(len(panel.labels), dtype=bool)
        spend = _train_one(
            _spend_recipe(config, feature_names),
            panel,
            everyone,
            panel.labels["spend_next"].clip(lower=0.0).to_numpy(dtype=float),  # refunds never make spend negative
            folds,
            feature_names,
            lambda train, features, target: _spend_baselines(train, features, target, config.horizon_days),
            spec,
            config,
            report,
        )
        churn = _train_one(
            _churn_recipe(config, feature_names),
            panel,
            everyone,
            panel.labels["churned"].to_numpy(dtype=int),
            folds,
            feature_names,
            _churn_baselines,
            spec,
            config,
            report,
        )
        next_category = panel.labels["next_category"]
        buyers = next_category.notna().to_numpy()
        skipped: dict[str, str] = {}
        category: dict[str, Any] | None = None
        reason = _next_category_shortfall(panel, buyers, folds)
        if reason is None:
            try:
                category = _train_one(
                    _category_recipe(config, feature_names),
                    panel,
                    buyers,
                    next_category.where(next_category.notna(), "").astype(str).to_numpy(dtype=object),
                    folds,
                    feature_names,
                    lambda train, features, target: _category_baselines(train, features, target, spec),
                    spec,
                    config,
                    report,
                )
            except ValueError as error:  # scikit-learn refusing degenerate data; spend and churn still count
                reason = f"training failed on this store's data: {error}"
        if reason is not None:
            skipped["next_category"] = reason
            report(f"next_category: skipped ({reason})")
    newest = cutoffs[-1]
    newest_features = panel.features.xs(newest, level="cutoff")
    rules = SegmentRules.for_store(newest_features)
    notes = [f"{name} model not trained: {why}" for name, why in skipped.items()]
    missing = missing_value_report(panel.features)
    if missing:
        notes.append(
            "missing values kept as NaN for the gradient-boosted trees (no row dropped): "
            + ", ".join(f"{name}={count}" for name, count in missing.items())
        )
    return CustomerPredictionModels(
        spend=SpendModelResult(name="spend", feature_names=feature_names, **spend),
        churn=ChurnModelResult(name="churn", feature_names=feature_names, **churn),
        next_category=(
            NextCategoryModelResult(name="next_category", feature_names=feature_names, **category)
            if category is not None
            else None
        ),
        segment_rules=rules,
        spec=spec,
        config=config,
        as_of=moment,
        cutoffs=cutoffs,
        n_training_rows=len(panel.features),
        missing_values=missing,
        segment_summary=_segment_summary(newest_features, panel.labels.xs(newest, level="cutoff"), rules),
        notes=notes,
        skipped=skipped,
    )
