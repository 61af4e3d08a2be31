"""The level rule: months of the scoring horizon no training label covered, seasonal index, BG/NBD anchor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from loyalist.modeling.supervised.level import (
    Level,
    churn_logit_shift,
    churn_power,
    month_span,
    seasonal_factor,
    uncovered_months,
)

T = pd.Timestamp


def test_month_span_counts_months_with_a_day_in_the_window():
    assert month_span(T("2010-08-31"), T("2010-12-09")) == {9, 10, 11, 12}
    assert month_span(T("2010-08-30"), T("2010-08-31")) == {8}
    assert month_span(T("2010-08-31"), T("2010-08-31")) == set()


def test_retail_like_short_history_leaves_the_peak_months_uncovered():
    # weekly cut-offs from late May, each labelled up to the data end 2010-08-31
    windows = [(t, (T("2010-08-31") - t).days) for t in pd.date_range("2010-05-23", "2010-08-03", freq="7D")]
    assert uncovered_months(windows, T("2010-08-31"), 100) == [9, 10, 11, 12]
    # three years of monthly cut-offs with 90-day labels cover every month
    full = [(t, 90) for t in pd.date_range("2021-01-31", "2023-12-31", freq="ME")]
    assert uncovered_months(full, T("2024-03-31"), 90) == []


def test_seasonal_factor_is_the_ratio_of_monthly_rates_when_every_month_is_in_the_history():
    # two customers; one purchase each per month, except three each in December
    rows = []
    for month in pd.date_range("2021-01-01", "2022-12-01", freq="MS"):
        for c in ("A", "B"):
            for k in range(3 if month.month == 12 else 1):
                rows.append((c, month + pd.Timedelta(days=k)))
    orders = pd.DataFrame(rows, columns=["customer_id", "order_date"])
    windows = [(T("2022-05-31"), 61)]  # June-July labels
    f = seasonal_factor(orders, windows, T("2022-11-30"), 31)  # scoring December
    assert f == pytest.approx(3.0)
    # a month absent from the history: no seasonal index
    assert seasonal_factor(orders[orders["order_date"].dt.month != 12], windows, T("2022-11-30"), 31) is None


def test_seasonal_factor_sees_a_peak_of_more_buyers_and_ignores_first_purchases():
    """Retail's peak is mostly more customers buying, each about once: purchases per buyer of the month stay flat
    (the index was 1.0 with that measure); per customer of the month's active base (a purchase in the year before)
    the December peak shows. New customers' first purchases (a cohort acquired in one month) are not a season."""
    rows = []
    for month in pd.date_range("2020-01-01", "2022-11-01", freq="MS"):
        rows += [(c, month + pd.Timedelta(days=3)) for c in ("A", "B")]  # two regulars, once a month
        if month.month == 12:
            rows += [(f"X{k}", month + pd.Timedelta(days=5)) for k in range(4)]  # four December-only customers
    rows += [(f"N{k}", T("2021-07-10")) for k in range(20)]  # a cohort of one-time buyers acquired in July 2021
    orders = pd.DataFrame(rows, columns=["customer_id", "order_date"])
    windows = [(T("2022-05-31"), 61)]  # June-July labels
    f = seasonal_factor(orders, windows, T("2022-11-30"), 31)  # scoring December
    # months count from August 2020 (the first complete month, February, + 6 months of base). December 2020: the
    # base is A, B (the X are new), 2 purchases of it; December 2021: the base is A, B, the four X and the 20 of the
    # July cohort, 6 purchases of it. June and July 2021: 2 purchases of a base of 6 (A, B, X); 2022: of 26.
    december = np.mean([2 / 2, 6 / 26])
    june_july = np.mean([2 / 6, 2 / 26])
    assert f == pytest.approx(december / june_july)
    assert f == pytest.approx(3.0)  # six purchases in December against two a month from the same 26 customers
    # the July cohort's 20 first purchases are not July purchases of the base
    per_buyer = orders.assign(m=orders["order_date"].dt.to_period("M")).groupby("m").apply(
        lambda g: len(g) / g["customer_id"].nunique(), include_groups=False)
    assert (per_buyer == 1.0).all()  # what "purchases per buyer of the month" saw: no season at all


