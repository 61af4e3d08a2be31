"""Assemble the churn-risk list (columns: :data:`loyalist.batch.columns.RISK_LIST_COLUMNS`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from loyalist.batch.columns import RISK_BANDS, RISK_LIST_COLUMNS
from loyalist.config.models import TIERS, ActionRule
from loyalist.errors import DataQualityError
from loyalist.schema import require_columns

__all__ = ["risk_bands", "assign_actions", "build_risk_list", "list_names", "risk_summary", "newly_at_risk", "ACTIVE_DAYS",
           "add_uplift", "RANK_BY", "SURVIVAL_LIST_COLUMNS", "LIST_SNAPSHOT_COLUMNS"]

#: Active customers (early warning): an order in the last ``ACTIVE_DAYS`` days before T.
ACTIVE_DAYS = 90
_RISKY_BANDS = ("high", "very_high")
#: Time-to-churn columns of the list (issue 15 §2; the customer-table mode uses the same names).
SURVIVAL_LIST_COLUMNS: tuple[str, ...] = ("p_active_30d", "p_active_90d", "p_active_180d", "expected_days_to_churn")
#: The snapshot columns :func:`build_risk_list` reads (the others may be dropped before it runs).
LIST_SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "customer_id", "as_of", "industry", "size", "region", "tenure_days", "repurchase_rate", "order_value_stability",
    "purchase_frequency", "nps", "complaint_rate", "recency_days", "monetary_total", "margin_total", "n_orders",
    "n_complaints", "top_complaint_stage", "n_survey_responses", "rfm_segment")
#: Lower probability edge of each band above low (``scoring_job.risk_band_cuts``, keyed by str or by its Literal).
BandCuts = Mapping[str, float] | Mapping[Literal["medium", "high", "very_high"], float]


def risk_bands(probability: np.ndarray | pd.Series, cuts: BandCuts) -> pd.Series:
    """Band of each churn probability: [0, medium) low, [medium, high) medium, [high, very_high) high, else very
    high."""
    p = np.asarray(probability, dtype="float64")
    edges = [cuts["medium"], cuts["high"], cuts["very_high"]]
    idx = np.searchsorted(edges, p, side="right")
    return pd.Series(np.asarray(RISK_BANDS, dtype=object)[idx], dtype="string")


def assign_actions(
    tiers: pd.Series, driver_groups: pd.Series, actions: Sequence[ActionRule], bands: pd.Series | None = None
) -> pd.DataFrame:
    """The first matching rule of the action table for each customer.

    A rule matches when its tier is the customer's tier (or ``any``), its ``driver_group`` is unset or equals the
    customer's top driver group, and its ``risk_bands`` is unset or holds the customer's risk band (``bands``;
    without bands, rules with ``risk_bands`` never match). Returns recommended_action and owner_department ("zh / en"), deadline_days,
    expected_effect, action_rule (the rule's position), on the input's index.
    """
    chosen = _action_rules(tiers, driver_groups, actions, bands)
    texts = [(f"{r.action_zh} / {r.action_en}", f"{r.department_zh} / {r.department_en}", r.deadline_days,
              f"{r.expected_effect_zh} / {r.expected_effect_en}".strip(" /")) for r in actions]
    empty = ("", "", np.nan, "")
    rows = [texts[c] if c >= 0 else empty for c in chosen]
    out = pd.DataFrame(rows, columns=["recommended_action", "owner_department", "deadline_days", "expected_effect"],
                       index=tiers.index)
    out["action_rule"] = chosen
    return out


def _action_rules(
    tiers: pd.Series, driver_groups: pd.Series, actions: Sequence[ActionRule], bands: pd.Series | None = None
) -> np.ndarray:
    """The position of each customer's first matching rule in ``actions`` (-1: none), as :func:`assign_actions`.
    Compared by codes of the distinct values, not a Python string per customer."""
    n = len(tiers)

    def codes(values: pd.Series | None) -> tuple[np.ndarray, dict[str, int]]:
        if values is None:
            values = pd.Series("", index=tiers.index, dtype="string")
        elif values is not tiers:
            values = values.reindex(tiers.index)
        text = values.astype("string").fillna("")
        found, uniques = pd.factorize(text)
        return found, {str(u): i for i, u in enumerate(uniques)}

    (tier, tier_code), (group, group_code), (band, band_code) = codes(tiers), codes(driver_groups), codes(bands)
    chosen = np.full(n, -1)
    for i, rule in enumerate(actions):
        free = chosen < 0
        if not free.any():
            break
        match = free & ((tier == tier_code.get(rule.tier, -2)) if rule.tier != "any" else np.ones(n, bool))
        if rule.driver_group is not None:
            match &= group == group_code.get(rule.driver_group, -2)
        if rule.risk_bands is not None:
            match &= np.isin(band, [band_code[b] for b in rule.risk_bands if b in band_code])
        chosen[match] = i
    return chosen


def _taken(words: Sequence[str], chosen: np.ndarray, index: pd.Index) -> pd.Series:
    """``words[chosen]`` as an Arrow-backed ``string`` column, ``""`` where ``chosen`` is -1: the few distinct texts
    repeated by Arrow's take, no Python object per row (a million customers' bilingual action texts, issue 14)."""
    import pyarrow as pa

    dictionary = pa.array([*words, ""], type=pa.large_string())
    codes = pa.array(np.where(chosen < 0, len(words), chosen))
    return pd.Series(pd.arrays.ArrowStringArray(dictionary.take(codes)), index=index)


def list_names(snapshot: pd.DataFrame, customers: pd.DataFrame | None) -> pd.Series:
    """The list's ``name`` column: each snapshot customer's name from the clean customers table (its first row of a
    customer id), missing when the table or its ``name`` column is absent; ``string`` dtype, the snapshot's index."""
    if customers is not None and "name" in customers.columns:
        names = customers.drop_duplicates("customer_id").set_index("customer_id")["name"]
        return snapshot["customer_id"].map(names).astype("string").rename("name")
    return pd.Series(pd.NA, index=snapshot.index, dtype="string", name="name")


