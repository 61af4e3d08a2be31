"""Sections 1 (overview: scope and sources) and 2 (loyalty status) of the report summary.

Definitions used here:

- **cohort repurchase rate** (复购率, the source's 周期内复购客户数 / 总客户数): customers with at least two
  completed orders in the look-back window / customers with at least one. From the clean orders when ``--clean``
  is given (status ``completed``, or every order when there is no status column; window (as_of - look-back,
  as_of]); otherwise from the list's ``n_orders`` (completed orders in the window). Groups (industry, size,
  region) use the list.
- **complaint rate per service stage** (投诉率最高服务环节, the source's 投诉客户数 / 总客户数): from clean tickets,
  customers with a complaint ticket at that stage created in the window / customers with an order in the window;
  from the list, customers whose ``top_complaint_stage`` is that stage (each customer counted once, at their
  main stage) / listed customers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from loyalist.catalogue import label
from loyalist.config.models import TIERS
from loyalist.report.summarize_base import Context, note, num
from loyalist.report.summarize_tiers import guards_block
from loyalist.report.text import both, code_label, fmt_int, fmt_num, fmt_pct, fmt_pp, sentence
from loyalist.report.tracking import compare_periods, score_trend

__all__ = ["scope_block", "sources_block", "status_section", "repurchase_block", "complaint_stage_block",
           "top_repurchase_groups"]

HIST_EDGES: tuple[int, ...] = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100)


def _values(df: pd.DataFrame, column: str) -> list[str]:
    s = df[column].dropna()
    s = s[s.astype("string").str.strip() != ""]
    return [str(v) for v in s.value_counts().index]


def scope_block(ctx: Context) -> dict[str, Any]:
    """Customers, industries, sizes, regions and the data period (section 1)."""
    df = ctx.scores
    industries = _values(df, "industry")
    start = (ctx.window_start + pd.Timedelta(days=1)).date()  # the first whole day of the window
    names = {lang: ("、" if lang == "zh" else ", ").join(code_label("industry", i, lang) for i in industries[:8])
             + (" …" if len(industries) > 8 else "") for lang in ("zh", "en")}
    if not industries:
        names = {"zh": "行业未知", "en": "industry unknown"}
    block = {
        "customers": int(len(df)), "industries": industries, "sizes": _values(df, "size"),
        "regions": _values(df, "region"), "as_of": str(ctx.as_of.date()), "start": str(start),
        "end": str(ctx.as_of.date()), "lookback_days": ctx.lookback_days,
    }
    scope = sentence(
        "scope" if industries else "scope_no_industry", customers=fmt_int(len(df)), n_industries=len(industries),
        industries=names, start=str(start),
        end=str(ctx.as_of.date()), lookback_days=ctx.lookback_days, as_of=str(ctx.as_of.date()),
    )
    lapsed = lapsed_customers(ctx)
    if lapsed:
        block["lapsed_customers"] = lapsed
        extra = sentence("scope_lapsed", n=fmt_int(lapsed))
        scope = {lang: scope[lang] + ("" if lang == "zh" else " ") + extra[lang] for lang in scope}
    block["sentence"] = scope
    return block


def lapsed_customers(ctx: Context) -> int | None:
    """Customers of the clean orders with a completed order up to the as-of day but none in the look-back window:
    the list leaves them out. None without the clean orders, or when the list's ids are not the clean tables' ids
    (pseudonymised lists)."""
    orders = ctx.clean.tables.get("orders") if ctx.clean is not None else None
    if orders is None or not {"customer_id", "order_date", "status"} <= set(orders.columns):
        return None
    end = ctx.as_of.normalize() + pd.Timedelta(days=1)
    dates = pd.to_datetime(orders["order_date"], errors="coerce")
    done = orders.loc[(orders["status"].astype("string") == "completed").to_numpy(bool) & (dates < end).to_numpy(bool),
                      "customer_id"].astype("string")
    before = set(done.dropna().unique())
    listed = set(ctx.scores["customer_id"].astype("string").dropna())
    if not listed or len(listed & before) < 0.5 * len(listed):
        return None
    return len(before - listed)


def sources_block(ctx: Context) -> dict[str, Any]:
    """Data sources and their row counts: the clean tables' summary.csv, else the list summary's input
    fingerprints; the scored list itself always."""
    rows: list[dict[str, Any]] = []
    if ctx.clean is not None and ctx.clean.rows is not None:
        for r in ctx.clean.rows.itertuples(index=False):
            rows.append({"table": str(r.table), "rows": int(r.rows_kept), "rows_in": int(r.rows_in),
                         "rows_rejected": int(r.rows_rejected), "source": "clean"})
    elif ctx.clean is not None and ctx.clean.tables:
        for name, t in ctx.clean.tables.items():
            rows.append({"table": name, "rows": int(len(t)), "source": "clean"})
    else:
        for name, fp in (ctx.summary.get("inputs") or {}).items():
            if isinstance(fp, dict) and fp.get("rows") is not None:
                rows.append({"table": str(name), "rows": int(fp["rows"]), "customers": fp.get("customers"),
                             "source": "list summary"})
    rows.append({"table": "scored_list", "rows": int(len(ctx.scores)), "source": "scored list"})
    parts = {lang: ("；" if lang == "zh" else "; ").join(
        f"{code_label('table', r['table'], lang)} {fmt_int(r['rows'])}" + (" 行" if lang == "zh" else " rows")
        for r in rows) for lang in ("zh", "en")}
    return {"tables": rows, "sentence": sentence("sources", sources=parts)}


def _histogram(scores: pd.Series) -> dict[str, Any]:
    s = scores.dropna().clip(0, 100)
    counts, _ = np.histogram(s.to_numpy(), bins=np.array(HIST_EDGES, dtype=float))
    bins = [{"from": lo, "to": hi, "customers": int(c)} for lo, hi, c in zip(HIST_EDGES[:-1], HIST_EDGES[1:], counts, strict=False)]
    return {"bins": bins, "unscored": int(scores.isna().sum())}


def repurchase_block(ctx: Context) -> dict[str, Any]:
    """The cohort repurchase rate (module docstring), from clean orders when given, else from the list."""
    orders = ctx.clean.tables.get("orders") if ctx.clean is not None else None
    if orders is not None and len(orders):
        o = orders
        if "status" in o.columns:
            o = o[o["status"].astype("string").str.lower() == "completed"]
        in_window = (o["order_date"] > ctx.window_start) & (o["order_date"] <= ctx.window_end)
        per = o.loc[in_window].groupby("customer_id").size()
        active, repeat, source = int((per >= 1).sum()), int((per >= 2).sum()), "clean"
    else:
        n = ctx.scores["n_orders"]
        if n.isna().all():
            return {"rate": None, "note": note(both("indicator", "repurchase_rate"),
                                               {"zh": "名单无订单数且未提供清洗数据", "en": "no n_orders and no clean data"})}
        active, repeat, source = int((n >= 1).sum()), int((n >= 2).sum()), "list"
    rate = repeat / active if active else None
    out: dict[str, Any] = {"rate": rate, "repeat": repeat, "active": active, "source": source}
    out["sentence"] = sentence("finding_repurchase", rate=fmt_pct(rate), repeat=fmt_int(repeat),
                               active=fmt_int(active))
    return out


def top_repurchase_groups(ctx: Context, k: int = 3) -> list[dict[str, Any]]:
    """The ``k`` customer groups (industry / size / region value) with the highest repurchase rate, from the
    list: customers with n_orders >= 2 / customers with n_orders >= 1, groups of at least
    ``options.min_group_customers`` active customers (relaxed to 1 when fewer than ``k`` qualify)."""
    df = ctx.scores
    if df["n_orders"].isna().all():
        return []
    rows: list[dict[str, Any]] = []
    for dim in ("industry", "size", "region"):
        d = df[df[dim].notna() & (df[dim].astype("string").str.strip() != "")]
        if not len(d):
            continue
        g = d.assign(active=(d["n_orders"] >= 1).astype(int), repeat=(d["n_orders"] >= 2).astype(int))
        agg = g.groupby(dim, observed=True)[["active", "repeat"]].sum()
        for value, r in agg.iterrows():
            if r["active"] > 0:
                rows.append({"dimension": dim, "group": str(value), "active": int(r["active"]),
                             "repeat": int(r["repeat"]), "rate": float(r["repeat"] / r["active"])})
    big = [r for r in rows if r["active"] >= ctx.options.min_group_customers]
    pool = big if len(big) >= k else rows
    pool.sort(key=lambda r: (-r["rate"], -r["active"], r["dimension"], r["group"]))
    return pool[:k]


def complaint_stage_block(ctx: Context) -> dict[str, Any]:
    """Complaint rate per service stage and the stage with the highest rate (module docstring)."""
    tickets = ctx.clean.tables.get("tickets") if ctx.clean is not None else None
    orders = ctx.clean.tables.get("orders") if ctx.clean is not None else None
    stages: list[dict[str, Any]] = []
    if tickets is not None and len(tickets) and "stage" in tickets.columns and "kind" in tickets.columns:
        kinds = {k.lower() for k in ctx.options.complaint_kinds}
        t = tickets[(tickets["created_at"] > ctx.window_start) & (tickets["created_at"] <= ctx.window_end)]
        t = t[t["kind"].astype("string").str.lower().isin(kinds) & t["stage"].notna()]
        if orders is not None and len(orders):
            w = (orders["order_date"] > ctx.window_start) & (orders["order_date"] <= ctx.window_end)
            base = int(orders.loc[w, "customer_id"].nunique())
        else:
            base = int(len(ctx.scores))
        agg = t.groupby("stage", observed=True).agg(customers=("customer_id", "nunique"),
                                                    complaints=("customer_id", "size"))
        for stage, r in agg.iterrows():
            stages.append({"stage": str(stage), "customers": int(r["customers"]), "complaints": int(r["complaints"]),
                           "rate": float(r["customers"] / base) if base else None})
        source = "clean"
    else:
        df = ctx.scores
        has = df["top_complaint_stage"].notna() & (df["top_complaint_stage"].astype("string").str.strip() != "")
        if df["n_complaints"].notna().any():
            has &= df["n_complaints"].fillna(0) > 0
        if not has.any():
            return {"stages": [], "top": None, "note": note(
                {"zh": "投诉率最高的服务环节", "en": "service stage with the most complaints"},
                {"zh": "无投诉环节数据", "en": "no complaint stage data"})}
        d = df[has]
        agg = d.groupby("top_complaint_stage", observed=True).agg(
            customers=("customer_id", "size"), complaints=("n_complaints", "sum"))
        for stage, r in agg.iterrows():
            stages.append({"stage": str(stage), "customers": int(r["customers"]),
                           "complaints": int(r["complaints"]) if pd.notna(r["complaints"]) else None,
                           "rate": float(r["customers"] / len(df))})
        source = "list"
    if not stages:
        return {"stages": [], "top": None, "note": note(
            {"zh": "投诉率最高的服务环节", "en": "service stage with the most complaints"},
            {"zh": "周期内无投诉工单", "en": "no complaint tickets in the period"})}
    stages.sort(key=lambda r: (-(r["rate"] or 0), -r["customers"], r["stage"]))
    top = stages[0]
    return {"stages": stages, "top": top["stage"], "source": source,
            "sentence": sentence("complaint_stage", stage=both("stage", top["stage"]),
                                 customers=fmt_int(top["customers"]), rate=fmt_pct(top["rate"]))}


def _industry_means(df: pd.DataFrame, min_customers: int) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    d = df[df["industry"].notna()]
    if not len(d):
        return [], None
    g = d.groupby("industry", observed=True)
    rows: list[dict[str, Any]] = [
        {"industry": str(ind), "customers": int(len(x)), "mean_score": num(x["loyalty_score"].mean()),
         "devoted_share": float((x["loyalty_tier"] == "devoted").mean()),
         "high_risk_share": float((x["loyalty_tier"] == "high_risk").mean())}
        for ind, x in g
    ]
    rows.sort(key=lambda r: (r["mean_score"] is None, -(r["mean_score"] or 0.0), r["industry"]))
    ranked = [r for r in rows if r["mean_score"] is not None and r["customers"] >= min_customers] or \
        [r for r in rows if r["mean_score"] is not None]
    if len(ranked) < 2:
        return rows, None
    best, worst = ranked[0], ranked[-1]
    text = sentence("industry_means", best=both("industry", best["industry"]), best_mean=fmt_num(best["mean_score"]),
                    worst=both("industry", worst["industry"]), worst_mean=fmt_num(worst["mean_score"]),
                    overall=fmt_num(df["loyalty_score"].mean()))
    return rows, text


def _part(d: Any, key: str) -> Mapping[str, Any]:
    value = d.get(key) if isinstance(d, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _percentile_indicators(ctx: Context) -> list[str]:
    """The list's indicators scaled by percentile (the wholesale preset's repurchase rate and frequency)."""
    indicators = _part(_part(_part(ctx.summary, "config"), "scoring"), "indicators")
    return [str(n) for n, ind in indicators.items()
            if isinstance(ind, Mapping) and _part(ind, "scaling").get("method") == "percentile"]


def _tier_bounds(ctx: Context) -> Mapping[str, Any]:
    """The list's tier thresholds (its summary's config), or the defaults' 90 / 75 / 60 when it has none."""
    return _part(_part(_part(ctx.summary, "config"), "scoring"), "tiers") or {"devoted": 90, "stable": 75, "at_risk": 60}


