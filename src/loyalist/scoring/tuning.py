"""Tune the rule score's indicator weights (and optionally its scaling caps and tier thresholds) against churn.

The rule-based loyalty score is a readable weighted mean of 0-100 indicators (:mod:`loyalist.scoring.loyalty`).
:func:`tune_weights` searches the weights with Optuna's TPE sampler (seeded) so that the score ranks the customers
who later churned as low as possible, on the **training** cut-offs (stacked labelled snapshots), and judges the
result **out of time** on the validation cut-off beside the configured (default) weights.

Search space and objective, in two stages:

1. **Weights** (and, with ``tune_caps``, the ``cap`` of every ``cap`` / ``inverse`` scaled indicator). Each trial
   draws ``u_j`` in (0, 1] per indicator and uses ``w_j = -log(u_j) / sum_k -log(u_k)``: uniform ``u`` gives the
   flat Dirichlet distribution on the simplex, and ``u_j`` near 1 lets an indicator drop out. Caps are searched on
   a log scale between the 5% and 99.5% quantiles of the indicator's positive training values (widened to contain
   the configured cap). Objective: the **training ROC AUC**, the ROC AUC of ``-loyalty_score`` against
   ``churned`` computed at each training cut-off (``as_of``) and averaged over the cut-offs (the score ranks the
   customers of one snapshot; pooling cut-offs would mix base rates). Trial 0 is the configured weights, so the
   tuned weights are never worse than them on the training cut-offs.
2. **Tier thresholds** (only with ``tune_thresholds``; the weights of stage 1 fixed). Thresholds do not change how
   the score *ranks* customers, so they get their own objective: the training ROC AUC of the final tier (after the
   guard rules, ordered high risk > at risk > stable > devoted) against churn, i.e. how well four groups separate
   churners, minus a soft penalty that keeps the tiers usable: ``2 x`` (the share above ``max_tier_share``
   (70%) of any tier + the share below ``min_tier_share`` (2%) of any tier) ``+ 2 x`` (the sum of the churn-rate
   inversions between neighbouring tiers). The source's example shares (15 / 50 / 27 / 8%) show every tier in use
   and none dominant; a tier holding more than 70% of customers, or an empty devoted tier, makes the tiers useless
   for targeting whatever its AUC, and a penalty of 0.02 AUC per share point outweighs the AUC such a tier buys.
   Thresholds are searched by stick-breaking between the 1% and 99.9% quantiles of the training scores (at least
   one point apart, rounded to 0.1); trial 0 is the configured thresholds.

The guard rules stay as configured: they cap the tier after the score, in the objective as in the scorer. Weights
are normalised and rounded to 4 decimals, caps to 4 significant digits and thresholds to 0.1 before the final
evaluation, so the overlay (:meth:`WeightTuningResult.overlay`) reproduces the reported figures exactly.

Per industry: every industry with at least ``min_customers`` distinct customers in the training rows is tuned on
its own rows (trials 0 and 1 are the configured and the global tuned weights) and reported on its own validation
rows; the others use the global result. Its ``percentile`` indicators are ranked among every customer of the same
cut-off (training) or of the validation snapshot, as the scoring job ranks a list of all customers; an industry
scored on its own (a clean folder filtered to it) is ranked among itself: tune on that folder then.

Speed: the indicators are scaled once per study (caps re-scale only their own column) and the score of a trial is
two weighted sums of columns, computed as :class:`~loyalist.scoring.loyalty.LoyaltyScorer` computes it (a test
checks they agree); the AUC is one sort per cut-off. 100 weight trials on 100,000 rows take about 4 s here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np
import optuna
import pandas as pd

from loyalist.config.models import TIERS, IndicatorConfig, ScalingConfig, ScoringConfig, TierThresholds
from loyalist.errors import ConfigError, InsufficientHistoryError, SchemaError
from loyalist.schema import require_columns
from loyalist.scoring.loyalty import LoyaltyScorer
from loyalist.scoring.scaling import numeric_values, percentile_reference, scale_indicator
from loyalist.scoring.tiers import NO_SCORE_REASON, apply_guards, assign_tiers, guard_columns, tier_ranks

__all__ = [
    "WeightTuningResult",
    "tune_weights",
    "evaluate_scoring",
    "eligible_industries",
    "score_auc",
    "METRIC_COLUMNS",
    "TRIAL_COLUMNS",
    "out_of_time_warnings",
]

#: Columns of the before/after metric tables (one row each), in order.
METRIC_COLUMNS: tuple[str, ...] = (
    "roc_auc", "train_roc_auc", "tier_auc", "n", "n_scored", "churn_rate", "monotone",
    *(f"share_{t}" for t in TIERS), *(f"churn_rate_{t}" for t in TIERS), *(f"n_{t}" for t in TIERS), "n_no_tier",
    "active_roc_auc", "active_tier_auc", "n_active", "guard_share", "guard_share_high_risk",
)
#: Active customers (early warning): an order in the last ACTIVE_DAYS days before the cut-off (``recency_days``);
#: the default of ``active_days`` (``features.active_days`` in the job).
ACTIVE_DAYS = 90
#: A tuned result loses more than this (out of time) on the tier AUC or the active-customer AUC: flagged.
WORSE_BY = 0.005

#: Leading columns of :attr:`WeightTuningResult.trials`; parameter columns (``weight.<indicator>``,
#: ``cap.<indicator>``, ``tiers.<bound>``) follow.
TRIAL_COLUMNS: tuple[str, ...] = ("scope", "stage", "number", "state", "value", "roc_auc", "penalty")

_CAPPED = ("cap", "inverse")
_U_LOW = 1e-6
_SHARE_PENALTY = 2.0
_ORDER_PENALTY = 2.0
_WEIGHT_DECIMALS = 4
_THRESHOLD_DECIMALS = 1


# ------------------------------------------------------------------------------------------- result


@dataclass
class WeightTuningResult:
    """Tuned indicator weights with the evidence for them.

    Attributes
    ----------
    weights : dict of str to float
        Tuned weight per configured indicator (normalised to sum to 1, rounded to 4 decimals).
    caps : dict of str to float
        The ``cap`` in force for every ``cap`` / ``inverse`` scaled indicator (tuned with ``tune_caps``, else
        the configured one).
    thresholds : TierThresholds or None
        Tuned tier thresholds, or None when they were not tuned (the configured ones stay).
    per_industry : dict of str to WeightTuningResult
        Results of the industries tuned on their own rows (empty for an industry result).
    before, after : pandas.DataFrame
        One row each, columns :data:`METRIC_COLUMNS`, on the validation cut-off: for the configured scoring and
        for the tuned one. ``roc_auc`` = ROC AUC of ``-loyalty_score`` against ``churned``; ``train_roc_auc``
        the same on the training cut-offs (mean over cut-offs, the tuning objective); ``tier_auc`` = ROC AUC of the
        final tier; ``share_<tier>`` among customers with a tier; ``churn_rate_<tier>``; ``monotone`` = churn rate
        non-increasing from high_risk to devoted (empty tiers skipped).
    trials : pandas.DataFrame
        One row per Optuna trial: :data:`TRIAL_COLUMNS` (``stage`` is ``weights`` or ``thresholds``; ``value``
        the objective; ``roc_auc`` the training AUC of the trial; ``penalty`` the tier-share penalty) then the
        parameters ``weight.<indicator>`` (normalised), ``cap.<indicator>``, ``tiers.<bound>``.
    scoring : ScoringConfig
        The tuned scoring configuration (the configured one with the tuned weights, caps and thresholds).
    scope : str
        ``"global"`` or the industry.
    n_train_customers : int
        Distinct customers in the training rows of this scope.
    absent : list of str
        Configured indicators with no value in any training row (e.g. NPS and complaints on order-only data): no
        weight of theirs changes a score there, so they are not tuned: they keep their configured share of the
        weight and the present indicators share the rest in the tuned proportions (the scores are unchanged).
    warnings : list of str
        Why the tuned result should not be adopted as it is, out of time (empty: nothing against it): the tiers
        rank churn worse (tier AUC), active customers' churn is ranked worse, a tier share leaves the bounds, or
        the churn rate no longer falls from high risk to devoted. ``adopt`` is False when there is any.
    """

    weights: dict[str, float]
    caps: dict[str, float]
    thresholds: TierThresholds | None
    per_industry: dict[str, WeightTuningResult]
    before: pd.DataFrame
    after: pd.DataFrame
    trials: pd.DataFrame
    scoring: ScoringConfig = field(repr=False)
    scope: str = "global"
    n_train_customers: int = 0
    warnings: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    #: The active-customer window of the ``active_*`` figures (days).
    active_days: int = ACTIVE_DAYS

    @property
    def adopt(self) -> bool:
        """True when nothing out of time speaks against the tuned result (:attr:`warnings` is empty)."""
        return not self.warnings

    def overlay(self) -> dict[str, Any]:
        """The YAML-able config overlay of this result: ``{"scoring": {"indicators": {...}, "tiers": {...}}}``.

        Every configured indicator appears with its tuned ``weight`` and its full ``scaling`` (method and cap),
        so the overlay is self-contained; ``tiers`` appears only when the thresholds were tuned. Per-industry
        overlays are ``result.per_industry[name].overlay()`` (the config has no per-industry section: write one
        file per industry). Load with ``loyalist.config.load_config([<base files>..., <overlay file>])``.
        """
        indicators = {
            name: ind.model_dump(mode="json", exclude_none=True) for name, ind in self.scoring.indicators.items()
        }
        for ind in indicators.values():  # 'ties' is read by the percentile scaling only, 'cap' by cap/inverse only
            if ind["scaling"].get("method") != "percentile":
                ind["scaling"].pop("ties", None)
            if ind["scaling"].get("method") not in ("cap", "inverse"):  # a cap there is a config error at load
                ind["scaling"].pop("cap", None)
        scoring: dict[str, Any] = {"indicators": indicators}
        if self.thresholds is not None:
            scoring["tiers"] = self.thresholds.model_dump(mode="json")
        return {"scoring": scoring}

    def comparison(self) -> pd.DataFrame:
        """Before/after of this scope and of every tuned industry, one row each.

        Columns: ``scope`` (``global`` or the industry), ``config`` (``before`` / ``after``), then
        :data:`METRIC_COLUMNS`.
        """
        rows = []
        for res in [self, *self.per_industry.values()]:
            for name, table in (("before", res.before), ("after", res.after)):
                rows.append(table.assign(scope=res.scope, config=name))
        out = pd.concat(rows, ignore_index=True)
        return out[["scope", "config", *METRIC_COLUMNS]]


# ------------------------------------------------------------------------------------------- metrics


def _groups(frame: pd.DataFrame) -> list[np.ndarray]:
    """Row positions of each cut-off (``as_of``), or one group when the column is absent."""
    if "as_of" not in frame.columns:
        return [np.arange(len(frame))]
    codes, _ = pd.factorize(frame["as_of"], use_na_sentinel=False)
    order = np.argsort(codes, kind="stable")
    splits = np.flatnonzero(np.diff(codes[order])) + 1
    return np.split(order, splits)


def _grouped_auc(y: np.ndarray, risk: np.ndarray, groups: list[np.ndarray]) -> float:
    """Mean over groups of the ROC AUC of ``risk`` (higher = more likely to churn) against ``y`` (0/1).

    Missing risks take the group's median (a neutral rank); groups with one class are skipped; NaN when none is
    left. Ties share credit (Mann-Whitney with average ranks), as scikit-learn's ``roc_auc_score``.
    """
    aucs = []
    for idx in groups:
        yy = y[idx]
        n1 = float(yy.sum())
        n0 = float(len(yy)) - n1
        if n1 == 0 or n0 == 0:
            continue
        r = risk[idx]
        missing = np.isnan(r)
        if missing.all():
            r = np.zeros_like(r)
        elif missing.any():
            r = np.where(missing, np.median(r[~missing]), r)
        aucs.append((_positive_rank_sum(r, yy) - n1 * (n1 + 1) / 2) / (n1 * n0))
    return float(np.mean(aucs)) if aucs else float("nan")


def _positive_rank_sum(values: np.ndarray, y: np.ndarray) -> float:
    """Sum of the average ranks (1-based, ties averaged) of the rows where ``y == 1``."""
    order = np.argsort(values, kind="quicksort")
    v = values[order]
    starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])
    lengths = np.diff(np.r_[starts, len(v)])
    average = starts + (lengths + 1) / 2.0
    return float(np.repeat(average, lengths)[y[order] == 1].sum())


def score_auc(frame: pd.DataFrame, scores: pd.Series | np.ndarray) -> float:
    """ROC AUC of ``-scores`` (a loyalty score: higher = more loyal) against ``frame['churned']``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Labelled snapshot rows: ``churned`` (0/1) and optionally ``as_of`` (several cut-offs: the AUC is computed
        per cut-off and averaged).
    scores : pandas.Series or numpy.ndarray
        One score per row of ``frame`` (by position); NaN scores take the cut-off's median.

    Returns
    -------
    float
        The (mean) ROC AUC; NaN when no cut-off has both churners and retained customers.
    """
    y = _labels(frame, "frame")
    s = np.asarray(scores, dtype="float64")
    if s.shape != y.shape:
        raise SchemaError(
            f"The 'scores' must have one value per row of 'frame' ({len(y)}); got shape {s.shape}; pass the "
            "scores of these rows."
        )
    return _grouped_auc(y, -s, _groups(frame))


def _tier_table(y: np.ndarray, ranks: np.ndarray) -> dict[str, float]:
    """Shares, churn rates and counts per tier (ranks 0..3, -1 = no tier), and the monotonicity flag."""
    out: dict[str, float] = {}
    has = ranks >= 0
    n_tier = int(has.sum())
    rates = []
    for r, tier in enumerate(TIERS):
        mask = ranks == r
        n = int(mask.sum())
        out[f"share_{tier}"] = n / n_tier if n_tier else float("nan")
        rate = float(y[mask].mean()) if n else float("nan")
        out[f"churn_rate_{tier}"] = rate
        out[f"n_{tier}"] = n
        rates.append(rate)
    out["n_no_tier"] = int((~has).sum())
    out["monotone"] = _is_monotone(rates)
    return out


def _is_monotone(rates_best_first: list[float]) -> bool:
    """Churn rate non-decreasing from devoted to high_risk, skipping empty tiers (NaN)."""
    present = [r for r in rates_best_first if not math.isnan(r)]
    return all(a <= b for a, b in itertools.pairwise(present))


def _active_metrics(frame: pd.DataFrame, y: np.ndarray, score: np.ndarray, tier_risk: np.ndarray,
                    active_days: int = ACTIVE_DAYS) -> dict:
    """ROC AUC of the score and of the tier among active customers (recency_days <= active_days)."""
    if "recency_days" not in frame.columns:
        return {"active_roc_auc": float("nan"), "active_tier_auc": float("nan"), "n_active": 0}
    active = (pd.to_numeric(frame["recency_days"], errors="coerce") <= active_days).to_numpy(dtype=bool)
    part = frame.loc[active]
    groups = _groups(part)
    return {
        "active_roc_auc": _grouped_auc(y[active], -score[active], groups),
        "active_tier_auc": _grouped_auc(y[active], tier_risk[active], groups),
        "n_active": int(active.sum()),
    }


def _guard_metrics(reasons: pd.Series | None, ranks: np.ndarray) -> dict:
    """Share of the tiered customers (and of the high-risk ones) whose tier a guard rule decided."""
    if reasons is None:
        return {"guard_share": float("nan"), "guard_share_high_risk": float("nan")}
    text = reasons.astype("string").fillna("").to_numpy(dtype=object)
    guarded = np.array([bool(t) and not t.startswith("score") and t != NO_SCORE_REASON for t in text], dtype=bool)
    has = ranks >= 0
    high = ranks == TIERS.index("high_risk")
    return {
        "guard_share": float(guarded[has].mean()) if has.any() else float("nan"),
        "guard_share_high_risk": float(guarded[high].mean()) if high.any() else float("nan"),
    }


def _metrics(frame: pd.DataFrame, score: np.ndarray, ranks: np.ndarray, groups: list[np.ndarray],
             reasons: pd.Series | None = None, active_days: int = ACTIVE_DAYS) -> dict:
    y = _labels(frame, "frame")
    tier_risk = np.where(ranks >= 0, ranks, np.nan).astype("float64")
    out: dict[str, Any] = {
        "roc_auc": _grouped_auc(y, -score, groups),
        "train_roc_auc": float("nan"),
        "tier_auc": _grouped_auc(y, tier_risk, groups),
        "n": int(len(y)),
        "n_scored": int((~np.isnan(score)).sum()),
        "churn_rate": float(y.mean()) if len(y) else float("nan"),
    }
    out.update(_tier_table(y, ranks))
    out.update(_active_metrics(frame, y, score, tier_risk, active_days))
    out.update(_guard_metrics(reasons, ranks))
    return {k: out[k] for k in METRIC_COLUMNS}


def evaluate_scoring(
    frame: pd.DataFrame, scoring: ScoringConfig, fit_frame: pd.DataFrame | None = None, *,
    active_days: int = ACTIVE_DAYS,
) -> dict[str, Any]:
    """How well a scoring configuration ranks observed churn, and how its tiers split the customers.

    Runs :class:`~loyalist.scoring.loyalty.LoyaltyScorer` (fitted on ``fit_frame``, default ``frame``: only
    ``percentile`` scalings learn from it) over ``frame``, guards included. Without ``fit_frame``, a frame of
    several cut-offs (``as_of``) is scored cut-off by cut-off, each fitted on its own rows as the scoring job fits
    a snapshot: a row is never ranked against values of a later cut-off (the time rule).

    Parameters
    ----------
    frame : pandas.DataFrame
        Labelled snapshot rows (one per customer and cut-off): the configured indicator columns, the guards'
        columns, ``churned`` (0/1) and optionally ``as_of`` (metrics per cut-off are averaged).
    scoring : ScoringConfig
        Indicators, tiers and guards to evaluate.
    fit_frame : pandas.DataFrame, optional
        The rows the scorer is fitted on (percentile references), for every row of ``frame``.
    active_days : int
        Active customers for the ``active_*`` keys: ``recency_days <= active_days``.

    Returns
    -------
    dict
        Keys :data:`METRIC_COLUMNS`: ``roc_auc`` (of ``-loyalty_score`` against ``churned``), ``train_roc_auc``
        (NaN here; filled by :func:`tune_weights`), ``tier_auc`` (of the final tier rank), ``n``, ``n_scored``,
        ``churn_rate``, ``monotone`` (churn rate never rises from high_risk to devoted), and per tier
        ``share_<tier>`` (among customers with a tier), ``churn_rate_<tier>``, ``n_<tier>``; ``n_no_tier``;
        ``active_roc_auc`` / ``active_tier_auc`` (the same among active customers, ``recency_days`` <=
        ``active_days``, default :data:`ACTIVE_DAYS`; NaN without ``recency_days``), ``n_active``;
        ``guard_share`` (share of the tiered customers whose tier a guard rule decided) and
        ``guard_share_high_risk`` (the same among high risk).

    Raises
    ------
    SchemaError
        When ``frame`` lacks ``churned``, an indicator or a guard column.
    """
    _check_frame(frame, scoring, "frame")
    groups = _groups(frame)
    if fit_frame is not None or len(groups) == 1:
        out = LoyaltyScorer(scoring).fit(frame if fit_frame is None else fit_frame).transform(frame)
    else:  # stacked cut-offs: each scored as its own snapshot (percentile references from its rows only)
        parts = [LoyaltyScorer(scoring).fit(part).transform(part) for part in (frame.iloc[g] for g in groups)]
        out = pd.concat(parts).iloc[np.argsort(np.concatenate(groups), kind="stable")]
    score = out["loyalty_score"].to_numpy(dtype="float64", na_value=np.nan)
    ranks = tier_ranks(out["loyalty_tier"])
    return _metrics(frame, score, ranks, groups, out.get("tier_reason", None), active_days)


# ------------------------------------------------------------------------------------------ validation


def _labels(frame: pd.DataFrame, name: str) -> np.ndarray:
    if "churned" not in frame.columns:
        raise SchemaError(
            f"The {name!r} rows lack the label column 'churned'; expected labelled snapshots; build them with "
            "loyalist.modeling.supervised.dataset.labelled_snapshot or stack_snapshots."
        )
    y = numeric_values(frame["churned"])
    bad = np.isnan(y) | ~np.isin(y, (0.0, 1.0))
    if bad.any():
        raise SchemaError(
            f"The 'churned' column of {name!r} must be 0/1 for every row; got {int(bad.sum())} missing or other "
            "value(s); drop those rows or rebuild the labels."
        )
    return y


def _check_frame(frame: object, scoring: ScoringConfig, name: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(
            f"The {name!r} argument must be a pandas DataFrame of labelled snapshot rows; got "
            f"{type(frame).__name__}; pass the frame built by loyalist.modeling.supervised.dataset."
        )
    needed = list(scoring.indicators) + list(guard_columns(scoring.guards)) + ["churned"]
    require_columns(frame, needed, what=f"The {name!r} rows", show_columns=False,
                    fix="scoring.indicators, scoring.guards and the churn label read them; build the rows with "
                        "labelled snapshots or remove those indicators/guards from the config")
    _labels(frame, name)
    return frame


# -------------------------------------------------------------------------------------- fast scoring


def _percentile_per_cutoff(values: pd.Series, scaling: ScalingConfig, groups: list[np.ndarray]) -> np.ndarray:
    """``values`` scaled by percentile within each cut-off's rows (``groups``: row positions per cut-off)."""
    out = np.full(len(values), np.nan)
    for g in groups:
        part = values.iloc[g]
        out[g] = scale_indicator(part, scaling, percentile_reference(part)).to_numpy(dtype="float64")
    return out


