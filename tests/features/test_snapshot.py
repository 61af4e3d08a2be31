"""Golden tables for the point-in-time snapshot: 3-6 customers per indicator, values computed by hand.

Cut-off T = 2024-06-30, which means the end of that day (2024-06-30 23:59:59.999999). Default windows hold whole
days: W = the 365 days 2023-07-02 .. 2024-06-30 (2024 is a leap year), trend windows 2024-04-02 .. 2024-06-30 and
2024-01-03 .. 2024-04-01. Day counts to T are calendar days from the event's day to 2024-06-30.
"""

from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import math
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from loyalist.config.models import FeatureConfig
from loyalist.data.tables import ParquetTable
from loyalist.errors import ConfigError, SchemaError
from loyalist.features import SNAPSHOT_COLUMNS, SNAPSHOT_DTYPES, build_snapshot, engine, snapshot_sql
from loyalist.features.snapshot import snapshot_params

T = "2024-06-30"
CONFIG = FeatureConfig()
REPO = Path(__file__).resolve().parents[2]


def orders(*rows) -> pd.DataFrame:
    """rows: (customer_id, order_date, amount[, status]); canonical dtypes like the cleaner's output."""
    rows = [r if len(r) == 4 else (*r, "completed") for r in rows]
    return pd.DataFrame({
        "order_id": pd.array([f"O{i}" for i in range(len(rows))], dtype="string"),
        "customer_id": pd.array([r[0] for r in rows], dtype="string"),
        "order_date": pd.to_datetime([r[1] for r in rows], format="ISO8601").astype("datetime64[ns]"),
        "amount": np.array([r[2] for r in rows], dtype=np.float64),
        "status": pd.array([r[3] for r in rows], dtype="string"),
    })


def tickets(*rows) -> pd.DataFrame:
    """rows: (customer_id, created_at, kind, stage, resolved_at or None)."""
    return pd.DataFrame({
        "ticket_id": pd.array([f"T{i}" for i in range(len(rows))], dtype="string"),
        "customer_id": pd.array([r[0] for r in rows], dtype="string"),
        "created_at": pd.to_datetime([r[1] for r in rows], format="ISO8601").astype("datetime64[ns]"),
        "kind": pd.array([r[2] for r in rows], dtype="string"),
        "stage": pd.array([r[3] for r in rows], dtype="string"),
        "resolved_at": pd.to_datetime([r[4] for r in rows], format="ISO8601").astype("datetime64[ns]"),
    })


def surveys(*rows) -> pd.DataFrame:
    """rows: (customer_id, answered_at, nps_score, satisfaction, mentions_brand)."""
    return pd.DataFrame({
        "customer_id": pd.array([r[0] for r in rows], dtype="string"),
        "answered_at": pd.to_datetime([r[1] for r in rows], format="ISO8601").astype("datetime64[ns]"),
        "nps_score": np.array([r[2] for r in rows], dtype=np.float64),
        "satisfaction": np.array([r[3] for r in rows], dtype=np.float64),
        "mentions_brand": pd.array([r[4] for r in rows], dtype="boolean"),
    })


def snap(order_rows: pd.DataFrame, as_of=T, config=CONFIG, **tables) -> pd.DataFrame:
    """The snapshot from in-memory frames; every call also checks that the same tables read from Parquet files
    (ParquetTable, streamed by DuckDB as the scoring job does) give the same snapshot (floats to 1e-12 relative)."""
    frames = {"orders": order_rows, **tables}
    result = build_snapshot(frames, as_of, config)
    with tempfile.TemporaryDirectory() as folder:
        on_disk = {}
        for name, frame in frames.items():
            if frame is None:
                on_disk[name] = None
                continue
            path = Path(folder) / f"{name}.parquet"
            frame.to_parquet(path, index=False)
            on_disk[name] = ParquetTable(path, name)
        # equal to the last few bits: DuckDB sums doubles in parallel, so a sum's rounding can differ between two
        # runs (seen in CI on amount_ratio, where 1e6 orders meet small ones); a column read wrongly or an event
        # read past T differs by far more than 1e-12 relative
        pd.testing.assert_frame_equal(build_snapshot(on_disk, as_of, config), result, check_exact=False,
                                      rtol=1e-12, atol=0)
    return result