def tier_model_gap(ctx: Context, win_back: float | None = None, gap: float = 0.25) -> dict[str, str] | None:
    """A caution when the rule's high-risk tier holds at least ``gap`` more of the customers than the churn model's
    mean probability: the absolute tier thresholds do not fit the business (a wholesaler buying every few months),
    and "high risk" would read as "about to leave". None when they agree or a figure is missing."""
    df = ctx.scores
    if "churn_probability" not in df.columns or not df["churn_probability"].notna().any():
        return None
    high = float((df["loyalty_tier"] == "high_risk").mean())
    mean_p = float(df["churn_probability"].mean())
    if not high - mean_p >= gap:
        return None
    config = _part(ctx.summary, "config")
    features = _part(config, "features")
    tiers = _tier_bounds(ctx)
    wb = (sentence("tier_model_gap_win_back", win_back=fmt_pct(win_back))
          if win_back is not None and math.isfinite(win_back) else {"zh": "", "en": ""})
    # the wholesale preset fits customers who order every few weeks or months (Online Retail II: high risk 86% ->
    # 49%); suggest it unless the list was already scored with it
    hint = sentence("tier_model_gap_preset") if config.get("preset") != "wholesale" else {"zh": "", "en": ""}
    return sentence("tier_model_gap", high_share=fmt_pct(high), mean_p=fmt_pct(mean_p),
                    horizon=int(features.get("churn_horizon_days") or 90), win_back=wb, preset_hint=hint,
                    tiers={"zh": "、".join(f"{both('tier', t)['zh']} ≥ {float(v):g}" for t, v in tiers.items()),
                           "en": ", ".join(f"{both('tier', t)['en']} >= {float(v):g}" for t, v in tiers.items())})


