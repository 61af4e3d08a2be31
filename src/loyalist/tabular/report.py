"""The report of customer-table mode: summarise the risk list and its summary into plain data, then render one
self-contained HTML page per language (Jinja2, autoescaped).

Sections: overview (as-of day, customers scored, model and how it was chosen); model quality (cross-validated
ROC AUC, PR AUC, Brier and ECE of LightGBM beside the baselines on the same folds, and the leakage alarm); risk
bands (customers, mean probability and value at risk per band); what drives the risk (how often each feature is a
customer's first reason, among the high and very-high bands); time to churn (when the model carries a survival
model: Kaplan-Meier curves per segment as a picture, C and IBS of the survival models, and the action plan per
segment with the day to act by); compared with the previous list (with ``loyalist report --previous``: customers
new and gone, band counts and moves, what became of the previously high-risk customers, mean churn probability of
the customers in both lists, value at risk); the customers to call first (top by value at risk).
"""

from __future__ import annotations

from typing import Any

import jinja2
import numpy as np
import pandas as pd

__all__ = ["compare_table_periods", "render_table_report", "summarize_table_report", "survival_figure",
           "survival_svg"]

_BANDS = ("very_high", "high", "medium", "low")
_TEXT = {
    "zh": {"title": "客户流失风险报告（客户表模式）", "overview": "概览", "as_of": "数据日期", "customers": "评分客户数",
           "model": "模型", "quality": "模型质量（分层交叉验证，各模型同一折）", "bands": "风险等级",
           "drivers": "主要流失驱动因素（高/很高风险客户的首要原因）", "top": "优先联系的客户（按风险价值）",
           "band": "风险等级", "n": "客户数", "mean_p": "平均流失概率", "var": "风险价值", "feature": "特征",
           "share": "占比", "customer": "客户", "p": "流失概率", "reasons": "原因", "leakage": "泄漏警报",
           "none": "无", "mean_std": "均值 ± 标准差",
           "survival": "流失时间（生存分析）", "surv_quality": "生存模型质量（交叉验证；C 越高越好，IBS 越低越好）",
           "plan": "行动计划：在客户群的中位流失时间之前行动", "segment": "客户群", "km_median": "KM 中位寿命（月）",
           "median_days": "中位预计流失天数（高/很高风险客户）", "act_by": "最迟行动日期", "at_risk": "高/很高风险客户",
           "p90": "90 天后仍在网的中位概率", "tracking": "与上期对比", "prev": "上期", "cur": "本期",
           "change": "变化", "both": "两期都有", "new": "新出现", "gone": "已不在名单（流失或移除）",
           "moves": "风险等级变化（两期都有的客户）", "up": "风险升高", "same": "不变", "down": "风险降低",
           "prev_hot": "上期高/很高风险客户", "still_hot": "仍为高/很高", "now_lower": "已降到中/低",
           "mean_p_both": "两期都有客户的平均流失概率", "var_total": "风险价值合计"},
    "en": {"title": "Churn-risk report (customer-table mode)", "overview": "Overview", "as_of": "As of",
           "customers": "Customers scored", "model": "Model",
           "quality": "Model quality (stratified cross-validation, the same folds for every model)",
           "bands": "Risk bands", "drivers": "What drives the risk (first reason of high and very-high customers)",
           "top": "Customers to call first (by value at risk)", "band": "Band", "n": "Customers",
           "mean_p": "Mean P(churn)", "var": "Value at risk", "feature": "Feature", "share": "Share",
           "customer": "Customer", "p": "P(churn)", "reasons": "Reasons", "leakage": "Leakage alarm",
           "none": "none", "mean_std": "mean ± std",
           "survival": "Time to churn (survival)",
           "surv_quality": "Survival model quality (cross-validated; C: higher is better, IBS: lower is better)",
           "plan": "Action plan: act before the segment's median time to churn", "segment": "Segment",
           "km_median": "KM median lifetime (months)", "median_days": "Median expected days to churn (high / very-high customers)",
           "act_by": "Act by", "at_risk": "High / very-high customers", "p90": "Median P(still a customer in 90 days)",
           "tracking": "Compared with the previous list", "prev": "Previous", "cur": "Current", "change": "Change",
           "both": "In both lists", "new": "New", "gone": "No longer listed (churned or removed)",
           "moves": "Band moves (customers in both lists)", "up": "Riskier", "same": "Same", "down": "Safer",
           "prev_hot": "Previously high / very-high customers", "still_hot": "Still high / very high",
           "now_lower": "Now medium / low", "mean_p_both": "Mean P(churn) of customers in both lists",
           "var_total": "Total value at risk"},
}

