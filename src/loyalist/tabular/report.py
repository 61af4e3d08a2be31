"""The report of customer-table mode: summarise the risk list and its summary into plain data, then render one
self-contained HTML page per language (Jinja2, autoescaped).

Sections: overview (as-of day, customers scored, model and how it was chosen); model quality (cross-validated
ROC AUC, PR AUC, Brier and ECE of LightGBM beside the baselines on the same folds, and the leakage alarm); risk
bands (customers, mean probability and value at risk per band); what drives the risk (how often each feature is a
customer's first reason, among the high and very-high bands); the customers to call first (top by value at risk).
"""

from __future__ import annotations

from typing import Any

import jinja2
import numpy as np
import pandas as pd

__all__ = ["render_table_report", "summarize_table_report"]

_BANDS = ("very_high", "high", "medium", "low")
_TEXT = {
    "zh": {"title": "客户流失风险报告（客户表模式）", "overview": "概览", "as_of": "数据日期", "customers": "评分客户数",
           "model": "模型", "quality": "模型质量（分层交叉验证，各模型同一折）", "bands": "风险等级",
           "drivers": "主要流失驱动因素（高/很高风险客户的首要原因）", "top": "优先联系的客户（按风险价值）",
           "band": "风险等级", "n": "客户数", "mean_p": "平均流失概率", "var": "风险价值", "feature": "特征",
           "share": "占比", "customer": "客户", "p": "流失概率", "reasons": "原因", "leakage": "泄漏警报",
           "none": "无", "mean_std": "均值 ± 标准差"},
    "en": {"title": "Churn-risk report (customer-table mode)", "overview": "Overview", "as_of": "As of",
           "customers": "Customers scored", "model": "Model",
           "quality": "Model quality (stratified cross-validation, the same folds for every model)",
           "bands": "Risk bands", "drivers": "What drives the risk (first reason of high and very-high customers)",
           "top": "Customers to call first (by value at risk)", "band": "Band", "n": "Customers",
           "mean_p": "Mean P(churn)", "var": "Value at risk", "feature": "Feature", "share": "Share",
           "customer": "Customer", "p": "P(churn)", "reasons": "Reasons", "leakage": "Leakage alarm",
           "none": "none", "mean_std": "mean ± std"},
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
<h2>{{ t.top }}</h2><table><tr><th>{{ t.customer }}</th><th>{{ t.p }}</th><th>{{ t.band }}</th><th>{{ t.var }}</th><th>{{ t.reasons }}</th></tr>
{% for c in s.top %}<tr><td>{{ c.customer_id }}</td><td class="n">{{ "%.2f"|format(c.churn_probability) }}</td><td>{{ c.risk_band }}</td>
<td class="n">{% if c.value_at_risk is not none %}{{ "{:,.0f}".format(c.value_at_risk) }}{% endif %}</td><td>{{ c.reasons|join("; ") }}</td></tr>{% endfor %}</table>
</body></html>"""


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)


def summarize_table_report(risk: pd.DataFrame, list_summary: dict[str, Any], *, top_n: int = 20) -> dict[str, Any]:
    """Plain data of the report (see the module) from the risk list and its ``_summary.json``."""
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
            "bands": bands, "drivers": drivers, "top": top}


def render_table_report(summary: dict[str, Any], lang: str) -> str:
    """One self-contained HTML page (``lang`` ``zh`` or ``en``)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_TEMPLATE).render(s=summary, t=_TEXT[lang], lang=lang)
