"""Section 3 of the report summary: segment profiles (tier, industry, size), the RFM segments, value deciles and
profit contribution.

- **value deciles**: customers sorted by ``expected_value`` (highest first, ties by customer id) and cut into ten
  groups of equal size (``numpy.array_split``: the first groups take one extra customer when the count is not a
  multiple of ten); decile 1 is the most valuable.
- **profit contribution**: ``margin_total`` (margin in the look-back window); the margin rate is
  sum(margin) / sum(spend) over customers with both; the top-20% share ranks customers by margin.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from loyalist.config.models import TIERS
from loyalist.features.rfm import RFM_SEGMENTS
from loyalist.report.summarize_base import Context, note, num
from loyalist.report.text import both, fmt_int, fmt_money, fmt_num, fmt_pct, sentence, tier_adjective

__all__ = ["segments_section", "profile_rows", "value_deciles", "rfm_block", "profit_block"]


def _mode(s: pd.Series) -> tuple[str | None, float | None]:
    s = s.dropna()
    s = s[s.astype("string").str.strip() != ""]
    if not len(s):
        return None, None
    counts = s.value_counts()
    top = sorted(counts[counts == counts.max()].index.astype(str))[0]
    return top, float(counts.max() / len(s))


def profile_rows(df: pd.DataFrame, by: str) -> list[dict[str, Any]]:
    """One row per value of ``by`` (tier, industry or size): customers, share, mean score, main industry and
    size with their shares, mean tenure (months), mean and total expected value, mean churn probability,
    devoted and high-risk shares, cohort repurchase rate (n_orders >= 2 / n_orders >= 1)."""
    d = df[df[by].notna()]
    keys = [t for t in TIERS if (d[by] == t).any()] if by == "loyalty_tier" else \
        sorted(d[by].astype(str).unique(), key=lambda v: (-(d[by] == v).sum(), v))
    rows = []
    for key in keys:
        x = d[d[by] == key]
        ind, ind_share = _mode(x["industry"])
        size, size_share = _mode(x["size"])
        active = int((x["n_orders"] >= 1).sum())
        rows.append({
            "key": str(key), "customers": int(len(x)), "share": float(len(x) / len(df)),
            "mean_score": num(x["loyalty_score"].mean()), "top_industry": ind, "top_industry_share": ind_share,
            "top_size": size, "top_size_share": size_share, "mean_tenure": num(x["tenure_months"].mean()),
            "mean_expected_value": num(x["expected_value"].mean()),
            "expected_value": num(x["expected_value"].sum(min_count=1)),
            "mean_churn": num(x["churn_probability"].mean()),
            "devoted_share": float((x["loyalty_tier"] == "devoted").mean()),
            "high_risk_share": float((x["loyalty_tier"] == "high_risk").mean()),
            "repurchase_rate": float((x["n_orders"] >= 2).sum() / active) if active else None,
        })
    return rows


def value_deciles(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Ten equal-size groups by expected value (module docstring): customers, min and total expected value, its
    share and cumulative share, mean churn probability, total value at risk."""
    d = df[df["expected_value"].notna()].sort_values(["expected_value", "customer_id"], ascending=[False, True])
    if len(d) < 10:
        return []
    total = float(d["expected_value"].sum())
    rows, cum = [], 0.0
    for i, pos in enumerate(np.array_split(np.arange(len(d)), 10), start=1):
        x = d.iloc[pos]
        value = float(x["expected_value"].sum())
        cum += value
        rows.append({"decile": i, "customers": int(len(x)), "min_value": float(x["expected_value"].min()),
                     "expected_value": value, "share": value / total if total else None,
                     "cumulative_share": cum / total if total else None,
                     "mean_churn": num(x["churn_probability"].mean()),
                     "value_at_risk": num(x["value_at_risk"].sum(min_count=1))})
    return rows


def rfm_block(df: pd.DataFrame) -> dict[str, Any]:
    """Customers, spend, expected value and value at risk per named RFM segment (in RFM_SEGMENTS order), and the
    R x FM count matrix when the list carries rfm_r, rfm_f and rfm_m."""
    d = df[df["rfm_segment"].notna() & (df["rfm_segment"].astype("string").str.strip() != "")]
    if not len(d):
        return {"segments": [], "matrix": None}
    total_ev = d["expected_value"].sum(min_count=1)
    known = list(RFM_SEGMENTS)
    order = [s for s in known if (d["rfm_segment"] == s).any()] + \
        sorted(set(d["rfm_segment"].astype(str)) - set(known))
    rows = []
    for seg in order:
        x = d[d["rfm_segment"] == seg]
        ev = x["expected_value"].sum(min_count=1)
        rows.append({"segment": seg, "customers": int(len(x)), "share": float(len(x) / len(df)),
                     "monetary_total": num(x["monetary_total"].sum(min_count=1)), "expected_value": num(ev),
                     "value_share": num(ev / total_ev) if pd.notna(total_ev) and total_ev else None,
                     "value_at_risk": num(x["value_at_risk"].sum(min_count=1)),
                     "mean_churn": num(x["churn_probability"].mean())})
    matrix = None
    if {"rfm_r", "rfm_f", "rfm_m"} <= set(df.columns) and df[["rfm_r", "rfm_f", "rfm_m"]].notna().all().all():
        fm = (df["rfm_f"] + df["rfm_m"]) / 2
        tab = pd.crosstab(df["rfm_r"].astype(int), fm)
        matrix = {"r": [int(r) for r in tab.index], "fm": [float(f) for f in tab.columns],
                  "counts": tab.to_numpy().astype(int).tolist()}
    return {"segments": rows, "matrix": matrix}


