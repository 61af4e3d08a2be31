"""Time to churn in customer-table mode (issue 15 §2): tenure and the churn flag read as a survival data set.

A customer with tenure ``T`` (converted to months) and churn flag yes left after ``T`` months (an event); one
with flag no is still a customer after ``T`` months (censored at ``T``). Rows with tenure 0 (no month observed)
or without a tenure or a flag are left out of fitting and judging.

- :func:`km_curve` / :func:`km_by_segment`: Kaplan-Meier survival curves (overall and per segment: contract
  type, tier, ...) with the median lifetime of each segment.
- :class:`HazardModel`: the per-customer model, a discrete-time hazard fitted by LightGBM on person-month rows
  (one row per customer and month at risk, label "left in that month"; the month number is a feature, so the
  hazard's shape is learned, and its interactions with the customer's attributes). ``S(t | x)`` is the product
  of ``1 - h(m | x)`` over months ``m <= t``; beyond the last month seen in training the mean hazard of its last
  12 months carries on.
- :class:`CoxModel`: the baseline, Cox proportional hazards (scikit-survival's ``CoxPHSurvivalAnalysis``,
  Breslow ties, ridge-penalised) on one-hot categories and standardised numbers. (lifelines would add Weibull AFT
  but pins pandas < 3, which this project runs on.)
- :func:`concordance` (Harrell's C, scikit-survival) and :func:`integrated_brier` (Graf's Brier score with inverse
  probability of censoring weights, the censoring distribution a Kaplan-Meier fitted on the training rows,
  averaged over months ``1..horizon`` by the trapezoid rule) judge them; :func:`cross_validate_survival` runs
  every model on the same stratified folds.
- :func:`conditional_survival`: P(still a customer ``h`` months from now | a customer now, tenure ``T``) =
  ``S(T + h | x) / S(T | x)``; :func:`expected_remaining` the restricted mean of the remaining lifetime.

Columns computed from tenure (a total charge = tenure x monthly charge) make a survival model read the answer:
:func:`duration_leaks` finds numeric columns whose Spearman correlation with tenure reaches ``0.85`` and
``customer_table.survival_exclude`` names more.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import lightgbm as lgb
import numpy as np
import pandas as pd

from loyalist.errors import DataQualityError, ModelError, NotFittedError
from loyalist.tabular.models import lgbm_frame

__all__ = [
    "DAYS_PER_MONTH",
    "CoxModel",
    "HazardModel",
    "SurvivalCV",
    "TableSurvival",
    "TableSurvivalResult",
    "concordance",
    "conditional_survival",
    "choose_segment",
    "cross_validate_survival",
    "fit_table_survival",
    "duration_leaks",
    "expected_remaining",
    "integrated_brier",
    "km_by_segment",
    "km_curve",
    "level_to_classifier",
    "survival_data",
    "tenure_months",
]

#: Days per month (365.25 / 12): table mode counts tenure in months, the risk list's horizons in days.
DAYS_PER_MONTH = 365.25 / 12
_PER_MONTH = {"months": 1.0, "years": 12.0, "days": 1.0 / DAYS_PER_MONTH}
#: Spearman correlation with tenure from which a numeric column counts as computed from tenure.
LEAK_CORRELATION = 0.85


def tenure_months(values: pd.Series | np.ndarray, unit: str) -> np.ndarray:
    """Tenure in months from a tenure in ``unit`` (months, years or days)."""
    return pd.to_numeric(pd.Series(np.asarray(values)), errors="coerce").to_numpy(float) * _PER_MONTH[unit]


def survival_data(durations: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Positions of the rows usable for survival: a tenure > 0 and a flag (see the module)."""
    d = np.asarray(durations, dtype=float)
    e = pd.array(np.asarray(events, dtype=object), dtype="boolean")
    return np.flatnonzero(np.isfinite(d) & (d > 0) & ~np.asarray(e.isna()))