def _percentile_columns(frame: pd.DataFrame, scoring: ScoringConfig) -> dict[str, np.ndarray]:
    """The ``percentile`` indicators of ``frame`` scaled within each cut-off's rows (name -> column)."""
    groups = _groups(frame)
    return {n: _percentile_per_cutoff(frame[n], ind.scaling, groups) for n, ind in scoring.indicators.items()
            if ind.scaling.method == "percentile"}


class _ScoreMatrix:
    """The scaled indicators of fixed rows, scored for any weights (and caps) as LoyaltyScorer does."""

    def __init__(self, frame: pd.DataFrame, scoring: ScoringConfig, fit_frame: pd.DataFrame | None = None,
                 percentiles: Mapping[str, np.ndarray] | None = None) -> None:
        self.names = tuple(scoring.indicators)
        self.scoring = scoring
        self.min_coverage = scoring.min_coverage
        self.raw = {n: frame[n] for n in self.names}
        self.refs = {} if fit_frame is None else LoyaltyScorer(scoring).fit(fit_frame).references_
        groups = _groups(frame) if fit_frame is None and percentiles is None else []
        # ``percentiles``: the percentile columns already scaled for these rows (an industry's rows ranked among
        # every customer of their cut-off, as the scoring job ranks them: _percentile_columns of the whole frame)
        cols = [np.asarray(percentiles[n], dtype="float64") if percentiles is not None and n in percentiles
                else self._per_cutoff(n, groups) if n not in self.refs and scoring.indicators[n].scaling.method ==
                "percentile" else self._scale(n, scoring.indicators[n].scaling) for n in self.names]
        self.scaled = np.column_stack(cols) if cols else np.zeros((len(frame), 0))
        self.capped = tuple(n for n in self.names if scoring.indicators[n].scaling.method in _CAPPED)
        present = ~np.isnan(self.scaled)
        self._filled = [np.ascontiguousarray(np.where(present[:, j], self.scaled[:, j], 0.0))
                        for j in range(len(self.names))]
        self._present = [present[:, j].astype("float64") for j in range(len(self.names))]
        self._complete = present.all(axis=1)

    def _scale(self, name: str, scaling: ScalingConfig) -> np.ndarray:
        return scale_indicator(self.raw[name], scaling, self.refs.get(name)).to_numpy(dtype="float64")

    def _per_cutoff(self, name: str, groups: list[np.ndarray]) -> np.ndarray:
        """A ``percentile`` indicator scaled within each cut-off's rows (``groups``), against that cut-off's values
        only: training rows at several cut-offs are ranked as the scoring job ranks a snapshot, and an early row
        never against values of later cut-offs (the time rule). Caps do not touch these columns."""
        return _percentile_per_cutoff(self.raw[name], self.scoring.indicators[name].scaling, groups)

    def _filled_with(self, caps: Mapping[str, float] | None) -> list[np.ndarray]:
        """The scaled columns with missing values as 0, the capped columns re-scaled with ``caps``."""
        if not caps:
            return self._filled
        filled = list(self._filled)
        for name, cap in caps.items():
            j = self.names.index(name)
            scaling = self.scoring.indicators[name].scaling.model_copy(update={"cap": float(cap)})
            filled[j] = np.nan_to_num(self._scale(name, scaling), nan=0.0)
        return filled

    def score(self, weights: np.ndarray, caps: Mapping[str, float] | None = None) -> np.ndarray:
        """Weighted mean over present indicators (LoyaltyScorer._scores), for weights in ``names`` order.

        A cap changes the values of its column but not which values are present (NaN stays NaN). The sums are
        column by column (a BLAS matrix-vector product is slower on a busy machine and no more exact).
        """
        w = np.asarray(weights, dtype="float64")
        w = w / w.sum()
        coverage = np.where(self._complete, 1.0, np.clip(_dot(self._present, w), 0.0, 1.0))
        weighted = _dot(self._filled_with(caps), w)
        ok = (coverage > 0) & (coverage >= self.min_coverage - 1e-9)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ok, np.clip(weighted / coverage, 0.0, 100.0), np.nan)