def test_churn_logit_shift_hits_the_target_mean_and_keeps_the_order():
    p = np.array([0.1, 0.4, 0.7, 0.9])
    d = churn_logit_shift(p, 0.6)
    q = expit(np.log(p / (1 - p)) + d)
    assert q.mean() == pytest.approx(0.6, abs=1e-9)
    assert (np.diff(q) > 0).all()


def _orders(rows):
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"]).assign(
        order_date=lambda d: pd.to_datetime(d["order_date"], format="mixed"))


def test_run_rate_counts_customer_days_of_the_window_up_to_the_end_of_the_cutoff_day():
    from loyalist.modeling.supervised.level import run_rate

    orders = _orders([
        ("A", "2024-01-01", 5.0),            # history start, outside the 90-day window
        ("A", "2024-03-02 10:00", 10.0),     # first day of the window (2024-03-02 .. 2024-05-31)
        ("A", "2024-03-02 18:00", 30.0),     # same customer-day: one purchase, amounts summed
        ("B", "2024-05-31 23:30", 20.0),     # during the cut-off day: counts (end of day D)
        ("B", "2024-06-01 00:00", 99.0),     # after the cut-off
        ("X", "2024-04-01", 50.0),           # not a scored customer
    ])
    # (2024-05-31 end of day - 90 days, end] starts 2024-03-02 23:59:59.999999: 03-02 is outside ...
    n = run_rate(orders, ["A", "B"], pd.Timestamp("2024-05-31"), 180, amount=False)
    assert n == pytest.approx(1 * 180 / 90)
    # ... and 03-03 is inside
    later = orders.assign(order_date=orders["order_date"].where(orders["customer_id"] != "A",
                                                                orders["order_date"] + pd.Timedelta(days=1)))
    later.loc[0, "order_date"] = pd.Timestamp("2024-01-01")
    assert run_rate(later, ["A", "B"], pd.Timestamp("2024-05-31"), 180, amount=False) == pytest.approx(2 * 2)
    assert run_rate(later, ["A", "B"], pd.Timestamp("2024-05-31"), 45, amount=True) == pytest.approx(60 / 2)
    # a history shorter than the window: no run rate
    assert run_rate(orders.iloc[3:], ["A", "B"], pd.Timestamp("2024-05-31"), 90, amount=False) is None


def test_anchor_level_is_the_mean_of_bgnbd_and_run_rate_else_bgnbd():
    from loyalist.modeling.supervised.level import anchor_level

    orders = _orders([("A", "2024-01-01", 5.0), ("A", "2024-05-01", 90.0), ("B", "2024-05-02", 90.0)])
    total, note = anchor_level(100.0, orders, ["A", "B"], pd.Timestamp("2024-05-31"), 90, amount=True)
    assert total == pytest.approx((100.0 + 180.0) / 2)
    assert "run rate" in note
    total, note = anchor_level(100.0, orders.iloc[1:], ["A", "B"], pd.Timestamp("2024-05-31"), 90, amount=True)
    assert total == 100.0 and "shorter" in note


class _Stub:
    """A fitted model as set_level sees it: kind, horizon, target, score and a frozen BG/NBD featurizer."""

    def __init__(self, kind, values, purchases=None):
        self.kind, self.horizon_days, self.target, self._values = kind, 90, "future_revenue", np.asarray(values)
        self.btyd_ = None if purchases is None else _Frozen(purchases)

    def score(self, snapshot, horizon_days=None):
        return self._values


class _Frozen:
    def __init__(self, purchases):
        self.purchases = np.asarray(purchases, dtype="float64")

    def transform(self, snapshot, horizon_days=None):
        return pd.DataFrame({"bg_expected_purchases": self.purchases}, index=snapshot.index)


