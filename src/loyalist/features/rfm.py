"""RFM scores (quantile bins with ties sharing a score) and the named RFM segments.

Scores rank the customers of one snapshot against each other: ``score = ceil(rank * bins / n)`` where ``rank`` is
the average rank (ties share it, so equal values get equal scores) and ``n`` the number of customers, i.e.
``ceil(pct_rank * bins)`` computed without the rounding error of ``pct * bins``. 5 (= ``bins``) is best: the most
recent, the most orders, the most spend.

The segments are the common 11-segment map on R and FM = (F + M) / 2 (both on the 1-5 quintile scale), made
disjoint: the rules of :data:`RFM_SEGMENTS` are tried in order and the first that holds names the segment; every
(R, FM) pair matches exactly one rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalist.errors import SchemaError
from loyalist.schema import require_columns

__all__ = ["RFM_SEGMENTS", "RFM_COLUMNS", "rfm_scores", "rfm_segment", "quantile_scores"]

#: Output columns of :func:`rfm_scores`.
RFM_COLUMNS: tuple[str, ...] = ("rfm_r", "rfm_f", "rfm_m", "rfm_score", "rfm_segment")

#: segment -> labels and the rule on R (1-5) and FM = (F + M) / 2 (1-5, in steps of 0.5), both ranges inclusive.
#: Rules are tried in this order; the first match wins.
RFM_SEGMENTS: dict[str, dict] = {
    "champions": {"en": "Champions", "zh": "冠军客户", "r": (4, 5), "fm": (4.0, 5.0)},
    "loyal_customers": {"en": "Loyal customers", "zh": "忠诚客户", "r": (3, 5), "fm": (3.0, 5.0)},
    "potential_loyalists": {"en": "Potential loyalists", "zh": "潜力客户", "r": (4, 5), "fm": (1.5, 3.0)},
    "new_customers": {"en": "New customers", "zh": "新客户", "r": (5, 5), "fm": (1.0, 1.0)},
    "promising": {"en": "Promising", "zh": "有望客户", "r": (4, 4), "fm": (1.0, 1.0)},
    "need_attention": {"en": "Need attention", "zh": "需要关注", "r": (3, 3), "fm": (2.0, 3.0)},
    "about_to_sleep": {"en": "About to sleep", "zh": "即将沉睡", "r": (3, 3), "fm": (1.0, 1.5)},
    "cannot_lose_them": {"en": "Cannot lose them", "zh": "不能失去", "r": (1, 1), "fm": (4.0, 5.0)},
    "at_risk": {"en": "At risk", "zh": "有流失风险", "r": (1, 2), "fm": (2.0, 5.0)},
    "hibernating": {"en": "Hibernating", "zh": "休眠客户", "r": (2, 2), "fm": (1.0, 1.5)},
    "lost": {"en": "Lost", "zh": "已流失", "r": (1, 1), "fm": (1.0, 1.5)},
}

_INPUTS = {"recency_days": "rfm_r", "n_orders": "rfm_f", "monetary_total": "rfm_m"}


def quantile_scores(values: pd.Series, bins: int, *, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1..``bins`` by average rank: ``ceil(rank * bins / n)``; equal values share a score (floats are
    compared to 12 significant digits).

    With ``higher_is_better=False`` the smallest values get ``bins`` (recency: fewer days is better).
    Returns an int64 array aligned with ``values`` (which must have no missing values).
    """
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    key = values.to_numpy(dtype=np.float64)
    key = _significant(key) if pd.api.types.is_float_dtype(values.dtype) else key
    ranked = pd.Series(key if higher_is_better else -key)
    rank = ranked.rank(method="average").to_numpy(dtype=np.float64)
    return np.ceil(rank * bins / n).astype(np.int64)


def _significant(x: np.ndarray, digits: int = 12) -> np.ndarray:
    """``x`` rounded to ``digits`` significant digits, so sums that differ only by floating-point summation order
    (564.86 vs 564.8599999999999) compare equal and share a score."""
    finite = np.isfinite(x) & (x != 0)
    magnitude = np.floor(np.log10(np.abs(x, where=finite, out=np.ones_like(x))))
    scale = 10.0 ** (digits - 1 - magnitude)
    return np.where(finite, np.round(x * scale) / scale, x)


def _first_match(r: float, fm: float) -> str:
    for name, rule in RFM_SEGMENTS.items():
        if rule["r"][0] <= r <= rule["r"][1] and rule["fm"][0] <= fm <= rule["fm"][1]:
            return name
    return ""


#: segment of every (R, F + M) pair on the 1-5 scale: _GRID[r, f + m], built once from the rules.
_GRID = np.array([[_first_match(r, fm2 / 2.0) for fm2 in range(11)] for r in range(6)], dtype=object)


def rfm_segment(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Segment names for R, F, M scores on the 1-5 scale (first matching rule of :data:`RFM_SEGMENTS`)."""
    r = np.asarray(r, dtype=np.int64)
    fm2 = np.asarray(f, dtype=np.int64) + np.asarray(m, dtype=np.int64)
    return _GRID[r, fm2]


def rfm_scores(snapshot: pd.DataFrame, bins: int = 5) -> pd.DataFrame:
    """RFM scores and segment of every customer of a snapshot, ranked within that snapshot.

    Parameters
    ----------
    snapshot : DataFrame
        One row per customer with ``recency_days``, ``n_orders`` and ``monetary_total`` (no missing values).
    bins : int
        Number of score levels (2-10); 5 gives quintiles.

    Returns
    -------
    DataFrame
        Same index as ``snapshot``; columns ``rfm_r`` (recency score, ``bins`` = most recent), ``rfm_f`` (on
        ``n_orders``), ``rfm_m`` (on ``monetary_total``), ``rfm_score`` = ``rfm_r * 100 + rfm_f * 10 + rfm_m``
        (int64; unambiguous for ``bins`` <= 9) and ``rfm_segment`` (string). Segments are always named from
        quintile scores (``bins=5``), whatever ``bins`` is, since the segment rules are defined on quintiles.
    """
    require_columns(snapshot, _INPUTS, what="The snapshot", kind="RFM input", show_columns=False,
                    fix="pass a table from build_snapshot")
    if not 2 <= int(bins) <= 10:
        raise SchemaError(f"The 'bins' parameter of rfm_scores must be an integer in [2, 10]; got {bins!r}.")
    for column in _INPUTS:
        if snapshot[column].isna().any():
            raise SchemaError(
                f"Column '{column}' has missing values; RFM scores need a value for every customer."
            )

    def score(b: int) -> dict[str, np.ndarray]:
        return {
            out: quantile_scores(snapshot[col], b, higher_is_better=(col != "recency_days"))
            for col, out in _INPUTS.items()
        }

    s = score(int(bins))
    q = s if bins == 5 else score(5)
    return pd.DataFrame(
        {
            "rfm_r": s["rfm_r"],
            "rfm_f": s["rfm_f"],
            "rfm_m": s["rfm_m"],
            "rfm_score": s["rfm_r"] * 100 + s["rfm_f"] * 10 + s["rfm_m"],
            "rfm_segment": pd.array(rfm_segment(q["rfm_r"], q["rfm_f"], q["rfm_m"]), dtype="string"),
        },
        index=snapshot.index,
    )
