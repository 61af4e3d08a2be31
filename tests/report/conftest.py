"""Synthetic scored lists, their summary JSON, an earlier list and clean tables for the report tests.

Deterministic (``np.random.default_rng(seed)``); realistic enough that every section has something to say:
five industries, three sizes, four regions, all four tiers, complaint stages, reasons in zh / en, RFM segments,
cross-sell products, margins. The clean customers table carries RAW personal data (a phone number, an e-mail and
a full company name) that must never reach the report.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from loyalist.batch.columns import RISK_LIST_COLUMNS
from loyalist.config.models import LoyalistConfig, ScoringJobConfig
from loyalist.features.rfm import RFM_SEGMENTS
from loyalist.report.inputs import CleanInputs
from loyalist.report.summarize_actions import match_action

RAW_PHONE = "13912345678"
RAW_EMAIL = "zhang.san@example-raw.com"
RAW_COMPANY = "深圳市宏达精密科技有限公司"
SCRIPT_NAME = "<script>alert('x')</script>"
INDUSTRIES = ("manufacturing", "it", "retail", "healthcare", "logistics")
SIZES = ("small", "medium", "large")
REGIONS = ("east", "south", "north", "west")
STAGES = ("delivery", "after_sales", "billing", "installation")
GROUPS = ("recency", "frequency", "value", "complaints", "service", "satisfaction")
REASONS = {
    "recency": ("无订单已 {d} 天（同类客户通常 35 天）", "{d} days since last order (similar customers: 35)"),
    "frequency": ("消费频次降至 {f:.1f} 次/年", "purchase frequency down to {f:.1f} orders/yr"),
    "value": ("消费金额下降", "spend is falling"),
    "complaints": ("投诉率 {c:.0%}", "complaint rate {c:.0%}"),
    "service": ("售后平均处理 96 小时（同类客户 24 小时）", "after-sales tickets take 96 h (similar customers: 24 h)"),
    "satisfaction": ("NPS 为 {n:.0f}", "NPS is {n:.0f}"),
}
MASKED_NAMES = ("*科技有限公司", "*制造集团", "*贸易有限公司", "*物流有限公司", "*医疗器械有限公司", "王*", "*** Ltd")


def _tier(score: float, recency: float) -> str:
    if recency > 90 or score < 60:
        return "high_risk"
    return "devoted" if score >= 90 else "stable" if score >= 75 else "at_risk"


def make_scored_list(n: int = 300, seed: int = 7, as_of: str = "2024-12-31", prefix: str = "C") -> pd.DataFrame:
    """A churn-risk list with every RISK_LIST_COLUMNS column, sorted by value_at_risk descending."""
    rng = np.random.default_rng(seed)
    ids = [f"{prefix}{i:04d}" for i in range(1, n + 1)]
    industry = rng.choice(INDUSTRIES, n, p=[0.3, 0.2, 0.2, 0.15, 0.15])
    size = rng.choice(SIZES, n, p=[0.5, 0.35, 0.15])
    region = rng.choice(REGIONS, n)
    quality = rng.beta(4, 2, n)  # latent loyalty
    repurchase = np.clip(quality + rng.normal(0, 0.1, n), 0, 1)
    stability = np.clip(quality + rng.normal(0, 0.15, n), 0, 1)
    frequency = np.round(rng.gamma(2 + 8 * quality, 1.2), 2)
    nps = np.clip(np.round(200 * quality - 80 + rng.normal(0, 20, n)), -100, 100)
    nps = np.where(rng.random(n) < 0.15, np.nan, nps)
    complaint = np.round(np.clip(rng.exponential(0.08 * (1.2 - quality)), 0, 1), 3)
    recency = np.round(rng.exponential(10 + 60 * (1 - quality)))
    n_orders = rng.poisson(np.maximum(frequency * 0.3 * quality, 0.2))
    monetary = np.round(n_orders * rng.gamma(3, 8000, n), 2)
    margin = np.round(monetary * rng.uniform(-0.05, 0.35, n), 2)
    parts = np.stack([100 * repurchase, 100 * stability, 100 * np.clip(frequency / 12, 0, 1),
                      np.where(np.isnan(nps), np.nan, (nps + 100) / 2), 100 * (1 - complaint)])
    weights = np.array([0.30, 0.20, 0.15, 0.25, 0.10])[:, None]
    present = ~np.isnan(parts)
    score = np.round(np.nansum(parts * weights, axis=0) / (weights * present).sum(axis=0), 2)
    tier = np.array([_tier(s, r) for s, r in zip(score, recency)])
    n_complaints = np.where(rng.random(n) < 0.6 * (1.2 - quality), rng.integers(1, 5, n), 0).astype(float)
    stage = np.where(n_complaints > 0, rng.choice(STAGES, n, p=[0.2, 0.5, 0.2, 0.1]), "")
    p_churn = np.round(np.clip(1 / (1 + np.exp(8 * (quality - 0.55))) + rng.normal(0, 0.05, n), 0.01, 0.99), 4)
    expected = np.round(rng.gamma(2, 20000, n) * (0.5 + quality), 2)
    band = np.select([p_churn >= 0.7, p_churn >= 0.5, p_churn >= 0.3], ["very_high", "high", "medium"], "low")
    group = rng.choice(GROUPS, n, p=[0.3, 0.15, 0.1, 0.15, 0.2, 0.1])
    group = np.where(rng.random(n) < 0.05, "", group)
    reasons = []
    for g, r, f, c, s in zip(group, recency, frequency, complaint, np.nan_to_num(nps)):
        if not g:
            reasons.append("")
            continue
        zh, en = REASONS[g]
        reasons.append(f"{zh.format(d=int(r), f=f, c=c, n=s)} / {en.format(d=int(r), f=f, c=c, n=s)}")
    rfm = rng.choice(list(RFM_SEGMENTS), n)
    products = [";".join(f"P{int(x):03d}" for x in rng.choice(40, 3, replace=False)) if rng.random() < 0.8 else ""
                for _ in range(n)]
    actions = ScoringJobConfig().actions
    rec, dept = [], []
    for t, g in zip(tier, group):
        rule = match_action(actions, t, g)
        rec.append(f"{rule.action_zh} / {rule.action_en}")
        dept.append(f"{rule.department_zh} / {rule.department_en}")
    df = pd.DataFrame({
        "customer_id": ids,
        "name": rng.choice(MASKED_NAMES, n),
        "as_of": pd.Timestamp(as_of),
        "industry": industry, "size": size, "region": region,
        "tenure_months": rng.integers(1, 73, n).astype(float),
        "loyalty_score": score, "loyalty_tier": tier,
        "tier_reason": [f"score {s:.1f}" for s in score],
        "repurchase_rate": np.round(repurchase, 3), "order_value_stability": np.round(stability, 3),
        "purchase_frequency": frequency, "nps": nps, "complaint_rate": complaint,
        "recency_days": recency, "monetary_total": monetary, "margin_total": margin,
        "n_orders": n_orders.astype(float), "n_complaints": n_complaints, "top_complaint_stage": stage,
        "n_survey_responses": np.where(np.isnan(nps), 0, rng.integers(1, 4, n)).astype(float),
        "churn_probability": p_churn,
        "churn_percentile": np.round(pd.Series(p_churn).rank(pct=True).to_numpy() * 100, 2),
        "risk_band": band, "expected_value": expected, "expected_purchases": np.round(expected / 1000.0, 2),
        # time to churn (issue 15 §2): a survival curve that falls faster for riskier customers
        "p_active_30d": np.round(1 - 0.3 * p_churn, 4), "p_active_90d": np.round(1 - 0.6 * p_churn, 4),
        "p_active_180d": np.round(1 - 0.9 * p_churn, 4), "expected_days_to_churn": np.round(365 * (1 - p_churn), 1),
        "value_at_risk": np.round(p_churn * expected, 2),
        "rfm_segment": rfm,
        "reason_1": reasons, "reason_2": ["" for _ in range(n)], "reason_3": ["" for _ in range(n)],
        "top_driver_group": group, "recommended_action": rec, "owner_department": dept,
        "control_group": pd.array(np.zeros(n, bool), dtype="boolean"),
        "next_products": products, "churn_probability_previous": np.full(n, np.nan),
        "churn_probability_change": np.full(n, np.nan), "newly_at_risk": pd.array(np.zeros(n, bool), dtype="boolean"),
        "churn_model_version": "3", "value_model_version": "2",
    })
    text = [c for c in df.columns if df[c].dtype == object or str(df[c].dtype) == "str"]
    df = df.astype({c: "string" for c in text})
    df = df.sort_values(["value_at_risk", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    assert list(df.columns) == list(RISK_LIST_COLUMNS)
    return df


def make_list_summary(df: pd.DataFrame) -> dict:
    """A churn_risk_summary.json for ``df`` with drivers, diagnosis and model metrics."""
    tiers = df["loyalty_tier"].value_counts().to_dict()
    config = LoyalistConfig().model_dump(mode="json")
    drivers = [
        ("recency_days", "recency", 0.42, "最近消费距今天数", "days since last order"),
        ("resolution_hours_mean", "service", 0.31, "平均处理时长(小时)", "mean resolution time (hours)"),
        ("purchase_frequency", "frequency", 0.22, "消费频次", "purchase frequency"),
        ("complaint_rate", "complaints", 0.15, "客户投诉率", "complaint rate"),
        ("nps", "satisfaction", 0.11, "NPS值", "NPS"),
        ("spend_trend", "value", 0.05, "消费趋势", "spend trend"),
    ]
    return {
        "as_of": str(df["as_of"].iloc[0].date()),
        "customers": int(len(df)),
        "tiers": {str(k): int(v) for k, v in tiers.items()},
        "bands": {str(k): int(v) for k, v in df["risk_band"].value_counts().items()},
        "value_at_risk_by_tier": {
            str(k): float(v) for k, v in df.groupby("loyalty_tier")["value_at_risk"].sum().items()},
        "expected_value_total": float(df["expected_value"].sum()),
        "value_at_risk_total": float(df["value_at_risk"].sum()),
        "survival_calibration": {"cutoff": "2024-09-30", "window_end": "2024-12-29", "mae": 0.02,
                                 "mae_anchored": 0.01, "rows": [
            {"period": m, "start_day": 30 * m, "predicted_share": 0.6 - 0.2 * m, "observed_share": 0.62 - 0.2 * m,
             "predicted_anchored_share": 0.61 - 0.2 * m, "customers": 300, "error": -0.02, "error_anchored": -0.01}
            for m in range(3)]},
        "models": {"churn": {"name": "loyalist-churn", "version": "3", "run_id": "abc123"},
                   "value": {"name": "loyalist-value", "version": "2", "run_id": "def456"}},
        "inputs": {"orders": {"rows": 12345, "customers": 310, "sha256": "0123456789abcdef"},
                   "customers": {"rows": 320, "customers": 320, "sha256": "fedcba9876543210"}},
        "drift": {"psi": {"recency_days": 0.25, "nps": 0.05}, "above": ["recency_days"], "warn": 0.2},
        "config": config,
        "global_drivers": [{"feature": f, "group": g, "mean_abs_shap": v, "mean_shap": v / 3, "label_zh": zh,
                            "label_en": en} for f, g, v, zh, en in drivers],
        "drivers_by_tier": {
            "at_risk": [{"feature": "resolution_hours_mean", "mean_abs_shap": 0.35},
                        {"feature": "recency_days", "mean_abs_shap": 0.30}],
            "high_risk": [{"feature": "recency_days", "mean_abs_shap": 0.55},
                          {"feature": "complaint_rate", "mean_abs_shap": 0.20}],
        },
        "diagnosis": {
            "at_risk": {"shares": {"service": 0.6, "recency": 0.4}, "leading_group": "service",
                        "sentence": {"zh": "60% 的潜在流失客户：售后响应慢是首要驱动因素",
                                     "en": "60% of at-risk customers: slow after-sales response is the top driver"}},
        },
        "model_metrics": {
            "churn": [
                {"scorer": "model", "roc_auc": 0.812, "pr_auc": 0.55, "brier": 0.12, "calibration_error": 0.021},
                {"scorer": "rule_score", "roc_auc": 0.701, "pr_auc": 0.41, "brier": 0.16, "calibration_error": None},
                {"scorer": "recency", "roc_auc": 0.688, "pr_auc": 0.39, "brier": 0.17},
            ],
            "value": [{"scorer": "model", "normalised_gini": 0.61, "spearman": 0.58},
                      {"scorer": "bgnbd_gg", "normalised_gini": 0.52, "spearman": 0.49}],
        },
        "explained": {"customers": int(len(df)), "sample": int(len(df))},
    }


def make_previous(current: pd.DataFrame, seed: int = 11, as_of: str = "2024-09-30") -> pd.DataFrame:
    """An earlier list: 80% of the current customers (same ids, other scores) plus 30 that are gone."""
    base = make_scored_list(n=len(current), seed=seed, as_of=as_of)
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(current), int(0.8 * len(current)), replace=False))
    ids = list(current["customer_id"].iloc[keep]) + [f"G{i:04d}" for i in range(30)]
    prev = base.head(len(ids)).assign(customer_id=pd.array(ids, dtype="string"))
    return prev.reset_index(drop=True)


def make_clean(current: pd.DataFrame, seed: int = 3) -> CleanInputs:
    """Clean tables for the customers of ``current`` with raw contacts, complaint tickets and rejects."""
    rng = np.random.default_rng(seed)
    ids = list(current["customer_id"])
    as_of = current["as_of"].iloc[0]
    customers = pd.DataFrame({
        "customer_id": ids,
        "name": [RAW_COMPANY if i == 0 else f"上海第{i}号精工制造集团" for i in range(len(ids))],
        "industry": current["industry"].astype(str).to_list(),
        "contact": [RAW_PHONE if i % 3 == 0 else RAW_EMAIL if i % 3 == 1 else f"李{i}经理" for i in range(len(ids))],
    }).astype("string")
    rows = []
    for k, cid in enumerate(ids):
        for j in range(int(rng.integers(0, 6))):
            rows.append({"order_id": f"O{k}-{j}", "customer_id": cid,
                         "order_date": as_of - pd.Timedelta(days=int(rng.integers(0, 500))),
                         "amount": float(rng.gamma(2, 500)),
                         "status": "completed" if rng.random() < 0.9 else "returned"})
    orders = pd.DataFrame(rows).astype({"order_id": "string", "customer_id": "string", "status": "string"})
    tickets = pd.DataFrame({
        "ticket_id": [f"T{i}" for i in range(200)],
        "customer_id": rng.choice(ids, 200),
        "created_at": [as_of - pd.Timedelta(days=int(d)) for d in rng.integers(0, 400, 200)],
        "kind": rng.choice(["complaint", "inquiry"], 200, p=[0.6, 0.4]),
        "stage": rng.choice(STAGES, 200, p=[0.2, 0.3, 0.4, 0.1]),
    }).astype({"ticket_id": "string", "customer_id": "string", "kind": "string", "stage": "string"})
    rejects = pd.DataFrame({
        "table": ["orders"] * 5 + ["customers"] * 2, "source_row": range(7), "key": [f"K{i}" for i in range(7)],
        "rule": ["test_order"] * 3 + ["duplicate_key"] * 2 + ["incomplete_customer"] * 2,
        "action": ["dropped"] * 7, "column": [""] * 7, "reason": ["r"] * 7,
        "record": ['{"contact":"139****5678"}'] * 7,
    })
    summary = pd.DataFrame({"table": ["orders", "customers", "tickets"],
                            "rows_in": [len(orders) + 5, len(customers) + 2, len(tickets)],
                            "rows_kept": [len(orders), len(customers), len(tickets)],
                            "rows_rejected": [5, 2, 0], "rows_changed": [1, 0, 0]})
    return CleanInputs(tables={"orders": orders, "customers": customers, "tickets": tickets}, rejects=rejects,
                       rows=summary)


@pytest.fixture(scope="session")
def scored() -> pd.DataFrame:
    return make_scored_list()


@pytest.fixture(scope="session")
def list_summary(scored) -> dict:
    return make_list_summary(scored)


@pytest.fixture(scope="session")
def previous(scored) -> pd.DataFrame:
    return make_previous(scored)


@pytest.fixture(scope="session")
def clean(scored) -> CleanInputs:
    return make_clean(scored)


@pytest.fixture(scope="session")
def factories() -> SimpleNamespace:
    """The builders and raw-PII constants of this module, for tests that need their own variant."""
    return SimpleNamespace(
        scored_list=make_scored_list, list_summary=make_list_summary, previous=make_previous, clean=make_clean,
        RAW_PHONE=RAW_PHONE, RAW_EMAIL=RAW_EMAIL, RAW_COMPANY=RAW_COMPANY, SCRIPT_NAME=SCRIPT_NAME,
    )


def write_clean_folder(clean: CleanInputs, folder: Path) -> Path:
    """Write CleanInputs the way ``loyalist prepare`` lays them out (tables, rejects.parquet, summary.csv)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in clean.tables.items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
    clean.rejects.to_parquet(folder / "rejects.parquet", index=False)
    clean.rows.to_csv(folder / "summary.csv", index=False, encoding="utf-8-sig")
    return folder


@pytest.fixture(scope="session")
def clean_folder(tmp_path_factory, clean) -> Path:
    return write_clean_folder(clean, tmp_path_factory.mktemp("clean"))