def duration_leaks(X: pd.DataFrame, durations: np.ndarray, threshold: float = LEAK_CORRELATION) -> dict[str, float]:
    """Numeric columns of ``X`` whose Spearman correlation with the durations reaches ``threshold`` (column ->
    correlation)."""
    d = pd.Series(np.asarray(durations, dtype=float), index=X.index)
    out: dict[str, float] = {}
    for c in X.columns:
        if pd.api.types.is_numeric_dtype(X[c]) and X[c].notna().sum() > 2:
            r = X[c].astype(float).corr(d, method="spearman")
            if np.isfinite(r) and abs(r) >= threshold:
                out[str(c)] = float(r)
    return out


# ------------------------------------------------------------------------------------------ Kaplan-Meier


def _km_steps(durations: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier: the distinct event times and the survival just after each (events before censoring at a
    tie)."""
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    times = np.unique(d[e])
    if len(times) == 0:
        return np.array([0.0]), np.array([1.0])
    at_risk = len(d) - np.searchsorted(np.sort(d), times, side="left")
    deaths = np.bincount(np.searchsorted(times, d[e]), minlength=len(times))
    surv = np.cumprod(1.0 - deaths / np.maximum(at_risk, 1))
    return times, surv


def _step_at(times: np.ndarray, surv: np.ndarray, t: np.ndarray, *, before: bool = False) -> np.ndarray:
    """The step function (1 before the first time) at ``t``; ``before``: just before ``t``."""
    idx = np.searchsorted(times, np.asarray(t, dtype=float), side="left" if before else "right")
    return np.concatenate([[1.0], surv])[idx]


def km_curve(durations: np.ndarray, events: np.ndarray, months: Sequence[float] | np.ndarray) -> np.ndarray:
    """Kaplan-Meier survival at ``months``."""
    times, surv = _km_steps(durations, events)
    return _step_at(times, surv, np.asarray(months, dtype=float))


def km_by_segment(
    segments: pd.Series, durations: np.ndarray, events: np.ndarray, months: Sequence[float], *, min_size: int = 30,
) -> pd.DataFrame:
    """Kaplan-Meier curve of each segment (value of ``segments``; segments under ``min_size`` customers pooled
    as ``other``): columns ``segment``, ``customers``, ``churned``, ``median_months`` (the first month the curve
    falls to 0.5 or below; NaN when it never does within the data) and one column per month ``s_<m>``."""
    seg = segments.astype("object").where(segments.notna(), "missing").astype(str).to_numpy()
    values, counts = np.unique(seg, return_counts=True)
    small = set(values[counts < min_size])
    if small:
        seg = np.where(np.isin(seg, list(small)), "other", seg)
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    rows = []
    for s in sorted(set(seg)):
        m = seg == s
        times, surv = _km_steps(d[m], e[m])
        below = times[surv <= 0.5]
        row: dict[str, Any] = {"segment": s, "customers": int(m.sum()), "churned": int(e[m].sum()),
                               "median_months": float(below[0]) if len(below) else float("nan")}
        for month, v in zip(months, _step_at(times, surv, np.asarray(months, dtype=float)), strict=True):
            row[f"s_{month:g}"] = float(v)
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------ metrics


def concordance(durations: np.ndarray, events: np.ndarray, survival_score: np.ndarray) -> float:
    """Harrell's concordance index (scikit-survival's ``concordance_index_censored``; ties in the score count
    one half); ``survival_score``: higher = expected to stay longer."""
    from sksurv.metrics import concordance_index_censored

    return float(concordance_index_censored(np.asarray(events, bool), np.asarray(durations, float),
                                            -np.asarray(survival_score, float))[0])


def integrated_brier(
    train_durations: np.ndarray, train_events: np.ndarray, durations: np.ndarray, events: np.ndarray,
    survival: np.ndarray, months: np.ndarray,
) -> tuple[float, np.ndarray]:
    """Integrated Brier score with IPCW (Graf et al. 1999) over ``months`` and the Brier score at each.

    ``survival``: the predicted S(t | x) of the test rows, shape (rows, len(months)). The censoring distribution
    G is the Kaplan-Meier of the training rows' censoring; a row that left at ``T <= t`` weighs ``1 / G(T-)``,
    one still a customer at ``t`` weighs ``1 / G(t)``, one censored before ``t`` nothing."""
    months = np.asarray(months, dtype=float)
    ct, cs = _km_steps(np.asarray(train_durations, float), ~np.asarray(train_events, bool))
    d = np.asarray(durations, float)
    e = np.asarray(events, bool)
    g_before = np.maximum(_step_at(ct, cs, d, before=True), 1e-9)
    g_t = np.maximum(_step_at(ct, cs, months), 1e-9)
    scores = np.empty(len(months))
    for j, t in enumerate(months):
        s = survival[:, j]
        left = (d <= t) & e
        alive = d > t
        scores[j] = np.mean(np.where(left, s ** 2 / g_before, 0.0) + np.where(alive, (1 - s) ** 2 / g_t[j], 0.0))
    ibs = float(np.trapezoid(scores, months) / (months[-1] - months[0])) if len(months) > 1 else float(scores[0])
    return ibs, scores


# ------------------------------------------------------------------------------------------ models


class SurvivalModel(Protocol):
    """What the survival judgement needs: ``fit(X, durations, events)`` and ``survival(X, months)``."""

    def fit(self, X: pd.DataFrame, durations: np.ndarray, events: np.ndarray) -> SurvivalModel: ...

    def survival(self, X: pd.DataFrame, months: np.ndarray) -> np.ndarray: ...


def _categorical(X: pd.DataFrame) -> list[str]:
    return [str(c) for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]


class _Base(ABC):
    feature_names_: list[str]
    max_month_: int
    output_name = "survival"
    kind = "survival"

    def _check(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "feature_names_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit(X, durations, events).")
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise ModelError(f"The input lacks the feature columns {missing} the survival model was trained on.")
        return X[self.feature_names_]

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Expected months of survival from month 0 within the training range (higher = stays longer), the
        score :func:`concordance` judges."""
        months = np.arange(1, self.max_month_ + 1).astype(float)
        return self.survival(X, months).sum(axis=1)

    @abstractmethod
    def survival(self, X: pd.DataFrame, months: np.ndarray) -> np.ndarray:
        """P(still a customer after each of ``months``) per row of ``X`` (rows x months)."""