def _dot(columns: list[np.ndarray], w: np.ndarray) -> np.ndarray:
    out = columns[0] * w[0]
    for col, wj in zip(columns[1:], w[1:], strict=False):
        out += col * wj
    return out


def _guard_ranks(frame: pd.DataFrame, scoring: ScoringConfig) -> np.ndarray:
    """Per row, the rank of the worst fired guard's tier (-1 when none fires)."""
    if not scoring.guards:
        return np.full(len(frame), -1, dtype="int64")
    none = assign_tiers(pd.Series(np.full(len(frame), np.nan), index=frame.index), scoring.tiers)
    capped, _ = apply_guards(frame, none, scoring.guards)
    return tier_ranks(capped)


def _score_ranks(score: np.ndarray, t: TierThresholds) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.select(
            [score >= t.devoted, score >= t.stable, score >= t.at_risk, score < t.at_risk], [0, 1, 2, 3], default=-1
        ).astype("int64")


def _final_ranks(score: np.ndarray, thresholds: TierThresholds, guard_ranks: np.ndarray) -> np.ndarray:
    return np.maximum(_score_ranks(score, thresholds), guard_ranks)


# ------------------------------------------------------------------------------------------- studies


def _round_weights(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w, dtype="float64")
    w = w / w.sum()
    r = np.round(w, _WEIGHT_DECIMALS)
    if r.sum() <= 0:  # pragma: no cover - impossible: the largest weight is at least 1/k
        r[np.argmax(w)] = 1.0
    return r