_TEMPLATE = """<!DOCTYPE html><html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ t.title }}</title>
<style>body{font-family:"Noto Sans CJK SC","Noto Sans",sans-serif;margin:2em;max-width:70em}table{border-collapse:
collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em}td.n{text-align:right}h1{font-size:1.5em}
</style></head><body><h1>{{ t.title }}</h1>
<h2>{{ t.overview }}</h2><table><tr><th>{{ t.as_of }}</th><td>{{ s.as_of }}</td></tr>
<tr><th>{{ t.customers }}</th><td class="n">{{ "{:,}".format(s.customers) }}</td></tr>
<tr><th>{{ t.model }}</th><td>{{ s.model.name }} v{{ s.model.version }} ({{ s.model.candidate }})</td></tr></table>
{% if s.selection %}<p>{{ s.selection }}</p>{% endif %}
<h2>{{ t.quality }}</h2>{% if s.cv %}<table><tr><th>{{ t.model }}</th><th>ROC AUC ({{ t.mean_std }})</th><th>PR AUC</th>
<th>Brier</th><th>ECE</th></tr>{% for r in s.cv %}<tr><td>{{ r.model }}</td><td class="n">{{ "%.3f"|format(r.roc_auc_mean) }} ±
{{ "%.3f"|format(r.roc_auc_std) }}</td><td class="n">{{ "%.3f"|format(r.pr_auc_mean) }}</td><td class="n">
{{ "%.4f"|format(r.brier_mean) }}</td><td class="n">{{ "%.3f"|format(r.ece_mean) }}</td></tr>{% endfor %}</table>{% endif %}
<p>{{ t.leakage }}: {% if s.leakage %}{% for a in s.leakage %}{{ a.column }} (AUC {{ "%.3f"|format(a.auc) }}, {{ a.alarm }}
{% if a.excluded %}excluded{% else %}kept{% endif %}){% if not loop.last %}; {% endif %}{% endfor %}{% else %}{{ t.none }}{% endif %}</p>
<h2>{{ t.bands }}</h2><table><tr><th>{{ t.band }}</th><th>{{ t.n }}</th><th>{{ t.mean_p }}</th><th>{{ t.var }}</th></tr>
{% for b in s.bands %}<tr><td>{{ b.band }}</td><td class="n">{{ "{:,}".format(b.customers) }}</td><td class="n">
{{ "%.3f"|format(b.mean_probability) }}</td><td class="n">{% if b.value_at_risk is not none %}{{ "{:,.0f}".format(b.value_at_risk) }}{% endif %}</td></tr>{% endfor %}</table>
<h2>{{ t.drivers }}</h2><table><tr><th>{{ t.feature }}</th><th>{{ t.n }}</th><th>{{ t.share }}</th></tr>
{% for d in s.drivers %}<tr><td>{{ d.feature }}</td><td class="n">{{ d.customers }}</td><td class="n">{{ "%.0f%%"|format(100 * d.share) }}</td></tr>{% endfor %}</table>
{% if s.survival %}<h2>{{ t.survival }}</h2>{% if chart %}<div class="chart">{{ chart|safe }}</div>{% endif %}
<h3>{{ t.surv_quality }}</h3><table><tr><th>{{ t.model }}</th><th>C ({{ t.mean_std }})</th><th>IBS ({{ t.mean_std }})</th></tr>
{% for r in s.survival.cv %}<tr><td>{{ r.model }}{% if r.model == s.survival.candidate %} *{% endif %}</td><td class="n">{% if r.c_index_mean is not none %}{{ "%.3f"|format(r.c_index_mean) }} ± {{ "%.3f"|format(r.c_index_std) }}{% endif %}</td>
<td class="n">{{ "%.4f"|format(r.ibs_mean) }} ± {{ "%.4f"|format(r.ibs_std) }}</td></tr>{% endfor %}</table>
{% if s.survival.plan %}<h3>{{ t.plan }}</h3><table><tr><th>{{ t.segment }}{% if s.survival.segment %} ({{ s.survival.segment }}){% endif %}</th><th>{{ t.n }}</th><th>{{ t.at_risk }}</th>
<th>{{ t.km_median }}</th><th>{{ t.p90 }}</th><th>{{ t.median_days }}</th><th>{{ t.act_by }}</th></tr>{% for r in s.survival.plan %}<tr><td>{{ r.segment }}</td>
<td class="n">{{ "{:,}".format(r.customers) }}</td><td class="n">{{ "{:,}".format(r.at_risk) }}</td><td class="n">{% if r.km_median_months is not none %}{{ "%g"|format(r.km_median_months) }}{% else %}&gt; {{ s.survival.longest }}{% endif %}</td>
<td class="n">{{ "%.2f"|format(r.p_active_90d) }}</td><td class="n">{{ "{:,.0f}".format(r.median_days_to_churn) }}</td><td>{{ r.act_by }}</td></tr>{% endfor %}</table>{% endif %}{% endif %}
{% if s.tracking %}{% set k = s.tracking %}<h2>{{ t.tracking }} ({{ k.previous_as_of }} → {{ k.current_as_of }})</h2>
<table><tr><th></th><th>{{ t.prev }}</th><th>{{ t.cur }}</th><th>{{ t.change }}</th></tr>
<tr><td>{{ t.customers }}</td><td class="n">{{ "{:,}".format(k.customers.previous) }}</td><td class="n">{{ "{:,}".format(k.customers.current) }}</td><td class="n">{{ "{:+,}".format(k.customers.current - k.customers.previous) }}</td></tr>
{% for b in k.bands %}<tr><td>{{ b.band }}</td><td class="n">{{ "{:,}".format(b.previous) }}</td><td class="n">{{ "{:,}".format(b.current) }}</td><td class="n">{{ "{:+,}".format(b.current - b.previous) }}</td></tr>{% endfor %}
<tr><td>{{ t.mean_p_both }}</td><td class="n">{{ "%.3f"|format(k.mean_probability_both.previous) if k.mean_probability_both.previous is not none }}</td><td class="n">{{ "%.3f"|format(k.mean_probability_both.current) if k.mean_probability_both.current is not none }}</td><td class="n">{{ "%+.3f"|format(k.mean_probability_both.change) if k.mean_probability_both.change is not none }}</td></tr>
{% if k.value_at_risk.previous is not none %}<tr><td>{{ t.var_total }}</td><td class="n">{{ "{:,.0f}".format(k.value_at_risk.previous) }}</td><td class="n">{{ "{:,.0f}".format(k.value_at_risk.current) }}</td><td class="n">{{ "{:+,.0f}".format(k.value_at_risk.change) }}</td></tr>{% endif %}</table>
<p>{{ t.both }} {{ "{:,}".format(k.customers.both) }}; {{ t.new }} {{ "{:,}".format(k.customers.new) }}; {{ t.gone }} {{ "{:,}".format(k.customers.gone) }}.
{{ t.moves }}: {{ t.up }} {{ "{:,}".format(k.moves.up) }}, {{ t.same }} {{ "{:,}".format(k.moves.same) }}, {{ t.down }} {{ "{:,}".format(k.moves.down) }}.
{{ t.prev_hot }} {{ "{:,}".format(k.previous_high.customers) }}: {{ t.still_hot }} {{ "{:,}".format(k.previous_high.still_high) }}, {{ t.now_lower }} {{ "{:,}".format(k.previous_high.now_lower) }}, {{ t.gone }} {{ "{:,}".format(k.previous_high.gone) }}.</p>{% endif %}
<h2>{{ t.top }}</h2><table><tr><th>{{ t.customer }}</th><th>{{ t.p }}</th><th>{{ t.band }}</th><th>{{ t.var }}</th><th>{{ t.reasons }}</th></tr>
{% for c in s.top %}<tr><td>{{ c.customer_id }}</td><td class="n">{{ "%.2f"|format(c.churn_probability) }}</td><td>{{ c.risk_band }}</td>
<td class="n">{% if c.value_at_risk is not none %}{{ "{:,.0f}".format(c.value_at_risk) }}{% endif %}</td><td>{{ c.reasons|join("; ") }}</td></tr>{% endfor %}</table>
</body></html>"""


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)


