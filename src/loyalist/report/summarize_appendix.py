"""Section 7 of the report summary (appendix): the source's template tables 1 and 2 for the top customers by value
at risk, model quality beside the baselines, data quality, versions and config.

Privacy: names come from the list (masked by the scoring job, masked again here); contacts only from the clean
``customers`` table, always through :func:`loyalist.data.privacy.mask_contact`. Raw contacts never reach the
summary.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from loyalist.data.privacy import mask_contact, mask_name
from loyalist.report.summarize_base import Context, note, num, top_by_value
from loyalist.scoring.text import tier_reason_text

__all__ = ["appendix_section", "model_quality", "data_quality", "config_digest"]

#: Config settings shown in the appendix: (path in the resolved config, key of the catalogue's ``setting`` labels).
_SETTINGS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("name",), "name"),
    (("industry",), "industry"),
    (("features", "lookback_days"), "features.lookback_days"),
    (("features", "churn_horizon_days"), "features.churn_horizon_days"),
    (("features", "value_horizon_days"), "features.value_horizon_days"),
    (("scoring", "tiers"), "scoring.tiers"),
    (("scoring_job", "risk_band_cuts"), "scoring_job.risk_band_cuts"),
)


def _get(d: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(d, Mapping) or key not in d:
            return None
        d = d[key]
    return d


def config_digest(config: Any) -> str | None:
    """First 12 hex digits of the SHA-256 of the config as sorted JSON (None without a config)."""
    if not config:
        return None
    text = json.dumps(config, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def model_quality(metrics: Any) -> dict[str, Any]:
    """``{kind: {"columns": [...], "rows": [{scorer, <metric>: float}]}}`` from the list summary's
    ``model_metrics`` (``{churn: [{scorer, roc_auc, ...}], value: [...]}``); non-numeric fields are dropped."""
    out: dict[str, Any] = {}
    if not isinstance(metrics, Mapping):
        return out
    for kind, rows in metrics.items():
        if isinstance(rows, Mapping):  # {scorer: {metric: value}}
            rows = [{"scorer": k, **v} for k, v in rows.items() if isinstance(v, Mapping)]
        clean_rows, columns = [], []
        for r in rows or []:
            if not isinstance(r, Mapping):
                continue
            scorer = str(r.get("scorer", r.get("model", r.get("name", "?"))))
            values = {k: num(v) for k, v in r.items() if k not in ("scorer", "model", "name") and num(v) is not None
                      and not isinstance(v, bool)}
            for k in values:
                if k not in columns:
                    columns.append(k)
            clean_rows.append({"scorer": scorer, **values})
        if clean_rows:
            out[str(kind)] = {"columns": columns, "rows": clean_rows}
    return out


def data_quality(ctx: Context) -> dict[str, Any]:
    """Rows in / kept / rejected per table and rejected or changed rows per (table, rule, action)."""
    if ctx.clean is None or (ctx.clean.rows is None and ctx.clean.rejects is None):
        return {"available": False, "note": note({"zh": "数据质量（剔除规则统计）", "en": "data quality (rejects per rule)"},
                                                 {"zh": "未提供 --clean 清洗数据目录", "en": "no --clean folder given"})}
    tables = []
    if ctx.clean.rows is not None:
        for r in ctx.clean.rows.itertuples(index=False):
            tables.append({"table": str(r.table), "rows_in": int(r.rows_in), "rows_kept": int(r.rows_kept),
                           "rows_rejected": int(r.rows_rejected),
                           "rows_changed": int(getattr(r, "rows_changed", 0) or 0)})
    rules = []
    rej = ctx.clean.rejects
    if rej is not None and len(rej):
        counts = rej.groupby(["table", "rule", "action"], observed=True).size().sort_values(ascending=False)
        rules = [{"table": str(t), "rule": str(r), "action": str(a), "rows": int(n)} for (t, r, a), n in counts.items()]
    return {"available": True, "tables": tables, "rules": rules}


def _contacts(ctx: Context) -> pd.Series:
    customers = ctx.clean.tables.get("customers") if ctx.clean is not None else None
    if customers is None or "contact" not in customers.columns:
        return pd.Series(dtype="string")
    c = customers.drop_duplicates("customer_id").set_index("customer_id")["contact"].dropna()
    return c.astype(str).map(mask_contact)


def _clean_names(ctx: Context) -> pd.Series:
    customers = ctx.clean.tables.get("customers") if ctx.clean is not None else None
    if customers is None or "name" not in customers.columns:
        return pd.Series(dtype="string")
    n = customers.drop_duplicates("customer_id").set_index("customer_id")["name"].dropna()
    return n.astype(str).map(mask_name)


def appendix_section(ctx: Context) -> dict[str, Any]:
    """Section 7: ``profiles`` (table 1), ``indicators`` (table 2), ``model_quality``, ``data_quality``,
    ``models``, ``versions``, ``config`` (selected settings and digest), ``drift``, ``as_of``."""
    df = ctx.scores
    top = top_by_value(df, ctx.options.top_n)
    contacts, names = _contacts(ctx), _clean_names(ctx)
    profiles, indicators = [], []
    for r in top.itertuples(index=False):
        cid = str(r.customer_id)
        name = None if pd.isna(r.name) or not str(r.name).strip() else str(r.name)
        if name is None and cid in names.index:
            name = str(names[cid])
        profiles.append({"customer_id": cid, "name": name, "industry": None if pd.isna(r.industry) else str(r.industry),
                         "tenure_months": num(r.tenure_months),
                         "contact": str(contacts[cid]) if cid in contacts.index else None})
        indicators.append({
            "customer_id": cid,
            "repurchase_pct": None if num(r.repurchase_rate) is None else 100 * float(r.repurchase_rate),
            "order_value_stability": num(r.order_value_stability), "purchase_frequency": num(r.purchase_frequency),
            "nps": num(r.nps),
            "complaint_pct": None if num(r.complaint_rate) is None else 100 * float(r.complaint_rate),
            "loyalty_score": num(r.loyalty_score), "tier": None if pd.isna(r.loyalty_tier) else str(r.loyalty_tier),
            "tier_reason": tier_reason_text(getattr(r, "tier_reason", None)),
        })
    summary = ctx.summary
    quality = model_quality(summary.get("model_metrics"))
    notes = []
    if not quality:
        notes.append(note({"zh": "模型质量与基线对比", "en": "model quality beside baselines"},
                          {"zh": "名单摘要中没有 model_metrics", "en": "no model_metrics in the list summary"}))
    dq = data_quality(ctx)
    if not dq["available"]:
        notes.append(dq["note"])
    versions = {
        "churn": sorted({str(v) for v in df["churn_model_version"].dropna()}),
        "value": sorted({str(v) for v in df["value_model_version"].dropna()}),
    }
    config = summary.get("config") or {}
    settings = [{"setting": label, "value": _get(config, path)} for path, label in _SETTINGS
                if _get(config, path) is not None]
    drift = summary.get("drift") if isinstance(summary.get("drift"), Mapping) else {}
    return {
        "profiles": profiles, "indicators": indicators, "model_quality": quality, "data_quality": dq,
        "models": summary.get("models") if isinstance(summary.get("models"), Mapping) else {},
        "versions": versions, "config": {"settings": settings, "digest": config_digest(config),
                                         "actions_source": None},
        "drift": drift, "as_of": str(ctx.as_of.date()), "notes": notes,
    }
