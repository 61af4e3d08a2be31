"""Period tracking (效果跟踪): compare two scored lists of the same customer base at two as-of dates.

Definitions (the report and ``loyalist track`` state the same numbers):

- **customers in both / new / gone**: by ``customer_id`` (pseudonymised ids must use the same key in both runs).
- **tier migration**: counts of customers by (previous tier, current tier) among customers in both lists; the
  ``gone`` column counts previous customers absent from the current list, the ``new`` row current customers
  absent from the previous one. A missing tier is shown as ``no_tier``.
- **win-back rate** (流失客户召回率): among the customers whose previous tier was ``high_risk``, the share who
  ordered again after the previous as-of date, i.e. who are in the current list with
  ``recency_days < days between the two as-of dates`` (their last order is dated after the previous as-of).
  Previous high-risk customers absent from the current list, or with an unknown recency, count as not won back
  (they stay in the denominator).
- **change in the devoted share**: current share of ``devoted`` minus the previous share, each over its own
  list (in share points, e.g. 0.031 = +3.1 pp).
- **value at risk recovered**: previous customers with tier ``at_risk`` or ``high_risk`` who are now ``stable`` or
  ``devoted``; the sum of their *previous* ``value_at_risk``, and its share of the previous value at risk of all
  previous at-risk and high-risk customers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from loyalist.config.models import TIERS
from loyalist.errors import DataQualityError
from loyalist.report.inputs import prepare_list

__all__ = ["TRACKING_KEYS", "compare_periods", "score_trend", "tier_counts"]

NO_TIER = "no_tier"

#: Keys of the dict returned by :func:`compare_periods` (also ``tracking.json``).
TRACKING_KEYS: dict[str, str] = {
    "previous_as_of": "as-of date of the previous list (YYYY-MM-DD)",
    "current_as_of": "as-of date of the current list",
    "days_between": "days between the two as-of dates",
    "customers": "{previous, current, both, new, gone}",
    "tiers": "[{tier, previous_customers, previous_share, current_customers, current_share, change}]",
    "migration": "{previous tier: {current tier: customers, 'gone': customers}, 'new': {current tier: customers}}",
    "tier_moves": "{up, same, down} among customers in both lists with a tier in both",
    "win_back": "{previous_high_risk, won_back, still_listed, not_listed, rate}",
    "devoted_share": "{previous, current, change}",
    "value_at_risk_recovered": "{customers, value, previous_at_risk_value, share}",
    "mean_score": "{previous, current, change} over each full list; 'both_previous', 'both_current' over both",
}


def _f(x: Any) -> float | None:
    """A JSON-able float (None for NaN)."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def _tiers(df: pd.DataFrame) -> pd.Series:
    return df["loyalty_tier"].astype("string").fillna(NO_TIER)


def _tier_order(*series: pd.Series) -> list[str]:
    seen = set().union(*(set(s.unique()) for s in series))
    extra = sorted(t for t in seen if t not in TIERS and t != NO_TIER)
    return [*TIERS, *extra, *([NO_TIER] if NO_TIER in seen else [])]


def tier_counts(df: pd.DataFrame) -> dict[str, int]:
    """Customers per tier in TIERS order (0 for absent tiers; ``no_tier`` only when some have none)."""
    tiers = _tiers(df)
    counts = tiers.value_counts()
    return {t: int(counts.get(t, 0)) for t in _tier_order(tiers)}