def compare_table_periods(previous: pd.DataFrame, current: pd.DataFrame) -> dict[str, Any]:
    """Two risk lists of the same customer table at two as-of dates (customer-table mode's period tracking, as
    ``loyalist report --previous`` does for order histories), by ``customer_id`` (pseudonymised ids need the same
    key in both runs):

    ``customers`` {previous, current, both, new, gone} (gone: listed before, not now: churned, or removed from the
    table); ``bands`` per risk band the customers of each list; ``migration`` {previous band: {current band or
    'gone': customers}, 'new': {current band: customers}}; ``moves`` {up, same, down} (to a riskier, the same, a
    safer band, customers in both); ``previous_high`` the previously high / very-high customers: still so, now
    medium / low, gone; ``mean_probability_both`` {previous, current, change} over customers in both lists;
    ``value_at_risk`` {previous, current, change} over each full list (None without a value column)."""
    order = {b: i for i, b in enumerate(reversed(_BANDS))}  # low 0 .. very_high 3
    prev = previous.drop_duplicates("customer_id").set_index(previous["customer_id"].astype(str).rename("id"))
    cur = current.drop_duplicates("customer_id").set_index(current["customer_id"].astype(str).rename("id"))
    both = prev.index.intersection(cur.index)
    pb, cb = prev["risk_band"].astype(str), cur["risk_band"].astype(str)
    migration: dict[str, dict[str, int]] = {}
    for band in _BANDS:
        ids = pb.index[pb == band]
        if len(ids):
            inside = ids.intersection(both)
            row = {b: int((cb.loc[inside] == b).sum()) for b in _BANDS}
            migration[band] = {**{b: n for b, n in row.items() if n}, "gone": int(len(ids) - len(inside))}
    new_ids = cur.index.difference(prev.index)
    migration["new"] = {b: int((cb.loc[new_ids] == b).sum()) for b in _BANDS if (cb.loc[new_ids] == b).any()}
    step = cb.loc[both].map(order).astype(float) - pb.loc[both].map(order).astype(float)
    hot = pb.index[pb.isin(["high", "very_high"])]
    hot_in = hot.intersection(both)
    still = int(cb.loc[hot_in].isin(["high", "very_high"]).sum())
    mp, mc = (float(prev.loc[both, "churn_probability"].mean()), float(cur.loc[both, "churn_probability"].mean())) \
        if len(both) else (None, None)
    has_var = "value_at_risk" in prev.columns and prev["value_at_risk"].notna().any() \
        and "value_at_risk" in cur.columns and cur["value_at_risk"].notna().any()
    vp = float(np.nansum(prev["value_at_risk"])) if has_var else None
    vc = float(np.nansum(cur["value_at_risk"])) if has_var else None
    as_of = [str(pd.Timestamp(f["as_of"].iloc[0]).date()) if "as_of" in f.columns and len(f) else None
             for f in (previous, current)]
    return {"previous_as_of": as_of[0], "current_as_of": as_of[1],
            "customers": {"previous": len(prev), "current": len(cur), "both": len(both), "new": len(new_ids),
                          "gone": int(len(prev) - len(both))},
            "bands": [{"band": b, "previous": int((pb == b).sum()), "current": int((cb == b).sum())} for b in _BANDS],
            "migration": migration,
            "moves": {"up": int((step > 0).sum()), "same": int((step == 0).sum()), "down": int((step < 0).sum())},
            "previous_high": {"customers": len(hot), "still_high": still, "now_lower": int(len(hot_in) - still),
                              "gone": int(len(hot) - len(hot_in))},
            "mean_probability_both": {"previous": mp, "current": mc,
                                      "change": None if mp is None or mc is None else mc - mp},
            "value_at_risk": {"previous": vp, "current": vc,
                              "change": None if vp is None or vc is None else vc - vp}}