def _previous_win_back(ctx: Context) -> float | None:
    """Share of the latest earlier list's high-risk customers with an order after its as-of date (the tracking
    section's win-back rate), or None without an earlier list."""
    if not ctx.previous:
        return None
    try:
        rate = compare_periods(ctx.previous[-1], ctx.scores)["win_back"]["rate"]
    except (KeyError, TypeError, ValueError):
        return None
    return None if rate is None else float(rate)


def status_section(ctx: Context) -> dict[str, Any]:
    """Section 2: score distribution, trend (or industry means), tier shares with change, indicator breakdown.

    Returns a dict with ``distribution`` (histogram bins 0-10, ..., 90-100 and quartiles), ``trend`` (one row per
    list, oldest first; empty without earlier lists), ``industry_means``, ``tiers`` ([{tier, customers, share,
    mean_score, previous_share, change}]), ``repurchase``, ``top_groups``, ``complaint_stage``, ``bands``
    (customers, mean churn probability and value at risk per risk band) and ``sentences``.
    """
    df = ctx.scores
    s = df["loyalty_score"]
    dist = _histogram(s)
    # the high-risk bound is the list's at-risk threshold (60 by default, 40 with the wholesale preset): "below 60"
    # under tiers at 80/60/40 would describe the at-risk tier, and the guard sentence would not reconcile
    bounds = {t: float(v) for t, v in _tier_bounds(ctx).items()}
    bound = bounds.get("at_risk", 60.0)

    def below(b: float) -> float | None:
        return num((s.dropna() < b).mean()) if s.notna().any() else None

    dist.update({"mean": num(s.mean()), "median": num(s.median()), "q1": num(s.quantile(0.25)),
                 "q3": num(s.quantile(0.75)), "below_60": below(60), "at_risk_bound": bound,
                 "tier_bounds": bounds,
                 "below_at_risk": below(bound)})
    sentences = [sentence("score_distribution", mean=fmt_num(dist["mean"]), median=fmt_num(dist["median"]),
                          q1=fmt_num(dist["q1"]), q3=fmt_num(dist["q3"]), below=fmt_pct(dist["below_at_risk"]),
                          bound=f"{bound:g}")]
    guards = guards_block(ctx, dist["below_at_risk"], bound)
    if guards.get("sentence"):
        sentences.append(guards["sentence"])
    gap = tier_model_gap(ctx, _previous_win_back(ctx))
    if gap is not None:
        sentences.append(gap)

    trend = score_trend([*ctx.previous, df]) if ctx.previous else []
    if len(trend) >= 2:
        first, last = trend[0], trend[-1]
        change = (last["mean_score"] or 0) - (first["mean_score"] or 0)
        sentences.append(sentence("score_trend", first_as_of=first["as_of"], first_mean=fmt_num(first["mean_score"]),
                                  last_as_of=last["as_of"], last_mean=fmt_num(last["mean_score"]),
                                  change=f"{change:+.1f}"))
        relative = _percentile_indicators(ctx)
        if relative:  # each list ranks these among its own customers: their part of the mean barely moves
            en = [label("indicator", n, "en") for n in relative]
            sentences.append(sentence("score_trend_percentile", indicators={
                "zh": "、".join(label("indicator", n, "zh") for n in relative),
                "en": ", ".join(en[:-1]) + " and " + en[-1] if len(en) > 1 else en[0]}))
    industries, ind_sentence = _industry_means(df, ctx.options.min_group_customers)
    if ind_sentence:
        sentences.append(ind_sentence)

    prev = ctx.previous[-1] if ctx.previous else None
    tiers = []
    for t in TIERS:
        mask = df["loyalty_tier"] == t
        share = float(mask.mean())
        row = {"tier": t, "customers": int(mask.sum()), "share": share,
               "mean_score": num(df.loc[mask, "loyalty_score"].mean()) if mask.any() else None,
               "previous_share": None, "change": None}
        if prev is not None:
            ps = float((prev["loyalty_tier"] == t).mean())
            row.update(previous_share=ps, change=share - ps)
        tiers.append(row)
    if prev is not None:
        changes = {lang: ("，" if lang == "zh" else "; ").join(
            f"{code_label('tier', r['tier'], lang)} {fmt_pct(r['share'])}（{fmt_pp(r['change'], lang)}）" if lang == "zh"
            else f"{code_label('tier', r['tier'], lang)} {fmt_pct(r['share'])} ({fmt_pp(r['change'], lang)})"
            for r in tiers) for lang in ("zh", "en")}
        sentences.append(sentence("tier_share_change", previous_as_of=str(prev["as_of"].iloc[0].date()),
                                  changes=changes))

    repurchase = repurchase_block(ctx)
    if repurchase.get("sentence"):
        sentences.append(repurchase["sentence"])
        sentences.append(sentence("repurchase_definitions"))
    groups = top_repurchase_groups(ctx)
    if groups:
        text = {lang: ("；" if lang == "zh" else "; ").join(
            f"{code_label('dimension', g['dimension'], lang)}“{code_label(g['dimension'], g['group'], lang)}”"
            f"（{fmt_pct(g['rate'])}，{fmt_int(g['active'])} 位客户）" if lang == "zh" else
            f"{code_label('dimension', g['dimension'], lang)} {code_label(g['dimension'], g['group'], lang)} "
            f"({fmt_pct(g['rate'])} of {fmt_int(g['active'])} customers)" for g in groups) for lang in ("zh", "en")}
        sentences.append(sentence("repurchase_groups", groups=text))
    stage = complaint_stage_block(ctx)
    if stage.get("sentence"):
        sentences.append(stage["sentence"])

    bands: list[dict[str, Any]] = []
    if df["risk_band"].notna().any():
        for band, x in df.groupby("risk_band", observed=True):
            bands.append({"band": str(band), "customers": int(len(x)), "mean_churn": num(x["churn_probability"].mean()),
                          "value_at_risk": num(x["value_at_risk"].sum(min_count=1))})
        order = ["low", "medium", "high", "very_high"]
        bands.sort(key=lambda r: order.index(r["band"]) if r["band"] in order else len(order))
        total = sum(b["value_at_risk"] or 0.0 for b in bands)
        for b in bands:
            b["var_share"] = (b["value_at_risk"] or 0.0) / total if total > 0 else None
        if total > 0:
            shares = {lang: ("，" if lang == "zh" else ", ").join(
                f"{code_label('band', b['band'], lang)}{'风险' if lang == 'zh' else ''} {fmt_pct(b['var_share'])}"
                for b in bands) for lang in ("zh", "en")}
            low = next((b["var_share"] for b in bands if b["band"] == "low"), 0.0) or 0.0
            lead = (sentence("var_low_band_lead", share=fmt_pct(low)) if low >= 0.5
                    else sentence("var_high_band_lead", share=fmt_pct(1 - low)))
            sentences.append(sentence("var_by_band", shares=shares, lead=lead))
    notes = [b["note"] for b in (repurchase, stage) if b.get("note")]
    return {"tier_model_gap": gap, "distribution": dist, "trend": trend, "industry_means": industries, "tiers": tiers,
            "repurchase": repurchase, "top_groups": groups, "complaint_stage": stage, "bands": bands, "guards": guards,
            "sentences": sentences, "notes": notes}
