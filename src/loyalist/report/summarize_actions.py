"""Section 5 of the report summary: the tier-strategy table, the action plan and cross-sell recommendations.

- **strategy per tier** (source table 3): observed share, the source's typical traits, and the tier's general
  rule of the action table (the first rule for the tier without a driver group; else the tier's first rule;
  else the first ``any`` rule without a driver group).
- **action plan** (source table 4): the top ``options.top_n`` customers in the list's own order (``rank_by`` of
  its summary: by expected saved value net of cost when ``scoring_job.rank_by: expected_saved_value`` ranked it,
  else by value at risk; :func:`plan_order`), and one line per tier group. The action is the first rule of the
  action table matching (tier, top driver group, risk band), as in the scoring job, so a diagnosed problem decides
  it and the tier is the fallback; a tier group is matched with its most common risk band; the problem is the
  customer's first reason (``reason_1``), else the label of the driver group; the deadline is as-of + the rule's
  ``deadline_days``. For a tier group the problem is its leading driver group.
- **survival calibration**: when the list summary carries the churn model's training check
  (``survival_calibration``), the predicted vs observed share of customers still buying per month of its
  evaluation window (drawn by the report).
- **cross-sell**: devoted and stable customers whose ``next_products`` is not empty.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import pandas as pd

from loyalist.config.models import TIERS, ActionRule
from loyalist.report.summarize_base import Context, note, num, split_reason, top_by_value
from loyalist.report.summarize_diagnosis import driver_shares
from loyalist.report.text import both, fmt_int, fmt_num, sentence
from loyalist.scoring.text import TIER_TRAITS, TIER_TYPICAL_TRAITS

__all__ = ["match_action", "tier_strategy", "recommendations_section", "crosssell_block", "survival_by_tier",
           "plan_order", "RANKINGS"]

#: Horizons (days) of the list's ``p_active_<h>d`` columns drawn per tier.
SURVIVAL_DAYS: tuple[int, ...] = (30, 90, 180)

#: How the action plan picked its customers -> the words for it (``{ranking}`` of the action_intro sentence).
RANKINGS: dict[str, dict[str, str]] = {
    "expected_saved_value": {"zh": "按扣除成本后的预期挽回价值（uplift × 留住时的价值 − 措施成本，即名单本身的排序）",
                             "en": "by expected saved value net of cost (uplift × value if kept − the action's "
                                   "cost, the list's own order)"},
    "value_at_risk": {"zh": "按风险价值", "en": "by value at risk"},
    "churn_probability": {"zh": "按流失概率（风险价值不可用）", "en": "by churn probability (value at risk is unavailable)"},
    "loyalty_score": {"zh": "按忠诚度得分从低到高（风险价值与流失概率不可用）",
                      "en": "by the lowest loyalty score (value at risk and churn probability are unavailable)"},
}


def match_action(actions: Sequence[ActionRule], tier: Any, driver_group: Any, band: Any = None) -> ActionRule | None:
    """The first rule whose tier is ``tier`` (or ``any``), whose driver group is empty or ``driver_group`` and whose
    risk bands are unset or hold ``band`` (as :func:`loyalist.batch.risk_list.assign_actions`)."""
    group, tier, band = _text(driver_group), _text(tier), _text(band)
    for rule in actions:
        if rule.tier not in (tier, "any"):
            continue
        if rule.risk_bands is not None and band not in rule.risk_bands:
            continue
        if rule.driver_group is None or rule.driver_group == group:
            return rule
    return None


def tier_strategy(actions: Sequence[ActionRule], tier: str) -> ActionRule | None:
    """The tier's general rule (module docstring)."""
    for candidates in (
        [r for r in actions if r.tier == tier and r.driver_group is None],
        [r for r in actions if r.tier == tier],
        [r for r in actions if r.tier == "any" and r.driver_group is None],
    ):
        if candidates:
            return candidates[0]
    return None


