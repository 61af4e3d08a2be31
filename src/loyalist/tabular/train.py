"""Training in customer-table mode: leakage alarm, cross-validation of LightGBM beside the baselines on the same
folds, the candidate (LightGBM, or the logistic baseline when LightGBM does not beat it), fitted on every
labelled customer.

Baselines: ``logistic`` (one-hot features), ``tenure`` (when a tenure column is mapped) and ``single:<column>``
(the strongest single feature by its own out-of-fold AUC, leaky columns excluded; chosen with every label, which
can only flatter the baseline).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from loyalist.config.models import CustomerTableConfig
from loyalist.errors import DataQualityError
from loyalist.tabular.evaluate import CVResult, FoldModel, cross_validate, make_folds
from loyalist.tabular.leakage import leakage_report
from loyalist.tabular.models import (
    LogisticChurnModel,
    SingleFeatureModel,
    TableChurnModel,
    feature_frame,
)
from loyalist.tabular.prepare import LABEL
from loyalist.tabular.survival import TableSurvivalResult
from loyalist.tabular.types import FEATURE_TYPES

__all__ = ["TableTrainResult", "feature_kinds", "train_table", "train_table_survival"]

LEARNED = "lightgbm"
LOGISTIC = "logistic"


@dataclass
class TableTrainResult:
    """What :func:`train_table` found and fitted.

    ``cv``: the cross-validation of every model; ``leakage``: the alarm's table; ``kinds``: feature -> type used;
    ``candidate``: the model name chosen (``lightgbm`` or ``logistic``) and ``model`` it fitted on all labelled
    rows; ``best_baseline``: the baseline with the highest mean ROC AUC; ``reason``: the choice in one sentence;
    ``n_rows``/``base_rate``: the labelled customers."""

    cv: CVResult
    leakage: pd.DataFrame
    kinds: dict[str, str]
    candidate: str
    model: object
    best_baseline: str
    reason: str
    n_rows: int
    base_rate: float
    notes: list[str] = field(default_factory=list)


def feature_kinds(types: pd.DataFrame, excluded: set[str]) -> dict[str, str]:
    """Feature column -> type (numeric, categorical, date), the alarm's exclusions left out."""
    return {c: t for c, t in zip(types["column"], types["type"], strict=True) if t in FEATURE_TYPES and c not in excluded}


def train_table(
    table: pd.DataFrame, types: pd.DataFrame, config: CustomerTableConfig, *, seed: int,
    lgbm_params: Mapping[str, object] | None = None, snapshot: pd.Timestamp | None = None,
    n_jobs: int | None = None, progress: Callable[[str], None] | None = None,
) -> TableTrainResult:
    """Judge and fit the churn models on the labelled rows of the clean customer table (see the module).

    Raises
    ------
    DataQualityError
        No labelled customer, one class only, or too few of a class for the folds.
    """
    labelled = table.loc[table[LABEL].notna()].reset_index(drop=True)
    y = labelled[LABEL].astype(bool).to_numpy().astype(int)
    if len(y) == 0 or y.min() == y.max():
        what = "no customer has a churn flag" if len(y) == 0 else \
            f"every labelled customer has churn = {'yes' if y[0] else 'no'} ({len(y)} rows)"
        raise DataQualityError(f"The customer table cannot train a churn model: {what}; a churn model needs both "
                               f"churned and staying customers in column {config.churn!r}.")
    counts = np.bincount(y, minlength=2)
    if counts.min() < config.folds:
        raise DataQualityError(f"The customer table has {counts[1]} churned and {counts[0]} staying customers; "
                               f"{config.folds}-fold cross-validation needs at least {config.folds} of each; give a "
                               "larger table (or lower customer_table.folds).")
    folds = make_folds(y, config.folds, seed)
    leak = leakage_report(labelled, y, types, folds, leakage_auc=config.leakage_auc, id_auc=config.id_auc,
                          keep=config.keep)
    excluded = set(leak.loc[leak["excluded"], "column"])
    kinds = feature_kinds(types, excluded)
    if not kinds:
        raise DataQualityError("The customer table has no feature column left (numeric, categorical or date) after "
                               "the leakage alarm; map more columns or set their types in customer_table.types.")
    X = feature_frame(labelled, kinds, snapshot)
    models: dict[str, Callable[[], FoldModel]] = {
        LEARNED: lambda: TableChurnModel(params=lgbm_params, random_state=seed, n_jobs=n_jobs),
        LOGISTIC: lambda: LogisticChurnModel(),
    }
    tenure = config.tenure
    if tenure is not None and tenure in kinds:
        models["tenure"] = lambda: SingleFeatureModel(tenure)
    ranked = leak.loc[~leak["excluded"] & leak["column"].isin(list(kinds)) & leak["auc"].notna()]
    if len(ranked) and ranked["column"].iloc[0] != config.tenure:
        best_single = str(ranked["column"].iloc[0])
        models[f"single:{best_single}"] = lambda: SingleFeatureModel(best_single)
    cv = cross_validate(X, y, models, folds, progress=progress)
    baselines = [m for m in models if m != LEARNED]
    best = max(baselines, key=lambda m: cv.mean(m))
    learned, bar = cv.mean(LEARNED), cv.mean(best)
    if learned >= bar:
        candidate = LEARNED
        reason = (f"LightGBM's {config.folds}-fold ROC AUC {learned:.3f} ± {cv.std(LEARNED):.3f} is at least the best "
                  f"baseline's ({best} {bar:.3f} ± {cv.std(best):.3f}).")
    else:
        candidate = LOGISTIC
        reason = (f"LightGBM's {config.folds}-fold ROC AUC {learned:.3f} is below the best baseline ({best} "
                  f"{bar:.3f}), so the logistic baseline is the candidate.")
    model = models[candidate]().fit(X, y)
    choice = getattr(model, "choice_", None)
    if choice:
        reason += f" Fitted on every labelled customer: {choice}."
    notes = []
    for r in leak.loc[leak["alarm"] != ""].itertuples():
        if r.alarm == "leak":
            fate = "kept (customer_table.keep)" if not r.excluded else "excluded from the models"
            notes.append(f"Leakage alarm: column {r.column!r} predicts the churn flag on its own (ROC AUC {r.auc:.3f} "
                         f">= {config.leakage_auc}); it was probably recorded with or after the churn; {fate}.")
        else:
            notes.append(f"Leakage alarm: id-like column {r.column!r} predicts the churn flag (ROC AUC {r.auc:.3f} >= "
                         f"{config.id_auc}): the rows are ordered or numbered by outcome; ids are never features.")
    return TableTrainResult(cv=cv, leakage=leak, kinds=kinds, candidate=candidate, model=model, best_baseline=best,
                            reason=reason, n_rows=len(y), base_rate=float(y.mean()), notes=notes)