def summarize_table_report(risk: pd.DataFrame, list_summary: dict[str, Any], *, top_n: int = 20,
                           previous: pd.DataFrame | None = None) -> dict[str, Any]:
    """Plain data of the report (see the module) from the risk list and its ``_summary.json``; with ``previous``
    (an earlier risk list of the same table) also ``tracking`` (:func:`compare_table_periods`)."""
    bands = []
    for band in _BANDS:
        part = risk.loc[risk["risk_band"] == band]
        if len(part):
            var = part["value_at_risk"]
            bands.append({"band": band, "customers": len(part),
                          "mean_probability": float(part["churn_probability"].mean()),
                          "value_at_risk": _num(float(var.sum())) if var.notna().any() else None})
    risky = risk.loc[risk["risk_band"].isin(["high", "very_high"]), "reason_1"].dropna()
    features = risky.astype(str).str.split(" = ", n=1).str[0]
    counts = features.value_counts()
    drivers = [{"feature": str(f), "customers": int(n), "share": float(n / max(len(risky), 1))}
               for f, n in counts.head(10).items()]
    top = []
    for r in risk.head(top_n).itertuples():
        top.append({"customer_id": str(r.customer_id), "churn_probability": float(r.churn_probability),
                    "risk_band": str(r.risk_band), "value_at_risk": _num(r.value_at_risk),
                    "reasons": [str(x) for x in (r.reason_1, r.reason_2, r.reason_3) if isinstance(x, str)]})
    return {"mode": "customer_table", "as_of": list_summary.get("as_of"), "customers": len(risk),
            "model": list_summary.get("model", {}), "selection": list_summary.get("selection"),
            "cv": list_summary.get("cv") or [], "leakage": list_summary.get("leakage_alarms") or [],
            "bands": bands, "drivers": drivers, "top": top,
            "survival": _survival_section(risk, list_summary.get("survival"), list_summary.get("as_of")),
            "tracking": compare_table_periods(previous, risk) if previous is not None else None}


