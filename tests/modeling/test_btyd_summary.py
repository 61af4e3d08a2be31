"""Tests of loyalist.modeling.btyd.summary.customer_days_summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalist.errors import ConfigError, DataQualityError, InsufficientHistoryError, SchemaError
from loyalist.modeling.btyd.summary import customer_days_summary


def _orders() -> pd.DataFrame:
    """Five customers; calibration ends 2024-01-29 (a Monday), holdout to 2024-02-26 (4 weeks)."""
    rows = [
        # A: two orders on 01-01 (one with a time of day) merge into one purchase day of 15.
        ("A", "2024-01-01 10:00", 10.0, "completed"),
        ("A", "2024-01-01 14:30", 5.0, "completed"),
        ("A", "2024-01-08", 20.0, "completed"),
        ("A", "2024-01-22", 30.0, "completed"),
        ("A", "2024-02-05", 7.0, "completed"),  # holdout: one day, 7 + 3
        ("A", "2024-02-05", 3.0, "completed"),
        # B: one purchase day (8 + 12), a holdout order on the last holdout day (inclusive).
        ("B", "2024-01-15", 8.0, "completed"),
        ("B", "2024-01-15", 12.0, "completed"),
        ("B", "2024-02-26", 50.0, "completed"),
        # C: first purchase on the calibration end; a return is not a purchase; an order after the holdout.
        ("C", "2024-01-10", -40.0, "returned"),
        ("C", "2024-01-29", 40.0, "completed"),
        ("C", "2024-02-27", 99.0, "completed"),
        # D: first purchase after the calibration end -> not in the summary.
        ("D", "2024-02-01", 25.0, "completed"),
        # E: a cancelled order between two purchases is ignored.
        ("E", "2024-01-01", 100.0, "completed"),
        ("E", "2024-01-15", 70.0, "cancelled"),
        ("E", "2024-01-29", 60.0, "completed"),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount", "status"])
    return frame.assign(
        order_date=pd.to_datetime(frame["order_date"], format="ISO8601"),
        order_id=[f"o{i}" for i in range(len(rows))],
    )


def test_golden_summary_by_hand() -> None:
    orders = _orders()
    before = orders.copy()
    got = customer_days_summary(orders, "2024-01-29", observation_end="2024-02-26")
    expected = pd.DataFrame(
        {
            # A: days 01-01, 01-08, 01-22 -> 2 repeats; recency 21 d = 3 w; T 28 d = 4 w; (20 + 30) / 2.
            # B: one day -> 0, 0, T 14 d = 2 w, 0.  C: first day = calibration end -> T 0.  E: days 01-01, 01-29.
            "frequency": np.array([2, 0, 0, 1], dtype="int64"),
            "recency": [3.0, 0.0, 0.0, 4.0],
            "T": [4.0, 2.0, 0.0, 4.0],
            "monetary_value": [25.0, 0.0, 0.0, 60.0],
            "frequency_holdout": np.array([1, 1, 0, 0], dtype="int64"),
            "monetary_holdout": [10.0, 50.0, 0.0, 0.0],
            "duration_holdout": [4.0, 4.0, 4.0, 4.0],
        },
        index=pd.Index(["A", "B", "C", "E"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    pd.testing.assert_frame_equal(orders, before)  # the input is not mutated


def test_days_as_time_unit_and_no_holdout_columns() -> None:
    got = customer_days_summary(_orders(), pd.Timestamp("2024-01-29"), time_unit_days=1.0)
    assert list(got.columns) == ["frequency", "recency", "T", "monetary_value"]
    assert got.loc["A", "recency"] == 21.0
    assert got.loc["A", "T"] == 28.0
    assert got.loc["B", "T"] == 14.0


def test_without_status_column_every_row_is_a_purchase() -> None:
    orders = _orders().drop(columns="status")
    got = customer_days_summary(orders, "2024-01-29")
    # E's cancelled order now counts: days 01-01, 01-15, 01-29 -> 2 repeats of mean (70 + 60) / 2.
    assert got.loc["E", "frequency"] == 2
    assert got.loc["E", "monetary_value"] == 65.0


def test_custom_column_names() -> None:
    orders = _orders().rename(columns={"customer_id": "client", "order_date": "day", "amount": "cny"})
    got = customer_days_summary(orders, "2024-01-29", customer_col="client", date_col="day", amount_col="cny")
    assert got.index.name == "client"
    assert got.loc["A", "monetary_value"] == 25.0


def test_cdnow_t_convention() -> None:
    # FHL 2005 data: a customer acquired on 1997-01-01 has T = 38.86 weeks at the end of week 39 (1997-09-30).
    orders = pd.DataFrame(
        {"customer_id": ["1"], "order_date": pd.to_datetime(["1997-01-01"]), "amount": [10.0]}
    )
    got = customer_days_summary(orders, "1997-09-30")
    assert got.loc["1", "T"] == pytest.approx(272 / 7)
    assert round(got.loc["1", "T"], 2) == 38.86


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda o: o.drop(columns="order_date"), SchemaError, "'order_date'"),
        (lambda o: o.assign(order_date=o["order_date"].astype(str)), SchemaError, "'order_date' of the orders table must be naive datetime64"),
        (lambda o: o.assign(order_date=o["order_date"].dt.tz_localize("UTC")), SchemaError, "'order_date' .* must hold naive dates"),
        (lambda o: o.assign(amount=o["amount"].astype(str)), SchemaError, "'amount' must be numeric"),
        (lambda o: o.assign(amount=o["amount"].where(o.index != 2)), DataQualityError, "'amount' has 1 missing"),
        (lambda o: o.assign(order_date=o["order_date"].where(o.index != 0)), DataQualityError, "'order_date'"),
    ],
)
def test_table_errors(change, error, match) -> None:
    with pytest.raises(error, match=match):
        customer_days_summary(change(_orders()), "2024-01-29")


def test_argument_errors() -> None:
    orders = _orders()
    with pytest.raises(ConfigError, match="'observation_end' argument must be after 'calibration_end'"):
        customer_days_summary(orders, "2024-01-29", observation_end="2024-01-29")
    with pytest.raises(ConfigError, match="'time_unit_days'"):
        customer_days_summary(orders, "2024-01-29", time_unit_days=0)
    with pytest.raises(ConfigError, match="'calibration_end' parameter must be a date"):
        customer_days_summary(orders, "not a date")
    # a time zone is refused, not dropped (it would move purchases across the calibration end)
    with pytest.raises(ConfigError, match="'calibration_end' parameter must be a naive date"):
        customer_days_summary(orders, pd.Timestamp("2024-01-29", tz="Asia/Shanghai"))
    with pytest.raises(InsufficientHistoryError, match="'calibration_end' \\(2023-12-31\\)"):
        customer_days_summary(orders, "2023-12-31")


# --------------------------------------------------------------------------------------- properties

_DAY0 = pd.Timestamp("2024-01-01")
_order = st.tuples(
    st.sampled_from(["c1", "c2", "c3", "c4"]),
    st.integers(0, 120),  # day offset
    st.integers(1, 500),  # whole amounts: sums are exact in float
)


def _frame(rows: list[tuple[str, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "order_date": _DAY0 + pd.to_timedelta([r[1] for r in rows], unit="D"),
            "amount": [float(r[2]) for r in rows],
        }
    )


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(_order, min_size=1, max_size=40), cut=st.integers(0, 120), later=st.lists(_order, max_size=10))
def test_orders_after_the_calibration_end_never_change_calibration_columns(rows, cut, later) -> None:
    cal_end = _DAY0 + pd.Timedelta(days=cut)
    if not any(r[1] <= cut for r in rows):
        return
    base = customer_days_summary(_frame(rows), cal_end)
    moved = [(c, cut + 1 + d, a) for c, d, a in later]  # strictly after the calibration end
    more = customer_days_summary(_frame(rows + moved), cal_end)
    pd.testing.assert_frame_equal(base, more)
    assert (base["recency"] <= base["T"]).all()
    assert ((base["frequency"] > 0) == (base["recency"] > 0)).all()
    assert (base["frequency"] >= 0).all() and (base["monetary_value"] >= 0).all()


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(_order, min_size=1, max_size=40), which=st.integers(0, 39))
def test_splitting_an_order_into_two_same_day_orders_changes_nothing(rows, which) -> None:
    cal_end, obs_end = _DAY0 + pd.Timedelta(days=60), _DAY0 + pd.Timedelta(days=120)
    if not any(r[1] <= 60 for r in rows):
        return
    pos = which % len(rows)
    base = customer_days_summary(_frame(rows), cal_end, observation_end=obs_end)
    # The order at ``pos`` becomes two orders on the same day, each with half the amount (exact in float).
    split = _frame(rows + [rows[pos]])
    split.loc[[pos, len(rows)], "amount"] = rows[pos][2] / 2.0
    got = customer_days_summary(split, cal_end, observation_end=obs_end)
    pd.testing.assert_frame_equal(base, got)
