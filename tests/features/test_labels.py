"""Golden labels at T = 2024-06-30 with churn horizon 90 days (to 2024-09-28) and value horizon 365 days
(to 2025-06-30), values computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalist.config.models import FeatureConfig
from loyalist.errors import ConfigError, SchemaError
from loyalist.features import LABEL_COLUMNS, build_labels, label_window_complete

T = "2024-06-30"
CONFIG = FeatureConfig()  # churn 90 days, value 365 days


def orders(*rows, **extra) -> pd.DataFrame:
    rows = [r if len(r) == 4 else (*r, "completed") for r in rows]
    return pd.DataFrame({
        "order_id": pd.array([f"O{i}" for i in range(len(rows))], dtype="string"),
        "customer_id": pd.array([r[0] for r in rows], dtype="string"),
        "order_date": pd.to_datetime([r[1] for r in rows], format="ISO8601").astype("datetime64[ns]"),
        "amount": np.array([r[2] for r in rows], dtype=np.float64),
        "status": pd.array([r[3] for r in rows], dtype="string"),
        **extra,
    })


def expected(rows: dict) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    out["customer_id"] = out["customer_id"].astype("string")
    out.insert(1, "as_of", pd.Series(pd.Timestamp(T), index=out.index, dtype="datetime64[ns]"))
    return out.astype({"churned": "int64", "future_orders": "int64", "future_revenue": "float64",
                       "future_margin": "float64"})


def test_golden_labels():
    data = orders(
        ("A", "2024-06-30", 50),  # at T: history, not future
        ("A", "2024-07-15", 10), ("A", "2024-12-01", 20),  # buys in the churn window -> 0
        ("B", "2024-09-28", 5),  # last day of the churn window (T + 90) -> 0
        ("C", "2024-09-29", 7), ("C", "2025-06-30", 3),  # after the churn window, inside the value window
        ("C", "2025-07-01", 100),  # after the value window
        ("D", "2024-08-01", 9, "returned"),  # returns do not count
        ("X", "2024-07-01", 99),  # not in the population
    )
    result = build_labels(data, pd.Series(["D", "C", "B", "A"]), T, CONFIG)
    pd.testing.assert_frame_equal(result, expected({
        "customer_id": ["A", "B", "C", "D"],
        "churned": [0, 0, 1, 1],
        "future_orders": [2, 1, 2, 0],
        "future_revenue": [30.0, 5.0, 10.0, 0.0],
        "future_margin": [np.nan] * 4,  # neither margin nor cost
    }), check_exact=True)
    assert list(result.columns) == list(LABEL_COLUMNS)


def test_future_margin_from_margin_or_cost():
    data = orders(("A", "2024-07-15", 10), ("A", "2024-08-15", 20), ("B", "2024-07-01", 8),
                  cost=[4.0, 5.0, np.nan])
    result = build_labels(data, pd.Series(["A", "B", "C"]), T, CONFIG)
    pd.testing.assert_frame_equal(result, expected({
        "customer_id": ["A", "B", "C"],
        "churned": [0, 0, 1],
        "future_orders": [2, 1, 0],
        "future_revenue": [30.0, 8.0, 0.0],
        "future_margin": [21.0, np.nan, 0.0],  # B's only order has no cost: unknown; C bought nothing: 0
    }), check_exact=True)


def test_population_from_a_snapshot_table_and_horizons_from_config():
    data = orders(("A", "2024-07-05", 10), ("B", "2024-07-20", 10))
    snapshot = pd.DataFrame({"customer_id": pd.array(["A", "B"], dtype="string"), "n_orders": [1, 2]})
    config = FeatureConfig(churn_horizon_days=10, value_horizon_days=10)
    result = build_labels(data, snapshot, T, config)
    assert result["churned"].tolist() == [0, 1]
    assert result["future_revenue"].tolist() == [10.0, 0.0]


def test_orders_without_status_are_completed_and_inputs_are_not_modified():
    data = orders(("A", "2024-07-05", 10)).drop(columns=["status"])
    before = data.copy(deep=True)
    result = build_labels(data, pd.Series(["A"]), T, CONFIG)
    assert result.loc[0, "churned"] == 0
    pd.testing.assert_frame_equal(data, before)


def test_label_errors_are_named():
    with pytest.raises(SchemaError, match="'order_date'"):
        build_labels(orders(("A", "2024-07-05", 10)).drop(columns=["order_date"]), pd.Series(["A"]), T, CONFIG)
    with pytest.raises(SchemaError, match="'customer_id'"):
        build_labels(orders(("A", "2024-07-05", 10)), pd.DataFrame({"id": ["A"]}), T, CONFIG)
    with pytest.raises(ConfigError, match="'as_of'"):
        build_labels(orders(("A", "2024-07-05", 10)), pd.Series(["A"]), "soon", CONFIG)


@pytest.mark.parametrize(
    ("as_of", "data_end", "horizon", "complete"),
    [
        ("2024-06-30", "2024-09-28", 90, True),  # the window ends exactly at the last date with data
        ("2024-06-30", "2024-09-27", 90, False),
        ("2024-01-01", "2024-12-31", 365, True),  # 2024 has 366 days
        ("2023-01-01", "2023-12-31", 365, False),
    ],
)
def test_label_window_complete(as_of, data_end, horizon, complete):
    assert label_window_complete(as_of, data_end, horizon) is complete


def test_label_window_complete_rejects_a_non_positive_horizon():
    with pytest.raises(ConfigError, match="'horizon_days'"):
        label_window_complete("2024-01-01", "2024-12-31", 0)


def test_isin_by_arrow_equals_pandas_isin():
    import numpy as np
    import pandas as pd

    from loyalist.features.labels import _isin

    rng = np.random.default_rng(0)
    ids = pd.Series([f"C{i:05d}" for i in rng.integers(0, 3000, 2000)] + [None, "é客户", ""], dtype="string")
    values = pd.Index(pd.Series([f"C{i:05d}" for i in rng.integers(0, 3000, 900)] + ["é客户"], dtype="string").unique())
    got = _isin(ids, values)
    assert got.dtype == bool and got.tolist() == ids.isin(values).to_numpy(dtype=bool).tolist()
    assert 0 < got.sum() < len(ids) and got[-2] and not got[-3] and not got[-1]
    assert not _isin(ids, pd.Index([], dtype="string")).any()
    assert _isin(pd.Series(["a", "b"], dtype="object"), pd.Index(["b"], dtype="object")).tolist() == [False, True]