def _check_survival(durations: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    if len(d) == 0 or not np.isfinite(d).all() or (d <= 0).any():
        raise ModelError("Survival durations must be finite tenures > 0 (rows with tenure 0 or none are left out).")
    if e.sum() < 2:
        raise DataQualityError(f"Only {int(e.sum())} of {len(d)} customers with a tenure have churned; a survival "
                               "model needs at least 2 churned customers.")
    return d, e


class HazardModel(_Base):
    """Discrete-time hazard by LightGBM on person-month rows (see the module). The number of trees is chosen by
    early stopping on a quarter of the customers (all their months held out together), then refitted on all.
    ``num_leaves`` 7 was chosen on Telco's 3-fold CV among 7, 15 and 31 (C 0.864, 0.862, 0.862)."""

    def __init__(self, *, num_leaves: int = 7, learning_rate: float = 0.05, min_child_samples: int = 100,
                 max_trees: int = 2000, reg_lambda: float = 5.0, colsample_bytree: float = 0.8,
                 random_state: int = 0, n_jobs: int = 2) -> None:
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.min_child_samples = min_child_samples
        self.max_trees = max_trees
        self.reg_lambda = reg_lambda
        self.colsample_bytree = colsample_bytree
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        return lgbm_frame(X, self.categories_)

    @staticmethod
    def _person_months(Xp: pd.DataFrame, d: np.ndarray, e: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        months = np.ceil(d).astype(int)
        rows = np.repeat(np.arange(len(d)), months)
        month = np.concatenate([np.arange(1, m + 1) for m in months]) if len(months) else np.array([], int)
        last = np.cumsum(months) - 1
        y = np.zeros(len(rows), dtype=int)
        y[last[e]] = 1
        frame = Xp.iloc[rows].reset_index(drop=True)
        frame.insert(0, "_month", month.astype(float))
        return frame, y

    def _estimator(self, trees: int) -> lgb.LGBMClassifier:
        return lgb.LGBMClassifier(objective="binary", n_estimators=trees, num_leaves=self.num_leaves,
                                  learning_rate=self.learning_rate, min_child_samples=self.min_child_samples,
                                  reg_lambda=self.reg_lambda, colsample_bytree=self.colsample_bytree,
                                  subsample=0.8, subsample_freq=1, verbose=-1, random_state=self.random_state,
                                  n_jobs=self.n_jobs)

    def fit(self, X: pd.DataFrame, durations: np.ndarray, events: np.ndarray) -> HazardModel:
        from sklearn.model_selection import train_test_split

        d, e = _check_survival(durations, events)
        self.feature_names_ = [str(c) for c in X.columns]
        self.categories_ = {c: sorted(X[c].dropna().astype(str).unique().tolist()) for c in _categorical(X)}
        self.max_month_ = int(np.ceil(d.max()))
        Xp = self._prepare(X).reset_index(drop=True)
        fit_idx, stop_idx = train_test_split(np.arange(len(d)), test_size=0.25, stratify=e.astype(int),
                                             random_state=self.random_state)
        fx, fy = self._person_months(Xp.iloc[fit_idx], d[fit_idx], e[fit_idx])
        sx, sy = self._person_months(Xp.iloc[stop_idx], d[stop_idx], e[stop_idx])
        est = self._estimator(self.max_trees)
        est.fit(fx, fy, eval_X=(sx,), eval_y=(sy,), callbacks=[lgb.early_stopping(50, verbose=False)])
        self.n_trees_ = max(int(est.best_iteration_ or self.max_trees), 10)
        ax, ay = self._person_months(Xp, d, e)
        self.booster_ = self._estimator(self.n_trees_).fit(ax, ay)
        return self

    def hazards(self, X: pd.DataFrame, last_month: int) -> np.ndarray:
        """Monthly hazard h(m | x) for months 1..``last_month`` (rows x months); past the last trained month
        the mean hazard of its last 12 months carries on."""
        Xp = self._prepare(self._check(X)).reset_index(drop=True)
        upto = min(last_month, self.max_month_)
        n = len(Xp)
        grid = Xp.iloc[np.tile(np.arange(n), upto)].reset_index(drop=True)
        grid.insert(0, "_month", np.repeat(np.arange(1, upto + 1), n).astype(float))
        h = np.asarray(self.booster_.predict_proba(grid))[:, 1].reshape(upto, n).T
        if last_month > upto:
            tail = h[:, -min(12, upto):].mean(axis=1, keepdims=True)
            h = np.concatenate([h, np.repeat(tail, last_month - upto, axis=1)], axis=1)
        return np.clip(h, 0.0, 1.0 - 1e-9)

    def survival(self, X: pd.DataFrame, months: np.ndarray) -> np.ndarray:
        """S(t | x) at ``months`` (fractional months by a constant hazard within the month)."""
        months = np.asarray(months, dtype=float)
        last = max(int(np.ceil(months.max())), 1)
        log_s = np.concatenate([np.zeros((len(X), 1)), np.cumsum(np.log1p(-self.hazards(X, last)), axis=1)], axis=1)
        lo = np.clip(np.floor(months).astype(int), 0, last)
        hi = np.clip(lo + 1, 0, last)
        frac = months - lo
        return np.exp(log_s[:, lo] * (1 - frac) + log_s[:, hi] * frac)


class _Design:
    """One-hot categories (first level dropped) and standardised numbers (missing -> training median)."""

    def fit(self, X: pd.DataFrame) -> _Design:
        self.categorical_ = _categorical(X)
        self.numeric_ = [str(c) for c in X.columns if str(c) not in self.categorical_]
        self.medians_ = {c: float(np.nanmedian(X[c].astype(float))) if X[c].notna().any() else 0.0
                         for c in self.numeric_}
        self.levels_ = {c: sorted(X[c].dropna().astype(str).unique().tolist()) for c in self.categorical_}
        Z = self._raw(X)
        self.mean_ = Z.mean()
        self.scale_ = Z.std().replace(0.0, 1.0).fillna(1.0)
        keep = Z.std().fillna(0.0) > 0
        self.columns_ = list(Z.columns[keep])
        return self

    def _raw(self, X: pd.DataFrame) -> pd.DataFrame:
        parts: dict[str, np.ndarray] = {}
        for c in self.numeric_:
            parts[c] = X[c].astype(float).fillna(self.medians_[c]).to_numpy()
        for c in self.categorical_:
            text = X[c].astype("object").astype(str).to_numpy()
            for level in self.levels_[c][1:]:
                parts[f"{c}={level}"] = (text == level).astype(float)
        return pd.DataFrame(parts, index=X.index)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        Z = (self._raw(X) - self.mean_) / self.scale_
        return Z[self.columns_].reset_index(drop=True)


class CoxModel(_Base):
    """Cox proportional hazards (scikit-survival ``CoxPHSurvivalAnalysis``, Breslow ties, ridge penalty
    ``penalizer`` x rows on the sum of log partial likelihoods) on one-hot categories and standardised numbers:
    the baseline. Between event times log S is linear; past the last event time of training the mean hazard of
    its last 12 months carries on."""

    def __init__(self, *, penalizer: float = 0.01) -> None:
        self.penalizer = penalizer

    def fit(self, X: pd.DataFrame, durations: np.ndarray, events: np.ndarray) -> CoxModel:
        from sksurv.linear_model import CoxPHSurvivalAnalysis
        from sksurv.util import Surv

        d, e = _check_survival(durations, events)
        self.feature_names_ = [str(c) for c in X.columns]
        self.design_ = _Design().fit(X)
        self.fitter_ = CoxPHSurvivalAnalysis(alpha=self.penalizer * len(d), ties="breslow").fit(
            self.design_.transform(X).to_numpy(float), Surv.from_arrays(e, d))
        self.max_month_ = int(np.ceil(d.max()))
        return self

    def _baseline_log_s(self) -> np.ndarray:
        """log S at 0 and at each of the fitter's unique times for an all-zero design row (the baseline)."""
        base = np.asarray(self.fitter_.predict_survival_function(np.zeros((1, len(self.design_.columns_))),
                                                                 return_array=True), dtype=float)[0]
        return np.log(np.maximum(np.concatenate([[1.0], base]), 1e-300))

    def survival(self, X: pd.DataFrame, months: np.ndarray) -> np.ndarray:
        Z = self.design_.transform(self._check(X)).to_numpy(float)
        steps = np.asarray(self.fitter_.predict_survival_function(Z, return_array=True), dtype=float)
        knots = np.concatenate([[0.0], np.asarray(self.fitter_.unique_times_, dtype=float)])
        log_s = np.log(np.maximum(np.concatenate([np.ones((len(Z), 1)), steps], axis=1), 1e-300))
        # the event times only (a censoring-only time is no step of the curve)
        step = np.concatenate([[True], np.diff(self._baseline_log_s()) < 0])
        knots, log_s = knots[step], log_s[:, step]
        # log S linear between event times (a constant hazard between them): tenures counted in whole months
        # leave no step inside a month, so a horizon of 30 days would otherwise never see a churn
        asked = np.asarray(months, dtype=float)
        t = np.clip(asked, 0.0, knots[-1])
        hi = np.clip(np.searchsorted(knots, t, side="left"), 1, len(knots) - 1)
        lo = hi - 1
        w = (t - knots[lo]) / np.maximum(knots[hi] - knots[lo], 1e-12)
        out = log_s[:, lo] * (1 - w) + log_s[:, hi] * w
        # past the last event time the mean hazard of the last 12 months carries on (not "never leaves")
        k = int(np.searchsorted(knots, knots[-1] - 12.0, side="left"))
        slope = (log_s[:, -1] - log_s[:, k]) / max(knots[-1] - knots[k], 1e-12)
        out += slope[:, None] * np.maximum(asked - knots[-1], 0.0)[None, :]
        return np.exp(out)


# ------------------------------------------------------------------------------------------ judgement


@dataclass(frozen=True)
class SurvivalCV:
    """``per_fold``: one row per (model, fold) with ``c_index`` and ``ibs``; ``summary``: per model their mean
    and std (``c_index_mean`` ...), in the order given (``kaplan_meier`` first: it has no C, the same curve for
    everyone); ``brier``: mean Brier score per model and month; ``months``: the months integrated over."""

    per_fold: pd.DataFrame
    summary: pd.DataFrame
    brier: pd.DataFrame
    months: np.ndarray

    def mean(self, model: str, metric: str = "c_index") -> float:
        return float(self.summary.loc[model, f"{metric}_mean"])


def cross_validate_survival(
    X: pd.DataFrame, durations: np.ndarray, events: np.ndarray, models: Mapping[str, Callable[[], SurvivalModel]],
    folds: list[tuple[np.ndarray, np.ndarray]], *, horizon: int = 60,
    progress: Callable[[str], None] | None = None,
) -> SurvivalCV:
    """Fit every model on each training fold, judge it on the test fold by C and IBS (months 1..``horizon``,
    cut to the 90th percentile of the tenures: past it few customers are still observed and the IPCW weights
    1 / G(t) explode); Kaplan-Meier of the training fold is judged beside them."""
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    months = np.arange(1, int(min(horizon, np.floor(np.quantile(d, 0.9)))) + 1, dtype=float)
    if len(months) < 2:
        raise DataQualityError("The tenures are too short for survival curves (the longest is under 3 months).")
    rows, brier = [], []
    for k, (train, test) in enumerate(folds):
        km = np.tile(km_curve(d[train], e[train], months), (len(test), 1))
        ibs, bs = integrated_brier(d[train], e[train], d[test], e[test], km, months)
        rows.append({"model": "kaplan_meier", "fold": k, "c_index": float("nan"), "ibs": ibs})
        brier.append(pd.DataFrame({"model": "kaplan_meier", "fold": k, "month": months, "brier": bs}))
        for name, factory in models.items():
            model = factory().fit(X.iloc[train], d[train], e[train])
            s = model.survival(X.iloc[test], months)
            c = concordance(d[test], e[test], model.score(X.iloc[test]))  # type: ignore[attr-defined]
            ibs, bs = integrated_brier(d[train], e[train], d[test], e[test], s, months)
            rows.append({"model": name, "fold": k, "c_index": c, "ibs": ibs})
            brier.append(pd.DataFrame({"model": name, "fold": k, "month": months, "brier": bs}))
        if progress is not None:
            progress(f"fold {k + 1}")
    per_fold = pd.DataFrame(rows)
    order = ["kaplan_meier", *models]
    stats = per_fold.groupby("model")[["c_index", "ibs"]].agg(["mean", "std"])
    stats.columns = [f"{m}_{s}" for m, s in stats.columns]
    stats = stats.loc[order]
    stats.index.name = "model"
    curves = pd.concat(brier).groupby(["model", "month"], sort=False)["brier"].mean().reset_index()
    return SurvivalCV(per_fold=per_fold, summary=stats, brier=curves, months=months)


# ------------------------------------------------------------------------------------------ for the list


def conditional_survival(
    model: Any, X: pd.DataFrame, tenure: np.ndarray, horizons: Sequence[float] | np.ndarray,
) -> np.ndarray:
    """P(still a customer ``h`` months from now | a customer now with ``tenure`` months), rows x horizons:
    ``S(T + h | x) / S(T | x)``. Rows are computed in groups of equal whole tenure."""
    T = np.nan_to_num(np.asarray(tenure, dtype=float), nan=0.0).clip(min=0.0)
    out = np.empty((len(X), len(horizons)))
    hs = np.asarray(horizons, dtype=float)
    for t in np.unique(T):
        rows = np.flatnonzero(t == T)
        s = model.survival(X.iloc[rows], np.concatenate([[max(t, 1e-9)], t + hs]))
        out[rows] = s[:, 1:] / np.maximum(s[:, :1], 1e-12)
    return np.clip(out, 0.0, 1.0)


def expected_remaining(model: Any, X: pd.DataFrame, tenure: np.ndarray, cap_months: int) -> np.ndarray:
    """Expected further months as a customer, restricted to ``cap_months`` (the sum of the monthly
    conditional survival, trapezoid rule)."""
    steps = np.arange(0, cap_months + 1, dtype=float)
    s = conditional_survival(model, X, tenure, steps)
    return np.trapezoid(s, steps, axis=1)


# ------------------------------------------------------------------------------------------ table mode

#: The longest month of the survival curves stored per segment (every month from 1 to the longest tenure).
CURVE_MAX_MONTHS = 120
HAZARD = "lightgbm_hazard"
COX = "cox"


@dataclass
class TableSurvivalResult:
    """What :func:`fit_table_survival` judged and fitted: ``cv`` (every model and Kaplan-Meier on the same
    folds), ``candidate`` (the model with the highest mean C) and ``model`` (it, fitted on every usable row),
    ``features`` (the survival model's columns), ``excluded`` (column -> why left out), ``segment`` (the column
    of the curves) and ``curves`` (:func:`km_by_segment` on every usable row), ``rows`` and ``churned``."""

    cv: SurvivalCV
    candidate: str
    model: Any
    features: list[str]
    excluded: dict[str, str]
    segment: str | None
    curves: pd.DataFrame
    rows: int
    churned: int
    reason: str


def choose_segment(X: pd.DataFrame, durations: np.ndarray, events: np.ndarray, *, max_levels: int = 8) -> str | None:
    """The categorical column (2..``max_levels`` values) whose Kaplan-Meier curves differ most by the log-rank
    test statistic (scikit-survival ``compare_survival``); None when there is none."""
    from sksurv.compare import compare_survival
    from sksurv.util import Surv

    y = Surv.from_arrays(np.asarray(events, bool), np.asarray(durations, float))

    best: tuple[float, str] | None = None
    for c in _categorical(X):
        groups = X[c].astype("object").where(X[c].notna(), "missing").astype(str).to_numpy()
        if not 2 <= len(np.unique(groups)) <= max_levels:
            continue
        stat = float(compare_survival(y, groups)[0])
        if best is None or stat > best[0]:
            best = (stat, c)
    return None if best is None else best[1]


def fit_table_survival(
    X: pd.DataFrame, durations: np.ndarray, events: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]], *,
    exclude: Sequence[str] = (), segments: Sequence[str] = (), seed: int = 0, n_jobs: int = 2, horizon: int = 60,
    progress: Callable[[str], None] | None = None,
) -> TableSurvivalResult:
    """Judge the LightGBM hazard beside Cox and Kaplan-Meier (:func:`cross_validate_survival`) on
    ``folds`` of the usable rows, and fit the one with the highest mean C on all of them.

    ``X``, ``durations`` (months), ``events``: the usable rows only (:func:`survival_data`); ``exclude``:
    columns named by the config; ``segments``: the columns for the curves (the first is used; empty: the one of
    :func:`choose_segment`)."""
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    excluded = {c: "customer_table.survival_exclude" for c in exclude if c in X.columns}
    for c, r in duration_leaks(X.drop(columns=list(excluded)), d).items():
        excluded[c] = f"Spearman correlation {r:.2f} with tenure: computed from tenure"
    features = [str(c) for c in X.columns if c not in excluded]
    if not features:
        raise DataQualityError("No feature is left for the survival model once the columns computed from tenure "
                               "are left out; map more columns.")
    Xs = X[features]
    models: dict[str, Callable[[], SurvivalModel]] = {
        HAZARD: lambda: HazardModel(random_state=seed, n_jobs=n_jobs), COX: CoxModel}
    cv = cross_validate_survival(Xs, d, e, models, folds, horizon=horizon, progress=progress)
    candidate = max(models, key=lambda m: cv.mean(m))
    reason = (f"{candidate} has the highest mean C ({cv.mean(candidate):.3f}, IBS {cv.mean(candidate, 'ibs'):.3f}) "
              f"among {', '.join(models)} on {len(folds)} folds; Kaplan-Meier IBS {cv.mean('kaplan_meier', 'ibs'):.3f}.")
    model = models[candidate]().fit(Xs, d, e)
    segment = next((s for s in segments if s in X.columns), None) if segments else choose_segment(Xs, d, e)
    curve_months = list(range(1, int(min(np.ceil(d.max()), CURVE_MAX_MONTHS)) + 1))
    curves = km_by_segment(X[segment] if segment is not None else pd.Series(["all"] * len(d)), d, e, curve_months)
    return TableSurvivalResult(cv=cv, candidate=candidate, model=model, features=features, excluded=excluded,
                               segment=segment, curves=curves, rows=len(d), churned=int(e.sum()), reason=reason)


