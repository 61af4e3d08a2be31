"""A cut-off date D means the end of day D, everywhere (issue 10 section 2).

Orders timestamped during D are features at D (snapshot, default cut-off, training cut-offs), labels start on
D + 1, and the day after the last order is an accepted cut-off.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalist.config.models import FeatureConfig
from loyalist.errors import ConfigError, InsufficientHistoryError
from loyalist.features import build_labels, build_snapshot
from loyalist.features.cutoffs import cutoff_day, cutoff_end, resolve_as_of
from loyalist.features.labels import label_window_complete
from loyalist.modeling.supervised.dataset import labelled_snapshot

CONFIG = FeatureConfig(churn_horizon_days=30, value_horizon_days=30)


def orders(*rows) -> pd.DataFrame:
    """rows: (customer_id, order_date, amount)."""
    return pd.DataFrame({
        "order_id": pd.array([f"O{i}" for i in range(len(rows))], dtype="string"),
        "customer_id": pd.array([r[0] for r in rows], dtype="string"),
        "order_date": pd.to_datetime([r[1] for r in rows], format="ISO8601").astype("datetime64[ns]"),
        "amount": np.array([r[2] for r in rows], dtype=np.float64),
        "status": pd.array(["completed"] * len(rows), dtype="string"),
    })


ORDERS = orders(
    ("A", "2010-08-01 10:00", 10.0),
    ("A", "2010-08-31 14:30", 99.0),  # during the cut-off day: a feature, not a label
    ("B", "2010-08-02 09:00", 5.0),
    ("B", "2010-09-01 08:00", 7.0),  # the next day: a label
    ("C", "2010-08-31 23:59:59", 3.0),  # the last second of the cut-off day
)


def test_orders_during_the_cutoff_day_are_features_at_that_day():
    snap = build_snapshot({"orders": ORDERS}, "2010-08-31", CONFIG).set_index("customer_id")
    assert list(snap.index) == ["A", "B", "C"]
    assert snap.loc["A", "n_orders"] == 2 and snap.loc["A", "monetary_total"] == 109.0
    assert snap.loc["A", "recency_days"] == 0 and snap.loc["C", "recency_days"] == 0
    assert snap.loc["B", "n_orders"] == 1  # B's order of 2010-09-01 is after the cut-off day
    assert (snap["as_of"] == pd.Timestamp("2010-08-31")).all()


def test_labels_start_the_day_after_the_cutoff_day():
    labels = build_labels(ORDERS, pd.Series(["A", "B", "C"]), "2010-08-31", CONFIG).set_index("customer_id")
    assert labels.loc["A", "future_orders"] == 0 and labels.loc["A", "churned"] == 1
    assert labels.loc["B", "future_orders"] == 1 and labels.loc["B", "churned"] == 0
    assert labels.loc["B", "future_revenue"] == 7.0
    assert labels.loc["C", "future_orders"] == 0
    assert (labels["as_of"] == pd.Timestamp("2010-08-31")).all()


def test_the_label_window_ends_with_the_last_second_of_day_t_plus_horizon():
    late = orders(("A", "2010-08-01", 1.0), ("A", "2010-09-30 23:59:59", 2.0), ("A", "2010-10-01 00:00", 4.0))
    labels = build_labels(late, pd.Series(["A"]), "2010-08-31", CONFIG)
    assert labels["future_revenue"].tolist() == [2.0]  # 2010-09-30 is day 30 of a 30-day horizon


def test_a_time_of_day_in_the_cutoff_is_dropped():
    a = build_snapshot({"orders": ORDERS}, "2010-08-31", CONFIG)
    b = build_snapshot({"orders": ORDERS}, pd.Timestamp("2010-08-31 06:00"), CONFIG)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert cutoff_day("2010-08-31 06:00") == pd.Timestamp("2010-08-31")
    assert cutoff_end("2010-08-31") == pd.Timestamp("2010-08-31 23:59:59.999999")
    with pytest.raises(ConfigError, match="'as_of'"):
        cutoff_day("not a date")


def test_the_default_cutoff_includes_the_whole_last_day():
    tables = {"orders": ORDERS}
    t = resolve_as_of(tables, None)
    assert t == pd.Timestamp("2010-09-01")
    snap = build_snapshot(tables, t, CONFIG).set_index("customer_id")
    assert snap.loc["B", "n_orders"] == 2  # the newest order (2010-09-01 08:00) is in the default snapshot


def test_the_day_after_the_last_order_is_accepted_and_later_days_are_refused():
    tables = {"orders": orders(("A", "2010-08-01 10:00", 1.0), ("A", "2010-08-31 14:30", 2.0))}
    assert resolve_as_of(tables, "2010-09-01") == pd.Timestamp("2010-09-01")
    with pytest.raises(InsufficientHistoryError, match="2010-09-01"):
        resolve_as_of(tables, "2010-09-02")


def test_label_window_complete_counts_whole_days():
    assert label_window_complete("2010-08-31", "2010-09-30 18:00", 30)
    assert not label_window_complete("2010-08-31", "2010-09-29 23:00", 30)


def test_a_training_snapshot_at_a_month_end_holds_that_days_orders_and_not_in_its_labels():
    row = labelled_snapshot({"orders": ORDERS}, pd.Timestamp("2010-08-31"), CONFIG).set_index("customer_id")
    assert row.loc["A", "n_orders"] == 2 and row.loc["A", "future_orders"] == 0


@pytest.mark.realdata
def test_online_retail_orders_of_the_cutoff_day_are_features_not_labels(shared_data):
    lines = pd.read_parquet(shared_data / "online-retail-ii-2009-2010" / "online_retail_II.parquet")
    lines = lines[lines["Customer ID"].notna() & ~lines["Invoice"].astype(str).str.startswith("C")]
    data = pd.DataFrame({
        "customer_id": lines["Customer ID"].astype("int64").astype(str).astype("string"),
        "order_date": pd.to_datetime(lines["InvoiceDate"]).astype("datetime64[ns]"),
        "amount": (lines["Quantity"] * lines["Price"]).astype("float64"),
        "status": pd.array(["completed"] * len(lines), dtype="string"),
    }).reset_index(drop=True)
    day = data["order_date"].dt.normalize() == pd.Timestamp("2010-08-31")
    buyers = set(data.loc[day, "customer_id"])
    assert len(buyers) > 10 and data.loc[day, "order_date"].dt.hour.min() > 0  # timestamped during the day
    snap = build_snapshot({"orders": data}, "2010-08-31", FeatureConfig()).set_index("customer_id")
    assert buyers <= set(snap.index)
    assert (snap.loc[sorted(buyers), "recency_days"] == 0).all()
    labels = build_labels(data, pd.Series(sorted(buyers)), "2010-08-31", FeatureConfig(churn_horizon_days=1,
                                                                                      value_horizon_days=1))
    next_day = data["order_date"].dt.normalize() == pd.Timestamp("2010-09-01")
    expected = data[next_day].groupby("customer_id").size().reindex(sorted(buyers), fill_value=0)
    assert labels.set_index("customer_id")["future_orders"].tolist() == expected.tolist()


@pytest.mark.parametrize("as_of", ["-1", "0001-01-01", "", "not a date"])
def test_an_as_of_that_is_not_a_holdable_date_is_one_sentence(as_of):
    from loyalist.errors import SchemaError

    with pytest.raises(SchemaError, match="is not a date; pass it as YYYY-MM-DD"):
        resolve_as_of({"orders": ORDERS}, as_of)
    with pytest.raises(ConfigError, match="'as_of' parameter must be a date"):
        cutoff_day(as_of)
