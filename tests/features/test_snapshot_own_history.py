"""Early-warning columns that compare a customer with their own history (issue 11 §4): order size and pace against
the customer's own earlier ones, service counts over the whole history, recent NPS answers against earlier ones.

Cut-off T = 2024-06-30 (the end of that day). Default windows: W = 2023-07-02 .. 2024-06-30, trend window
2024-04-02 .. 2024-06-30 (90 days), two trend windows = 2024-01-03 .. 2024-06-30. Every column must use events
dated <= T only: the time-rule tests add events after T (from 2024-07-01 00:00 on) and require the same values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.features.test_snapshot import CONFIG, T, check, orders, snap, surveys, tickets

OWN_HISTORY = ("amount_ratio", "order_rate_ratio", "complaints_total", "slow_tickets_total", "main_category_share",
               "detractor_answers_total", "nps_recent", "nps_recent_change")


def test_order_size_and_pace_against_the_customers_own_earlier_orders_in_w():
    result = snap(orders(
        # A: before the trend window in W, 4 orders of 100 from 2023-10-01 (184 days to the window's start
        # 2024-04-01 23:59:59.999999 -> 183 whole days); in the window 2 orders of 60 and 40
        ("A", "2023-10-01", 100), ("A", "2023-12-01", 100), ("A", "2024-01-15", 100), ("A", "2024-03-01", 100),
        ("A", "2024-05-01", 60), ("A", "2024-06-30 23:00", 40),
        # B: only orders in the trend window -> no earlier size or pace to compare with
        ("B", "2024-05-01", 10), ("B", "2024-06-01", 10),
        # C: the order before W does not count; 1 order in W before the window (over the 275 days from W's
        # start to the window's); nothing in the window -> size ratio NaN, pace 0
        ("C", "2022-01-01", 500), ("C", "2023-08-01", 50),
        # D: first order 2024-02-15: 46 days before the window starts < 90 -> pace NaN; size 30 / 20
        ("D", "2024-02-15", 20), ("D", "2024-06-01", 30),
        # a cancelled order is not an order
        ("A", "2024-06-15", 1000, "cancelled"),
    ))
    a_days = 183  # 2023-10-01 00:00 .. 2024-04-01 23:59:59.999999 in whole days
    check(result, {
        "customer_id": ["A", "B", "C", "D"],
        "amount_ratio": [50 / 100, np.nan, np.nan, 30 / 20],
        "order_rate_ratio": [(2 / 90) / (4 / a_days), np.nan, 0.0, np.nan],
    })


def test_service_counts_over_the_whole_history_and_recent_nps_against_earlier_answers():
    base = orders(("A", "2024-06-01", 10), ("B", "2024-06-01", 10), ("C", "2024-06-01", 10))
    tks = tickets(
        # A: a complaint two years ago (outside W) still counts in the totals; slow: resolved after 80 h
        ("A", "2022-05-01", "complaint", "delivery", "2022-05-04 08:00"),
        ("A", "2024-06-20", "complaint", "billing", "2024-06-20 05:00"),
        ("A", "2024-06-25", "inquiry", "billing", None),  # open at T for more than 72 h: slow
        ("A", "2024-06-30 12:00", "request", "billing", None),  # open at T but younger than 72 h: not slow
        # B: resolved after T: open at T, created 2024-06-01 -> slow
        ("B", "2024-06-01", "inquiry", "delivery", "2024-07-10"),
    )
    svs = surveys(
        # A: earlier answers (<= 2024-01-02 23:59:59.999999) 10 and 8 (2021: outside W, still history);
        # recent 4 and 6 -> recent mean 5, change 5 - 9 = -4; detractors ever: 4 and 6 -> 2
        ("A", "2021-03-01", 10, 5, True), ("A", "2024-01-02 18:00", 8, 4, True),
        ("A", "2024-01-03", 4, 2, False), ("A", "2024-06-30 23:59", 6, 3, False),
        # B: only recent answers -> change NaN
        ("B", "2024-05-01", 9, 5, True),
        # C: only an earlier answer -> recent NaN, change NaN; one detractor
        ("C", "2023-03-01", 3, 1, False),
    )
    result = snap(base, tickets=tks, surveys=svs)
    check(result, {
        "customer_id": ["A", "B", "C"],
        "complaints_total": [2.0, 0.0, 0.0],
        "slow_tickets_total": [2.0, 1.0, 0.0],
        "detractor_answers_total": [2.0, 0.0, 1.0],
        "nps_recent": [5.0, 9.0, np.nan],
        "nps_recent_change": [5.0 - 9.0, np.nan, np.nan],
    })


def _company_tables():
    from loyalist.data.synthetic import generate

    return generate(n_customers=300, seed=11, start="2022-01-01", end="2024-12-31", dirty=False).tables()


def test_own_history_columns_use_events_dated_up_to_t_only():
    """Events after the end of day T (here: the generator's second half of 2024, and a copy of every event moved
    past T) change none of the columns; cutting the tables at T by hand gives the same snapshot."""
    tables = _company_tables()
    end = pd.Timestamp(T) + pd.Timedelta(days=1)  # 2024-07-01 00:00, the first instant after T
    dates = {"orders": "order_date", "tickets": "created_at", "surveys": "answered_at"}
    cut = {name: (frame[frame[dates[name]] < end] if name in dates else frame) for name, frame in tables.items()}
    full = snap(tables["orders"], **{k: v for k, v in tables.items() if k != "orders"})
    at_t = snap(cut["orders"], **{k: v for k, v in cut.items() if k != "orders"})
    assert len(full) > 150
    for column in OWN_HISTORY:
        assert full[column].notna().sum() > 20, column
        pd.testing.assert_series_equal(full[column], at_t[column], check_exact=True)
    # future events that would move every column if they were read: big late orders, complaints, bad answers
    future = dict(cut)
    ids = at_t["customer_id"].to_numpy()
    late = pd.Timestamp("2024-07-01 00:00")
    extra = cut["orders"].iloc[: len(ids)].copy()
    extra["customer_id"] = pd.array(ids[: len(extra)], dtype="string")
    extra["order_date"] = late
    extra["amount"], extra["status"] = 1e6, "completed"
    extra["order_id"] = pd.array([f"LATE{i}" for i in range(len(extra))], dtype="string")
    future["orders"] = pd.concat([cut["orders"], extra], ignore_index=True)
    tk = cut["tickets"].iloc[: len(ids)].copy()
    tk["customer_id"] = pd.array(ids[: len(tk)], dtype="string")
    tk["created_at"], tk["kind"], tk["resolved_at"] = late, "complaint", pd.NaT
    tk["ticket_id"] = pd.array([f"LT{i}" for i in range(len(tk))], dtype="string")
    future["tickets"] = pd.concat([cut["tickets"], tk], ignore_index=True)
    sv = cut["surveys"].iloc[: len(ids)].copy()
    sv["customer_id"] = pd.array(ids[: len(sv)], dtype="string")
    sv["answered_at"], sv["nps_score"] = late, 0.0
    future["surveys"] = pd.concat([cut["surveys"], sv], ignore_index=True)
    moved = snap(future["orders"], **{k: v for k, v in future.items() if k != "orders"})
    for column in OWN_HISTORY:
        pd.testing.assert_series_equal(moved[column], at_t[column], check_exact=True)
    # ... and the same events one microsecond earlier (still day T) do move them
    for frame, column in ((extra, "order_date"), (tk, "created_at"), (sv, "answered_at")):
        frame[column] = late - pd.Timedelta(microseconds=1)
    inside = {"orders": pd.concat([cut["orders"], extra], ignore_index=True),
              "tickets": pd.concat([cut["tickets"], tk], ignore_index=True),
              "surveys": pd.concat([cut["surveys"], sv], ignore_index=True)}
    moved_in = snap(inside["orders"], **{k: v for k, v in {**cut, **inside}.items() if k != "orders"})
    for column in ("amount_ratio", "complaints_total", "detractor_answers_total", "nps_recent"):
        assert not moved_in[column].equals(at_t[column]), column


def test_category_and_product_ranges_come_from_order_lines_when_orders_has_neither():
    """The cleaner keeps product_id and category in order_lines only: the ranges must be counted there (they
    were NaN for every prepared data set before), and equal what orders carrying the same columns give."""
    tables = _company_tables()
    with_columns = tables["orders"]
    assert {"category", "product_id"} <= set(with_columns.columns)
    lines = with_columns[["order_id", "customer_id", "order_date", "product_id", "category", "status"]].copy()
    bare = with_columns.drop(columns=["category", "product_id"])
    rest = {k: v for k, v in tables.items() if k != "orders"}
    direct = snap(with_columns, **rest)
    from_lines = snap(bare, order_lines=lines, **rest)
    without = snap(bare, **rest)
    ranges = ["n_categories", "category_range_trend", "product_range_trend"]
    pd.testing.assert_frame_equal(from_lines, direct, check_exact=True)
    assert without[ranges].isna().all().all()
    assert direct[ranges].notna().sum().min() > 100
    # lines dated after T are not read (a late line in a new category changes nothing)
    late = lines.iloc[:50].copy()
    late["order_date"], late["category"] = pd.Timestamp("2024-07-01"), "brand_new"
    later = snap(bare, order_lines=pd.concat([lines, late], ignore_index=True), **rest)
    pd.testing.assert_frame_equal(later, direct, check_exact=True)


def test_main_category_share_in_the_trend_window_against_before():
    rows = [
        # A: before the window 3 equipment + 1 software (main: equipment, 3/4); in it 2 equipment -> 1.0, +0.25
        ("A", "2023-09-01", "equipment"), ("A", "2023-10-01", "equipment"), ("A", "2023-11-01", "equipment"),
        ("A", "2023-12-01", "software"), ("A", "2024-05-01", "equipment"), ("A", "2024-06-30 22:00", "equipment"),
        # B: tie before (1 each): the first alphabetically (consumables) is the main; in the window 1 services -> 0.0
        ("B", "2024-01-01", "services"), ("B", "2024-02-01", "consumables"), ("B", "2024-05-01", "services"),
        # C: nothing in the window -> NaN
        ("C", "2024-01-01", "software"),
        # D: only lines in the window -> no main category -> NaN
        ("D", "2024-06-01", "software"),
    ]
    frame = orders(*[(r[0], r[1], 10.0) for r in rows])
    frame["category"] = pd.array([r[2] for r in rows], dtype="string")
    result = snap(frame)
    check(result, {
        "customer_id": ["A", "B", "C", "D"],
        "main_category_share": [1.0, 0.0, np.nan, np.nan],
        "main_category_share_trend": [1.0 - 0.75, 0.0 - 0.5, np.nan, np.nan],
    })
