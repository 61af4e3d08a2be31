"""Loyalty tiers: from the 0-100 score, capped by guard rules, with the reason for each customer's tier.

Tier codes are :data:`~loyalist.config.models.TIERS` (``devoted``, ``stable``, ``at_risk``, ``high_risk``, from
best to worst), held in the categorical dtype :data:`TIER_DTYPE`; a customer without a score and without a fired
guard has no tier (NaN). Tiers follow the source's table (thresholds adjustable by industry)::

    score >= devoted (90)          -> devoted    铁杆忠诚
    stable (75) <= score < 90      -> stable     稳定忠诚
    at_risk (60) <= score < 75     -> at_risk    潜在流失
    score < at_risk (60)           -> high_risk  高风险流失

Guards (source, table 3: "3 months without purchase, or NPS < 30") cap a tier whatever the score: a fired guard
with tier ``at_risk`` moves devoted and stable customers down to at_risk and leaves high-risk customers alone; a
guard never raises a tier, and a missing feature value never fires it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from loyalist.catalogue import NO_SCORE_REASON as _CATALOGUE_NO_SCORE_REASON
from loyalist.config.models import TIERS, GuardRule, TierThresholds
from loyalist.errors import SchemaError
from loyalist.scoring.scaling import numeric_values

__all__ = [
    "TIER_DTYPE",
    "NO_SCORE_REASON",
    "assign_tiers",
    "tier_ranks",
    "score_reasons",
    "guard_columns",
    "apply_guards",
    "tier_shares",
]

#: Categorical dtype of tier columns: categories in TIERS order (best first); missing = no tier.
TIER_DTYPE = pd.CategoricalDtype(list(TIERS), ordered=False)

#: tier_reason of a customer who has no indicator at all and no fired guard.
NO_SCORE_REASON = _CATALOGUE_NO_SCORE_REASON

# The comparison operators take an array (guards) or a float (printing a value): ``Any`` in, array or bool out.
_OPS: dict[str, Callable[[Any, float], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
}


def _scores_array(scores: pd.Series | np.ndarray) -> tuple[np.ndarray, pd.Index | None]:
    if isinstance(scores, pd.Series):
        return numeric_values(scores), scores.index
    arr = np.asarray(scores, dtype="float64")
    if arr.ndim != 1:
        raise SchemaError(f"The 'scores' must be one-dimensional (one per customer); got shape {arr.shape}; pass a "
                          "Series or a 1-D array.")
    return arr, None


def _ranks_from_scores(s: np.ndarray, thresholds: TierThresholds) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.select(
            [s >= thresholds.devoted, s >= thresholds.stable, s >= thresholds.at_risk, s < thresholds.at_risk],
            [0, 1, 2, 3],
            default=-1,
        ).astype("int64")


def _tiers_from_ranks(ranks: np.ndarray, index: pd.Index | None, name: str = "loyalty_tier") -> pd.Series:
    return pd.Series(pd.Categorical.from_codes(ranks, dtype=TIER_DTYPE), index=index, name=name)


def assign_tiers(scores: pd.Series | np.ndarray, thresholds: TierThresholds) -> pd.Series:
    """The tier of each score.

    Parameters
    ----------
    scores : pandas.Series or numpy.ndarray
        Loyalty scores (0-100), one per customer; NaN = no score.
    thresholds : TierThresholds
        Lower bounds of devoted, stable and at_risk (a score equal to a bound gets the better tier).

    Returns
    -------
    pandas.Series
        ``loyalty_tier`` with dtype :data:`TIER_DTYPE`, the index of ``scores`` (a RangeIndex for an array);
        NaN where the score is NaN.
    """
    s, index = _scores_array(scores)
    return _tiers_from_ranks(_ranks_from_scores(s, thresholds), index)


def tier_ranks(tiers: pd.Series) -> np.ndarray:
    """Tier codes as ranks: 0 devoted, 1 stable, 2 at_risk, 3 high_risk, -1 no tier (higher = worse).

    Raises
    ------
    SchemaError
        When a value is not one of TIERS.
    """
    if isinstance(tiers.dtype, pd.CategoricalDtype) and list(tiers.dtype.categories) == list(TIERS):
        return np.asarray(tiers.cat.codes, dtype="int64")
    values = tiers.astype(object)
    missing = values.isna().to_numpy()
    codes = np.asarray(pd.Index(list(TIERS), dtype=object).get_indexer(values.to_numpy()), dtype="int64")
    unknown = sorted({str(v) for v in values.to_numpy()[(codes < 0) & ~missing]})
    if unknown:
        raise SchemaError(
            f"Column {str(tiers.name)!r} holds unknown tier code(s) {unknown[:5]}; expected one of {list(TIERS)} "
            "or missing; map the values onto these codes first."
        )
    return codes


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:.4g}"


def _rank_of(score: float, thresholds: TierThresholds) -> int:
    """:func:`_ranks_from_scores` of one score (no numpy call: it runs for every score that needs more decimals)."""
    if score >= thresholds.devoted:
        return 0
    if score >= thresholds.stable:
        return 1
    if score >= thresholds.at_risk:
        return 2
    return 3 if score < thresholds.at_risk else -1


def _fmt_score(score: float, rank: int, thresholds: TierThresholds) -> str:
    """One decimal, or more when rounding would put the printed score in another tier (89.96 stays 89.96)."""
    for decimals in range(1, 13):
        text = f"{score:.{decimals}f}"
        if _rank_of(float(text), thresholds) == rank:
            return text
    return repr(float(score))


def _fmt_value(value: float, op: str, threshold: float) -> str:
    """Four significant digits, or more when rounding would break the printed comparison (90.00001 > 90)."""
    if float(value).is_integer():
        return _fmt(value)
    for digits in range(4, 18):
        text = f"{value:.{digits}g}"
        if _OPS[op](float(text), threshold):
            return text
    return repr(float(value))


def score_reasons(
    scores: pd.Series | np.ndarray,
    thresholds: TierThresholds,
    *,
    coverage: pd.Series | np.ndarray | None = None,
    min_coverage: float = 0.0,
) -> pd.Series:
    """Why the score put each customer in its tier, e.g. ``'score 82.4 >= 75 (stable)'``.

    Parameters
    ----------
    scores : pandas.Series or numpy.ndarray
        Loyalty scores, NaN = no score.
    thresholds : TierThresholds
        The tier bounds used by :func:`assign_tiers`.
    coverage, min_coverage : optional
        The score coverage per customer and the configured minimum; a customer whose score is NaN although some
        indicator is present gets ``'score coverage 0.25 < min_coverage 0.5'``.

    Returns
    -------
    pandas.Series
        ``tier_reason`` (str) with the index of ``scores``: ``'score <s> >= <bound> (<tier>)'`` for devoted,
        stable and at_risk, ``'score <s> < <at_risk bound> (high_risk)'``, and :data:`NO_SCORE_REASON` for NaN.
    """
    s, index = _scores_array(scores)
    ranks = _ranks_from_scores(s, thresholds)
    cov = None if coverage is None else np.asarray(coverage, dtype="float64")
    bounds = (thresholds.devoted, thresholds.stable, thresholds.at_risk, thresholds.at_risk)
    # Vectorised (issue 14: ~3 CPU s a 1M-customer list as a Python loop): one decimal for everyone; the few whose
    # rounded score would read as another tier get more; the text is put together by numpy's element-wise string
    # addition on object arrays, one suffix per tier.
    scored = ranks >= 0
    out = np.full(len(s), NO_SCORE_REASON, dtype=object)
    if scored.any():
        one = np.array([f"{x:.1f}" for x in s[scored].tolist()], dtype=object)
        again = _ranks_from_scores(one.astype("float64"), thresholds) != ranks[scored]
        if again.any():
            pos = np.flatnonzero(scored)[again]
            one[again] = [_fmt_score(s[i], ranks[i], thresholds) for i in pos]
        suffix = np.array([f" {'<' if rank == 3 else '>='} {_fmt(bound)} ({TIERS[rank]})"
                           for rank, bound in enumerate(bounds)], dtype=object)
        out[scored] = "score " + one + suffix[ranks[scored]]
    if cov is not None:
        for i in np.flatnonzero(~scored & (cov > 0)):
            out[i] = f"score coverage {cov[i]:.2f} < min_coverage {_fmt(min_coverage)}"
    return pd.Series(out, index=index, name="tier_reason", dtype="str")


def guard_columns(guards: Sequence[GuardRule]) -> dict[str, list[str]]:
    """The snapshot columns the guards read: column -> names of the guards that need it."""
    needed: dict[str, list[str]] = {}
    for g in guards:
        for col in (g.feature, g.min_count_feature):
            if col is not None:
                needed.setdefault(col, []).append(g.name)
    return needed


def _check_guard_columns(snapshot: pd.DataFrame, guards: Sequence[GuardRule]) -> None:
    missing = {c: names for c, names in guard_columns(guards).items() if c not in snapshot.columns}
    if missing:
        parts = ", ".join(f"{c!r} (guard {', '.join(repr(n) for n in names)})" for c, names in missing.items())
        raise SchemaError(
            f"The snapshot lacks the column(s) {parts} read by scoring.guards; expected numeric snapshot columns "
            "(see loyalist.features.columns); add them to the snapshot or remove those guards from scoring.guards."
        )


def _aligned_ranks(snapshot: pd.DataFrame, tiers: pd.Series) -> np.ndarray:
    if len(tiers) != len(snapshot):
        raise SchemaError(
            f"The 'tiers' must have one value per snapshot row; got {len(tiers)} tiers for {len(snapshot)} rows; "
            "pass the tiers computed from this snapshot."
        )
    if not tiers.index.equals(snapshot.index):
        if tiers.index.is_unique and snapshot.index.is_unique and set(tiers.index) == set(snapshot.index):
            tiers = tiers.reindex(snapshot.index)
        else:
            raise SchemaError(
                "The index of 'tiers' does not match the snapshot's index; expected the same row labels; pass the "
                "tiers computed from this snapshot (assign_tiers keeps the index of a score Series)."
            )
    return tier_ranks(tiers)


def apply_guards(
    snapshot: pd.DataFrame,
    tiers: pd.Series,
    guards: Sequence[GuardRule],
    *,
    reasons: pd.Series | None = None,
) -> tuple[pd.Series, pd.Series]:
    """Cap the tiers with the guard rules.

    A guard fires for a customer when ``snapshot[feature] <op> value`` holds, the feature is not missing, and (when
    ``min_count_feature`` is set) ``snapshot[min_count_feature] >= min_count``. A fired guard caps the tier at its
    ``tier``: the final tier is the worst of the score tier and the tiers of the fired guards, so a guard never
    raises a tier. A customer without a tier (NaN) gets the tier of the worst fired guard.

    Parameters
    ----------
    snapshot : pandas.DataFrame
        One row per customer with the guards' feature columns (e.g. ``recency_days``, ``nps``,
        ``n_survey_responses``); other columns are ignored.
    tiers : pandas.Series
        The score tiers (:func:`assign_tiers`), same rows as ``snapshot`` (same index, or the same labels in
        another order).
    guards : sequence of GuardRule
        ``scoring.guards``, applied in this order (the order of the names in ``tier_reason``).
    reasons : pandas.Series, optional
        The reason of the score tier per row (:func:`score_reasons`), kept where no guard lowers the tier;
        default ``'score (<tier>)'``, or :data:`NO_SCORE_REASON` for a missing tier.

    Returns
    -------
    (pandas.Series, pandas.Series)
        ``loyalty_tier`` (:data:`TIER_DTYPE`) and ``tier_reason`` (str), both with the snapshot's index. Where a
        guard lowered the tier the reason lists the guards whose cap is below the score tier, joined by ``';'``,
        e.g. ``'guard:no_order_90_days (recency_days 142 > 90)'``.

    Raises
    ------
    SchemaError
        When a guard's column is absent or not numeric, or ``tiers`` does not match the snapshot's rows.
    """
    _check_guard_columns(snapshot, guards)
    base = _aligned_ranks(snapshot, tiers)
    final = base.copy()
    # the guard texts of the rows a guard lowers (row -> texts in guard order): only those rows, not a list per row
    guard_texts: dict[int, list[str]] = {}
    for g in guards:
        x = numeric_values(snapshot[g.feature])
        with np.errstate(invalid="ignore"):
            fired = ~np.isnan(x) & _OPS[g.op](x, g.value)
            if g.min_count_feature is not None:
                fired &= numeric_values(snapshot[g.min_count_feature]) >= g.min_count
        cap = TIERS.index(g.tier)
        lowers = fired & (cap > base)
        final = np.where(lowers, np.maximum(final, cap), final)
        for i in np.flatnonzero(lowers).tolist():
            guard_texts.setdefault(i, []).append(f"guard:{g.name} ({g.feature} {_fmt_value(x[i], g.op, g.value)} "
                                                 f"{g.op} {_fmt(g.value)})")

    if reasons is None:
        by_rank = np.array([f"score ({tier})" for tier in TIERS] + [NO_SCORE_REASON], dtype=object)
        tier_reason = by_rank[base]  # rank -1 (no tier) picks the last entry
    else:
        if len(reasons) != len(snapshot):
            raise SchemaError(
                f"The 'reasons' must have one value per snapshot row; got {len(reasons)} for {len(snapshot)} rows; "
                "pass score_reasons() of the same scores."
            )
        tier_reason = np.array([str(r) for r in reasons.to_numpy()], dtype=object)
    for i, texts in guard_texts.items():
        tier_reason[i] = ";".join(texts)
    return (
        _tiers_from_ranks(final, snapshot.index),
        pd.Series(tier_reason, index=snapshot.index, name="tier_reason", dtype="str"),
    )


def tier_shares(tiers: pd.Series) -> pd.Series:
    """The share of each tier among the customers that have one.

    Parameters
    ----------
    tiers : pandas.Series
        Tier codes (any dtype holding TIERS values; missing = no tier, left out of the denominator).

    Returns
    -------
    pandas.Series
        ``share`` indexed by tier in TIERS order (index name ``loyalty_tier``), float64 in [0, 1] summing to 1;
        0 for a tier nobody has (all 0 when no customer has a tier).
    """
    ranks = tier_ranks(tiers)
    ranks = ranks[ranks >= 0]
    counts = np.bincount(ranks, minlength=len(TIERS)).astype("float64")
    shares = counts / counts.sum() if counts.sum() > 0 else counts
    return pd.Series(shares, index=pd.Index(list(TIERS), name="loyalty_tier", dtype="str"), name="share")