def check(result: pd.DataFrame, expected: dict[str, list]) -> None:
    """Compare the listed columns exactly (dtype included) with a hand-written table keyed by customer_id."""
    want = pd.DataFrame(expected)
    want["customer_id"] = want["customer_id"].astype("string")
    for column in want.columns:
        if SNAPSHOT_DTYPES[column].startswith("datetime"):
            want[column] = pd.to_datetime(want[column], format="ISO8601")
        want[column] = want[column].astype(SNAPSHOT_DTYPES[column])
    pd.testing.assert_frame_equal(result.loc[:, list(want.columns)], want, check_exact=True)


# ------------------------------------------------------------------------------------ seed indicators


def test_repurchase_rate_counts_months_after_the_first_month_in_w():
    result = snap(orders(
        ("A", "2024-01-10", 10), ("A", "2024-03-05", 10),  # Jan..Jun: 6 observed, 2 active -> 1/5
        ("B", "2024-06-12", 10), ("B", "2024-06-20", 10),  # June only: 1 observed month -> NaN
        ("C", "2024-05-03", 10), ("C", "2024-05-20", 10), ("C", "2024-06-01", 10),  # May, June: 1/1
        # D: first order ever before W; in W Aug 2023 and an order at T itself: Aug..Jun = 11 months, 2 active
        ("D", "2023-01-15", 10), ("D", "2023-08-10", 10), ("D", "2024-06-30", 10),
        ("E", "2024-04-10", 10), ("E", "2024-07-02", 10),  # the July order is after T: Apr..Jun, 1 active -> 0
    ))
    check(result, {
        "customer_id": ["A", "B", "C", "D", "E"],
        "repurchase_rate": [1 / 5, np.nan, 1.0, 1 / 10, 0.0],
        "n_orders": [2, 2, 3, 2, 1],
    })


def test_order_value_stability_is_one_minus_cv_clipped_and_nan_below_two_orders():
    result = snap(orders(
        ("A", "2024-02-01", 10), ("A", "2024-03-01", 30), ("A", "2024-04-01", 20),  # mean 20, std 10 -> 0.5
        ("B", "2024-02-01", 75),  # one order -> NaN
        ("C", "2024-02-01", 100), ("C", "2024-05-01", 100),  # no spread -> 1
        ("D", "2024-02-01", 1), ("D", "2024-03-01", 9),  # std/mean = sqrt(32)/5 > 1 -> clipped to 0
        ("E", "2024-02-01", 40), ("E", "2024-03-01", 60), ("E", "2024-03-02", 1000, "returned"),  # returns ignored
    ))
    check(result, {
        "customer_id": ["A", "B", "C", "D", "E"],
        "order_value_stability": [0.5, np.nan, 1.0, 0.0, 1 - math.sqrt(200) / 50],
        "monetary_mean": [20.0, 75.0, 100.0, 5.0, 50.0],
        "monetary_std": [10.0, np.nan, 0.0, math.sqrt(32), math.sqrt(200)],
    })


def test_purchase_frequency_annualises_over_the_observed_part_of_w_with_a_floor():
    result = snap(orders(
        ("A", "2024-01-10", 5), ("A", "2024-02-10", 5), ("A", "2024-03-10", 5),  # 172 days observed
        ("B", "2024-06-20", 5),  # 10 days -> floor of 90 days
        ("C", "2020-01-01", 5), ("C", "2023-09-01", 5), ("C", "2023-12-01", 5),
        ("C", "2024-03-01", 5), ("C", "2024-06-01", 5),  # first order ever before W: the whole 365 days
        ("D", "2024-04-01", 5), ("D", "2024-05-01", 5),  # exactly 90 days
    ))
    check(result, {
        "customer_id": ["A", "B", "C", "D"],
        "purchase_frequency": [3 * 365.25 / 172, 1 * 365.25 / 90, 4 * 365.25 / 365, 2 * 365.25 / 90],
        "n_orders_total": [3, 1, 5, 2],
    })


