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

from loyalist.data.clean import extreme_amount_totals, non_product_lines
from loyalist.data.privacy import mask_contact, mask_name
from loyalist.report.summarize_base import Context, note, num, top_by_value
from loyalist.report.text import both, fmt_int, fmt_money, fmt_pct, sentence
from loyalist.scoring.text import tier_reason_text

__all__ = ["appendix_section", "model_quality", "active_churn", "data_quality", "time_zones", "config_digest"]

#: Active customers at the cut-off: a completed order in the last N days. The training run's table carries its N
#: (column ``active_days``, from ``features.active_days``); tables logged before that column existed were computed
#: with 90 (``loyalist.modeling.supervised.training.ACTIVE_DAYS`` then, not imported: the report does not load the
#: modeling code).
ACTIVE_DAYS = 90
#: Columns of a metrics table that describe the rows rather than measure a scorer: kept on the block, not shown.
_BLOCK_FIELDS = ("active_days",)
#: Names of the learned model's row in a metrics table (the training run writes ``loyalist``).
_MODEL_SCORERS = ("loyalist", "model")

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
    ``model_metrics`` (``{churn: [{scorer, roc_auc, ...}], value: [...]}``); non-numeric fields are dropped. A
    field of :data:`_BLOCK_FIELDS` (``active_days``: the window of the ``churn_active`` table) is the block's, from
    its first row, not a column."""
    out: dict[str, Any] = {}
    if not isinstance(metrics, Mapping):
        return out
    for kind, rows in metrics.items():
        if isinstance(rows, Mapping):  # {scorer: {metric: value}}
            rows = [{"scorer": k, **v} for k, v in rows.items() if isinstance(v, Mapping)]
        clean_rows, columns = [], []
        fields: dict[str, Any] = {}
        for r in rows or []:
            if not isinstance(r, Mapping):
                continue
            scorer = str(r.get("scorer", r.get("model", r.get("name", "?"))))
            values = {k: num(v) for k, v in r.items() if k not in ("scorer", "model", "name") and num(v) is not None
                      and not isinstance(v, bool)}
            for k in _BLOCK_FIELDS:
                if k in values:
                    fields.setdefault(k, values.pop(k))
            for k in values:
                if k not in columns:
                    columns.append(k)
            clean_rows.append({"scorer": scorer, **values})
        if clean_rows:
            out[str(kind)] = {"columns": columns, "rows": clean_rows, **fields}
    return out


def active_churn(quality: Mapping[str, Any]) -> dict[str, Any] | None:
    """Churn among the customers still active at the cut-off (issue 11 §4), from :func:`model_quality`'s
    ``churn_active`` table (the churn run's ``tables/active_customers_vs_baselines.csv``): the window the run used
    (its ``active_days``; 90 for a table logged before the column existed), rows, churn rate, each scorer's ROC AUC,
    the model against the best baseline, and the ``sentences`` saying so; None without the table (older runs) or
    without any ROC AUC."""
    block = quality.get("churn_active")
    rows = [r for r in (block or {}).get("rows", []) if num(r.get("roc_auc")) is not None]
    if not rows:
        return None
    assert block is not None
    days = int(block["active_days"]) if num(block.get("active_days")) is not None else ACTIVE_DAYS
    first = rows[0]
    aucs = [(str(r["scorer"]), float(r["roc_auc"])) for r in rows]
    labels = [(both("scorer", name), auc) for name, auc in aucs]
    text = sentence("model_quality_active", active_days=days, n=fmt_int(first.get("n")),
                    rate=fmt_pct(first.get("base_rate")),
                    aucs={"zh": "、".join(f"{lab['zh']} {auc:.3f}" for lab, auc in labels),
                          "en": ", ".join(f"{lab['en']} {auc:.3f}" for lab, auc in labels)})
    out: dict[str, Any] = {"active_days": days, "n": num(first.get("n")), "base_rate": num(first.get("base_rate")),
                           "roc_auc": dict(aucs), "model": None, "best_baseline": None, "below_best_baseline": None,
                           "sentences": [text]}
    model = next((auc for name, auc in aucs if name in _MODEL_SCORERS), None)
    baselines = [(name, auc) for name, auc in aucs if name not in _MODEL_SCORERS]
    if model is not None and baselines:
        name, best = max(baselines, key=lambda x: x[1])
        below = model < best
        out.update(model=model, best_baseline=name, below_best_baseline=below)
        out["sentences"].append(sentence("model_quality_active_below" if below else "model_quality_active_above",
                                         model=f"{model:.3f}", baseline=both("scorer", name), best=f"{best:.3f}",
                                         gap=f"{model - best:+.3f}"))
    return out


def data_quality(ctx: Context) -> dict[str, Any]:
    """Rows in / kept / rejected per table (``tables``), rejected or changed rows per (table, rule, action)
    (``rules``), the date columns whose time zone prepare dropped (``time_zones``, :func:`time_zones`; [] when none)
    and what the money figures count (``revenue``, :func:`revenue_basis`, when the clean orders are there)."""
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
    block: dict[str, Any] = {"available": True, "tables": tables, "rules": rules,
                             "time_zones": time_zones(ctx.clean.rows)}
    revenue = revenue_basis(ctx.clean.tables.get("orders"), rej)
    if revenue is not None:
        block["revenue"] = revenue
    return block




def time_zones(rows: pd.DataFrame | None) -> list[dict[str, Any]]:
    """The date columns whose values carried a time zone that prepare dropped, each value keeping its own clock
    time (summary.csv's ``time_zones``: JSON ``{column: {zone or UTC offset: values}}`` per table; a folder
    prepared before that column existed has none): ``[{table, column, zones: {zone: values}, sentence}]``, in the
    summary's table order; the sentence says whose days the dates are, or that one column mixes offsets."""
    if rows is None or "time_zones" not in rows.columns:
        return []
    out = []
    for table, text in zip(rows["table"], rows["time_zones"], strict=True):
        if not isinstance(text, str) or not text.strip():
            continue
        try:
            columns = json.loads(text)
        except ValueError:
            continue
        if not isinstance(columns, Mapping):
            continue
        name = both("table", str(table))
        for column, zones in columns.items():
            if not isinstance(zones, Mapping) or not zones:
                continue
            counts = sorted(((str(z), int(n)) for z, n in zones.items()), key=lambda kv: -kv[1])
            if len(counts) > 1:
                text_zones = {"zh": "、".join(f"{z} {fmt_int(n)} 个值" for z, n in counts),
                              "en": ", ".join(f"{z} on {fmt_int(n)} value{'s' if n != 1 else ''}" for z, n in counts)}
                said = sentence("data_time_zones_mixed", table=name, column=str(column), zones=text_zones)
            else:
                (zone, n), = counts
                offset = zone[:1] in "+-"
                said = sentence("data_time_zone", table=name, column=str(column), zone=zone, n=fmt_int(n),
                                kind={"zh": "时区偏移" if offset else "时区", "en": "the UTC offset" if offset
                                      else "the time zone"},
                                day_zone="UTC" if zone in ("UTC", "+00:00") else zone)
            out.append({"table": str(table), "column": str(column), "zones": dict(counts), "sentence": said})
    return out


def _record_amounts(records: pd.Series) -> pd.Series:
    """The ``amount`` of each rejected row's source record (JSON text); NaN where it is not a number."""
    def one(text: Any) -> Any:
        try:
            return json.loads(text).get("amount")
        except (TypeError, ValueError, AttributeError):
            return None
    raw = records.map(one).astype("string").str.replace(r"[^0-9eE.+-]", "", regex=True)
    return pd.to_numeric(raw, errors="coerce")


def revenue_basis(orders: pd.DataFrame | None, rejects: pd.DataFrame | None) -> dict[str, Any] | None:
    """What the report's spend and value figures count, in money: completed orders (the basis of spend, RFM,
    value and the models), the cancelled and returned orders they leave out, the amount the extreme-amount cap
    removed, and the rows rejected for a missing customer id (guest or anonymous sales); ``sentence`` says it in
    both languages. None without the clean orders."""
    if orders is None or "amount" not in orders.columns or "status" not in orders.columns:
        return None
    amount = pd.to_numeric(orders["amount"], errors="coerce")
    status = orders["status"].astype("string")
    by = {k: (int((status == k).sum()), float(amount[status == k].sum())) for k in ("completed", "cancelled", "returned")}
    guest_rows, guest_amount = 0, 0.0
    codes = non_product_lines(rejects)
    extreme = extreme_amount_totals(rejects)
    capped_rows, capped_cut = int(extreme["capped_rows"]), extreme["capped_cut"]
    flagged_rows, flagged_over = int(extreme["flagged_rows"]), extreme["flagged_over"]
    if rejects is not None and len(rejects):
        orders_rej = rejects[rejects["table"].astype("string") == "orders"]
        guest = orders_rej[(orders_rej["rule"].astype("string") == "missing_required")
                           & (orders_rej["column"].astype("string") == "customer_id")]
        if len(guest):
            guest_rows, guest_amount = int(len(guest)), float(_record_amounts(guest["record"]).sum())
    n_done, total = by["completed"]
    dates = pd.to_datetime(orders["order_date"], errors="coerce") if "order_date" in orders.columns else None
    span = ("" if dates is None or dates.isna().all() else f"{dates.min().date()} .. {dates.max().date()}")
    parts_zh = [f"消费金额、RFM、预期价值与模型只计已完成订单；清洗后数据（{span}，全部期间，非仅回看窗口）"
                f"有已完成订单 {fmt_int(n_done)} 笔，合计 {fmt_money(total)}"]
    parts_en = [f"Spend, RFM, expected value and the models count completed orders only; the clean data ({span}, "
                f"the whole period, not only the look-back window) holds {fmt_int(n_done)} completed orders, "
                f"{fmt_money(total)} in all"]
    if capped_rows:
        parts_zh[0] += f"（{fmt_int(capped_rows)} 行极端金额被封顶，共减少 {fmt_money(capped_cut)}）"
        parts_en[0] += f" (capping {fmt_int(capped_rows)} extreme amounts removed {fmt_money(capped_cut)})"
    if flagged_rows:
        parts_zh[0] += (f"（{fmt_int(flagged_rows)} 行极端金额已标记但全额计入，超出阈值部分共 "
                        f"{fmt_money(flagged_over)}）")
        parts_en[0] += (f" ({fmt_int(flagged_rows)} extreme amounts are flagged but counted in full, "
                        f"{fmt_money(flagged_over)} above the threshold)")
    left_zh, left_en = [], []
    for key, zh, en in (("cancelled", "取消订单", "cancelled orders"), ("returned", "退货订单", "returned orders")):
        n, amt = by[key]
        if n:
            left_zh.append(f"{fmt_int(n)} 笔{zh}（{fmt_money(amt)}）")
            left_en.append(f"{fmt_int(n)} {en} ({fmt_money(amt)})")
    if guest_rows:
        left_zh.append(f"{fmt_int(guest_rows)} 行无客户编号的记录（散客或匿名销售，{fmt_money(guest_amount)}，已剔除）")
        left_en.append(f"{fmt_int(guest_rows)} rows without a customer id (guest or anonymous sales, "
                       f"{fmt_money(guest_amount)}, rejected)")
    if not codes.empty:
        n_np, done_np = int(codes["lines"].sum()), float(codes["completed_amount"].sum())
        cancelled_np = float(codes["cancelled_amount"].sum())
        names = "、".join(codes["product_id"].head(6)) + ("等" if len(codes) > 6 else "")
        names_en = ", ".join(codes["product_id"].head(6)) + (", ..." if len(codes) > 6 else "")
        left_zh.append(f"{fmt_int(n_np)} 行非商品代码（邮费、运费、手续费、折扣、手工调整等：{names}；未取消的行合计 "
                       f"{fmt_money(done_np)}，已取消的行 {fmt_money(cancelled_np)}；见 data.cleaning.non_product_codes，"
                       "已剔除）")
        left_en.append(f"{fmt_int(n_np)} lines with non-product codes (postage, carriage, fees, discounts, manual "
                       f"adjustments: {names_en}; {fmt_money(done_np)} on lines not cancelled, "
                       f"{fmt_money(cancelled_np)} on cancelled ones; see data.cleaning.non_product_codes; rejected)")
    zh = parts_zh[0] + ("；不计入：" + "；".join(left_zh) if left_zh else "") + "。"
    en = parts_en[0] + ("; not counted: " + "; ".join(left_en) if left_en else "") + "."
    return {"completed_orders": n_done, "completed_amount": total,
            "cancelled_orders": by["cancelled"][0], "cancelled_amount": by["cancelled"][1],
            "returned_orders": by["returned"][0], "returned_amount": by["returned"][1],
            "capped_rows": capped_rows, "capped_amount_removed": capped_cut,
            "no_customer_rows": guest_rows, "no_customer_amount": guest_amount,
            "flagged_rows": flagged_rows, "flagged_amount_above": flagged_over,
            "non_product_lines": int(codes["lines"].sum()) if not codes.empty else 0,
            "non_product_amount": float(codes["completed_amount"].sum()) if not codes.empty else 0.0,
            "non_product_cancelled_amount": float(codes["cancelled_amount"].sum()) if not codes.empty else 0.0,
            "sentence": {"zh": zh, "en": en}}


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
    """Section 7: ``profiles`` (table 1), ``indicators`` (table 2), ``model_quality``, ``active_churn`` (churn among
    the customers active at the cut-off, or None), ``data_quality``,
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
        "profiles": profiles, "indicators": indicators, "model_quality": quality,
        "active_churn": active_churn(quality), "data_quality": dq,
        "models": summary.get("models") if isinstance(summary.get("models"), Mapping) else {},
        "versions": versions, "config": {"settings": settings, "digest": config_digest(config),
                                         "actions_source": None},
        "drift": drift, "as_of": str(ctx.as_of.date()), "notes": notes,
    }