def profit_block(df: pd.DataFrame) -> dict[str, Any]:
    """Profit contribution from ``margin_total`` (module docstring); a note when no margin is given."""
    m = df["margin_total"]
    if not m.notna().any():
        return {"available": False, "note": note({"zh": "利润贡献", "en": "profit contribution"},
                                                 {"zh": "数据未提供成本或毛利", "en": "no cost or margin in the data"})}
    d = df[m.notna()]
    total = float(d["margin_total"].sum())
    both_known = d[d["monetary_total"].notna()]
    spend = float(both_known["monetary_total"].sum())
    rate = float(both_known["margin_total"].sum() / spend) if spend else None
    ranked = d["margin_total"].sort_values(ascending=False)
    k = max(1, int(np.ceil(0.2 * len(ranked))))
    top20 = float(ranked.iloc[:k].sum() / total) if total > 0 else None
    by_tier = []
    for t in TIERS:
        x = d[d["loyalty_tier"] == t]
        if len(x):
            by_tier.append({"tier": t, "customers": int(len(x)), "margin_total": float(x["margin_total"].sum()),
                            "margin_share": float(x["margin_total"].sum() / total) if total > 0 else None})
    by_industry: list[dict[str, Any]] = []
    for ind, x in d[d["industry"].notna()].groupby("industry", observed=True):
        mt = float(x["margin_total"].sum())
        sp = float(x["monetary_total"].sum())
        by_industry.append({"industry": str(ind), "customers": int(len(x)), "margin_total": mt,
                            "margin_rate": mt / sp if sp else None,
                            "margin_share": mt / total if total > 0 else None})
    by_industry.sort(key=lambda r: -r["margin_total"])
    negative = int((d["margin_total"] < 0).sum())
    return {"available": True, "total": total, "rate": rate, "top20_share": top20, "negative": negative,
            "by_tier": by_tier, "by_industry": by_industry,
            "sentence": sentence("profit", margin=fmt_money(total), rate=fmt_pct(rate), top20=fmt_pct(top20),
                                 negative=fmt_int(negative))}


def segments_section(ctx: Context) -> dict[str, Any]:
    """Section 3: ``by_tier``, ``by_industry``, ``by_size`` (see :func:`profile_rows`), ``rfm``, ``deciles``,
    ``profit`` and ``sentences``."""
    df = ctx.scores
    by_tier = profile_rows(df, "loyalty_tier")
    sentences = []
    for r in by_tier:
        if r["top_industry"] is None:
            continue
        sentences.append(sentence(
            "tier_profile", tier=tier_adjective(r["key"]), industry=both("industry", r["top_industry"]),
            industry_share=fmt_pct(r["top_industry_share"]), tenure=fmt_num(r["mean_tenure"], 0),
            score=fmt_num(r["mean_score"])))
    rfm = rfm_block(df)
    if rfm["segments"]:
        biggest = max(rfm["segments"], key=lambda r: (r["customers"], r["segment"]))
        valued = [r for r in rfm["segments"] if r["value_share"] is not None]
        top_value = max(valued, key=lambda r: r["value_share"]) if valued else None
        if top_value is not None:
            sentences.append(sentence(
                "rfm_summary", segment=both("rfm", biggest["segment"]), customers=fmt_int(biggest["customers"]),
                share=fmt_pct(biggest["share"]), value_segment=both("rfm", top_value["segment"]),
                value_share=fmt_pct(top_value["value_share"])))
    deciles = value_deciles(df)
    notes = []
    if deciles:
        sentences.append(sentence("deciles", top1=fmt_pct(deciles[0]["cumulative_share"]),
                                  top2=fmt_pct(deciles[1]["cumulative_share"])))
    else:
        notes.append(note({"zh": "价值十分位", "en": "value deciles"},
                          {"zh": "预期价值不足 10 位客户", "en": "fewer than 10 customers with an expected value"}))
    profit = profit_block(df)
    if profit.get("sentence"):
        sentences.append(profit["sentence"])
    else:
        notes.append(profit["note"])
    return {"by_tier": by_tier, "by_industry": profile_rows(df, "industry"), "by_size": profile_rows(df, "size"),
            "rfm": rfm, "deciles": deciles, "profit": profit, "sentences": sentences, "notes": notes}