def test_nps_per_customer_from_promoters_passives_and_detractors_in_w():
    base = orders(("A", "2024-03-01", 10), ("B", "2024-03-01", 10), ("C", "2024-03-01", 10),
                  ("D", "2024-03-01", 10))
    answers = surveys(
        ("A", "2024-01-05", 10, 5, True), ("A", "2024-02-05", 9, 4, True),  # 2 promoters
        ("A", "2024-03-05", 8, 4, False), ("A", "2024-04-05", 3, 2, False),  # 1 passive, 1 detractor -> 25
        ("B", "2024-05-01", 0, 1, False), ("B", "2024-05-02", 6, 3, False),  # all detractors -> -100
        ("C", "2024-05-01", 7, 3, True), ("C", "2024-06-30", 8, 4, False),  # passives only -> 0 (T included)
        ("D", "2023-07-01", 10, 5, True), ("D", "2024-07-01", 10, 5, True),  # before W / after T -> none
    )
    result = snap(base, surveys=answers)
    check(result, {
        "customer_id": ["A", "B", "C", "D"],
        "nps": [25.0, -100.0, 0.0, np.nan],
        "n_survey_responses": [4.0, 2.0, 2.0, 0.0],
        "satisfaction_mean": [15 / 4, 2.0, 3.5, np.nan],
        "brand_mention_rate": [0.5, 0.0, 0.5, np.nan],
    })


def test_complaint_rate_is_complaints_per_order_clipped_zero_without_complaints():
    base = orders(
        ("A", "2024-02-01", 10), ("A", "2024-03-01", 10), ("A", "2024-04-01", 10),
        ("B", "2024-02-01", 10), ("B", "2024-03-01", 10),
        ("C", "2024-02-01", 10),
        ("D", "2024-02-01", 10),
    )
    tks = tickets(
        ("A", "2024-02-03", "complaint", "delivery", "2024-02-04"),
        ("A", "2024-02-05", "inquiry", "billing", "2024-02-06"),  # not a complaint
        ("B", "2024-02-03", "complaint", "delivery", "2024-02-04"),
        ("B", "2024-03-03", "complaint", "billing", "2024-03-04"),
        ("B", "2024-05-03", "complaint", "billing", "2024-05-04"),  # 3 complaints / 2 orders -> clipped to 1
        ("D", "2023-06-01", "complaint", "delivery", "2023-06-02"),  # before W
        ("D", "2024-07-01", "complaint", "delivery", "2024-07-02"),  # after T
    )
    result = snap(base, tickets=tks)
    check(result, {
        "customer_id": ["A", "B", "C", "D"],
        "complaint_rate": [1 / 3, 1.0, 0.0, 0.0],
        "n_complaints": [1.0, 3.0, 0.0, 0.0],
        "n_complaints_recent": [0.0, 1.0, 0.0, 0.0],  # created in (2024-04-01, T]
        "n_tickets": [2.0, 3.0, 0.0, 0.0],
        "top_complaint_stage": ["delivery", "billing", None, None],
    })


# ------------------------------------------------------------------------------------ behaviour