def test_set_level_anchors_value_churn_and_purchases_to_the_bgnbd_and_run_rate_mean():
    from loyalist.modeling.supervised.level import set_level

    # history from 2024-01-01; 90-day window (2024-03-02 .. 2024-05-31]: A buys on 2 days (100 + 50), B on 1 (30)
    orders = _orders([("A", "2024-01-01", 10.0), ("A", "2024-04-01", 100.0), ("A", "2024-05-01", 50.0),
                      ("B", "2024-05-31 12:00:00", 30.0)])
    snapshot = pd.DataFrame({"customer_id": ["A", "B"]})
    btyd = pd.DataFrame({"bg_p_no_purchase": [0.2, 0.6], "bg_expected_purchases": [1.5, 0.5],
                         "btyd_value": [80.0, 20.0]})
    windows = [(T("2024-03-31"), 30)]  # April labels only: June-August uncovered, no earlier year has them
    cut = T("2024-05-31")
    value = set_level(_Stub("value", [40.0, 10.0], purchases=[1.0, 1.0]), snapshot, btyd, orders=orders,
                      label_windows=windows, scoring_cutoff=cut)
    assert value.method == "bgnbd_anchor"
    anchored = (100.0 + 180.0) / 2  # BG/NBD x GG total 100, run rate 180 in 90 days
    assert value.factor == pytest.approx(anchored / 50.0)
    assert value.purchase_factor == pytest.approx(((2.0 + 3.0) / 2) / 2.0)  # BG/NBD 2, run rate 3; frozen 2
    assert "run rate" in value.note and "Jun" in value.note
    churn = set_level(_Stub("churn", [0.3, 0.5]), snapshot, btyd, orders=orders, label_windows=windows,
                      scoring_cutoff=cut)
    f = 2.5 / 2.0  # anchored purchases / BG/NBD purchases
    target = np.mean(np.array([0.2, 0.6]) ** f)
    p = churn.churn(np.array([0.3, 0.5]))
    assert p.mean() == pytest.approx(target, abs=1e-6)
    assert churn.logit_shift == 0.0 and p == pytest.approx(np.array([0.3, 0.5]) ** churn.power)
    # labels that covered every month of the horizon: the model's own level stands
    assert set_level(_Stub("value", [40.0, 10.0]), snapshot, btyd, orders=orders,
                     label_windows=[(T("2023-05-31"), 92)], scoring_cutoff=cut).method == "model"


def test_churn_power_hits_the_target_mean_keeps_the_order_and_moves_the_sure_churners_least():
    """The level of a churn model is a purchase-rate scaling, P(no purchase)^g: a customer who has almost surely
    stopped (p near 1) moves much less than one at 50%, where a log-odds shift would move both alike."""
    p = np.array([0.05, 0.3, 0.5, 0.8, 0.98])
    g = churn_power(p, 0.4)
    q = Level("bgnbd_anchor", power=g).churn(p)
    assert q.mean() == pytest.approx(0.4, abs=1e-9)
    assert np.all(np.diff(q) > 0)
    assert g > 1 and (p - q)[4] < (p - q)[2] / 5
    assert churn_power(p, float(p.mean())) == pytest.approx(1.0, abs=1e-6)
    # a model saved with a log-odds shift keeps it; no level leaves the probabilities alone
    old = Level("bgnbd_anchor", logit_shift=-0.5).churn(p)
    assert old == pytest.approx(expit(np.log(p / (1 - p)) - 0.5))
    assert Level().churn(p) == pytest.approx(p)


def test_level_block_and_tags_say_which_branch_fired_and_which_months():
    from loyalist.modeling.supervised.level import level_block, level_tags, month_names, month_numbers

    assert month_names([9, 12]) == ("Sep", "Dec") and month_numbers(("Sep", "Dec", "??")) == [9, 12]
    assert level_block(None, 100) is None and level_block(Level(), 100) is None and level_tags(None) == {}
    anchored = Level("bgnbd_anchor", factor=1.078, note="the 100-day horizon ... anchored", uncovered=("Sep", "Oct"))
    block = level_block(anchored, 100)
    assert block == {"method": "bgnbd_anchor", "months": [9, 10], "horizon_days": 100, "factor": 1.078,
                     "power": 1.0, "note": "the 100-day horizon ... anchored"}
    tags = level_tags(anchored)
    assert tags["level.method"] == "bgnbd_anchor" and tags["level.uncovered_months"] == "Sep,Oct"
    assert tags["level.warning"].endswith("anchored") and tags["level.factor"] == "1.078"
    assert level_tags(Level()) == {"level.method": "model", "level.factor": "1", "level.power": "1"}
