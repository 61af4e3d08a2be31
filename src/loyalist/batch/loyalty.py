"""The loyalty score table: one row per customer of the snapshot with indicators, scaled values, score, tier
and RFM (issue 2 output ``loyalty_scores``)."""

from __future__ import annotations

import pandas as pd

from loyalist.config.models import TIERS

__all__ = ["LOYALTY_ID_COLUMNS", "loyalty_table", "tier_summary", "industry_summary"]

LOYALTY_ID_COLUMNS: tuple[str, ...] = ("customer_id", "name", "as_of", "industry", "size", "region")
_INDICATOR_COLUMNS = ("repurchase_rate", "order_value_stability", "purchase_frequency", "nps", "complaint_rate")
_CONTEXT_COLUMNS = ("recency_days", "n_orders", "monetary_total", "tenure_days", "n_survey_responses")
_RFM_COLUMNS = ("rfm_r", "rfm_f", "rfm_m", "rfm_segment")


def loyalty_table(
    snapshot: pd.DataFrame, scores: pd.DataFrame, customers: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Join the snapshot and the scorer's output into the published loyalty table.

    Parameters
    ----------
    snapshot : one row per customer (``loyalist.features.columns.SNAPSHOT_COLUMNS``).
    scores : ``LoyaltyScorer.transform(snapshot)``, same index: ``<indicator>_scaled``, loyalty_score,
        score_coverage, loyalty_tier, tier_reason.
    customers : the clean customers table, for the (still unmasked) ``name`` column; masking happens in
        :func:`loyalist.batch.outputs.protect`.

    Returns
    -------
    DataFrame: customer_id, name, as_of, industry, size, region, the five seed indicators, every
    ``*_scaled`` column, loyalty_score, score_coverage, loyalty_tier, tier_reason, recency_days, n_orders,
    monetary_total, tenure_days, n_survey_responses, rfm_r, rfm_f, rfm_m, rfm_segment. Sorted by loyalty_score
    descending.
    """
    out = snapshot.copy()
    if customers is not None and "name" in customers.columns:
        names = customers.drop_duplicates("customer_id").set_index("customer_id")["name"]
        out["name"] = out["customer_id"].map(names)
    else:
        out["name"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out = pd.concat([out, scores.reindex(out.index)], axis=1)
    scaled = [c for c in scores.columns if c.endswith("_scaled")]
    ordered = [
        *LOYALTY_ID_COLUMNS, *_INDICATOR_COLUMNS, *scaled, "loyalty_score", "score_coverage", "loyalty_tier",
        "tier_reason", *_CONTEXT_COLUMNS, *_RFM_COLUMNS,
    ]
    ordered = [c for c in dict.fromkeys(ordered) if c in out.columns]
    out = out[ordered].sort_values(["loyalty_score", "customer_id"], ascending=[False, True], na_position="last")
    return out.reset_index(drop=True)


def tier_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Customers, share and mean score per tier, in tier order (tiers without customers show 0)."""
    counts = table["loyalty_tier"].value_counts().reindex(list(TIERS), fill_value=0)
    means = table.groupby("loyalty_tier", observed=True)["loyalty_score"].mean().reindex(list(TIERS))
    total = max(int(counts.sum()), 1)
    return pd.DataFrame(
        {"tier": list(TIERS), "customers": counts.to_numpy(), "share": counts.to_numpy() / total,
         "mean_score": means.to_numpy()}
    )


def industry_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Customers, mean score and devoted / high-risk shares per industry (``unknown`` for missing)."""
    ind = table["industry"].fillna("unknown") if "industry" in table else pd.Series("unknown", index=table.index)
    grouped = table.assign(industry=ind).groupby("industry", observed=True)
    out = grouped.agg(
        customers=("customer_id", "size"),
        mean_score=("loyalty_score", "mean"),
        devoted_share=("loyalty_tier", lambda s: float((s == "devoted").mean())),
        high_risk_share=("loyalty_tier", lambda s: float((s == "high_risk").mean())),
    )
    return out.sort_values("mean_score", ascending=False).reset_index()