def test_recency_and_tenure_in_whole_days_to_t():
    base = orders(
        ("A", "2024-01-10", 10), ("A", "2024-06-20", 10),
        ("B", "2024-03-01", 10),
        ("C", "2024-05-31", 10),
        ("D", "2024-06-29 23:00", 10),  # the day before T: 1 day (calendar days to the cut-off day)
    )
    customers = pd.DataFrame({
        "customer_id": pd.array(["A", "B", "D"], dtype="string"),
        "industry": pd.array(["retail", "it", None], dtype="string"),
        "size": pd.array(["large", "small", None], dtype="string"),
        "region": pd.array(["east", None, None], dtype="string"),
        # A signed up before the first order; B's signup is after T (not known at T); D's is missing
        "signup_date": pd.to_datetime(["2023-12-31", "2024-08-01", None]).astype("datetime64[ns]"),
    })
    result = snap(base, customers=customers)
    check(result, {
        "customer_id": ["A", "B", "C", "D"],
        "recency_days": [10, 121, 30, 1],
        "tenure_days": [182, 121, 30, 1],  # A: from 2023-12-31; the others from their first order
        "industry": ["retail", "it", None, None],
        "size": ["large", "small", None, None],
        "region": ["east", None, None, None],
        "first_order_date": ["2024-01-10", "2024-03-01", "2024-05-31", "2024-06-29 23:00"],
        "last_order_date": ["2024-06-20", "2024-03-01", "2024-05-31", "2024-06-29 23:00"],
    })


def test_spend_trend_compares_the_last_trend_window_with_the_one_before():
    result = snap(orders(
        ("A", "2024-05-01", 30), ("A", "2024-02-01", 10),  # last 30, prev 10 -> 0.5
        ("B", "2024-03-01", 50),  # prev only -> -1
        ("C", "2024-06-30", 20), ("C", "2024-04-01 00:00", 5),  # 04-01 00:00 is the end of prev: 20 vs 5
        ("D", "2023-10-01", 40),  # in W but older than both windows -> 0
    ))
    check(result, {
        "customer_id": ["A", "B", "C", "D"],
        "spend_last": [30.0, 0.0, 20.0, 0.0],
        "spend_prev": [10.0, 50.0, 5.0, 0.0],
        "spend_trend": [0.5, -1.0, 15 / 25, 0.0],
        "monetary_total": [40.0, 50.0, 25.0, 40.0],
    })


def test_inter_purchase_times_over_distinct_order_days_in_w():
    result = snap(orders(
        # A: days Mar 1, Mar 11 (two orders), Mar 31 -> gaps 10, 20
        ("A", "2024-03-01", 5), ("A", "2024-03-11 09:00", 5), ("A", "2024-03-11 17:00", 5), ("A", "2024-03-31", 5),
        ("B", "2024-05-01", 5), ("B", "2024-05-08", 5),  # one gap of 7
        ("C", "2024-05-01 08:00", 5), ("C", "2024-05-01 18:00", 5),  # one order day: no gap
        # D: the day before W does not open a gap; in W: Jan 1 -> Jan 11
        ("D", "2023-06-01", 5), ("D", "2024-01-01", 5), ("D", "2024-01-11", 5),
    ))
    check(result, {
        "customer_id": ["A", "B", "C", "D"],
        "ipt_mean": [15.0, 7.0, np.nan, 10.0],
        "ipt_std": [math.sqrt(50), np.nan, np.nan, np.nan],
        "ipt_last": [20.0, 7.0, np.nan, 10.0],
        "recency_days": [91, 53, 60, 171],
        "recency_ipt_ratio": [91 / 15, 53 / 7, np.nan, 171 / 10],
    })


def test_btyd_summary_uses_customer_days_over_the_whole_history():
    result = snap(orders(
        # A: 2024-03-01 (10 + 5), 2024-03-08 (20), 2024-03-22 (30 + 12): 3 purchase days
        ("A", "2024-03-01 09:00", 10), ("A", "2024-03-01 15:00", 5), ("A", "2024-03-08", 20),
        ("A", "2024-03-22 10:00", 30), ("A", "2024-03-22 11:00", 12),
        ("B", "2024-06-01 10:00", 7), ("B", "2024-06-01 11:00", 8),  # two orders, one day
        ("C", "2022-01-01", 100), ("C", "2024-06-01", 40), ("C", "2024-06-02", 60, "returned"),  # before W counts
    ))
    check(result, {
        "customer_id": ["A", "B", "C"],
        "btyd_frequency": [2, 0, 1],
        "btyd_recency": [21, 0, 882],  # 2022-01-01 -> 2024-06-01
        "btyd_T": [121, 29, 911],  # first purchase day -> T
        "btyd_monetary": [(20 + 42) / 2, 0.0, 40.0],
        "n_orders_total": [5, 2, 2],
        "n_orders": [5, 2, 1],
    })


