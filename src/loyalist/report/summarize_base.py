"""Shared pieces of the report summary: options, the working context and small JSON-able helpers."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from loyalist.config.models import ActionRule
from loyalist.features.cutoffs import cutoff_end
from loyalist.report.inputs import CleanInputs
from loyalist.report.text import sentence

__all__ = ["ReportOptions", "Context", "jsonable", "num", "note", "split_reason", "present", "top_by_value"]


@dataclass(frozen=True)
class ReportOptions:
    """Parameters of the report (the defaults follow the source documents).

    top_n : customers listed in the action plan and the appendix tables (by value at risk).
    nps_high, low_frequency : the "not a score-only judgement" flag: NPS >= ``nps_high`` with a purchase frequency
        below ``low_frequency`` orders per year or in the bottom quintile of frequency.
    min_group_customers : smallest customer group ranked in the "top-3 groups by repurchase rate" and the industry
        means (30: on Online Retail II, 10 let Austria's 10 customers at 90% head the ranking).
    complaint_kinds : ticket kinds that count as complaints (clean tickets).
    lookback_days : the look-back window of the indicators; None = from the list summary's config, else 365.
    max_flagged : flagged customers listed by name (all are counted).
    """

    top_n: int = 10
    nps_high: float = 50.0
    low_frequency: float = 2.0
    min_group_customers: int = 30
    complaint_kinds: tuple[str, ...] = ("complaint", "投诉")
    lookback_days: int | None = None
    max_flagged: int = 20


@dataclass(frozen=True)
class Context:
    """Everything a section needs, already checked: the current list (masked, typed), its summary JSON, earlier
    lists (oldest first), the clean data, the action table and the options."""

    scores: pd.DataFrame
    summary: Mapping[str, Any]
    previous: Sequence[pd.DataFrame]
    clean: CleanInputs | None
    actions: Sequence[ActionRule]
    options: ReportOptions
    as_of: pd.Timestamp
    lookback_days: int
    missing_columns: Sequence[str] = field(default_factory=tuple)

    @property
    def window_end(self) -> pd.Timestamp:
        """Inclusive end of the look-back window: the end of the as-of day (a cut-off date D means the end of D)."""
        return cutoff_end(self.as_of)

    @property
    def window_start(self) -> pd.Timestamp:
        """Exclusive start of the look-back window: events in (start, window_end] count."""
        return self.window_end - pd.Timedelta(days=self.lookback_days)


def num(x: Any) -> float | None:
    """A JSON-able float; None for missing or non-finite values."""
    if x is None or x is pd.NA:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def jsonable(obj: Any) -> Any:
    """Recursively turn numpy / pandas scalars, dates and NaN into plain JSON values."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = num(obj)
        return None if v is None else round(v, 10)
    if isinstance(obj, pd.Timestamp):
        return str(obj.date()) if obj == obj.normalize() else obj.isoformat()
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    return obj if isinstance(obj, str) else str(obj)


def note(what: Mapping[str, str], why: Mapping[str, str]) -> dict[str, str]:
    """A bilingual "X: not available (why)" sentence."""
    return sentence("unavailable", what=what, why=why)


def split_reason(text: Any) -> dict[str, str] | None:
    """A ``'zh / en'`` reason of the scored list as ``{"zh", "en"}``; None when empty."""
    if text is None or text is pd.NA or (isinstance(text, float) and math.isnan(text)):
        return None
    s = str(text).strip()
    if not s:
        return None
    zh, sep, en = s.partition(" / ")
    return {"zh": zh.strip(), "en": en.strip() if sep else zh.strip()}


def present(series: pd.Series) -> bool:
    """True when the column has at least one non-missing, non-empty value."""
    s = series.dropna()
    if s.dtype == "string" or s.dtype == object:
        s = s[s.astype("string").str.strip() != ""]
    return len(s) > 0


def top_by_value(df: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` customers with the highest value at risk (churn probability, then the lowest loyalty score,
    when value at risk is unknown); ties broken by customer id."""
    if df["value_at_risk"].notna().any():
        keys, asc = ["value_at_risk", "customer_id"], [False, True]
    elif df["churn_probability"].notna().any():
        keys, asc = ["churn_probability", "customer_id"], [False, True]
    else:
        keys, asc = ["loyalty_score", "customer_id"], [True, True]
    return df.sort_values(keys, ascending=asc, na_position="last").head(n)