def _survival_section(risk: pd.DataFrame, survival: dict[str, Any] | None, as_of: Any) -> dict[str, Any] | None:
    """The report's time-to-churn part: the curves and model quality the list's summary carries, and the action
    plan per segment: customers, high/very-high customers, the Kaplan-Meier median lifetime, the median
    P(still a customer in 90 days) of the listed customers, the median expected days to churn of the segment's
    high/very-high customers (of all its customers when it has none: the plan is about those at risk) and the day
    to act by (as-of + that median, at least 1 day). The list's time-to-churn columns are set to the churn
    probability's level (``TableSurvival.risk_columns``), so the date agrees with the probability shown."""
    if not survival:
        return None
    plan: list[dict[str, Any]] = []
    medians = {str(c["segment"]): _num(c.get("median_months")) for c in survival.get("curves") or []}
    if {"segment", "expected_days_to_churn", "p_active_90d"} <= set(risk.columns) and as_of:
        day = pd.Timestamp(as_of)
        for seg, part in risk.groupby(risk["segment"].astype(str), sort=True):
            hot = part["risk_band"].isin(["high", "very_high"])
            days = float(part.loc[hot if hot.any() else slice(None), "expected_days_to_churn"].median())
            plan.append({"segment": str(seg), "customers": len(part), "at_risk": int(hot.sum()),
                         "km_median_months": medians.get(str(seg)),
                         "p_active_90d": float(part["p_active_90d"].median()), "median_days_to_churn": days,
                         "act_by": str((day + pd.Timedelta(days=max(1, int(days)))).date())})
        plan.sort(key=lambda r: str(r["act_by"]))
    curves = survival.get("curves") or []
    longest = max((float(k[2:]) for c in curves[:1] for k in c if k.startswith("s_")), default=0.0)
    return {"segment": survival.get("segment"), "candidate": survival.get("candidate"),
            "cv": survival.get("cv") or [], "curves": curves, "plan": plan, "longest": f"{longest:g}"}