def test_return_and_cancellation_counts_in_w():
    result = snap(orders(
        ("A", "2024-02-01", 10), ("A", "2024-03-01", 10), ("A", "2024-04-01", 10),
        ("A", "2024-04-02", 10, "returned"), ("A", "2024-04-03", 10, "cancelled"),
        ("B", "2024-02-01", 10), ("B", "2023-05-01", 10, "returned"),  # return before W
        ("C", "2024-02-01", 10), ("C", "2024-07-01", 10, "returned"),  # return after T
        ("X", "2024-02-01", 10, "returned"),  # no completed order: not in the population
    ))
    check(result, {
        "customer_id": ["A", "B", "C"],
        "n_returns": [1, 0, 0],
        "return_rate": [0.25, 0.0, 0.0],
        "n_cancelled": [1, 0, 0],
    })


def test_open_tickets_and_resolution_hours_at_t():
    base = orders(("A", "2024-03-01", 10), ("B", "2024-03-01", 10), ("C", "2024-03-01", 10),
                  ("D", "2024-03-01", 10))
    tks = tickets(
        ("A", "2024-06-20 08:00", "inquiry", "billing", "2024-07-02 08:00"),  # resolved after T: open at T
        ("B", "2024-06-01 08:00", "complaint", "delivery", "2024-06-02 20:00"),  # 36 hours, closed
        ("B", "2024-06-10 08:00", "inquiry", "billing", "2024-06-10 14:00"),  # 6 hours, closed
        ("C", "2024-06-25", "complaint", "after-sales", None),  # never resolved: open
        ("D", "2024-07-01", "complaint", "delivery", None),  # created after T: not seen
    )
    result = snap(base, tickets=tks)
    check(result, {
        "customer_id": ["A", "B", "C", "D"],
        "open_tickets": [1.0, 0.0, 1.0, 0.0],
        "resolution_hours_mean": [np.nan, 21.0, np.nan, np.nan],
        "n_tickets": [1.0, 2.0, 1.0, 0.0],
    })


def test_top_complaint_stage_ties_go_to_the_first_stage_alphabetically():
    base = orders(("A", "2024-03-01", 10), ("B", "2024-03-01", 10), ("C", "2024-03-01", 10))
    tks = tickets(
        ("A", "2024-03-02", "complaint", "delivery", None), ("A", "2024-03-03", "complaint", "delivery", None),
        ("A", "2024-03-04", "complaint", "billing", None),
        ("B", "2024-03-02", "complaint", "delivery", None), ("B", "2024-03-03", "complaint", "billing", None),
        ("C", "2024-03-02", "inquiry", "delivery", None), ("C", "2024-03-03", "complaint", None, None),
    )
    result = snap(base, tickets=tks)
    check(result, {"customer_id": ["A", "B", "C"], "top_complaint_stage": ["delivery", "billing", None]})


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"margin": [3.0, 4.0, np.nan]}, [7.0, np.nan]),
        ({"cost": [6.0, 5.0, 1.0]}, [9.0, 1.0]),
        ({"margin": [3.0, np.nan, np.nan], "cost": [6.0, 5.0, 1.0]}, [8.0, 1.0]),  # cost fills missing margin
        ({}, [np.nan, np.nan]),
    ],
)
def test_margin_total_from_margin_or_amount_minus_cost(extra, expected):
    base = orders(("A", "2024-02-01", 10), ("A", "2024-03-01", 10), ("B", "2024-03-01", 2)).assign(**extra)
    check(snap(base), {"customer_id": ["A", "B"], "margin_total": expected})