def _round_sig(x: float, digits: int = 4) -> float:
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(round(x, digits - 1 - int(math.floor(math.log10(abs(x))))))


def _weights_from_u(u: np.ndarray) -> np.ndarray:
    e = -np.log(np.clip(u, _U_LOW, 1.0))
    total = e.sum()
    return e / total if total > 0 else np.full(len(u), 1.0 / len(u))


def _u_from_weights(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w, dtype="float64")
    w = w / w.sum()
    return np.clip(np.exp(-len(w) * w), _U_LOW, 1.0)


def _cap_of(scaling: ScalingConfig) -> float:
    """The cap of a ``cap``/``inverse`` scaling, which ScalingConfig's validator requires to be set."""
    assert scaling.cap is not None, f"scaling method {scaling.method!r} has no cap"
    return float(scaling.cap)


def _cap_ranges(frame: pd.DataFrame, scoring: ScoringConfig) -> dict[str, tuple[float, float]]:
    """Log-search range of each cap/inverse indicator's cap; indicators without positive values are left out."""
    out = {}
    for name, ind in scoring.indicators.items():
        if ind.scaling.method not in _CAPPED:
            continue
        x = numeric_values(frame[name])
        pos = x[np.isfinite(x) & (x > 0)]
        if pos.size == 0:
            continue
        lo = min(float(np.quantile(pos, 0.05)), _cap_of(ind.scaling))
        hi = max(float(np.quantile(pos, 0.995)), _cap_of(ind.scaling))
        if hi > lo > 0:
            out[name] = (lo, hi)
    return out