def survival_by_tier(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Per tier present (in :data:`TIERS` order): customers, ``points`` [{days, share}] = mean ``p_active_<h>d``,
    and ``median_days_to_churn`` (median ``expected_days_to_churn``); empty when the list has no such values."""
    cols = [f"p_active_{d}d" for d in SURVIVAL_DAYS]
    if not all(c in df.columns for c in [*cols, "expected_days_to_churn"]):
        return []
    rows = []
    for t in TIERS:
        part = df[df["loyalty_tier"] == t]
        values = part[cols].astype("float64")
        if part.empty or values.isna().all().all():
            continue
        points = [{"days": d, "share": num(values[c].mean())} for d, c in zip(SURVIVAL_DAYS, cols, strict=True)]
        days = part["expected_days_to_churn"].astype("float64").dropna()
        rows.append({"tier": t, "customers": int(len(part)), "points": points,
                     "median_days_to_churn": num(days.median()) if len(days) else None})
    return rows


def _rule_fields(rule: ActionRule | None, as_of: pd.Timestamp, churn_days: float | None = None) -> dict[str, Any]:
    """The rule's texts and deadline: as-of + the rule's days, or + the tier's median time to churn
    (``churn_days``, at least 1 day) when that is sooner; ``deadline_basis`` says which."""
    if rule is None:
        return {"action": None, "department": None, "deadline": None, "expected_effect": None, "rule_tier": None,
                "rule_driver_group": None, "deadline_basis": None, "deadline_soon": False}
    days = int(rule.deadline_days)
    basis = {"zh": f"行动表：{days} 天", "en": f"action table: {days} days"}
    soon = churn_days is not None and pd.notna(churn_days) and churn_days < days
    if soon:
        days = max(1, int(churn_days))  # type: ignore[arg-type]  # checked not None just above
        basis = {"zh": f"早于该等级流失中位时间（{days} 天）", "en": f"before the tier's median time to churn ({days} days)"}
    return {
        "deadline_soon": bool(soon),
        "action": {"zh": rule.action_zh, "en": rule.action_en},
        "department": {"zh": rule.department_zh, "en": rule.department_en},
        "deadline": str((as_of + pd.Timedelta(days=days)).date()),
        "deadline_basis": basis,
        "expected_effect": {"zh": rule.expected_effect_zh or "—", "en": rule.expected_effect_en or "—"},
        "rule_tier": rule.tier, "rule_driver_group": rule.driver_group,
    }


#: The action shown for a control-group customer (held out of the plan: no action; issue 16).
_CONTROL_ACTION = {"zh": "对照组：不采取行动（用于衡量效果）", "en": "Control group: no action (to measure the effect)"}


def _is_control(x: Any) -> bool:
    """True for a customer the list marks as held out (``control_group`` True / 1); absent or NaN: False."""
    return x is not None and not pd.isna(x) and bool(x)


def _text(x: Any) -> str | None:
    return None if x is None or pd.isna(x) or str(x).strip() == "" else str(x)


def crosssell_block(df: pd.DataFrame, top_n: int) -> dict[str, Any]:
    """Cross-sell for devoted and stable customers: how many have recommendations, the most recommended
    products (customers per product, top 5) and the ``top_n`` most valuable such customers."""
    d = df[df["loyalty_tier"].isin(["devoted", "stable"])]
    has = d["next_products"].notna() & (d["next_products"].astype("string").str.strip() != "")
    d = d[has]
    if not len(d):
        return {"customers": 0, "products": [], "rows": [], "note": note(
            {"zh": "交叉销售推荐", "en": "cross-sell recommendations"},
            {"zh": "名单中铁杆及稳定客户没有 next_products", "en": "no next_products for devoted or stable customers"})}
    lists = d["next_products"].astype(str).map(lambda s: [p.strip() for p in s.split(";") if p.strip()])
    counts = Counter(p for items in lists for p in dict.fromkeys(items))
    ranked_products = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    products = [{"product": p, "customers": int(n)} for p, n in ranked_products]
    ranked = d.assign(products_=lists).sort_values(["expected_value", "customer_id"], ascending=[False, True],
                                                na_position="last").head(top_n)
    rows = [{"customer_id": str(r.customer_id), "name": _text(r.name), "tier": str(r.loyalty_tier),
             "expected_value": num(r.expected_value), "next_products": list(r.products_)}
            for r in ranked.itertuples(index=False)]
    text = {lang: ("、" if lang == "zh" else ", ").join(
        f"{p['product']}（{p['customers']}）" if lang == "zh" else f"{p['product']} ({p['customers']})"
        for p in products[:3]) for lang in ("zh", "en")}
    return {"customers": int(len(d)), "products": products, "rows": rows,
            "sentence": sentence("crosssell", n=fmt_int(len(d)), products=text)}


def plan_order(df: pd.DataFrame, list_summary: Any, n: int) -> tuple[pd.DataFrame, str, dict[str, str] | None]:
    """The action plan's ``n`` customers in the list's order, the ranking used (a key of :data:`RANKINGS`) and a
    note when the list says it is ranked by expected saved value but has no such figures.

    The list's order is its summary's ``rank_by`` (written by 'loyalist score'); ``expected_saved_value`` sorts by
    that column (descending, ties by customer id, as :func:`loyalist.batch.risk_list.add_uplift`); anything else
    is :func:`top_by_value` (value at risk, else churn probability, else the lowest loyalty score)."""
    wanted = str((list_summary or {}).get("rank_by") or "value_at_risk")
    missing = None
    if wanted == "expected_saved_value":
        saved = pd.to_numeric(df["expected_saved_value"], errors="coerce") if "expected_saved_value" in df else None
        if saved is not None and saved.notna().any():
            top = df.assign(expected_saved_value=saved).sort_values(
                ["expected_saved_value", "customer_id"], ascending=[False, True], na_position="last", kind="mergesort")
            return top.head(n), "expected_saved_value", None
        missing = note({"zh": "按预期挽回价值排序的行动计划", "en": "the action plan by expected saved value"},
                       {"zh": "名单摘要写明按 expected_saved_value 排序，但名单中没有该列的数值；改按风险价值排序",
                        "en": "the list summary says the list is ranked by expected_saved_value but the list has no "
                              "such figures; the plan uses value at risk"})
    used = ("value_at_risk" if df["value_at_risk"].notna().any() else
            "churn_probability" if df["churn_probability"].notna().any() else "loyalty_score")
    return top_by_value(df, n), used, missing


def observed_traits(tier: pd.DataFrame, code: str) -> dict[str, str]:
    """A tier's typical traits as this data shows them: the medians of the days since the last order, orders a
    year, tenure, monthly repurchase rate and (where surveyed) NPS of its customers, in both languages.

    The source's table 3 gives example traits ("no purchase for 3 months", "tenure > 2 years"); printed beside a
    60-day guard and one year of data (Online Retail II) they read as facts about these customers and were wrong.
    A tier without customers keeps the example, marked as such."""
    template = TIER_TYPICAL_TRAITS[code]
    if not len(tier):
        return {"zh": f"本期无客户（范本示例：{template['zh']}）",
                "en": f"no customers this period (the template's example: {template['en']})"}
    zh, en = [], []

    def median(column: str) -> float | None:
        if column not in tier.columns:
            return None
        values = pd.to_numeric(tier[column], errors="coerce").dropna()
        return float(values.median()) if len(values) else None

    days = median("recency_days")
    if days is not None:
        zh.append(f"最近一次消费在 {fmt_int(days)} 天前")
        en.append(f"last order {fmt_int(days)} days ago")
    freq = median("purchase_frequency")
    if freq is not None:
        zh.append(f"每年消费 {fmt_num(freq, 1)} 次")
        en.append(f"{fmt_num(freq, 1)} orders a year")
    months = median("tenure_months")
    if months is not None:
        zh.append(f"合作 {fmt_int(months)} 个月")
        en.append(f"tenure {fmt_int(months)} months")
    repurchase = median("repurchase_rate")
    if repurchase is not None:
        zh.append(f"月度复购率 {repurchase:.0%}")
        en.append(f"monthly repurchase rate {repurchase:.0%}")
    nps = median("nps")
    if nps is not None:
        zh.append(f"NPS {fmt_int(nps)}")
        en.append(f"NPS {fmt_int(nps)}")
    if not en:
        return {"zh": f"范本示例：{template['zh']}", "en": f"the template's example: {template['en']}"}
    n = len(tier)
    return {"zh": f"{fmt_int(n)} 位客户的中位数：" + "，".join(zh),
            "en": f"median of {fmt_int(n)} customers: " + ", ".join(en)}


def recommendations_section(ctx: Context) -> dict[str, Any]:
    """Section 5: ``strategy`` (one row per tier), ``plan_customers``, ``plan_tiers``, ``crosssell``,
    ``sentences``."""
    df, as_of, actions = ctx.scores, ctx.as_of, ctx.actions
    strategy = []
    for t in TIERS:
        mask = df["loyalty_tier"] == t
        rule = tier_strategy(actions, t)
        strategy.append({"tier": t, "customers": int(mask.sum()), "share": float(mask.mean()),
                         "typical_traits": observed_traits(df.loc[mask], t), "template_traits": dict(TIER_TYPICAL_TRAITS[t]),
                         "traits": dict(TIER_TRAITS[t]), **_rule_fields(rule, as_of)})

    survival = survival_by_tier(df)
    churn_days = {row["tier"]: row["median_days_to_churn"] for row in survival}
    plan_customers = []
    top, ranking, ranking_note = plan_order(df, ctx.summary, ctx.options.top_n)
    for r in top.itertuples(index=False):
        control = _is_control(getattr(r, "control_group", None))
        rule = None if control else match_action(actions, r.loyalty_tier, r.top_driver_group, r.risk_band)
        problem = split_reason(r.reason_1)
        if problem is None and _text(r.top_driver_group):
            problem = both("driver_group", r.top_driver_group)
        if problem is None and _text(r.loyalty_tier):
            problem = dict(TIER_TRAITS.get(str(r.loyalty_tier), {"zh": "—", "en": "—"}))
        plan_customers.append({
            "customer_id": str(r.customer_id), "name": _text(r.name), "tier": _text(r.loyalty_tier),
            "driver_group": _text(r.top_driver_group), "problem": problem,
            "value_at_risk": num(r.value_at_risk), "churn_probability": num(r.churn_probability),
            "expected_saved_value": num(getattr(r, "expected_saved_value", None)),
            "uplift": num(getattr(r, "uplift", None)),
            **_rule_fields(rule, as_of, churn_days.get(str(r.loyalty_tier))),
            **({"action": dict(_CONTROL_ACTION)} if control else {}), "control_group": control,
        })

    leads = {row["tier"]: row for row in driver_shares(df)}
    plan_tiers = []
    for t in ("high_risk", "at_risk", "stable", "devoted"):
        mask = df["loyalty_tier"] == t
        if not mask.any():
            continue
        lead = leads.get(t)
        group = lead["leading_group"] if lead else None
        bands = df.loc[mask, "risk_band"].dropna()
        band = bands.astype("string").mode().iloc[0] if len(bands) else None
        rule = match_action(actions, t, group, band)
        if lead:
            problem = {lang: f"{both('driver_group', group)[lang]}（{lead['leading_share']:.0%}）" if lang == "zh"
                       else f"{both('driver_group', group)[lang]} ({lead['leading_share']:.0%})"
                       for lang in ("zh", "en")}
        else:
            problem = dict(TIER_TRAITS[t])
        plan_tiers.append({"tier": t, "customers": int(mask.sum()), "driver_group": group, "problem": problem,
                           "value_at_risk": num(df.loc[mask, "value_at_risk"].sum(min_count=1)),
                           "expected_saved_value": num(pd.to_numeric(df.loc[mask, "expected_saved_value"],
                                                                     errors="coerce").sum(min_count=1))
                           if "expected_saved_value" in df else None,
                           **_rule_fields(rule, as_of, churn_days.get(t))})

    cross = crosssell_block(df, ctx.options.top_n)
    sentences = [sentence("strategy_intro"), sentence("action_intro", n=len(plan_customers), ranking=RANKINGS[ranking])]
    if survival:
        sentences.append(sentence("survival_intro"))
    notes = [ranking_note] if ranking_note else []
    if cross.get("sentence"):
        sentences.append(cross["sentence"])
    else:
        notes.append(cross["note"])
    calibration = ctx.summary.get("survival_calibration")
    share = None
    if isinstance(calibration, dict) and calibration.get("rows"):
        share = {"cutoff": calibration.get("cutoff"), "window_end": calibration.get("window_end"),
                 "mae": num(calibration.get("mae")),
                 "mae_anchored": num(calibration.get("mae_anchored")),
                 "rows": [{k: num(r.get(k)) for k in ("period", "predicted_share", "predicted_anchored_share",
                                                      "observed_share")}
                          for r in calibration["rows"]]}
        sentences.append(sentence(
            "survival_calibration", cutoff=share["cutoff"], window_end=share["window_end"],
            mae=fmt_num(100 * share["mae"]) if share["mae"] is not None else "—",
            mae_anchored=fmt_num(100 * share["mae_anchored"]) if share["mae_anchored"] is not None else "—"))
    return {"strategy": strategy, "plan_customers": plan_customers, "plan_tiers": plan_tiers, "crosssell": cross,
            "survival": survival, "survival_calibration": share, "plan_ranking": ranking, "sentences": sentences,
            "notes": notes}