def build_risk_list(
    snapshot: pd.DataFrame,
    loyalty: pd.DataFrame,
    *,
    churn_probability: np.ndarray,
    expected_value: np.ndarray,
    band_cuts: BandCuts,
    expected_purchases: np.ndarray | None = None,
    survival: pd.DataFrame | None = None,
    reasons: pd.DataFrame | None = None,
    actions: Sequence[ActionRule] = (),
    next_products: pd.Series | None = None,
    customers: pd.DataFrame | None = None,
    churn_model_version: str = "",
    value_model_version: str = "",
    names: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per snapshot customer with every :data:`RISK_LIST_COLUMNS` column, sorted by value at risk.

    Parameters
    ----------
    snapshot : the scoring snapshot (one row per customer).
    loyalty : ``LoyaltyScorer.transform(snapshot)`` (same index): loyalty_score, loyalty_tier, tier_reason.
    churn_probability, expected_value : model outputs aligned with ``snapshot`` rows.
    reasons : on the snapshot's index (a subset): reason_1..3, top_driver_group (explained customers only).
    next_products : customer_id -> "p1;p2;p3".
    survival : :data:`SURVIVAL_LIST_COLUMNS` (p_active_30d/90d/180d, expected_days_to_churn) aligned with
        ``snapshot`` rows (``BtydFeaturizer.survival``); NaN columns when None.
    customers : clean customers table, for the name (masked later by :func:`loyalist.batch.outputs.protect`).
    names : the name column made beforehand (:func:`list_names`, on the snapshot's index), used instead of
        ``customers``.
    """
    if snapshot["customer_id"].duplicated().any():
        dup = snapshot.loc[snapshot["customer_id"].duplicated(), "customer_id"].iloc[0]
        raise DataQualityError(f"The scoring snapshot has customer {dup!r} more than once; rebuild the snapshot.")
    n = len(snapshot)
    p = np.asarray(churn_probability, dtype="float64")
    v = np.clip(np.asarray(expected_value, dtype="float64"), 0, None)
    if len(p) != n or len(v) != n:
        raise DataQualityError(
            f"Model outputs have {len(p)} and {len(v)} rows for a snapshot of {n} customers; score the same snapshot."
        )
    out = pd.DataFrame(index=snapshot.index)
    out["customer_id"] = snapshot["customer_id"].astype("string")
    out["name"] = list_names(snapshot, customers) if names is None else names.reindex(snapshot.index)
    for c in ("as_of", "industry", "size", "region"):
        out[c] = snapshot.get(c, pd.NA)
    out["tenure_months"] = np.floor(snapshot["tenure_days"].astype("float64") / 30.4375)
    for c in ("loyalty_score", "loyalty_tier", "tier_reason"):
        out[c] = loyalty[c].reindex(snapshot.index)
    for c in ("repurchase_rate", "order_value_stability", "purchase_frequency", "nps", "complaint_rate",
              "recency_days", "monetary_total", "margin_total", "n_orders", "n_complaints", "top_complaint_stage",
              "n_survey_responses"):
        out[c] = snapshot.get(c, np.nan)
    out["churn_probability"] = p
    out["churn_percentile"] = pd.Series(p, index=snapshot.index).rank(pct=True, method="average") * 100
    out["risk_band"] = risk_bands(p, band_cuts).to_numpy()
    out["expected_value"] = v
    out["expected_purchases"] = (np.full(n, np.nan) if expected_purchases is None
                                 else np.asarray(expected_purchases, dtype="float64"))
    for c in SURVIVAL_LIST_COLUMNS:
        col = None if survival is None or c not in survival else np.asarray(survival[c], dtype="float64")
        if col is not None and len(col) != n:
            raise DataQualityError(f"The survival columns have {len(col)} rows for a snapshot of {n} customers; "
                                   "compute them on the same snapshot.")
        out[c] = np.full(n, np.nan) if col is None else col
    out["value_at_risk"] = p * v
    out["rfm_segment"] = snapshot.get("rfm_segment", pd.NA)
    for c in ("reason_1", "reason_2", "reason_3"):
        col = reasons[c].reindex(snapshot.index) if reasons is not None and c in reasons else None
        out[c] = (col if col is not None else pd.Series(pd.NA, index=snapshot.index)).astype("string").fillna("")
    group = (reasons["top_driver_group"].reindex(snapshot.index) if reasons is not None and "top_driver_group" in reasons
             else pd.Series(pd.NA, index=snapshot.index))
    out["top_driver_group"] = group.astype("string").fillna("")
    chosen = _action_rules(out["loyalty_tier"], out["top_driver_group"], actions, out["risk_band"])
    # the values assign_actions gives, made as Arrow strings at once (its frame of the rows, then a "string" copy of
    # it, came to ~300 MB of passing memory at 1M customers)
    out["recommended_action"] = _taken([f"{r.action_zh} / {r.action_en}" for r in actions], chosen, out.index)
    out["owner_department"] = _taken([f"{r.department_zh} / {r.department_en}" for r in actions], chosen, out.index)
    out["control_group"] = pd.array(np.zeros(n, dtype=bool), dtype="boolean")  # set by loyalist.batch.control
    if next_products is not None:
        out["next_products"] = snapshot["customer_id"].map(next_products).astype("string").fillna("")
    else:
        out["next_products"] = ""
    out["churn_probability_previous"] = np.nan
    out["churn_probability_change"] = np.nan
    out["newly_at_risk"] = pd.array(np.zeros(n, dtype=bool), dtype="boolean")
    out["churn_model_version"] = churn_model_version
    out["value_model_version"] = value_model_version
    # sorted one column at a time (each unsorted column dropped as its sorted one is made): sorting the whole frame
    # held the list twice, ~700 MB more at 1M customers (issue 14); the same order as sorting the whole frame
    keys = out[["value_at_risk", "customer_id"]].reset_index(drop=True)
    positions = keys.sort_values(["value_at_risk", "customer_id"], ascending=[False, True], kind="mergesort").index
    ordered = {c: out.pop(c).take(positions.to_numpy()).reset_index(drop=True) for c in RISK_LIST_COLUMNS}
    return pd.DataFrame(ordered, columns=list(RISK_LIST_COLUMNS), copy=False)


def risk_summary(risk: pd.DataFrame) -> dict:
    """Counts per tier and band, value at risk per tier, totals (plain JSON-able data)."""
    tiers = risk["loyalty_tier"].astype("string").value_counts()
    bands = risk["risk_band"].astype("string").value_counts()
    var_tier = risk.groupby(risk["loyalty_tier"].astype("string"), observed=True)["value_at_risk"].sum()
    return {
        "as_of": str(pd.Timestamp(risk["as_of"].iloc[0]).date()) if len(risk) else None,
        "customers": int(len(risk)),
        "tiers": {t: int(tiers.get(t, 0)) for t in TIERS},
        "bands": {b: int(bands.get(b, 0)) for b in RISK_BANDS},
        "value_at_risk_by_tier": {t: float(var_tier.get(t, 0.0)) for t in TIERS},
        "expected_value_total": float(risk["expected_value"].sum()),
        "value_at_risk_total": float(risk["value_at_risk"].sum()),
        "mean_churn_probability": float(risk["churn_probability"].mean()) if len(risk) else None,
        "expected_purchases_total": float(np.nansum(risk["expected_purchases"])) if "expected_purchases" in risk
        else None,
    }


def newly_at_risk(
    risk: pd.DataFrame, previous: pd.DataFrame, *, active_days: int = ACTIVE_DAYS, top: int = 20
) -> tuple[pd.DataFrame, dict]:
    """The "newly at risk" view: active customers whose churn risk rose since the previous scoring.

    Parameters
    ----------
    risk : the current list (:data:`RISK_LIST_COLUMNS`; ``customer_id``, ``churn_probability``, ``risk_band``,
        ``recency_days``, ``reason_1`` are read).
    previous : an earlier list of the same customers (same id space: both raw or both pseudonymised with the same
        key); ``customer_id``, ``churn_probability``, ``risk_band`` and ``as_of`` are read.
    active_days : a customer is active with an order in the last ``active_days`` days (``recency_days``).
    top : how many of the customers whose probability rose most the summary lists.

    Returns
    -------
    (DataFrame, dict)
        ``risk`` (same rows and order, not modified in place) with ``churn_probability_previous``,
        ``churn_probability_change`` and ``newly_at_risk`` filled (active, in the previous list, and now in a high
        or very high band that it was not in before), and the summary (:data:`SUMMARY_KEYS` ``newly_at_risk``).
    """
    for name, frame, needed in (("current", risk, ("customer_id", "churn_probability", "risk_band", "recency_days")),
                                ("previous", previous, ("customer_id", "churn_probability", "risk_band"))):
        require_columns(frame, needed, what=f"The {name} risk list", show_columns=False, error=DataQualityError,
                        fix="the newly-at-risk view needs them; pass a list written by 'loyalist score'")
    prev = previous.drop_duplicates("customer_id").set_index(previous["customer_id"].drop_duplicates().astype(
        "string").to_numpy())
    ids = risk["customer_id"].astype("string").to_numpy()
    p_prev = prev["churn_probability"].astype("float64").reindex(ids).to_numpy()
    band_prev = prev["risk_band"].astype("string").reindex(ids).to_numpy(dtype=object, na_value=None)
    p_now = risk["churn_probability"].to_numpy(dtype="float64")
    change = p_now - p_prev
    band_now = risk["risk_band"].astype("string").to_numpy(dtype=object, na_value=None)
    active = (pd.to_numeric(risk["recency_days"], errors="coerce") <= active_days).to_numpy(dtype=bool)
    was_risky = np.isin(band_prev.astype(str), _RISKY_BANDS)
    is_risky = np.isin(band_now.astype(str), _RISKY_BANDS)
    newly = active & np.isfinite(p_prev) & is_risky & ~was_risky
    out = risk.assign(churn_probability_previous=p_prev, churn_probability_change=change,
                      newly_at_risk=pd.array(newly, dtype="boolean"))
    rising = active & np.isfinite(change) & (change > 0)
    order = np.argsort(-np.where(rising, change, -np.inf), kind="stable")[: min(top, int(rising.sum()))]
    rows = []
    for i in order:
        rows.append({
            "customer_id": str(ids[i]), "churn_probability_previous": round(float(p_prev[i]), 4),
            "churn_probability": round(float(p_now[i]), 4), "churn_probability_change": round(float(change[i]), 4),
            "risk_band_previous": band_prev[i], "risk_band": band_now[i],
            "reason_1": str(risk["reason_1"].iloc[i]) if "reason_1" in risk.columns else "",
        })
    prev_as_of = None
    if "as_of" in previous.columns and len(previous):
        prev_as_of = str(pd.Timestamp(previous["as_of"].iloc[0]).date())
    summary = {"previous_as_of": prev_as_of, "active_days": int(active_days), "customers": int(newly.sum()),
               "rising": int(rising.sum()), "top": rows}
    return out, summary


#: Orders of the list (``scoring_job.rank_by``): by value at risk (the default), or by the value an action is
#: expected to keep net of its cost (needs an uplift model, ``loyalist uplift``).
RANK_BY: tuple[str, ...] = ("value_at_risk", "expected_saved_value")


def add_uplift(
    risk: pd.DataFrame,
    uplift: np.ndarray,
    *,
    costs: Mapping[str, float] | None = None,
    rank_by: str = "value_at_risk",
    value_if_kept: bool = True,
) -> pd.DataFrame:
    """The list with the uplift columns (issue 16 §3), optionally re-ranked.

    - ``uplift``: how much the action raises the customer's probability of still buying over the churn horizon
      (the uplift model's prediction, aligned with ``risk``'s rows; negative = contact drives the customer away);
    - ``expected_saved_value``: ``uplift x value if kept - cost`` of the customer's recommended action (``costs``:
      action text "zh / en" -> cost per contacted customer; no action or unknown action = 0). The value if kept is
      ``expected_value / (1 - churn_probability)`` (:func:`loyalist.uplift.expected_saved_value`: the expected
      value counts the chance of leaving, a kept customer spends like one who stays); ``value_if_kept=False``
      uses ``expected_value`` as it is (the list before 2026-12-03).

    ``rank_by="expected_saved_value"`` sorts by it (descending, ties by customer_id) instead of value at risk.
    Returns a new frame.
    """
    from loyalist.uplift.campaign import expected_saved_value

    if rank_by not in RANK_BY:
        raise DataQualityError(f"rank_by must be one of {list(RANK_BY)}; got {rank_by!r}.")
    u = np.asarray(uplift, dtype="float64")
    if len(u) != len(risk):
        raise DataQualityError(f"The uplift model gave {len(u)} predictions for a list of {len(risk)} customers; "
                               "score the same snapshot.")
    if value_if_kept and "churn_probability" not in risk.columns:
        raise DataQualityError("The list has no churn_probability column, which the value if kept needs; pass the "
                               "list build_risk_list returns (or value_if_kept=False).")
    action = risk["recommended_action"].astype("string").fillna("") if "recommended_action" in risk else \
        pd.Series("", index=risk.index, dtype="string")
    cost = action.map(dict(costs or {})).astype("float64").fillna(0.0).to_numpy()
    p_stay = 1.0 - risk["churn_probability"].to_numpy(dtype="float64") if value_if_kept else None
    saved = expected_saved_value(u, risk["expected_value"].to_numpy(dtype="float64"), cost, p_stay=p_stay)
    out = risk.assign(uplift=u, expected_saved_value=saved)
    if rank_by == "expected_saved_value":
        out = out.sort_values(["expected_saved_value", "customer_id"], ascending=[False, True], kind="mergesort")
        out = out.reset_index(drop=True)
    return out