def train_table_survival(
    table: pd.DataFrame, kinds: Mapping[str, str], config: CustomerTableConfig, *, seed: int,
    snapshot: pd.Timestamp | None = None, n_jobs: int = 2, progress: Callable[[str], None] | None = None,
) -> tuple[TableSurvivalResult | None, str]:
    """Time to churn (issue 15 §2) on the labelled rows with a tenure > 0: the LightGBM hazard beside Cox and
    Kaplan-Meier on ``config.folds`` stratified folds (:func:`loyalist.tabular.survival.fit_table_survival`).
    The features are the churn model's (``kinds``: the leakage alarm's exclusions are out) without the tenure.

    Returns the result (None when no tenure is mapped or too few rows are usable) and one sentence saying what
    was done or why not."""
    from loyalist.tabular.survival import fit_table_survival, survival_data, tenure_months

    if config.tenure is None:
        return None, "No tenure column is mapped (customer_table.tenure), so no time-to-churn model was fitted."
    labelled = table.loc[table[LABEL].notna()].reset_index(drop=True)
    months = tenure_months(labelled[config.tenure], config.tenure_unit)
    usable = survival_data(months, labelled[LABEL].to_numpy(object))
    rows = labelled.iloc[usable].reset_index(drop=True)
    d = months[usable]
    e = rows[LABEL].astype(bool).to_numpy()
    counts = np.bincount(e.astype(int), minlength=2)
    if counts.min() < max(config.folds, 5):
        return None, (f"Only {counts[1]} churned and {counts[0]} staying customers have a tenure above 0; the "
                      f"time-to-churn model needs at least {max(config.folds, 5)} of each, so none was fitted.")
    if d.max() < 3:
        return None, "Every tenure is under 3 months, too short for survival curves; no time-to-churn model."
    feats = {c: k for c, k in kinds.items() if c != config.tenure}
    X = feature_frame(rows, feats, snapshot)
    folds = make_folds(e.astype(int), config.folds, seed)
    result = fit_table_survival(X, d, e, folds, exclude=config.survival_exclude, segments=config.segments,
                                seed=seed, n_jobs=n_jobs, progress=progress)
    dropped = len(labelled) - len(rows)
    return result, (f"Time to churn judged on {len(rows):,} customers with a tenure above 0 ({dropped:,} left out: "
                    f"tenure 0 or missing); {result.reason}")