def _sampler(seed: int) -> optuna.samplers.TPESampler:
    return optuna.samplers.TPESampler(seed=seed, multivariate=True)


def _callbacks(on_trial: Callable[[optuna.trial.FrozenTrial], None] | None) -> list:
    if on_trial is None:
        return []
    return [lambda study, trial: on_trial(trial)]


def _weight_study(
    matrix: _ScoreMatrix, y: np.ndarray, groups: list[np.ndarray], scoring: ScoringConfig, *,
    n_trials: int, tune_caps: bool, cap_ranges: dict[str, tuple[float, float]], seed: int, scope: str,
    starts: list[tuple[np.ndarray, dict[str, float]]],
    on_trial: Callable[[optuna.trial.FrozenTrial], None] | None,
) -> tuple[np.ndarray, dict[str, float], list[optuna.trial.FrozenTrial]]:
    names = matrix.names
    ranges = cap_ranges if tune_caps else {}

    def objective(trial: optuna.trial.Trial) -> float:
        u = np.array([trial.suggest_float(f"u.{n}", _U_LOW, 1.0) for n in names])
        caps = {n: trial.suggest_float(f"cap.{n}", lo, hi, log=True) for n, (lo, hi) in ranges.items()}
        w = _weights_from_u(u)
        auc = _grouped_auc(y, -matrix.score(w, caps), groups)
        trial.set_user_attr("scope", scope)
        trial.set_user_attr("stage", "weights")
        trial.set_user_attr("weights", {n: float(v) for n, v in zip(names, w, strict=True)})
        trial.set_user_attr("caps", {n: float(v) for n, v in caps.items()})
        trial.set_user_attr("roc_auc", auc)
        trial.set_user_attr("penalty", 0.0)
        return auc if math.isfinite(auc) else 0.0

    study = optuna.create_study(direction="maximize", sampler=_sampler(seed))
    for w0, caps0 in starts:
        params = {f"u.{n}": float(v) for n, v in zip(names, _u_from_weights(w0), strict=True)}
        params.update({f"cap.{n}": float(np.clip(caps0.get(n, lo), lo, hi)) for n, (lo, hi) in ranges.items()})
        study.enqueue_trial(params, skip_if_exists=True)
    study.optimize(objective, n_trials=n_trials, callbacks=_callbacks(on_trial))
    best = study.best_trial
    w = np.array([best.user_attrs["weights"][n] for n in names])
    return w, dict(best.user_attrs["caps"]), study.trials


