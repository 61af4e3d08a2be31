"""Cross-validated judgement of the customer-table models: stratified folds shared by every model, metrics per
fold (:func:`loyalist.modeling.evaluation.churn_metrics`) and their mean ± standard deviation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from loyalist.errors import ModelError
from loyalist.modeling.evaluation import churn_metrics

__all__ = ["REPORTED", "CVResult", "cross_validate", "make_folds"]

#: Metrics reported per model (mean and std over the folds).
REPORTED: tuple[str, ...] = ("roc_auc", "pr_auc", "brier", "log_loss", "ece", "lift_top_decile")


def make_folds(y: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified, shuffled folds (train positions, test positions); the same for every model of a run."""
    y = np.asarray(y, dtype=int)
    counts = np.bincount(y, minlength=2)
    if counts.min() < n_folds:
        raise ModelError(f"The churn flag has {counts[1]} churned and {counts[0]} stayed customers; {n_folds}-fold "
                         f"cross-validation needs at least {n_folds} of each; give a larger table or set "
                         "customer_table.folds lower.")
    return list(StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


@dataclass(frozen=True)
class CVResult:
    """``per_fold``: one row per (model, fold) with the metrics of :data:`REPORTED`; ``summary``: per model the
    mean and std of each (columns ``<metric>_mean``, ``<metric>_std``), in the order the models were given;
    ``oof``: out-of-fold probabilities per model."""

    per_fold: pd.DataFrame
    summary: pd.DataFrame
    oof: dict[str, np.ndarray]

    def mean(self, model: str, metric: str = "roc_auc") -> float:
        return float(self.summary.loc[model, f"{metric}_mean"])

    def std(self, model: str, metric: str = "roc_auc") -> float:
        return float(self.summary.loc[model, f"{metric}_std"])


class FoldModel(Protocol):
    """What :func:`cross_validate` needs of a model: ``fit(X, y)`` returning the model, and ``score(X)``."""

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> FoldModel: ...

    def score(self, X: pd.DataFrame) -> np.ndarray: ...


def cross_validate(
    X: pd.DataFrame, y: np.ndarray, models: Mapping[str, Callable[[], FoldModel]],
    folds: list[tuple[np.ndarray, np.ndarray]], *, progress: Callable[[str], None] | None = None,
) -> CVResult:
    """Fit each model factory on every training fold and score its test fold.

    Parameters
    ----------
    X : DataFrame
        Features, one row per labelled customer.
    y : array of 0/1
    models : mapping of name -> zero-argument factory of a model with ``fit(X, y)`` and ``score(X)``.
    folds : list of (train, test) positions (:func:`make_folds`).
    """
    y = np.asarray(y, dtype=int)
    rows = []
    oof = {name: np.full(len(y), np.nan) for name in models}
    for k, (train, test) in enumerate(folds):
        for name, factory in models.items():
            model = factory().fit(X.iloc[train], y[train])
            p = np.asarray(model.score(X.iloc[test]), dtype=float)
            oof[name][test] = p
            m = churn_metrics(y[test], p)
            rows.append({"model": name, "fold": k, **{key: m[key] for key in REPORTED}})
        if progress is not None:
            progress(f"fold {k + 1}")
    per_fold = pd.DataFrame(rows)
    order = list(models)
    stats = per_fold.groupby("model")[list(REPORTED)].agg(["mean", "std"])
    stats.columns = [f"{m}_{s}" for m, s in stats.columns]
    stats = stats.loc[order]
    stats.index.name = "model"
    return CVResult(per_fold=per_fold, summary=stats, oof=oof)
