"""Section 4 of the report summary: what drives churn, and the customers a score alone would misjudge.

- **drivers overall and per tier**: the list summary's ``global_drivers`` and ``drivers_by_tier`` (SHAP, mean
  |contribution| over the explained sample), as given.
- **top-driver shares per tier**: from the list itself, among customers of a tier with a ``top_driver_group``,
  the share per group; the leading group makes the sentence ("60% of at-risk customers: slow after-sales
  response is the top driver").
- **diagnosis sentences**: every bilingual sentence found in the list summary's ``diagnosis`` (dicts ``{"zh",
  "en"}`` under a key containing ``sentence`` or ``text``, or pairs ``sentence_zh`` / ``sentence_en``).
- **"not a score-only judgement"** (the source's caution): NPS >= ``nps_high`` with a purchase frequency below
  ``low_frequency`` orders per year, or in the bottom quintile (<= the 20th percentile of the listed customers'
  frequency).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from loyalist.config.models import TIERS
from loyalist.report.summarize_base import Context, note, num, top_by_value
from loyalist.report.text import both, fmt_int, fmt_num, fmt_pct, sentence, tier_adjective
from loyalist.scoring.text import INDICATOR_LABELS

__all__ = ["diagnosis_section", "driver_shares", "flag_single_project", "diagnosis_sentences"]


def _feature_label(feature: str, row: Mapping[str, Any] | None = None) -> dict[str, str]:
    if row and row.get("label_zh") and row.get("label_en"):
        return {"zh": str(row["label_zh"]), "en": str(row["label_en"])}
    entry = INDICATOR_LABELS.get(feature)
    return dict(entry) if entry else {"zh": feature, "en": feature}


def _drivers(summary: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    rows: list[dict[str, Any]] = []
    labels: dict[str, dict[str, str]] = {}
    for r in summary.get("global_drivers") or []:
        if not isinstance(r, Mapping) or "feature" not in r:
            continue
        f = str(r["feature"])
        labels[f] = _feature_label(f, r)
        rows.append({"feature": f, "group": r.get("group"), "mean_abs_shap": num(r.get("mean_abs_shap")),
                     "mean_shap": num(r.get("mean_shap")), "label": labels[f]})
    rows.sort(key=lambda r: -(r["mean_abs_shap"] or 0))
    by_tier: dict[str, list[dict[str, Any]]] = {}
    for tier, items in (summary.get("drivers_by_tier") or {}).items():
        tier_rows: list[dict[str, Any]] = [{"feature": str(i["feature"]), "mean_abs_shap": num(i.get("mean_abs_shap")),
                      "label": labels.get(str(i["feature"])) or _feature_label(str(i["feature"]), i)}
                     for i in items or [] if isinstance(i, Mapping) and "feature" in i]
        tier_rows.sort(key=lambda r: -(r["mean_abs_shap"] or 0))
        by_tier[str(tier)] = tier_rows[:5]
    return rows[:10], by_tier


def diagnosis_sentences(diagnosis: Any) -> list[dict[str, str]]:
    """Bilingual sentences found anywhere in the list summary's ``diagnosis`` (module docstring), in order."""
    found: list[dict[str, str]] = []

    def walk(obj: Any, key: str) -> None:
        if isinstance(obj, Mapping):
            zh, en = obj.get("zh"), obj.get("en")
            if isinstance(zh, str) and isinstance(en, str) and ("sentence" in key or "text" in key):
                found.append({"zh": zh, "en": en})
                return
            if isinstance(obj.get("sentence_zh"), str) and isinstance(obj.get("sentence_en"), str):
                found.append({"zh": obj["sentence_zh"], "en": obj["sentence_en"]})
            for k, v in obj.items():
                walk(v, str(k).lower())
        elif isinstance(obj, list):
            for v in obj:
                walk(v, key)

    walk(diagnosis, "")
    unique = []
    for s in found:
        if s not in unique:
            unique.append(s)
    return unique


def driver_shares(df: pd.DataFrame, tiers: tuple[str, ...] = TIERS) -> list[dict[str, Any]]:
    """Per tier (and ``at_risk+high_risk`` combined): customers with a top driver, the share per driver group,
    and the leading group (ties broken by group name)."""
    has = df["top_driver_group"].notna() & (df["top_driver_group"].astype("string").str.strip() != "")
    d = df[has]
    out = []
    for tier in [*tiers, "at_risk+high_risk"]:
        members = ["at_risk", "high_risk"] if tier == "at_risk+high_risk" else [tier]
        x = d[d["loyalty_tier"].isin(members)]
        if not len(x):
            continue
        counts = x["top_driver_group"].astype(str).value_counts()
        shares = {g: float(c / len(x)) for g, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}
        lead = next(iter(shares))
        out.append({"tier": tier, "customers": int(len(x)), "shares": shares, "leading_group": lead,
                    "leading_share": shares[lead], "leading_customers": int(counts[lead])})
    return out


