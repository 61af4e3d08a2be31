"""Fixtures of the explain tests: a hand-built snapshot with a known churn structure and small fitted ChurnModels.

The snapshot has every column of :data:`~loyalist.features.columns.SNAPSHOT_COLUMNS`; churn is driven mostly by
recency, recent complaints and slow ticket resolution, so the fitted model has clear positive drivers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from loyalist.features.columns import SNAPSHOT_COLUMNS
from loyalist.modeling.supervised.churn import ChurnModel

INDUSTRIES = ("manufacturing", "it", "retail")
STAGES = ("delivery", "after_sales", "billing")

SMALL_LGBM = {"n_estimators": 60, "learning_rate": 0.1, "num_leaves": 15, "min_child_samples": 15}


def make_snapshot(n: int, as_of: str, seed: int) -> pd.DataFrame:
    """One labelled snapshot of ``n`` customers at ``as_of`` (all snapshot columns plus ``churned``)."""
    rng = np.random.default_rng(seed)
    t = pd.Timestamp(as_of)
    tenure = rng.integers(60, 2000, n).astype(float)
    n_orders = rng.poisson(6, n) + 1
    n_total = n_orders + rng.poisson(4, n)
    recency = np.minimum(rng.exponential(60, n).round(), tenure - 1)
    tenure = np.where(n_total == 1, recency, tenure)  # one order ever: the first order is the last one
    ipt = np.where(n_orders > 1, rng.uniform(10, 90, n), np.nan)
    amount = rng.lognormal(8, 0.6, n)
    mon_total = amount * n_orders
    n_tickets = rng.poisson(2, n)
    n_compl = rng.binomial(n_tickets, 0.4)
    n_compl_recent = rng.binomial(n_compl, 0.5)
    res_hours = np.where(n_tickets > 0, rng.gamma(2.0, 24.0, n), np.nan)
    n_resp = rng.poisson(1.5, n)
    nps = np.where(n_resp > 0, rng.choice([-100.0, 0.0, 50.0, 100.0], n), np.nan)
    spend_last = mon_total * rng.uniform(0.0, 0.5, n)
    spend_prev = mon_total * rng.uniform(0.0, 0.5, n)
    stage = np.where(n_compl > 0, rng.choice(STAGES, n, p=[0.2, 0.6, 0.2]), None)
    logit = -1.2 + 0.02 * (recency - 60) + 0.9 * n_compl_recent + 0.02 * np.nan_to_num(res_hours - 48)
    churned = (rng.random(n) < expit(logit)).astype(int)
    cols = {
        "customer_id": pd.array([f"C{seed:02d}{i:05d}" for i in range(n)], dtype="str"),
        "as_of": np.full(n, t),
        "industry": pd.array(np.where(rng.random(n) < 0.1, None, rng.choice(INDUSTRIES, n)), dtype="str"),
        "size": pd.array(rng.choice(["small", "medium", "large"], n), dtype="str"),
        "region": pd.array(rng.choice(["east", "north"], n), dtype="str"),
        "repurchase_rate": rng.uniform(0, 1, n),
        "order_value_stability": rng.uniform(0, 1, n),
        "purchase_frequency": n_orders / (np.clip(tenure, 30, 365) / 365.25),
        "nps": nps,
        "complaint_rate": np.clip(n_compl / n_orders, 0, 1),
        "n_orders": n_orders.astype(float),
        "n_orders_total": n_total.astype(float),
        "monetary_total": mon_total,
        "monetary_mean": amount,
        "monetary_std": amount * rng.uniform(0.1, 0.6, n),
        "margin_total": mon_total * 0.2,
        "first_order_date": t - pd.to_timedelta(tenure, unit="D"),
        "last_order_date": t - pd.to_timedelta(recency, unit="D"),
        "recency_days": recency,
        "tenure_days": tenure,
        "spend_last": spend_last,
        "spend_prev": spend_prev,
        "spend_trend": (spend_last - spend_prev) / np.maximum(spend_last + spend_prev, 1e-9),
        "ipt_mean": ipt,
        "ipt_std": ipt * 0.3,
        "ipt_last": ipt,
        "recency_ipt_ratio": recency / ipt,
        "n_returns": rng.poisson(0.3, n).astype(float),
        "return_rate": rng.uniform(0, 0.2, n),
        "n_cancelled": rng.poisson(0.2, n).astype(float),
        "n_tickets": n_tickets.astype(float),
        "n_complaints": n_compl.astype(float),
        "n_complaints_recent": n_compl_recent.astype(float),
        "resolution_hours_mean": res_hours,
        "open_tickets": rng.binomial(n_tickets, 0.2).astype(float),
        "top_complaint_stage": pd.array(stage, dtype="str"),
        "n_survey_responses": n_resp.astype(float),
        "satisfaction_mean": np.where(n_resp > 0, rng.uniform(1, 5, n), np.nan),
        "brand_mention_rate": np.where(n_resp > 0, rng.uniform(0, 1, n), np.nan),
        "btyd_frequency": (n_total - 1).astype(float),
        "btyd_recency": tenure - recency,
        "btyd_T": tenure,
        "btyd_monetary": np.where(n_total > 1, amount, 0.0),
        "rfm_r": rng.integers(1, 6, n).astype(float),
        "rfm_f": rng.integers(1, 6, n).astype(float),
        "rfm_m": rng.integers(1, 6, n).astype(float),
    }
    cols["rfm_score"] = cols["rfm_r"] * 100 + cols["rfm_f"] * 10 + cols["rfm_m"]
    cols["rfm_segment"] = pd.array(rng.choice(["champions", "at_risk", "lost", "loyal_customers"], n), dtype="str")
    # early-warning columns
    cols["order_trend"] = rng.uniform(-1, 1, n)
    cols["ipt_last_ratio"] = np.where(n_orders > 2, rng.uniform(0.3, 3, n), np.nan)
    cols["n_categories"] = rng.integers(1, 5, n).astype(float)
    cols["category_range_trend"] = rng.uniform(-1, 1, n)
    cols["product_range_trend"] = rng.uniform(-1, 1, n)
    cols["complaint_trend"] = (n_compl_recent - rng.binomial(n_compl - n_compl_recent, 0.5)).astype(float)
    cols["days_since_complaint"] = np.where(n_compl > 0, rng.integers(0, 365, n), np.nan)
    cols["n_slow_tickets"] = rng.binomial(n_tickets, 0.3).astype(float)
    cols["resolution_hours_trend"] = np.where(n_tickets > 1, rng.normal(0, 20, n), np.nan)
    cols["nps_last"] = np.where(n_resp > 0, rng.integers(0, 11, n), np.nan).astype(float)
    cols["nps_change"] = np.where(n_resp > 1, rng.normal(0, 2, n), np.nan)
    # the customer against their own history (issue 11 §4)
    cols["amount_ratio"] = np.where(n_orders > 2, rng.lognormal(0, 0.3, n), np.nan)
    cols["order_rate_ratio"] = np.where(n_orders > 2, rng.lognormal(0, 0.4, n), np.nan)
    cols["complaints_total"] = n_compl + rng.poisson(0.5, n).astype(float)
    cols["slow_tickets_total"] = cols["n_slow_tickets"] + rng.poisson(0.3, n)
    cols["detractor_answers_total"] = rng.poisson(0.2, n).astype(float)
    cols["nps_recent"] = np.where(n_resp > 0, rng.uniform(0, 10, n), np.nan)
    cols["nps_recent_change"] = np.where(n_resp > 1, rng.normal(0, 2, n), np.nan)
    cols["main_category_share"] = rng.uniform(0, 1, n)
    cols["main_category_share_trend"] = rng.uniform(-1, 1, n)
    frame = pd.DataFrame(cols)
    assert list(frame.columns) == list(SNAPSHOT_COLUMNS)
    return frame.assign(churned=churned)


@pytest.fixture(scope="session")
def snapshots() -> dict[str, pd.DataFrame]:
    """Two stacked training cut-offs, a validation cut-off and a scoring snapshot (no label)."""
    train = pd.concat([make_snapshot(500, "2023-03-31", 1), make_snapshot(500, "2023-06-30", 2)], ignore_index=True)
    valid = make_snapshot(500, "2023-09-30", 3)
    score = make_snapshot(300, "2023-12-31", 4).drop(columns="churned")
    return {"train": train, "valid": valid, "score": score}


@pytest.fixture(scope="session")
def churn_model(snapshots) -> ChurnModel:
    """A small real ChurnModel with BG/NBD features (no offset)."""
    return ChurnModel(params=SMALL_LGBM, calibration="none", early_stopping_rounds=20, n_jobs=1).fit(
        snapshots["train"], snapshots["valid"]
    )


@pytest.fixture(scope="session")
def offset_model(snapshots) -> ChurnModel:
    """The same with the BG/NBD offset (the ``offset`` column of the contributions is not zero)."""
    return ChurnModel(params=SMALL_LGBM, offset=True, calibration="none", early_stopping_rounds=20, n_jobs=1).fit(
        snapshots["train"], snapshots["valid"]
    )
