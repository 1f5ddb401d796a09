"""Figures for the customer models: accuracy, calibration and per-group (fairness) breakdowns.

Every figure is a plain ``float`` or ``None`` (undefined, e.g. ROC-AUC of a group with one class), so the
results can be stored as JSON as they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)

Figures = dict[str, float | None]
GroupFigures = dict[str, dict[str, Figures]]


def _number(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def regression_figures(actual: np.ndarray, predicted: np.ndarray) -> Figures:
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    if len(actual) == 0:
        return {"n": 0.0, "mae": None, "rmse": None, "r2": None, "mean_actual": None, "mean_predicted": None}
    return {
        "n": float(len(actual)),
        "mae": _number(mean_absolute_error(actual, predicted)),
        "rmse": _number(math.sqrt(mean_squared_error(actual, predicted))),
        "r2": _number(r2_score(actual, predicted)) if len(actual) > 1 else None,
        "mean_actual": _number(actual.mean()),
        "mean_predicted": _number(predicted.mean()),
    }


def binary_figures(actual: np.ndarray, probability: np.ndarray, *, threshold: float = 0.5) -> Figures:
    """ROC-AUC and Brier score of a probability, with the actual and predicted positive rates."""
    actual, probability = np.asarray(actual, int), np.asarray(probability, float)
    if len(actual) == 0:
        return {
            "n": 0.0,
            "roc_auc": None,
            "brier": None,
            "positive_rate": None,
            "mean_probability": None,
            "predicted_positive_rate": None,
        }
    both_classes = len(np.unique(actual)) == 2
    return {
        "n": float(len(actual)),
        "roc_auc": _number(roc_auc_score(actual, probability)) if both_classes else None,
        "brier": _number(brier_score_loss(actual, probability, pos_label=1)),
        "positive_rate": _number(actual.mean()),
        "mean_probability": _number(probability.mean()),
        "predicted_positive_rate": _number((probability >= threshold).mean()),
    }


def category_figures(actual: np.ndarray, predicted: np.ndarray) -> Figures:
    actual, predicted = np.asarray(actual, object), np.asarray(predicted, object)
    if len(actual) == 0:
        return {"n": 0.0, "accuracy": None, "f1_macro": None, "f1_weighted": None}
    return {
        "n": float(len(actual)),
        "accuracy": _number(accuracy_score(actual, predicted)),
        "f1_macro": _number(f1_score(actual, predicted, average="macro", zero_division=0)),
        "f1_weighted": _number(f1_score(actual, predicted, average="weighted", zero_division=0)),
    }


def calibration_bins(actual: np.ndarray, probability: np.ndarray, *, n_bins: int = 10) -> pd.DataFrame:
    """Reliability table: per equal-width probability bin, its size, mean probability and observed rate."""
    actual, probability = np.asarray(actual, float), np.asarray(probability, float)
    bins = np.clip((probability * n_bins).astype(int), 0, n_bins - 1)
    table = (
        pd.DataFrame({"bin": bins, "probability": probability, "actual": actual})
        .groupby("bin")
        .agg(n=("actual", "size"), mean_probability=("probability", "mean"), observed_rate=("actual", "mean"))
    )
    table["lower"] = table.index / n_bins
    table["upper"] = (table.index + 1) / n_bins
    return table.reset_index(drop=True)[["lower", "upper", "n", "mean_probability", "observed_rate"]]


def expected_calibration_error(actual: np.ndarray, probability: np.ndarray, *, n_bins: int = 10) -> float:
    """Size-weighted mean gap between predicted probability and observed rate over the bins."""
    table = calibration_bins(actual, probability, n_bins=n_bins)
    gaps = (table["mean_probability"] - table["observed_rate"]).abs()
    return float((gaps * table["n"]).sum() / table["n"].sum())


def group_figures(
    groups: pd.DataFrame,
    figures_of: Callable[[np.ndarray], Figures],
) -> GroupFigures:
    """``figures_of(row_positions)`` for every value of every group column, e.g. {"gender": {"F": {...}}}."""
    result: GroupFigures = {}
    for column in groups.columns:
        values = groups[column].astype(str).to_numpy()
        result[column] = {
            value: figures_of(np.flatnonzero(values == value)) for value in sorted(np.unique(values).tolist())
        }
    return result