# ------------------------------------------------------------------------------------ shape and inputs


def test_orders_only_gives_nan_indicators_and_the_full_column_contract():
    result = snap(orders(("A", "2024-02-01", 10), ("B", "2024-03-01", 20)))
    assert list(result.columns) == list(SNAPSHOT_COLUMNS)
    assert {c: str(t) for c, t in result.dtypes.items()} == SNAPSHOT_DTYPES
    for column in ("nps", "complaint_rate", "n_tickets", "n_complaints", "open_tickets", "n_survey_responses",
                   "satisfaction_mean", "brand_mention_rate", "resolution_hours_mean"):
        assert result[column].isna().all(), column
    assert result[["industry", "size", "region", "top_complaint_stage"]].isna().all().all()
    assert result["as_of"].eq(pd.Timestamp(T)).all()
    assert result["customer_id"].tolist() == ["A", "B"]


def test_tickets_without_kind_or_resolved_at_blank_what_they_cannot_tell():
    base = orders(("A", "2024-02-01", 10))
    tks = tickets(("A", "2024-02-03", "complaint", "delivery", None)).drop(columns=["kind", "resolved_at"])
    result = snap(base, tickets=tks)
    assert result.loc[0, "n_tickets"] == 1.0
    for column in ("complaint_rate", "n_complaints", "n_complaints_recent", "open_tickets"):
        assert np.isnan(result.loc[0, column]), column
    assert pd.isna(result.loc[0, "top_complaint_stage"])


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_any_datetime_resolution_gives_the_same_snapshot(unit):
    base = orders(("A", "2024-02-01 10:00", 10), ("A", "2024-06-29", 30), ("B", "2024-03-01", 5))
    tks = tickets(("A", "2024-02-03", "complaint", "delivery", "2024-02-04 06:00"))
    coarse = base.assign(order_date=base["order_date"].astype(f"datetime64[{unit}]"))
    coarse_tickets = tks.assign(created_at=tks["created_at"].astype(f"datetime64[{unit}]"),
                                resolved_at=tks["resolved_at"].astype(f"datetime64[{unit}]"))
    pd.testing.assert_frame_equal(snap(coarse, tickets=coarse_tickets), snap(base, tickets=tks))


def test_orders_without_status_are_all_completed():
    base = orders(("A", "2024-02-01", 10), ("A", "2024-03-01", 20)).drop(columns=["status"])
    result = snap(base)
    assert result.loc[0, "n_orders"] == 2
    assert result.loc[0, "n_returns"] == 0


def test_missing_orders_table_is_a_schema_error():
    with pytest.raises(SchemaError, match="'orders'"):
        build_snapshot({"customers": pd.DataFrame({"customer_id": ["A"]})}, T, CONFIG)


def test_missing_or_mistyped_required_columns_are_schema_errors():
    base = orders(("A", "2024-02-01", 10))
    with pytest.raises(SchemaError, match="'order_date'"):
        snap(base.drop(columns=["order_date"]))
    with pytest.raises(SchemaError, match="'order_date'.*datetime64"):
        snap(base.assign(order_date=base["order_date"].dt.strftime("%Y-%m-%d")))
    with pytest.raises(SchemaError, match="'amount'"):
        snap(base.assign(amount=["ten"]))
    with pytest.raises(SchemaError, match="'created_at'"):
        snap(base, tickets=pd.DataFrame({"customer_id": ["A"]}))


def test_duplicate_customers_are_a_schema_error():
    customers = pd.DataFrame({"customer_id": pd.array(["A", "A"], dtype="string")})
    with pytest.raises(SchemaError, match="'customer_id'.*'customers'"):
        snap(orders(("A", "2024-02-01", 10)), customers=customers)


