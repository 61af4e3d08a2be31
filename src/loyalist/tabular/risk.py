"""The churn-risk list of customer-table mode.

Columns (one row per scored customer, sorted by ``value_at_risk`` then ``churn_probability``, descending):
``customer_id``, ``as_of``, ``churn_probability``, ``risk_band``, ``tenure`` (when mapped),
``expected_remaining_months``, ``monthly_value`` and ``expected_value`` and ``value_at_risk`` (when a value column is
mapped; NaN otherwise), ``reason_1`` .. ``reason_3``, ``model_name``, ``model_version``.

- Expected remaining tenure: the flag covers ``churn_window_months``; a constant monthly hazard
  ``h = 1 - (1 - p) ** (1 / window)`` gives ``(1 - h) / h`` further months (geometric), capped at
  ``max_remaining_months``.
- ``monthly_value`` = value column x ``value_rate`` (a monthly charge as it is; a balance x its monthly margin);
  ``expected_value`` = monthly_value x expected remaining months (what the customer is expected to bring as
  things stand); ``value_at_risk`` = p x monthly_value x ``value_at_risk_months`` (what a churn would cost over
  that period: p x the remaining-tenure value would rank the safest customers first, since a likely leaver's
  expected tenure is short).
- Time to churn (when the champion carries a survival model, :class:`loyalist.tabular.survival.TableSurvival`):
  ``p_active_30d``, ``p_active_90d``, ``p_active_180d`` (P(still a customer that many days from the as-of day,
  given the tenure so far)), ``expected_days_to_churn`` (restricted mean remaining time, capped at
  ``max_remaining_months``, in days) and ``segment`` (the customer's value of the column the survival curves are
  drawn by), after ``expected_remaining_months``; the same names as transaction mode's list.
- Reasons: the features that raise this customer's risk most (largest positive contributions to the model's
  log-odds), as ``column = value``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalist.batch.risk_list import risk_bands
from loyalist.config.models import CustomerTableConfig

__all__ = ["build_table_risk_list", "expected_remaining_months", "top_reasons"]


def expected_remaining_months(p: np.ndarray, window_months: float, cap: float) -> np.ndarray:
    """Expected further months of each customer from P(churn within ``window_months``) (see the module)."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    hazard = 1.0 - (1.0 - p) ** (1.0 / window_months)
    with np.errstate(divide="ignore"):
        months = np.where(hazard > 0, (1.0 - hazard) / np.maximum(hazard, 1e-12), np.inf)
    return np.minimum(months, cap)


def _show(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "missing"
    if isinstance(value, (float, np.floating)):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(float(value)) < 1e6 else f"{value:,.0f}"
    return str(value)


def top_reasons(contributions: pd.DataFrame, X: pd.DataFrame, k: int = 3) -> list[list[str | None]]:
    """Per row, the ``k`` features with the largest positive contributions as ``'column = value'`` (None when
    fewer raise the risk)."""
    values = contributions.to_numpy(float)
    order = np.argsort(-values, axis=1)[:, :k]
    names = list(contributions.columns)
    raw = X[names].astype("object").to_numpy()
    out: list[list[str | None]] = []
    for i in range(len(values)):
        row = []
        for j in order[i]:
            row.append(f"{names[j]} = {_show(raw[i, j])}" if values[i, j] > 0 else None)
        row += [None] * (k - len(row))
        out.append(row)
    return out


def build_table_risk_list(
    table: pd.DataFrame, probability: np.ndarray, reasons: list[list[str | None]], config: CustomerTableConfig,
    *, band_cuts, as_of: pd.Timestamp, model_name: str, model_version: int,
    survival: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The risk list (see the module) of the rows of ``table`` (the clean customers, typed), in any order;
    ``survival``: the time-to-churn columns of the same rows, in the same order."""
    p = np.asarray(probability, dtype=float)
    out = pd.DataFrame({"customer_id": table["customer_id"].astype("string").to_numpy(),
                        "as_of": pd.Timestamp(as_of).normalize(), "churn_probability": p})
    out["risk_band"] = risk_bands(p, band_cuts).to_numpy()
    if config.tenure is not None and config.tenure in table.columns:
        out["tenure"] = pd.to_numeric(table[config.tenure], errors="coerce").to_numpy(float)
    months = expected_remaining_months(p, config.churn_window_months, config.max_remaining_months)
    out["expected_remaining_months"] = months
    if survival is not None:
        for c in survival.columns:
            out[c] = survival[c].to_numpy()
    if config.value is not None and config.value in table.columns:
        monthly = pd.to_numeric(table[config.value], errors="coerce").to_numpy(float) * config.value_rate
    else:
        monthly = np.full(len(p), np.nan)
    out["monthly_value"] = monthly
    out["expected_value"] = monthly * months
    out["value_at_risk"] = p * monthly * config.value_at_risk_months
    for j in range(3):
        out[f"reason_{j + 1}"] = pd.array([r[j] if j < len(r) else None for r in reasons], dtype="string")
    out["model_name"] = model_name
    out["model_version"] = int(model_version)
    out = out.sort_values(["value_at_risk", "churn_probability"], ascending=False, na_position="last", kind="stable")
    return out.reset_index(drop=True)