def _threshold_bounds(score: np.ndarray, default: TierThresholds) -> tuple[float, float]:
    s = score[np.isfinite(score)]
    lo = float(np.quantile(s, 0.01)) if s.size else 0.0
    hi = float(np.quantile(s, 0.999)) if s.size else 100.0
    lo = max(0.0, min(lo, default.at_risk))
    hi = min(100.0, max(hi, default.devoted, lo + 3.0))
    lo = min(lo, hi - 3.0)
    return lo, hi


def _thresholds_from(a: float, f1: float, f2: float, lo: float, hi: float) -> TierThresholds:
    stable = a + 1.0 + (hi - a - 2.0) * f1
    devoted = stable + 1.0 + (hi - stable - 1.0) * f2
    return TierThresholds(
        devoted=round(min(devoted, 100.0), _THRESHOLD_DECIMALS),
        stable=round(stable, _THRESHOLD_DECIMALS),
        at_risk=round(a, _THRESHOLD_DECIMALS),
    )


def _tier_penalty(y: np.ndarray, ranks: np.ndarray, max_share: float, min_share: float) -> float:
    table = _tier_table(y, ranks)
    shares = np.array([table[f"share_{t}"] for t in TIERS], dtype="float64")
    if not np.isfinite(shares).all():
        return _SHARE_PENALTY  # nobody has a tier
    share_violation = np.clip(shares - max_share, 0, None).sum() + np.clip(min_share - shares, 0, None).sum()
    rates = [table[f"churn_rate_{t}"] for t in TIERS]
    present = [r for r in rates if not math.isnan(r)]
    inversions = sum(max(0.0, a - b) for a, b in itertools.pairwise(present))
    return float(_SHARE_PENALTY * share_violation + _ORDER_PENALTY * inversions)


def _threshold_study(
    score: np.ndarray, y: np.ndarray, groups: list[np.ndarray], guard_ranks: np.ndarray,
    starts: list[TierThresholds], *, n_trials: int, seed: int, scope: str,
    max_share: float, min_share: float, on_trial: Callable[[optuna.trial.FrozenTrial], None] | None,
) -> tuple[TierThresholds, list[optuna.trial.FrozenTrial]]:
    lo, hi = _threshold_bounds(score, starts[0])

    def objective(trial: optuna.trial.Trial) -> float:
        a = trial.suggest_float("at_risk", lo, hi - 2.0)
        f1 = trial.suggest_float("f_stable", 0.0, 1.0)
        f2 = trial.suggest_float("f_devoted", 0.0, 1.0)
        t = _thresholds_from(a, f1, f2, lo, hi)
        ranks = _final_ranks(score, t, guard_ranks)
        tier_auc = _grouped_auc(y, np.where(ranks >= 0, ranks, np.nan).astype("float64"), groups)
        penalty = _tier_penalty(y, ranks, max_share, min_share)
        trial.set_user_attr("scope", scope)
        trial.set_user_attr("stage", "thresholds")
        trial.set_user_attr("thresholds", t.model_dump())
        trial.set_user_attr("roc_auc", tier_auc)
        trial.set_user_attr("penalty", penalty)
        return (tier_auc if math.isfinite(tier_auc) else 0.0) - penalty

    study = optuna.create_study(direction="maximize", sampler=_sampler(seed + 1))
    for t0 in starts:
        a = float(np.clip(t0.at_risk, lo, hi - 2.0))
        f1 = float(np.clip((t0.stable - a - 1.0) / max(hi - a - 2.0, 1e-9), 0.0, 1.0))
        stable = a + 1.0 + (hi - a - 2.0) * f1
        f2 = float(np.clip((t0.devoted - stable - 1.0) / max(hi - stable - 1.0, 1e-9), 0.0, 1.0))
        study.enqueue_trial({"at_risk": a, "f_stable": f1, "f_devoted": f2}, skip_if_exists=True)
    study.optimize(objective, n_trials=n_trials, callbacks=_callbacks(on_trial))
    return TierThresholds(**study.best_trial.user_attrs["thresholds"]), study.trials


def _trials_frame(trials: list[optuna.trial.FrozenTrial]) -> pd.DataFrame:
    rows = []
    for t in trials:
        a = t.user_attrs
        row: dict[str, Any] = {
            "scope": a.get("scope"), "stage": a.get("stage"), "number": t.number, "state": t.state.name,
            "value": t.value if t.value is not None else float("nan"),
            "roc_auc": a.get("roc_auc", float("nan")), "penalty": a.get("penalty", float("nan")),
        }
        row.update({f"weight.{k}": v for k, v in a.get("weights", {}).items()})
        row.update({f"cap.{k}": v for k, v in a.get("caps", {}).items()})
        row.update({f"tiers.{k}": v for k, v in a.get("thresholds", {}).items()})
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=list(TRIAL_COLUMNS))
    return pd.DataFrame(rows)


def _tuned_config(
    scoring: ScoringConfig, weights: Mapping[str, float], caps: Mapping[str, float],
    thresholds: TierThresholds | None,
) -> ScoringConfig:
    indicators = {}
    for name, ind in scoring.indicators.items():
        scaling = ind.scaling
        if name in caps:
            scaling = scaling.model_copy(update={"cap": float(caps[name])})
        indicators[name] = IndicatorConfig(weight=float(weights[name]), scaling=scaling)
    update: dict[str, Any] = {"indicators": indicators}
    if thresholds is not None:
        update["tiers"] = thresholds
    return ScoringConfig.model_validate({**scoring.model_dump(), **update})


class _ScopeArgs(TypedDict):
    """The :func:`_tune_scope` arguments shared by the global and the per-industry runs."""

    n_trials: int
    tune_caps: bool
    tune_thresholds: bool
    max_share: float
    min_share: float
    on_trial: Callable[[optuna.trial.FrozenTrial], None] | None
    active_days: int


