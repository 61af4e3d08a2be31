"""The baselines every learned model is judged against, on the same rows of the same cut-off.

Churn (higher = more likely to churn): the rule-based loyalty score (reversed), recency alone, frequency alone
(reversed) and BG/NBD's probability of no purchase in the horizon. Value: BG/NBD x Gamma-Gamma and last-period
revenue (revenue in the look-back window, scaled to the horizon's length).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["churn_baselines", "value_baselines"]


def churn_baselines(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Baseline churn scores for each row of ``frame`` (a snapshot with ``loyalty_score`` and the BTYD features
    when available). Scores are rankings; only ``bgnbd_no_purchase`` is a probability."""
    out: dict[str, np.ndarray] = {}
    if "loyalty_score" in frame:
        # customers without a score rank as the riskiest (no indicator at all)
        out["rule_score"] = -frame["loyalty_score"].astype("float64").fillna(-1.0).to_numpy()
    out["recency"] = frame["recency_days"].astype("float64").fillna(frame["recency_days"].max()).to_numpy()
    out["frequency"] = -frame["n_orders"].astype("float64").fillna(0.0).to_numpy()
    if "bg_p_no_purchase" in frame:
        p = frame["bg_p_no_purchase"].astype("float64")
        out["bgnbd_no_purchase"] = p.fillna(p.median() if p.notna().any() else 0.5).to_numpy()
    return out


def value_baselines(
    frame: pd.DataFrame, *, horizon_days: int, lookback_days: int, target: str = "future_revenue"
) -> dict[str, np.ndarray]:
    """Baseline predictions over the horizon for each row of ``frame``: revenue (default) or, for
    ``target="future_orders"``, the number of purchases (BG/NBD expected purchases, last-period orders)."""
    out: dict[str, np.ndarray] = {}
    counts = target == "future_orders"
    btyd_col, past_col = ("bg_expected_purchases", "n_orders") if counts else ("btyd_value", "monetary_total")
    if btyd_col in frame:
        out["bgnbd_purchases" if counts else "bgnbd_gamma_gamma"] = frame[btyd_col].astype("float64").fillna(0.0).to_numpy()
    span = np.minimum(frame["tenure_days"].astype("float64").fillna(lookback_days).to_numpy(), lookback_days)
    span = np.maximum(span, 1.0)
    past = frame[past_col].astype("float64").fillna(0.0).to_numpy()
    name = "last_period_orders" if counts else "last_period_revenue"
    out[name] = past * (horizon_days / np.maximum(span, min(horizon_days, lookback_days)))
    return out