def compare_periods(previous: pd.DataFrame, current: pd.DataFrame) -> dict[str, Any]:
    """Section 6's numbers for two scored lists of the same customers at two as-of dates.

    Parameters
    ----------
    previous, current : DataFrame
        Scored lists (one row per customer) with ``customer_id``, ``as_of`` (one date per list),
        ``loyalty_score``, ``loyalty_tier``; ``recency_days`` (current) for the win-back rate and
        ``value_at_risk`` (previous) for the value recovered. Other columns are ignored.

    Returns
    -------
    dict
        JSON-able, with the keys of :data:`TRACKING_KEYS` (definitions in the module docstring).

    Raises
    ------
    DataQualityError
        The previous as-of date is not earlier than the current one.
    """
    prev, _ = prepare_list(previous, "previous list")
    cur, _ = prepare_list(current, "current list")
    prev_as_of, cur_as_of = prev["as_of"].iloc[0], cur["as_of"].iloc[0]
    if prev_as_of >= cur_as_of:
        raise DataQualityError(
            f"The previous list's 'as_of' ({prev_as_of.date()}) must be earlier than the current list's "
            f"({cur_as_of.date()}); pass the older list to --previous and the newer one to --current."
        )
    days = int((cur_as_of - prev_as_of).days)
    p = prev.set_index("customer_id")
    c = cur.set_index("customer_id")
    p_tier, c_tier = _tiers(p), _tiers(c)
    both_ids = p.index.intersection(c.index)
    gone_ids = p.index.difference(c.index)
    new_ids = c.index.difference(p.index)
    order = _tier_order(p_tier, c_tier)

    # migration matrix
    pair = pd.crosstab(p_tier.loc[both_ids], c_tier.loc[both_ids]) if len(both_ids) else pd.DataFrame()
    pair = pair.reindex(index=order, columns=order, fill_value=0)
    gone = p_tier.loc[gone_ids].value_counts()
    new = c_tier.loc[new_ids].value_counts()
    migration: dict[str, dict[str, int]] = {
        t: {**{u: int(pair.loc[t, u]) for u in order}, "gone": int(gone.get(t, 0))} for t in order
    }
    migration["new"] = {u: int(new.get(u, 0)) for u in order}

    rank = {t: i for i, t in enumerate(TIERS)}
    pr = p_tier.loc[both_ids].map(rank)
    cr = c_tier.loc[both_ids].map(rank)
    ranked = pr.notna() & cr.notna()
    moves = {
        "up": int((cr[ranked] < pr[ranked]).sum()),
        "same": int((cr[ranked] == pr[ranked]).sum()),
        "down": int((cr[ranked] > pr[ranked]).sum()),
    }

    # tier shares
    p_counts, c_counts = p_tier.value_counts(), c_tier.value_counts()
    tiers = []
    for t in order:
        ps, cs = p_counts.get(t, 0) / len(p), c_counts.get(t, 0) / len(c)
        tiers.append({"tier": t, "previous_customers": int(p_counts.get(t, 0)), "previous_share": float(ps),
                      "current_customers": int(c_counts.get(t, 0)), "current_share": float(cs),
                      "change": float(cs - ps)})

    # win-back
    hr = p_tier.index[p_tier == "high_risk"]
    listed = hr.intersection(c.index)
    recency = c.loc[listed, "recency_days"]
    won = int((recency < days).sum())  # NaN compares False: unknown recency is not a win-back
    win_back = {
        "previous_high_risk": int(len(hr)), "won_back": won, "still_listed": int(len(listed)),
        "not_listed": int(len(hr) - len(listed)), "rate": _f(won / len(hr)) if len(hr) else None,
    }

    # value at risk recovered
    risky = p_tier.index[p_tier.isin(["at_risk", "high_risk"])]
    recovered = risky.intersection(c.index)
    recovered = recovered[c_tier.loc[recovered].isin(["devoted", "stable"]).to_numpy()]
    var_prev = p["value_at_risk"]
    base = float(var_prev.loc[risky].sum()) if len(risky) else 0.0
    value = float(var_prev.loc[recovered].sum()) if len(recovered) else 0.0
    var_known = bool(var_prev.loc[risky].notna().any()) if len(risky) else False
    recovered_block = {
        "customers": int(len(recovered)),
        "value": _f(value) if var_known else None,
        "previous_at_risk_value": _f(base) if var_known else None,
        "share": _f(value / base) if var_known and base > 0 else None,
    }

    dev_p = float((p_tier == "devoted").mean())
    dev_c = float((c_tier == "devoted").mean())
    scores = {
        "previous": _f(p["loyalty_score"].mean()), "current": _f(c["loyalty_score"].mean()),
        "change": _f(c["loyalty_score"].mean() - p["loyalty_score"].mean()),
        "both_previous": _f(p.loc[both_ids, "loyalty_score"].mean()) if len(both_ids) else None,
        "both_current": _f(c.loc[both_ids, "loyalty_score"].mean()) if len(both_ids) else None,
    }
    return {
        "previous_as_of": str(prev_as_of.date()),
        "current_as_of": str(cur_as_of.date()),
        "days_between": days,
        "customers": {"previous": int(len(p)), "current": int(len(c)), "both": int(len(both_ids)),
                      "new": int(len(new_ids)), "gone": int(len(gone_ids))},
        "tiers": tiers,
        "migration": migration,
        "tier_moves": moves,
        "win_back": win_back,
        "devoted_share": {"previous": dev_p, "current": dev_c, "change": dev_c - dev_p},
        "value_at_risk_recovered": recovered_block,
        "mean_score": scores,
    }


def score_trend(lists: Sequence[pd.DataFrame]) -> list[dict[str, Any]]:
    """Mean and median loyalty score and tier shares per scored list, oldest first.

    Parameters
    ----------
    lists : sequence of DataFrame
        Scored lists (``as_of``, ``loyalty_score``, ``loyalty_tier``), in any order, with distinct as-of dates.

    Returns
    -------
    list of dict
        ``{as_of, customers, mean_score, median_score, shares: {tier: share}}`` sorted by ``as_of``.
    """
    rows = []
    for df in lists:
        d, _ = prepare_list(df, "scored list")
        tiers = _tiers(d)
        shares = {t: float((tiers == t).mean()) for t in TIERS}
        rows.append({
            "as_of": str(d["as_of"].iloc[0].date()), "customers": int(len(d)),
            "mean_score": _f(d["loyalty_score"].mean()), "median_score": _f(d["loyalty_score"].median()),
            "shares": shares,
        })
    rows.sort(key=lambda r: str(r["as_of"]))  # as_of is already a str; str() only tells mypy so
    dates = [str(r["as_of"]) for r in rows]
    if len(set(dates)) != len(dates):
        raise DataQualityError(f"Several scored lists share an as-of date ({sorted(dates)}); pass one list per "
                               "period to --previous.")
    return rows