#: Horizons (days) of the risk list's ``p_active_<h>d`` columns, as in transaction mode.
HORIZONS_DAYS: tuple[int, ...] = (30, 90, 180)
#: The risk list's time-to-churn columns (the same names as transaction mode's).
RISK_COLUMNS: tuple[str, ...] = (*(f"p_active_{h}d" for h in HORIZONS_DAYS), "expected_days_to_churn")


@dataclass
class TableSurvival:
    """The fitted time-to-churn model that travels with the registered churn model (its ``survival_``
    attribute): ``model`` (on ``features``), the tenure's ``tenure_unit``, the curves' ``segment`` column and its
    Kaplan-Meier ``curves``, ``cap_months`` (the restriction of the expected remaining time) and the ``summary``
    of its cross-validation."""

    model: Any
    features: list[str]
    tenure_unit: str
    segment: str | None
    curves: pd.DataFrame
    cap_months: int
    candidate: str

    def risk_columns(self, X: pd.DataFrame, tenure: pd.Series | np.ndarray,
                     churn_probability: np.ndarray | None = None, window_months: float = 1.0) -> pd.DataFrame:
        """Per row: ``p_active_30d/90d/180d`` (P(still a customer that many days from now | a customer now with
        this tenure)) and ``expected_days_to_churn`` (restricted mean remaining time, capped at ``cap_months``,
        in days). Rows without a tenure count from tenure 0.

        With ``churn_probability`` (the churn classifier's P(churn within ``window_months``), the list's own
        column) each customer's remaining curve is set to the classifier's level: the survival model gives the
        shape over time, ``S(T + h | T)`` is raised to the power ``k = log(1 - p) / log S(T + window | T)`` (its
        cumulative hazard scaled by ``k``, proportional hazards), so that P(left within the window) equals the
        classifier's ``p``, the probability the list shows (see :func:`level_to_classifier`)."""
        T = tenure_months(tenure, self.tenure_unit)
        Xs = X[self.features]
        hs = np.array([h / DAYS_PER_MONTH for h in HORIZONS_DAYS])
        steps = np.arange(0, self.cap_months + 1, dtype=float)
        grid = np.concatenate([hs, steps, [float(window_months)]])
        s = conditional_survival(self.model, Xs, T, grid)
        if churn_probability is not None:
            k = level_to_classifier(s[:, -1], churn_probability)
            s = np.clip(s, 1e-300, 1.0) ** k[:, None]
        out = pd.DataFrame(s[:, :len(hs)], columns=[f"p_active_{h}d" for h in HORIZONS_DAYS], index=X.index)
        curve = s[:, len(hs):len(hs) + len(steps)]
        out["expected_days_to_churn"] = np.trapezoid(curve, steps, axis=1) * DAYS_PER_MONTH
        return out


def level_to_classifier(survival_at_window: np.ndarray, churn_probability: np.ndarray) -> np.ndarray:
    """Per customer the power ``k`` that brings the survival model's P(still a customer after the flag's window)
    to the classifier's ``1 - p``: ``k = log(1 - p) / log S(window)`` (``S ** k`` keeps the curve's shape and
    scales its cumulative hazard). ``p`` is clipped to [1e-6, 1 - 1e-6] and ``S`` to at most 1 - 1e-9 (a
    customer the survival model sees no risk for in the window still gets the classifier's)."""
    p = np.clip(np.asarray(churn_probability, dtype=float), 1e-6, 1 - 1e-6)
    sw = np.clip(np.asarray(survival_at_window, dtype=float), 1e-12, 1 - 1e-9)
    return np.log1p(-p) / np.log(sw)
