"""The churn-risk list: the columns of the table a scoring job writes (``churn_risk.parquet`` / ``.csv``).

One row per eligible customer (the snapshot population at the as-of date), exactly once, sorted by
``value_at_risk`` descending. Personal fields are masked; ``customer_id`` is the pseudonym when pseudonymisation
is on. Beside it, ``churn_risk_summary.json`` (see :data:`SUMMARY_KEYS`).
"""

from __future__ import annotations

__all__ = ["RISK_LIST_COLUMNS", "SUMMARY_KEYS", "RISK_BANDS"]

#: Risk bands from low to high; the cuts on churn_probability are configurable (``scoring_job.risk_bands``).
RISK_BANDS: tuple[str, ...] = ("low", "medium", "high", "very_high")

RISK_LIST_COLUMNS: dict[str, str] = {
    "customer_id": "customer id (or its keyed pseudonym)",
    "name": "customer name, masked (*科技有限公司 style); empty when no customers table",
    "as_of": "the cut-off date T of the snapshot (datetime64)",
    "industry": "industry (string)",
    "size": "company size (string)",
    "region": "region (string)",
    "tenure_months": "months since the first order or signup, at T",
    "loyalty_score": "rule-based loyalty score 0-100",
    "loyalty_tier": "devoted | stable | at_risk | high_risk",
    "tier_reason": "the threshold or guard rule that decided the tier",
    "repurchase_rate": "indicator (0-1)",
    "order_value_stability": "indicator (0-1)",
    "purchase_frequency": "indicator (orders per year)",
    "nps": "indicator (-100..100)",
    "complaint_rate": "indicator (0-1)",
    "recency_days": "days since the last order at T",
    "monetary_total": "revenue in the look-back window",
    "margin_total": "margin in the look-back window (NaN when no cost or margin is given): profit contribution",
    "n_orders": "completed orders in the look-back window",
    "n_complaints": "complaint tickets in the look-back window (NaN without tickets)",
    "top_complaint_stage": "the service stage with most of the customer's complaints",
    "n_survey_responses": "survey answers in the look-back window",
    "churn_probability": "calibrated P(no order in (T, T + churn horizon])",
    "churn_percentile": "percentile rank of churn_probability among the scored customers (0-100, 100 = riskiest)",
    "risk_band": "low | medium | high | very_high from configurable probability cuts",
    "expected_value": "expected revenue in (T, T + value horizon] from the value model",
    "expected_purchases": (
        "expected purchases (order days) in (T, T + value horizon]: BG/NBD at the value model's horizon"
    ),
    "p_active_30d": (
        "P(the customer has not dropped out 30 days after T): BG/NBD's drop-out process started from the P(alive "
        "at T) that matches churn_probability (loyalist.modeling.btyd.survival; NaN without a BG/NBD fit); the "
        "same name in the customer-table mode"
    ),
    "p_active_90d": "the same, 90 days after T",
    "p_active_180d": "the same, 180 days after T",
    "expected_days_to_churn": (
        "expected days from T until the customer drops out, capped at 365 (restricted mean of the BG/NBD survival "
        "curve: 0 = already gone, 365 = sure to stay a year; also the expected day of their last purchase)"
    ),
    "value_at_risk": "churn_probability x expected_value (the default sort, descending)",
    "rfm_segment": "named RFM segment (champions, loyal_customers, ...)",
    "reason_1": "top churn driver of this customer in plain words, zh and en joined by ' / ' (empty if not explained)",
    "reason_2": "second driver",
    "reason_3": "third driver",
    "top_driver_group": "feature group of the top driver: recency, frequency, value, complaints, service, satisfaction",
    "recommended_action": "action from the action table for the tier / driver (zh / en)",
    "owner_department": "department that owns the action (zh / en)",
    "control_group": (
        "True for a customer held out of the action plan as the control group (no action; recommended_action and "
        "owner_department empty); see churn_risk_control.parquet"
    ),
    "next_products": "cross-sell: up to three product ids likely to be bought next, ';'-joined (empty when unknown)",
    "churn_probability_previous": (
        "churn_probability in the previous list (score --previous); NaN without one or for a customer not in it"
    ),
    "churn_probability_change": "churn_probability - churn_probability_previous (NaN when there is no previous value)",
    "newly_at_risk": (
        "True for an active customer (an order in the last 90 days) whose risk band rose into high or very_high "
        "since the previous list; False without a previous list"
    ),
    "churn_model_version": "registered version of loyalist-churn used (or 'bundle:<path>')",
    "value_model_version": "registered version of loyalist-value used",
}

#: Keys of churn_risk_summary.json.
SUMMARY_KEYS: dict[str, str] = {
    "as_of": "the cut-off date",
    "customers": "rows in the list",
    "tiers": "{tier: customers}",
    "bands": "{band: customers}",
    "value_at_risk_by_tier": "{tier: sum of value_at_risk}",
    "expected_value_total": "sum of expected_value",
    "expected_purchases_total": "sum of expected_purchases",
    "value_at_risk_total": "sum of value_at_risk",
    "models": "{churn: {name, version, run_id}, value: {...}}",
    "inputs": "{table: fingerprint (rows, customers, sha256)}",
    "drift": "{feature: psi} and the features above the warning level",
    "level": (
        "{churn|value: {method, months, horizon_days, factor, power, note}} for each model whose horizon covers "
        "calendar months no training label covered (the level rule's warning); {} when none"
    ),
    "config": "the resolved config (no secrets)",
    "global_drivers": "[{feature, group, mean_abs_shap, mean_shap, label_zh, label_en}] from the explained sample",
    "drivers_by_tier": "{tier: [{feature, mean_abs_shap}]}",
    "diagnosis": "loyalist.explain.diagnosis output: per tier, share of customers per top-driver group + sentences",
    "model_metrics": (
        "{churn: [{scorer, roc_auc, ...}], value: [...]} from the registered versions' runs (their "
        "tables/metrics_vs_baselines.csv); churn_active: [{scorer, roc_auc, ..., n, base_rate, active_days}], the "
        "churn run's same table on the customers still active at the cut-off (a completed order in the last "
        "active_days days, the run's features.active_days; tables/active_customers_vs_baselines.csv), only when "
        "the run logged it (absent for runs before it; active_days absent for runs before the key, which used 90)"
    ),
    "explained": "{customers: n explained individually, sample: n in the global sample}",
    "control_group": (
        "None when control groups are off; else {campaign, campaign_date, share, seed, crm_export, customers "
        "(with an action), control, treatment, strata, strata_without_control, customers_in_strata_without_control, "
        "actions: [{action, customers, control}], file}; the scoring run logs it as control/campaign.json with tags "
        "campaign and campaign_date"
    ),
    "newly_at_risk": (
        "None without a previous list; else {previous_as_of, active_days, customers (newly_at_risk count), "
        "rising (active customers whose probability rose), top: [{customer_id, churn_probability_previous, "
        "churn_probability, churn_probability_change, risk_band_previous, risk_band, reason_1}] (the 20 active "
        "customers whose churn probability rose most)}"
    ),
}