def _tune_scope(
    train: pd.DataFrame, valid: pd.DataFrame, scoring: ScoringConfig, *, scope: str, n_trials: int,
    tune_caps: bool, tune_thresholds: bool, seed: int, extra_start: ScoringConfig | None,
    max_share: float, min_share: float, on_trial: Callable[[optuna.trial.FrozenTrial], None] | None,
    active_days: int = ACTIVE_DAYS, percentiles: Mapping[str, np.ndarray] | None = None, valid_reference: pd.DataFrame | None = None,
) -> WeightTuningResult:
    """Tune one scope. An industry's scope passes its rows' ``percentiles`` (scaled among every customer of their
    training cut-off) and ``valid_reference`` (the whole validation snapshot, the percentile references of its
    evaluation): the scoring job ranks an industry's customers among all the list's customers, not among their
    industry's alone."""
    y = _labels(train, "train")
    if np.unique(y).size < 2:
        raise InsufficientHistoryError(
            f"The training rows of scope {scope!r} have only one churn class (churned={int(y[0])} for all "
            f"{len(y)} rows); tuning needs churners and retained customers; use more cut-offs or a longer history."
        )
    groups = _groups(train)
    matrix = _ScoreMatrix(train, scoring, percentiles=percentiles)  # percentile references per training cut-off
    names = matrix.names
    configured_caps = {n: _cap_of(scoring.indicators[n].scaling) for n in matrix.capped}
    starts = [(np.array([scoring.indicators[n].weight for n in names], dtype="float64"), configured_caps)]
    if extra_start is not None:
        starts.append((
            np.array([extra_start.indicators[n].weight for n in names], dtype="float64"),
            {n: _cap_of(extra_start.indicators[n].scaling) for n in matrix.capped},
        ))
    w_best, caps_best, trials = _weight_study(
        matrix, y, groups, scoring, n_trials=n_trials, tune_caps=tune_caps,
        cap_ranges=_cap_ranges(train, scoring), seed=seed, scope=scope, starts=starts, on_trial=on_trial,
    )
    absent = np.array([bool(np.isnan(matrix.scaled[:, j]).all()) for j in range(len(names))], dtype=bool)
    w_best = _hold_absent(w_best, starts[0][0], absent)
    weights = dict(zip(names, (float(v) for v in _round_weights(w_best)), strict=True))
    caps = {**configured_caps, **{n: _round_sig(v) for n, v in caps_best.items()}}
    w_arr = np.array([weights[n] for n in names])
    train_score = matrix.score(w_arr, caps)

    thresholds = None
    if tune_thresholds:
        t_starts = [scoring.tiers] + ([extra_start.tiers] if extra_start is not None else [])
        thresholds, t_trials = _threshold_study(
            train_score, y, groups, _guard_ranks(train, scoring), t_starts, n_trials=n_trials, seed=seed,
            scope=scope, max_share=max_share, min_share=min_share, on_trial=on_trial,
        )
        trials = [*trials, *t_trials]

    tuned = _tuned_config(scoring, weights, caps, thresholds)
    w_default = np.array([scoring.indicators[n].weight for n in names], dtype="float64")
    reference = valid if valid_reference is None else valid_reference
    before = evaluate_scoring(valid, scoring, fit_frame=reference, active_days=active_days)
    before["train_roc_auc"] = _grouped_auc(y, -matrix.score(w_default), groups)
    after = evaluate_scoring(valid, tuned, fit_frame=reference, active_days=active_days)
    after["train_roc_auc"] = _grouped_auc(y, -train_score, groups)
    warnings = out_of_time_warnings(before, after, max_share=max_share, min_share=min_share)
    return WeightTuningResult(
        weights=weights,
        caps=caps,
        thresholds=thresholds,
        per_industry={},
        before=pd.DataFrame([before], columns=list(METRIC_COLUMNS)),
        after=pd.DataFrame([after], columns=list(METRIC_COLUMNS)),
        trials=_trials_frame(trials),
        scoring=tuned,
        scope=scope,
        n_train_customers=int(train["customer_id"].nunique()) if "customer_id" in train.columns else len(train),
        warnings=warnings,
        absent=[n for n, a in zip(names, absent, strict=True) if a],
        active_days=int(active_days),
    )


def _hold_absent(weights: np.ndarray, configured: np.ndarray, absent: np.ndarray) -> np.ndarray:
    """The tuned ``weights`` with the ``absent`` indicators (no value in any training row) back at their configured
    share and the present ones scaled to share the rest, in the tuned proportions: the score of every customer is
    unchanged (it is a weighted mean over the present indicators), and the overlay no longer carries the search's
    arbitrary draw for an indicator the data lacks (Online Retail: NPS 0.38, complaints 0.13). Unchanged when no
    indicator, or every indicator, is absent, or when the absent ones held all the configured weight."""
    w = np.asarray(weights, dtype="float64") / np.sum(weights)
    if not absent.any() or absent.all():
        return w
    conf = np.asarray(configured, dtype="float64") / np.sum(configured)
    held = float(conf[absent].sum())
    rest = float(w[~absent].sum())
    if held >= 1.0 or rest <= 0.0:
        return w
    return np.where(absent, conf, w * (1.0 - held) / rest)


def out_of_time_warnings(before: Mapping[str, Any], after: Mapping[str, Any], *, max_share: float,
                         min_share: float) -> list[str]:
    """What speaks against adopting a tuned scoring, judged on the validation cut-off (out of time): the tiers
    rank churn worse, active customers' churn is ranked worse (score or tier), a tier share leaves
    [min_share, max_share], or the churn rate no longer falls from high risk to devoted."""
    out = []

    def worse(key: str, what: str) -> None:
        b, a = float(before[key]), float(after[key])
        if math.isfinite(b) and math.isfinite(a) and a < b - WORSE_BY:
            out.append(f"{what} is worse out of time ({b:.3f} -> {a:.3f})")

    worse("tier_auc", "the tiers' ROC AUC against churn")
    worse("active_roc_auc", "the score's ROC AUC among active customers")
    worse("active_tier_auc", "the tiers' ROC AUC among active customers")
    for t in TIERS:
        share = float(after[f"share_{t}"])
        if math.isfinite(share) and not min_share <= share <= max_share:
            out.append(f"the {t} share {share:.1%} is outside [{min_share:.0%}, {max_share:.0%}]")
    if bool(before["monotone"]) and not bool(after["monotone"]):
        out.append("the churn rate no longer falls from high risk to devoted")
    return out