def render_table_report(summary: dict[str, Any], lang: str) -> str:
    """One self-contained HTML page (``lang`` ``zh`` or ``en``)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    survival = summary.get("survival")
    chart = survival_svg(survival["curves"], survival.get("segment"), lang) \
        if survival and survival.get("curves") else ""
    return env.from_string(_TEMPLATE).render(s={"survival": None, **summary}, t=_TEXT[lang], lang=lang, chart=chart)


def survival_figure(curves: list[dict[str, Any]] | pd.DataFrame, segment: str | None, lang: str = "en") -> Any:
    """Kaplan-Meier curves per segment (the share still customers by month of tenure), one line each, the
    median lifetime marked: a matplotlib Figure."""
    import matplotlib
    from matplotlib.figure import Figure

    from loyalist.report.charts import _rc, find_cjk_font

    frame = pd.DataFrame(curves)
    months = sorted(float(c[2:]) for c in frame.columns if c.startswith("s_"))
    font = find_cjk_font() if lang == "zh" else None
    zh = lang == "zh" and font is not None
    with matplotlib.rc_context(_rc(font)):
        fig = Figure(figsize=(8.0, 3.6))
        ax = fig.add_subplot()
        for r in frame.to_dict(orient="records"):
            ys = [1.0] + [r[f"s_{m:g}"] for m in months]
            label = f"{r['segment']} (n={int(r['customers']):,}"
            med = r.get("median_months")
            label += (f", {'中位' if zh else 'median'} {med:g})" if med is not None and np.isfinite(med) else ")")
            ax.plot([0.0, *months], ys, drawstyle="steps-post", label=label)
        ax.axhline(0.5, color="#999", lw=0.8, ls="--")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("在网月数" if zh else "months of tenure")
        ax.set_ylabel("仍为客户的比例" if zh else "share still customers")
        title = (f"生存曲线（Kaplan-Meier，按 {segment}）" if zh else f"Survival curves (Kaplan-Meier) by {segment}") \
            if segment else ("生存曲线（Kaplan-Meier）" if zh else "Survival curve (Kaplan-Meier)")
        ax.set_title(title, loc="left", fontsize=10)
        ax.legend(fontsize=8, frameon=False)
    return fig


def survival_svg(curves: list[dict[str, Any]], segment: str | None, lang: str) -> str:
    """:func:`survival_figure` as inline SVG for the HTML report."""
    import matplotlib

    from loyalist.report.charts import _rc, figure_svg, find_cjk_font

    # the SVG is drawn (its text laid out) inside the same font settings as the figure
    with matplotlib.rc_context(_rc(find_cjk_font() if lang == "zh" else None)):
        return figure_svg(survival_figure(curves, segment, lang), "chart-survival")
