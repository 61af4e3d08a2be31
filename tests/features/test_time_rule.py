"""Properties of the point-in-time rule (hypothesis).

- Adding, changing or deleting orders, tickets or survey answers dated after T (and changing what is only known
  after T: a resolution after T, a signup after T) never changes the snapshot at T: frames compared exactly.
- Labels at T depend only on the events in (T, T + horizon].
- Rates stay in their ranges; order-value stability does not change when every amount is scaled.

Events dated <= T keep their relative order in both variants; only the events after T are inserted at random
positions, so any difference can come only from reading events after T.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalist.config.models import FeatureConfig
from loyalist.data.tables import ParquetTable
from loyalist.features import build_labels, build_snapshot
from loyalist.features.cutoffs import cutoff_end

CUSTOMERS = ["A", "B", "C", "D", "E"]
BASE = pd.Timestamp("2024-01-01")
CONFIG = FeatureConfig(lookback_days=180, trend_window_days=30, frequency_min_days=20,
                       churn_horizon_days=30, value_horizon_days=60)
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

customer = st.sampled_from(CUSTOMERS)
seconds_before = st.one_of(st.just(0), st.integers(0, 400 * 86400))  # 0 = exactly at T
seconds_after = st.integers(1, 400 * 86400)
amount = st.one_of(st.integers(1, 500).map(float), st.floats(0.01, 10_000, allow_nan=False).map(lambda x: round(x, 2)))
status = st.sampled_from(["completed"] * 4 + ["returned", "cancelled"])
order_row = st.tuples(customer, amount, status, st.floats(0, 1).map(lambda x: round(x, 2)))
ticket_row = st.tuples(customer, st.sampled_from(["complaint", "inquiry"]), st.sampled_from(["delivery", "billing"]))
survey_row = st.tuples(customer, st.integers(0, 10), st.integers(1, 5), st.booleans())
cutoff = st.tuples(st.integers(0, 365), st.sampled_from([0, 12 * 3600])).map(
    lambda x: BASE + pd.Timedelta(days=x[0], seconds=x[1]))


def _merge(past: list, future: list, rnd: random.Random) -> list:
    """Insert the future rows at random positions; the past rows keep their order."""
    out = list(past)
    for row in future:
        out.insert(rnd.randint(0, len(out)), row)
    return out


def _orders(rows: list) -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": pd.array([f"O{i}" for i in range(len(rows))], dtype="string"),
        "customer_id": pd.array([r[0] for r in rows], dtype="string"),
        "order_date": pd.Series([r[1] for r in rows], dtype="datetime64[ns]"),
        "amount": np.array([r[2] for r in rows], dtype=np.float64),
        "status": pd.array([r[3] for r in rows], dtype="string"),
        "cost": np.array([r[2] * r[4] for r in rows], dtype=np.float64),
    })


def _tickets(rows: list) -> pd.DataFrame:
    return pd.DataFrame({
        "ticket_id": pd.array([f"T{i}" for i in range(len(rows))], dtype="string"),
        "customer_id": pd.array([r[0] for r in rows], dtype="string"),
        "created_at": pd.Series([r[1] for r in rows], dtype="datetime64[ns]"),
        "kind": pd.array([r[2] for r in rows], dtype="string"),
        "stage": pd.array([r[3] for r in rows], dtype="string"),
        "resolved_at": pd.Series([r[4] for r in rows], dtype="datetime64[ns]"),
    })


def _surveys(rows: list) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": pd.array([r[0] for r in rows], dtype="string"),
        "answered_at": pd.Series([r[1] for r in rows], dtype="datetime64[ns]"),
        "nps_score": np.array([r[2] for r in rows], dtype=np.float64),
        "satisfaction": np.array([r[3] for r in rows], dtype=np.float64),
        "mentions_brand": pd.array([r[4] for r in rows], dtype="boolean"),
    })


def _customers(signups: dict) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": pd.array(list(signups), dtype="string"),
        "industry": pd.array(["retail", "it", "retail", None, "logistics"][: len(signups)], dtype="string"),
        "signup_date": pd.Series(list(signups.values()), dtype="datetime64[ns]"),
    })


@st.composite
def history(draw):
    """Events up to T (fixed), and two different sets of what happens or becomes known after T.

    T is the cut-off date drawn (sometimes with a time of day, which is ignored); "up to T" is up to the end of
    that day, so events during the cut-off day count as before T."""
    t = draw(cutoff)
    end = cutoff_end(t)
    before = lambda: end - pd.Timedelta(seconds=draw(seconds_before))  # noqa: E731
    after = lambda: end + pd.Timedelta(seconds=draw(seconds_after))  # noqa: E731

    past_orders = [(c, before(), a, s, k) for c, a, s, k in draw(st.lists(order_row, min_size=1, max_size=25))]
    past_tickets, late_resolutions = [], []
    for c, kind, stage in draw(st.lists(ticket_row, max_size=8)):
        created = before()
        fate = draw(st.sampled_from(["resolved", "later", "open"]))
        if fate == "resolved":  # resolved by T (resolution dated <= T)
            resolved = created + (end - created) * draw(st.floats(0, 1))
            past_tickets.append((c, created, kind, stage, resolved.floor("s")))
        else:  # not resolved at T: the resolution, if any, is only known after T and may differ
            past_tickets.append((c, created, kind, stage, None))
            late_resolutions.append(len(past_tickets) - 1)
    past_surveys = [(c, before(), n, s, m) for c, n, s, m in draw(st.lists(survey_row, max_size=8))]
    signups = {c: (before() if draw(st.booleans()) else after()) for c in CUSTOMERS}

    def variant():
        orders = [(c, after(), a, s, k) for c, a, s, k in draw(st.lists(order_row, max_size=8))]
        tickets = [(c, after(), kind, stage, None) for c, kind, stage in draw(st.lists(ticket_row, max_size=4))]
        surveys = [(c, after(), n, s, m) for c, n, s, m in draw(st.lists(survey_row, max_size=4))]
        resolved = list(past_tickets)
        for i in late_resolutions:
            c, created, kind, stage, _ = resolved[i]
            resolved[i] = (c, created, kind, stage, after() if draw(st.booleans()) else None)
        late_signups = {c: (d if d <= end else after()) for c, d in signups.items()}
        rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
        return {
            "orders": _orders(_merge(past_orders, orders, rnd)),
            "tickets": _tickets(_merge(resolved, tickets, rnd)),
            "surveys": _surveys(_merge(past_surveys, surveys, rnd)),
            "customers": _customers(late_signups),
        }

    return t, variant(), variant()


@SETTINGS
@given(history())
def test_events_after_t_never_change_the_snapshot(case):
    t, first, second = case
    a = build_snapshot(first, t, CONFIG)
    # other orders, tickets and answers after T, other resolutions and signups known only after T
    pd.testing.assert_frame_equal(a, build_snapshot(second, t, CONFIG), check_exact=True)
    # every event after T deleted
    cut = {
        "orders": first["orders"][first["orders"]["order_date"] <= cutoff_end(t)],
        "tickets": first["tickets"][first["tickets"]["created_at"] <= cutoff_end(t)],
        "surveys": first["surveys"][first["surveys"]["answered_at"] <= cutoff_end(t)],
        "customers": first["customers"],
    }
    pd.testing.assert_frame_equal(a, build_snapshot(cut, t, CONFIG), check_exact=True)
    # the same rule when DuckDB streams the tables from Parquet files (the scoring job's path)
    with tempfile.TemporaryDirectory() as folder:
        on_disk = {}
        for name, frame in second.items():
            frame.to_parquet(Path(folder) / f"{name}.parquet", index=False)
            on_disk[name] = ParquetTable(Path(folder) / f"{name}.parquet", name)
        pd.testing.assert_frame_equal(a, build_snapshot(on_disk, t, CONFIG), check_exact=True)
    _check_ranges(a)


def _check_ranges(result: pd.DataFrame) -> None:
    """Rates stay in [0, 1], the trend in [-1, 1], NPS in [-100, 100]; day counts are consistent."""
    for column in ("repurchase_rate", "order_value_stability", "complaint_rate", "return_rate",
                   "brand_mention_rate"):
        assert result[column].dropna().between(0.0, 1.0).all(), column
    assert result["spend_trend"].between(-1.0, 1.0).all()
    assert result["nps"].dropna().between(-100.0, 100.0).all()
    assert (result["purchase_frequency"] > 0).all()
    assert result[["recency_days", "tenure_days", "btyd_T"]].ge(0).all().all()
    assert (result["btyd_recency"] <= result["btyd_T"]).all()
    assert (result["tenure_days"] >= result["recency_days"]).all()


@st.composite
def label_case(draw):
    """Orders inside (T, T + horizon] (fixed) and two different sets of orders outside that window (T is the end
    of the cut-off day: the window is the days T + 1 .. T + horizon)."""
    t = draw(cutoff)
    end = cutoff_end(t)
    horizon = pd.Timedelta(days=max(CONFIG.churn_horizon_days, CONFIG.value_horizon_days))
    span = int(horizon.total_seconds())
    inside = [(c, end + pd.Timedelta(seconds=draw(st.integers(1, span))), a, s, k)
              for c, a, s, k in draw(st.lists(order_row, max_size=15))]

    def outside():
        rows = []
        for c, a, s, k in draw(st.lists(order_row, max_size=10)):
            if draw(st.booleans()):
                when = end - pd.Timedelta(seconds=draw(seconds_before))  # history, at or before T
            else:
                when = end + horizon + pd.Timedelta(seconds=draw(seconds_after))  # after the horizon
            rows.append((c, when, a, s, k))
        return _orders(_merge(inside, rows, random.Random(draw(st.integers(0, 2**32 - 1)))))

    return t, outside(), outside()


@SETTINGS
@given(label_case())
def test_labels_depend_only_on_events_in_the_horizon(case):
    t, first, second = case
    population = pd.Series(CUSTOMERS)
    pd.testing.assert_frame_equal(build_labels(first, population, t, CONFIG),
                                  build_labels(second, population, t, CONFIG), check_exact=True)


@SETTINGS
@given(history(), st.sampled_from([0.01, 0.5, 3.0, 1000.0]))
def test_order_value_stability_is_unchanged_when_amounts_are_scaled(case, factor):
    t, tables, _ = case
    scaled = {**tables, "orders": tables["orders"].assign(amount=tables["orders"]["amount"] * factor)}
    a = build_snapshot(tables, t, CONFIG)["order_value_stability"].to_numpy()
    b = build_snapshot(scaled, t, CONFIG)["order_value_stability"].to_numpy()
    np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
