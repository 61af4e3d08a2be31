"""The one registry of the metrics a model is judged and promoted by: name -> direction.

The names are the keys of :func:`loyalist.modeling.evaluation.metrics.churn_metrics` and
:func:`~loyalist.modeling.evaluation.metrics.value_metrics` (a test checks that they agree). The config refuses any other
``training.promotion_metric`` / ``training.value_promotion_metric`` at load, and the promotion gate takes the
direction from here.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["CHURN_METRICS", "VALUE_METRICS", "METRICS", "higher_is_better", "metric_names"]

Kind = Literal["churn", "value"]

#: Churn metrics (of a probability or a risk score against churned 0/1): True = higher is better.
CHURN_METRICS: dict[str, bool] = {
    "roc_auc": True,
    "pr_auc": True,
    "brier": False,
    "log_loss": False,
    "lift_top_decile": True,
    "capture_top_decile": True,
    "ece": False,
}

#: Value metrics (of a predicted value against the actual value in the horizon): True = higher is better.
#: ``total_error`` is signed (0 is best) and so is reported but cannot decide a promotion.
VALUE_METRICS: dict[str, bool] = {
    "normalised_gini": True,
    "spearman": True,
    "mae": False,
    "rmse": False,
    "decile_mape": False,
    "capture_top_decile": True,
}

METRICS: dict[Kind, dict[str, bool]] = {"churn": CHURN_METRICS, "value": VALUE_METRICS}


def metric_names(kind: Kind) -> list[str]:
    """The metrics a model of ``kind`` can be promoted by."""
    return list(METRICS[kind])


def higher_is_better(kind: Kind, name: str) -> bool:
    """Direction of metric ``name`` of a ``kind`` model; a name outside the registry is a ``KeyError``."""
    return METRICS[kind][name]
