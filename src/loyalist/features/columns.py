"""The columns of the customer snapshot at cut-off T, with their definitions.

This module is the single written contract between the snapshot SQL, the rule-based score, the models and the
report. Every definition uses events dated <= T only ("as of" T). Windows:

- W = the look-back window (T - lookback_days, T] (default 365 days);
- the population of the snapshot at T: customers with at least one *completed* order in W;
- "orders" means completed orders unless said otherwise; returns and cancellations are counted apart.

Dates are compared as timestamps; a day-count between two dates is the difference in whole days.
"""

from __future__ import annotations

__all__ = ["SNAPSHOT_COLUMNS", "FEATURE_COLUMNS", "CATEGORICAL_COLUMNS", "LABEL_COLUMNS", "FEATURE_GROUPS"]

#: name -> definition. Order is the column order of the snapshot table.
SNAPSHOT_COLUMNS: dict[str, str] = {
    # identity
    "customer_id": "canonical customer id",
    "as_of": "the cut-off date T (datetime64)",
    "industry": "from customers (string, <NA> when unknown)",
    "size": "company size from customers (string)",
    "region": "region from customers (string)",
    # the seed indicators (source toolkit)
    "repurchase_rate": (
        "share of the months after the customer's first month in W that contain an order: "
        "(active months - 1) / (observed months - 1), where observed months = calendar months from the month of "
        "the customer's first order in W through the month of T inclusive and active months = distinct calendar "
        "months with an order in W; NaN when observed months < 2. The first order is not a repurchase."
    ),
    "order_value_stability": (
        "1 - std/mean of the order amounts in W (sample std, ddof=1), clipped to [0, 1]; NaN below two orders "
        "or when the mean amount is not positive"
    ),
    "purchase_frequency": (
        "orders per year over the customer's observed part of W: n_orders / (observed_days / 365.25) where "
        "observed_days = max(days from max(first order ever, start of W) to T, frequency_min_days)"
    ),
    "nps": (
        "customer-level NPS over survey answers dated in W: (% promoters (9-10) - % detractors (0-6)) x 100, "
        "in [-100, 100]; NaN without answers"
    ),
    "complaint_rate": (
        "complaint tickets created in W / completed orders in W (tickets whose kind is a complaint kind); "
        "clipped to [0, 1]; 0 when the customer has no complaint; NaN only when the tickets table (or its kind "
        "column) is absent"
    ),
    # behaviour
    "n_orders": "completed orders in W",
    "n_orders_total": "completed orders ever (<= T)",
    "monetary_total": "sum of completed order amounts in W",
    "monetary_mean": "mean completed order amount in W",
    "monetary_std": "sample std of completed order amounts in W (NaN below two orders)",
    "margin_total": "sum of margin (or amount - cost) of completed orders in W; NaN when neither is given",
    "first_order_date": "date of the first completed order ever (<= T)",
    "last_order_date": "date of the last completed order (<= T)",
    "recency_days": "days from the last completed order to T",
    "tenure_days": "days from min(signup_date, first order) to T",
    "spend_last": "sum of completed amounts in (T - trend_window, T]",
    "spend_prev": "sum of completed amounts in (T - 2 trend_window, T - trend_window]",
    "spend_trend": "(spend_last - spend_prev) / (spend_last + spend_prev), in [-1, 1]; 0 when both are 0",
    "ipt_mean": "mean days between consecutive distinct order days in W (NaN below two order days)",
    "ipt_std": "sample std of those gaps (NaN below three order days)",
    "ipt_last": "days between the last two distinct order days (NaN below two)",
    "recency_ipt_ratio": "recency_days / ipt_mean (how overdue the next order is); NaN when ipt_mean is NaN",
    "n_returns": "returned orders in W",
    "return_rate": "n_returns / (n_orders + n_returns); 0 when no returns",
    "n_cancelled": "cancelled orders in W",
    # service
    "n_tickets": "tickets created in W (0 without tickets; NaN when the tickets table is absent)",
    "n_complaints": "complaint tickets created in W",
    "n_complaints_recent": "complaint tickets created in (T - trend_window, T]",
    "resolution_hours_mean": "mean hours from created_at to resolved_at of tickets created and resolved <= T in W",
    "open_tickets": (
        "tickets created <= T in W not resolved by T (resolved_at missing or > T); NaN when the tickets table or "
        "its resolved_at column is absent"
    ),
    "top_complaint_stage": (
        "the stage with most complaint tickets in W (string; ties go to the first stage in alphabetical order)"
    ),
    # attitude
    "n_survey_responses": "survey answers in W",
    "satisfaction_mean": "mean satisfaction (1-5) in W",
    "brand_mention_rate": "share of answers in W that mention the brand",
    # BTYD summary (whole history <= T, customer-days: same-day orders merged)
    "btyd_frequency": "repeat purchase days: distinct order days <= T minus 1",
    "btyd_recency": "days from the first to the last order day (<= T)",
    "btyd_T": "days from the first order day to T",
    "btyd_monetary": "mean amount per repeat purchase day (excluding the first day); 0 when no repeat",
    # RFM (quintiles among the snapshot population; 5 = best)
    "rfm_r": "recency quintile 1-5 (5 = most recent)",
    "rfm_f": "frequency quintile 1-5 on n_orders (5 = most orders)",
    "rfm_m": "monetary quintile 1-5 on monetary_total (5 = most spend)",
    "rfm_score": "rfm_r * 100 + rfm_f * 10 + rfm_m",
    "rfm_segment": (
        "named segment from (rfm_r, mean of rfm_f and rfm_m): champions, loyal, ... (rules and zh/en labels: "
        "loyalist.features.rfm.RFM_SEGMENTS)"
    ),
    # early warning: what changes before an active customer leaves (trend window = (T - trend_window, T], the
    # previous one = (T - 2 trend_window, T - trend_window])
    "order_trend": (
        "(orders in the trend window - orders in the previous one) / their sum, in [-1, 1]; 0 when both are 0"
    ),
    "ipt_last_ratio": "ipt_last / ipt_mean: the latest gap against the customer's own usual gap (NaN below two gaps)",
    "n_categories": "distinct categories of the completed orders in W (NaN without an orders category column)",
    "category_range_trend": (
        "(distinct categories in the trend window - distinct categories in the previous one) / n_categories, in "
        "[-1, 1]: a shrinking range is negative (NaN without a category column)"
    ),
    "product_range_trend": (
        "(distinct products in the trend window - distinct products in the previous one) / distinct products in "
        "W, in [-1, 1]: basket breadth (NaN without a product_id column)"
    ),
    "complaint_trend": "complaints in the trend window - complaints in the previous one (tickets created in W)",
    "days_since_complaint": "days from the last complaint ticket in W to T (NaN without a complaint in W)",
    "n_slow_tickets": (
        "tickets created in W resolved more than 72 hours after creation by T, or still open at T and older than "
        "72 hours"
    ),
    "resolution_hours_trend": (
        "mean resolution hours of the tickets created in the trend window - that of the previous one (tickets "
        "resolved by T; NaN when either window has none)"
    ),
    "nps_last": "mean NPS answer (0-10) of the customer's latest answer day in W (NaN without answers)",
    "nps_change": (
        "nps_last - the mean answer of the customer's earlier answer days in W (NaN with a single answer day)"
    ),
    # early warning against the customer's own history (a decision to leave shows as smaller, rarer orders, more
    # complaints and worse answers than the customer's own before; service counts over the whole history <= T)
    "amount_ratio": (
        "mean completed order amount in the trend window / mean completed order amount in W before the trend "
        "window: below 1 = smaller orders than the customer's own usual (NaN when either window has no order or a "
        "mean <= 0)"
    ),
    "order_rate_ratio": (
        "orders per day in the trend window / orders per day in W before it, the latter over the days from "
        "max(first order ever, start of W) to the start of the trend window: 1 = the customer's own usual pace "
        "(NaN when those days are fewer than trend_window_days or hold no order)"
    ),
    "complaints_total": "complaint tickets created <= T (whole history, not only W)",
    "slow_tickets_total": (
        "tickets created <= T (whole history) resolved more than 72 hours after creation by T, or still open at T "
        "and older than 72 hours"
    ),
    "detractor_answers_total": "survey answers 0-6 dated <= T (whole history)",
    "nps_recent": "mean NPS answer (0-10) dated in (T - 2 trend_window, T] (NaN without answers there)",
    "nps_recent_change": (
        "nps_recent - the mean NPS answer dated <= T - 2 trend_window (whole history; NaN when either is missing)"
    ),
    "main_category_share": (
        "share of the completed lines (orders, or order_lines when orders has no category) in the trend window "
        "that are in the customer's main category: the category with most lines in W before the trend window "
        "(ties: the first in alphabetical order); NaN without lines in either window or without a category column"
    ),
    "main_category_share_trend": (
        "main_category_share - the main category's share of the lines in W before the trend window: a customer "
        "narrowing to the main category is positive"
    ),
}