def flag_single_project(df: pd.DataFrame, nps_high: float, low_frequency: float) -> pd.DataFrame:
    """Customers with NPS >= ``nps_high`` and a frequency < ``low_frequency`` or <= the 20th percentile."""
    freq = df["purchase_frequency"]
    if not freq.notna().any() or not df["nps"].notna().any():
        return df.iloc[0:0]
    q20 = float(freq.quantile(0.2))
    low = (freq < low_frequency) | (freq <= q20)
    return df[(df["nps"] >= nps_high) & low.fillna(False)]


def diagnosis_section(ctx: Context) -> dict[str, Any]:
    """Section 4: ``global_drivers``, ``drivers_by_tier``, ``driver_shares``, ``summary_sentences``, ``flagged``
    ({count, customers: [...]}) and ``sentences``."""
    df = ctx.scores
    drivers, by_tier = _drivers(ctx.summary)
    sentences, notes = [], []
    if drivers:
        top = drivers[:3]
        sentences.append(sentence("global_driver", drivers={
            lang: ("、" if lang == "zh" else ", ").join(d["label"][lang] for d in top) for lang in ("zh", "en")}))
    else:
        notes.append(note({"zh": "SHAP 整体驱动因素", "en": "SHAP drivers"},
                          {"zh": "名单摘要中没有 global_drivers", "en": "no global_drivers in the list summary"}))
    shares = driver_shares(df)
    for row in shares:
        if row["tier"] in ("at_risk", "high_risk", "at_risk+high_risk"):
            tier_text = tier_adjective(row["tier"]) if row["tier"] != "at_risk+high_risk" else \
                {"zh": "潜在流失及高风险", "en": "at-risk and high-risk"}
            sentences.append(sentence("tier_driver", share=fmt_pct(row["leading_share"], 0), tier=tier_text,
                                      group=both("driver_group", row["leading_group"]),
                                      customers=fmt_int(row["leading_customers"])))
    if not shares:
        notes.append(note({"zh": "客户级驱动因素", "en": "per-customer drivers"},
                          {"zh": "名单中没有 top_driver_group", "en": "no top_driver_group in the list"}))
    extracted = diagnosis_sentences(ctx.summary.get("diagnosis"))

    o = ctx.options
    flagged = flag_single_project(df, o.nps_high, o.low_frequency)
    listed = top_by_value(flagged, o.max_flagged)
    flagged_rows = [
        {"customer_id": str(r.customer_id), "name": None if pd.isna(r.name) else str(r.name),
         "industry": None if pd.isna(r.industry) else str(r.industry), "tier": None if pd.isna(r.loyalty_tier)
         else str(r.loyalty_tier), "loyalty_score": num(r.loyalty_score), "nps": num(r.nps),
         "purchase_frequency": num(r.purchase_frequency), "n_orders": num(r.n_orders),
         "value_at_risk": num(r.value_at_risk)}
        for r in listed.itertuples(index=False)
    ]
    if df["nps"].notna().any() and df["purchase_frequency"].notna().any():
        sentences.append(sentence("nps_caution", n=fmt_int(len(flagged)), nps_high=fmt_num(o.nps_high, 0),
                                  low_freq=fmt_num(o.low_frequency, 0)))
    else:
        notes.append(note({"zh": "高NPS低频客户识别", "en": "high-NPS, low-frequency check"},
                          {"zh": "名单缺少 NPS 或消费频次", "en": "the list lacks NPS or frequency"}))
    return {"global_drivers": drivers, "drivers_by_tier": by_tier, "driver_shares": shares,
            "summary_sentences": extracted,
            "flagged": {"count": int(len(flagged)), "nps_high": o.nps_high, "low_frequency": o.low_frequency,
                        "frequency_q20": num(df["purchase_frequency"].quantile(0.2))
                        if df["purchase_frequency"].notna().any() else None,
                        "customers": flagged_rows},
            "sentences": sentences, "notes": notes, "group_labels": {
                g: both("driver_group", g) for g in sorted({g for r in shares for g in r["shares"]})}}