def test_as_of_before_any_order_gives_an_empty_table_with_the_contract():
    result = snap(orders(("A", "2024-02-01", 10)), as_of="2020-01-01")
    assert result.empty
    assert list(result.columns) == list(SNAPSHOT_COLUMNS)
    assert {c: str(t) for c, t in result.dtypes.items()} == SNAPSHOT_DTYPES


@pytest.mark.parametrize(
    "as_of",
    ["2024-06-30", dt.date(2024, 6, 30), dt.datetime(2024, 6, 30), pd.Timestamp("2024-06-30"),
     np.datetime64("2024-06-30")],
)
def test_as_of_accepts_str_date_datetime_and_timestamp(as_of):
    base = orders(("A", "2024-02-01", 10), ("A", "2024-06-30", 20), ("B", "2024-03-01", 5))
    pd.testing.assert_frame_equal(snap(base, as_of=as_of), snap(base, as_of=pd.Timestamp(T)))


@pytest.mark.parametrize("as_of", ["not a date", None, pd.Timestamp("2024-06-30", tz="UTC")])
def test_bad_as_of_is_a_config_error(as_of):
    with pytest.raises(ConfigError, match="'as_of'"):
        snap(orders(("A", "2024-02-01", 10)), as_of=as_of)


def test_inputs_are_not_modified():
    base = orders(("A", "2024-02-01", 10), ("B", "2024-07-01", 20)).assign(cost=[1.0, 2.0])
    tks = tickets(("A", "2024-02-03", "complaint", "delivery", None))
    before = (base.copy(deep=True), tks.copy(deep=True))
    snap(base, tickets=tks)
    pd.testing.assert_frame_equal(base, before[0])
    pd.testing.assert_frame_equal(tks, before[1])


def test_windows_follow_the_config():
    # W = (2024-05-01 00:00, T]: the order at 05-01 00:00 is just outside it (and outside the previous trend
    # window (05-01, 05-31]), but it is A's first order ever, so A is observed for the whole 60 days.
    base = orders(("A", "2024-05-01", 7), ("A", "2024-05-02", 10), ("A", "2024-06-25", 30), ("B", "2024-01-15", 10))
    config = FeatureConfig(lookback_days=60, trend_window_days=30, frequency_min_days=10)
    check(snap(base, config=config), {
        "customer_id": ["A"],  # B has no order in the 60-day window
        "n_orders": [2],
        "n_orders_total": [3],
        "spend_last": [30.0],  # (2024-05-31, T]
        "spend_prev": [10.0],
        "purchase_frequency": [2 * 365.25 / 60],
    })


# ------------------------------------------------------------------------------------ the SQL text


@pytest.mark.parametrize("flags", [(a, b, c, d) for a in (0, 1) for b in (0, 1) for c in (0, 1) for d in (0, 1)])
def test_snapshot_sql_is_portable_text_for_every_table_combination(flags):
    has_customers, has_tickets, has_surveys, has_margin = map(bool, flags)
    sql = snapshot_sql(CONFIG, has_customers=has_customers, has_tickets=has_tickets, has_surveys=has_surveys,
                       has_margin=has_margin)
    assert "{%" not in sql and "{{" not in sql and "$" not in sql
    assert ("FROM tickets" in sql) == has_tickets
    assert ("FROM surveys" in sql) == has_surveys
    assert ("FROM customers" in sql) == has_customers
    # every parameter the text uses is one snapshot_params provides
    used = set(re.findall(r"(?<![:\w]):([A-Za-z_]\w*)", sql))
    assert used == set(snapshot_params(T, CONFIG))


def test_every_reading_cte_filters_on_t_first():
    sql = snapshot_sql(CONFIG, has_customers=True, has_tickets=True, has_surveys=True, has_margin=True)
    for table, column in (("orders", "order_date"), ("tickets", "created_at"), ("surveys", "answered_at")):
        for block in sql.split(f"FROM {table}\n")[1:]:
            assert block.lstrip().startswith(f"WHERE {column} <= :t"), table


