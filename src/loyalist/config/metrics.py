"""The one registry of the metrics a model is judged and promoted by: name -> direction.

The names are the keys of :func:`loyalist.modeling.evaluation.metrics.churn_metrics` and
:func:`~loyalist.modeling.evaluation.metrics.value_metrics`, which take their order from :data:`CHURN_COLUMNS` /
:data:`VALUE_COLUMNS` (a test checks that they agree); nothing else in loyalist spells a metric's direction. The config refuses any other
``training.promotion_metric`` / ``training.value_promotion_metric`` at load, and the promotion gate takes the
direction from here.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "CHURN_COLUMNS", "VALUE_COLUMNS", "CHURN_METRICS", "VALUE_METRICS", "METRICS", "SUMMARY_METRICS",
    "higher_is_better", "metric_names",
]

Kind = Literal["churn", "value"]

#: Every key of ``churn_metrics``, in its order, with its direction: True = higher is better, False = lower is
#: is better, None = descriptive (the base rate and the row count: reported, never compared).
CHURN_COLUMNS: dict[str, bool | None] = {
    "roc_auc": True,
    "pr_auc": True,
    "brier": False,
    "log_loss": False,
    "lift_top_decile": True,
    "capture_top_decile": True,
    "ece": False,
    "base_rate": None,
    "n": None,
}

#: Every key of ``value_metrics``, in its order, with its direction (as :data:`CHURN_COLUMNS`). ``total_error`` is
#: signed (0 is best), so it is reported but cannot decide a promotion.
VALUE_COLUMNS: dict[str, bool | None] = {
    "normalised_gini": True,
    "spearman": True,
    "mae": False,
    "rmse": False,
    "decile_mape": False,
    "total_error": None,
    "capture_top_decile": True,
    "n": None,
}

#: Churn metrics a model can be judged and promoted by: name -> True when higher is better.
CHURN_METRICS: dict[str, bool] = {k: v for k, v in CHURN_COLUMNS.items() if v is not None}

#: Value metrics a model can be judged and promoted by: name -> True when higher is better.
VALUE_METRICS: dict[str, bool] = {k: v for k, v in VALUE_COLUMNS.items() if v is not None}

#: The metrics the training job prints beside the baselines (the full table goes to MLflow).
SUMMARY_METRICS: dict[Kind, tuple[str, ...]] = {
    "churn": ("roc_auc", "pr_auc", "brier", "lift_top_decile", "capture_top_decile", "ece"),
    "value": ("normalised_gini", "spearman", "mae", "decile_mape", "total_error", "capture_top_decile"),
}

METRICS: dict[Kind, dict[str, bool]] = {"churn": CHURN_METRICS, "value": VALUE_METRICS}


def metric_names(kind: Kind) -> list[str]:
    """The metrics a model of ``kind`` can be promoted by."""
    return list(METRICS[kind])


def higher_is_better(kind: Kind, name: str) -> bool:
    """Direction of metric ``name`` of a ``kind`` model; a name outside the registry is a ``KeyError``."""
    return METRICS[kind][name]
