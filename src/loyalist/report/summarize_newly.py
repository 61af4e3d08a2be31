"""The report's "newly at risk" block (issue 11 §4): active customers whose churn risk rose since the previous list.

Same definition as ``loyalist score --previous`` (:func:`loyalist.batch.risk_list.newly_at_risk`): a customer is
newly at risk when they are active (an order in the last ``features.active_days`` days of the list's config, 90 by
default), were in the previous list, and are now in the high or very high risk band without having been in one
before; "rising" counts the active customers whose churn probability went up at all. Source, in order: the
report's own latest earlier list (``--previous``, the list the tracking section compares with), else the block the
scoring job wrote into the list summary (``score --previous``).

Output of :func:`newly_at_risk_section` (JSON-able, None when neither source exists or a list lacks the columns)::

    source          "previous list" or "list summary"
    previous_as_of  the earlier list's as-of date (str or None)
    active_days     the window (days), 90 by default
    customers       newly at risk (int)
    rising          active customers whose churn probability rose (int)
    top             up to ``top`` rows, largest rise first: customer_id, churn_probability_previous,
                    churn_probability, churn_probability_change, risk_band_previous, risk_band, reason {zh, en} (None when empty)
    sentence        bilingual
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from loyalist.report.summarize_base import num, split_reason
from loyalist.report.text import fmt_int, sentence

__all__ = ["newly_at_risk_section"]

_NEEDED = ("customer_id", "churn_probability", "risk_band")


def _usable(frame: pd.DataFrame | None, columns: Sequence[str]) -> bool:
    """The list has the columns and some churn probability (the report fills a missing column with NaN)."""
    return (frame is not None and all(c in frame.columns for c in columns)
            and bool(frame["churn_probability"].notna().any()))


def newly_at_risk_section(
    current: pd.DataFrame, previous: Sequence[pd.DataFrame], list_summary: Mapping[str, Any] | None, top: int = 10
) -> dict[str, Any] | None:
    """The block from the latest earlier list, else from the list summary's ``newly_at_risk`` (see module)."""
    block: Mapping[str, Any] | None = None
    source = ""
    earlier = previous[-1] if previous else None
    if _usable(earlier, _NEEDED) and _usable(current, (*_NEEDED, "recency_days")):
        from loyalist.batch.risk_list import newly_at_risk

        config = (list_summary or {}).get("config")
        features = config.get("features") if isinstance(config, Mapping) else None
        days = int(features.get("active_days") or 90) if isinstance(features, Mapping) else 90
        _, block = newly_at_risk(current, earlier, active_days=days, top=max(int(top), 1))
        source = "previous list"
    else:
        given = (list_summary or {}).get("newly_at_risk")
        if isinstance(given, Mapping) and given.get("customers") is not None:
            block, source = given, "list summary"
    if block is None:
        return None
    rows = [{
        "customer_id": str(r.get("customer_id")),
        "churn_probability_previous": num(r.get("churn_probability_previous")),
        "churn_probability": num(r.get("churn_probability")),
        "churn_probability_change": num(r.get("churn_probability_change")),
        "risk_band_previous": r.get("risk_band_previous"), "risk_band": r.get("risk_band"),
        "reason": split_reason(r.get("reason_1")),
    } for r in list(block.get("top") or [])[: max(int(top), 1)] if isinstance(r, Mapping)]
    previous_as_of = block.get("previous_as_of")
    active_days = int(block.get("active_days") or 90)
    text = sentence("newly_at_risk", previous_as_of=str(previous_as_of or "—"), active_days=active_days,
                    customers=fmt_int(block.get("customers")), rising=fmt_int(block.get("rising")))
    return {"source": source, "previous_as_of": previous_as_of, "active_days": active_days,
            "customers": int(block.get("customers") or 0), "rising": int(block.get("rising") or 0), "top": rows,
            "sentence": text}