def test_engine_rewrites_parameters_and_runs_on_a_fresh_connection():
    assert engine.to_duckdb_sql("SELECT :t, x::DATE, days_between(:w_start, :t)") == (
        "SELECT $t, x::DATE, days_between($w_start, $t)"
    )
    table = pa.table({"d": pa.array([pd.Timestamp("2024-01-01 18:00")], pa.timestamp("ns"))})
    out = engine.run_sql("SELECT days_between(d, :t) AS n, month_index(CAST(d AS DATE)) AS m FROM x",
                         {"x": table}, {"t": pd.Timestamp("2024-01-03"), "unused": 1})
    assert out.to_pylist() == [{"n": 1, "m": 2024 * 12 + 1}]  # 1 day 6 hours -> 1 whole day
    with pytest.raises(ValueError, match="'t'"):
        engine.run_sql("SELECT :t", {}, {})


# ------------------------------------------------------------------------------------ cross-checks


def _load_benchmark_module(name: str):
    path = REPO / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_snapshot_equals_the_independent_pandas_reference_on_1000_customers():
    bench = _load_benchmark_module("bench_snapshot")
    reference = _load_benchmark_module("reference_pandas")
    tables = {name: table.to_pandas() for name, table in bench.generate_tables(20_000, 1_000, seed=7).items()}
    for as_of, config in (("2024-07-01", CONFIG), ("2023-03-15 12:00", FeatureConfig(lookback_days=200,
                                                                                      trend_window_days=45))):
        ours = build_snapshot(tables, as_of, config)
        theirs = reference.snapshot_pandas(tables, as_of, config)
        assert len(ours) > 250
        pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-9, atol=1e-9)


def test_early_warning_columns_equal_the_pandas_reference_on_the_synthetic_company():
    """The early-warning columns (category and product ranges, service and NPS trends) on data that has them all."""
    from loyalist.data.synthetic import generate

    reference = _load_benchmark_module("reference_pandas")
    tables = generate(n_customers=400, seed=3, dirty=False).tables()
    ours = build_snapshot(tables, "2023-09-30 23:59:59", CONFIG)
    theirs = reference.snapshot_pandas(tables, "2023-09-30 23:59:59", CONFIG)
    pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-9, atol=1e-9, check_dtype=False)
    for column in ("category_range_trend", "product_range_trend", "nps_change", "resolution_hours_trend",
                   "days_since_complaint"):
        assert ours[column].notna().sum() > 20 and ours[column].nunique() > 3, column
    assert (ours["n_slow_tickets"] > 0).sum() > 10 and ours["complaint_trend"].ne(0).sum() > 10


@pytest.mark.realdata
def test_cdnow_orders_only_snapshot(shared_data):
    path = shared_data / "cdnow" / "CDNOW_sample.txt.gz"
    if not path.exists():
        pytest.skip(f"the CDNOW sample is not in {shared_data}")
    with gzip.open(path, "rt") as handle:
        raw = pd.read_csv(handle, sep=r"\s+", header=None, names=["master", "customer_id", "date", "cds", "amount"],
                          dtype={"customer_id": str})
    cdnow = pd.DataFrame({
        "customer_id": raw["customer_id"].astype("string"),
        "order_date": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d").astype("datetime64[ns]"),
        "amount": raw["amount"].astype(np.float64),
    })
    result = build_snapshot({"orders": cdnow}, "1997-09-30", CONFIG)
    assert len(result) == 2357  # the whole sample bought in 1997-Q1, inside W
    assert result[["nps", "complaint_rate", "n_tickets"]].isna().all().all()
    days = cdnow[cdnow["order_date"] <= "1997-09-30"].groupby("customer_id")["order_date"].nunique()
    pd.testing.assert_series_equal(
        result.set_index("customer_id")["btyd_frequency"], (days - 1).rename("btyd_frequency"), check_names=False,
        check_index_type=False,
    )
    assert result["btyd_frequency"].le(result["n_orders_total"] - 1).all()