#: Categorical feature columns (string dtype).
CATEGORICAL_COLUMNS: tuple[str, ...] = ("industry", "size", "region", "top_complaint_stage", "rfm_segment")

#: Numeric columns a model may use (not identity, not dates).
FEATURE_COLUMNS: tuple[str, ...] = tuple(
    c for c in SNAPSHOT_COLUMNS
    if c not in ("customer_id", "as_of", "first_order_date", "last_order_date", "rfm_score")
    and c not in CATEGORICAL_COLUMNS
)

#: Label table columns for the window (T, T + horizon].
LABEL_COLUMNS: dict[str, str] = {
    "customer_id": "canonical customer id (snapshot population at T)",
    "as_of": "the cut-off date T",
    "churned": "1 when the customer places no completed order in (T, T + churn_horizon], else 0",
    "future_orders": "completed orders in (T, T + value_horizon]",
    "future_revenue": "sum of completed amounts in (T, T + value_horizon]",
    "future_margin": "sum of margin in (T, T + value_horizon] (NaN when no margin/cost is given)",
}

#: Feature groups used by the diagnosis ("share of at-risk customers whose top driver is service ...").
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "recency": (
        "recency_days", "recency_ipt_ratio", "btyd_recency", "btyd_T", "tenure_days", "ipt_last", "rfm_r",
        "ipt_last_ratio",
    ),
    "frequency": (
        "purchase_frequency", "repurchase_rate", "n_orders", "n_orders_total", "btyd_frequency", "ipt_mean",
        "ipt_std", "rfm_f", "order_trend", "order_rate_ratio",
    ),
    "value": (
        "monetary_total", "monetary_mean", "monetary_std", "order_value_stability", "margin_total", "spend_last",
        "spend_prev", "spend_trend", "btyd_monetary", "rfm_m", "n_categories", "category_range_trend",
        "product_range_trend", "amount_ratio", "main_category_share", "main_category_share_trend",
    ),
    "complaints": (
        "complaint_rate", "n_complaints", "n_complaints_recent", "n_returns", "return_rate", "n_cancelled",
        "complaint_trend", "days_since_complaint", "complaints_total",
    ),
    "service": (
        "n_tickets", "resolution_hours_mean", "open_tickets", "n_slow_tickets", "resolution_hours_trend",
        "slow_tickets_total",
    ),
    "satisfaction": (
        "nps", "n_survey_responses", "satisfaction_mean", "brand_mention_rate", "nps_last", "nps_change",
        "detractor_answers_total", "nps_recent", "nps_recent_change",
    ),
}