# ---------------------------------------------------------------------------------------------- API


def _check_args(n_trials: int, min_customers: int, max_tier_share: float, min_tier_share: float) -> None:
    problems = []
    if not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        problems.append(f"'n_trials' must be an integer >= 1 (got {n_trials!r})")
    if not isinstance(min_customers, (int, np.integer)) or min_customers < 1:
        problems.append(f"'min_customers' must be an integer >= 1 (got {min_customers!r})")
    if not 0 < min_tier_share < 0.25:
        problems.append(f"'min_tier_share' must be in (0, 0.25) (got {min_tier_share!r})")
    if not 0.25 < max_tier_share <= 1:
        problems.append(f"'max_tier_share' must be in (0.25, 1] (got {max_tier_share!r})")
    if problems:
        raise ConfigError("The tune_weights parameters are invalid: " + "; ".join(problems) + "; fix these values.")


def tune_weights(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    scoring: ScoringConfig,
    *,
    n_trials: int = 100,
    tune_caps: bool = False,
    tune_thresholds: bool = False,
    seed: int = 0,
    by_industry: bool = True,
    min_customers: int = 500,
    on_trial: Callable[[optuna.trial.FrozenTrial], None] | None = None,
    max_tier_share: float = 0.70,
    min_tier_share: float = 0.02,
    active_days: int = ACTIVE_DAYS,
) -> WeightTuningResult:
    """Search the indicator weights (optionally caps and tier thresholds) that best rank observed churn.

    Parameters
    ----------
    train : pandas.DataFrame
        Stacked labelled snapshots at the training cut-offs (:func:`loyalist.modeling.supervised.dataset.stack_snapshots`):
        one row per customer and cut-off with ``customer_id``, ``as_of``, the configured indicator columns, the
        guards' columns, ``churned`` (0/1) and, for per-industry tuning, ``industry``.
    valid : pandas.DataFrame
        The labelled snapshot at the (later) validation cut-off, same columns; never seen by the search.
    scoring : ScoringConfig
        The configured scoring: its weights, caps and thresholds are the "before" and the first trial; its guards
        apply unchanged.
    n_trials : int
        Trials per study (the weight study, and the threshold study when ``tune_thresholds``), per scope.
    tune_caps : bool
        Also search the ``cap`` of ``cap`` / ``inverse`` scaled indicators.
    tune_thresholds : bool
        Also search the tier thresholds (second stage, see the module notes), with the tier-share penalty.
    seed : int
        Seed of the TPE samplers.
    by_industry : bool
        Tune every industry with at least ``min_customers`` distinct customers in ``train`` on its own rows.
    min_customers : int
        The minimum of distinct training customers for an industry to be tuned on its own (default 500).
    on_trial : callable, optional
        Called with each finished ``optuna.trial.FrozenTrial``; its ``user_attrs`` hold ``scope`` (``global`` or
        the industry), ``stage`` (``weights`` / ``thresholds``), ``weights`` (normalised) and ``caps`` or
        ``thresholds``, ``roc_auc`` (training AUC of the score, or of the tiers) and ``penalty``.
    max_tier_share, min_tier_share : float
        Bounds of the soft tier-share penalty of the threshold stage (no tier above 70%, none below 2%).
    active_days : int
        Active customers for the ``active_*`` figures and warnings: ``recency_days <= active_days``
        (``features.active_days``).

    Returns
    -------
    WeightTuningResult
        The global result, with ``per_industry`` results for the industries tuned on their own.

    Raises
    ------
    SchemaError
        When a frame lacks ``churned``, an indicator or a guard column, or ``churned`` is not 0/1.
    InsufficientHistoryError
        When the training rows have a single churn class.
    ConfigError
        When a parameter is out of range.
    """
    _check_args(n_trials, min_customers, max_tier_share, min_tier_share)
    _check_frame(train, scoring, "train")
    _check_frame(valid, scoring, "valid")
    common: _ScopeArgs = {
        "n_trials": int(n_trials), "tune_caps": tune_caps, "tune_thresholds": tune_thresholds,
        "max_share": max_tier_share, "min_share": min_tier_share, "on_trial": on_trial,
        "active_days": int(active_days),
    }
    result = _tune_scope(train, valid, scoring, scope="global", seed=seed, extra_start=None, **common)
    if not by_industry or "industry" not in train.columns or "industry" not in valid.columns:
        return result
    # an industry's percentile indicators are ranked among every customer of the cut-off, as the scoring job ranks
    # them in the list (ranking them within the industry's rows tuned weights for scaled values the list never has)
    everyone = _percentile_columns(train, scoring)
    for i, industry in enumerate(eligible_industries(train, min_customers)):
        in_train = (train["industry"] == industry).fillna(False).to_numpy(dtype=bool)
        tr = train.loc[in_train]
        va = valid.loc[(valid["industry"] == industry).fillna(False).to_numpy(dtype=bool)]
        if len(va) == 0 or np.unique(_labels(tr, "train")).size < 2:
            continue
        result.per_industry[industry] = _tune_scope(
            tr, va, scoring, scope=industry, seed=seed + 1000 * (i + 1), extra_start=result.scoring,
            percentiles={n: col[in_train] for n, col in everyone.items()}, valid_reference=valid, **common
        )
    return result


def eligible_industries(train: pd.DataFrame, min_customers: int) -> list[str]:
    """The industries with at least ``min_customers`` distinct ``customer_id`` in ``train``, sorted by name.

    Parameters
    ----------
    train : pandas.DataFrame
        Training rows with ``customer_id`` and ``industry`` (missing industries are ignored).
    min_customers : int
        The minimum number of distinct customers.

    Returns
    -------
    list of str
        Empty when ``train`` has no ``industry`` or ``customer_id`` column.
    """
    if "industry" not in train.columns or "customer_id" not in train.columns:
        return []
    counts = train.loc[train["industry"].notna()].groupby("industry", sort=True)["customer_id"].nunique()
    return [str(name) for name, n in counts.items() if n >= min_customers]
