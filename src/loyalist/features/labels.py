"""Labels of the snapshot at cut-off T, from the events in (T, T + horizon] only.

The snapshot (:mod:`loyalist.features.snapshot`) reads events dated <= T; the labels read events dated in
(T, T + horizon]; the two never overlap. Training uses only cut-offs whose label window is complete
(:func:`label_window_complete`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from loyalist.config.models import FeatureConfig
from loyalist.errors import ConfigError, SchemaError
from loyalist.features.columns import LABEL_COLUMNS
from loyalist.features.cutoffs import cutoff_day, cutoff_end
from loyalist.features.snapshot import coerce_as_of
from loyalist.schema import require_columns, require_naive_datetime

__all__ = ["LabelBuilder", "build_labels", "label_window_complete"]


def label_window_complete(as_of: Any, data_end: Any, horizon_days: int) -> bool:
    """True when the label window, days T + 1 .. T + horizon_days, ends on or before the day ``data_end`` (the
    last day with data, taken whole)."""
    if int(horizon_days) < 1:
        raise ConfigError(f"The 'horizon_days' parameter must be a positive number of days; got {horizon_days!r}.")
    t = cutoff_day(as_of)
    end = cutoff_day(data_end, name="data_end")
    return bool(t + pd.Timedelta(days=int(horizon_days)) <= end)


def _population_ids(population: pd.Series | pd.DataFrame) -> pd.Series:
    if isinstance(population, pd.DataFrame):
        require_columns(population, ["customer_id"], what="The 'population' table", show_columns=False,
                        fix="pass the snapshot or a Series of customer ids")
        ids = population["customer_id"]
    elif isinstance(population, pd.Series):
        ids = population
    else:
        raise SchemaError(
            f"The 'population' parameter must be a Series of customer ids or a table with 'customer_id'; "
            f"got {type(population).__name__}."
        )
    return pd.Series(ids.to_numpy(), dtype="string", name="customer_id").drop_duplicates()


def _isin(ids: pd.Series, values: pd.Index) -> np.ndarray:
    """``ids.isin(values)`` as a boolean array, by Arrow's hash lookup: pandas' ``isin`` on Arrow-backed strings
    first turns every value into a Python object (8.6 of 12.6 CPU s of a 100,000-customer training's labels)."""
    arr = pa.array(ids.astype("string"), from_pandas=True)
    value_set = pa.array(values.astype("string"), from_pandas=True).cast(arr.type)
    found = pc.fill_null(pc.is_in(arr, value_set=value_set, skip_nulls=True), False)
    return found.to_numpy(zero_copy_only=False).astype(bool)


def build_labels(
    orders: pd.DataFrame,
    population: pd.Series | pd.DataFrame,
    as_of: Any,
    config: FeatureConfig,
) -> pd.DataFrame:
    """Churn and value labels at cut-off T for each customer of the population.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders: customer_id, order_date (datetime64), amount; optional status (absent = completed),
        margin and/or cost. Only completed orders dated in (T, T + max(churn, value horizon)] are read, where
        T is the end of the cut-off day: the label window starts on the next day and ends with day T + horizon.
    population : Series or DataFrame
        The customers at T: a Series of ids or a table with ``customer_id`` (e.g. the snapshot).
    as_of : str, date, datetime or Timestamp
        The cut-off T.
    config : FeatureConfig
        ``churn_horizon_days`` and ``value_horizon_days``.

    Returns
    -------
    DataFrame
        One row per population customer, sorted by customer_id; columns ``LABEL_COLUMNS``: customer_id
        (string), as_of (datetime64[ns]), churned (int64: 1 = no completed order in (T, T + churn_horizon]),
        future_orders (int64) and future_revenue (float64) over (T, T + value_horizon], future_margin (float64:
        margin, else amount - cost; NaN when the orders carry neither).
    """
    if not isinstance(config, FeatureConfig):
        raise ConfigError(
            f"The 'config' parameter of build_labels must be a FeatureConfig; got {type(config).__name__}."
        )
    day = coerce_as_of(as_of)
    t = cutoff_end(day)
    require_columns(orders, ("customer_id", "order_date", "amount"), what="Table 'orders'",
                    fix="map them in the data config")
    require_naive_datetime(orders, "order_date", what="table 'orders'", fix="pass the table produced by the cleaner")
    ids = _population_ids(population).sort_values(ignore_index=True)
    churn_end = t + pd.Timedelta(days=config.churn_horizon_days)
    value_end = t + pd.Timedelta(days=config.value_horizon_days)
    end = max(churn_end, value_end)

    dates = orders["order_date"]
    keep = (dates > t) & (dates <= end)
    if "status" in orders.columns:
        keep &= orders["status"] == "completed"
    columns = _future_columns(orders)
    future = orders.loc[keep.to_numpy(dtype=bool, na_value=False), columns]
    return _labels(future, ids, day, t, config, has_margin="margin" in orders.columns or "cost" in orders.columns)


def _future_columns(orders: pd.DataFrame) -> list[str]:
    return ["customer_id", "order_date", "amount", *[c for c in ("margin", "cost") if c in orders.columns]]


def _labels(future: pd.DataFrame, ids: pd.Series, day: pd.Timestamp, t: pd.Timestamp, config: FeatureConfig,
            has_margin: bool) -> pd.DataFrame:
    """The labels of the sorted population ``ids`` from ``future``: its completed orders dated in (T, T + the
    longer horizon], in the orders' row order (sums add up in that order)."""
    churn_end = t + pd.Timedelta(days=config.churn_horizon_days)
    value_end = t + pd.Timedelta(days=config.value_horizon_days)
    future = future.assign(customer_id=future["customer_id"].astype("string"))

    in_value = future[future["order_date"] <= value_end]
    margin = _margin(in_value) if has_margin else None
    grouped = in_value.assign(_margin=margin if margin is not None else np.nan).groupby("customer_id")
    value = pd.DataFrame({
        "future_orders": grouped.size(),
        "future_revenue": grouped["amount"].sum(),
        "future_margin": grouped["_margin"].sum(min_count=1),
    })
    buyers = pd.Index(future.loc[future["order_date"] <= churn_end, "customer_id"].unique())

    return _label_frame(ids, day, lambda c: (~_isin(c, buyers)).astype("int64"),
                        value.reindex(pd.Index(ids, dtype="string")), has_margin)


class LabelBuilder:
    """:func:`build_labels` at many cut-offs over the same orders, with the work they share done once: the
    completed orders' dates are sorted once, so each cut-off finds its window (T, T + horizon] by binary search
    instead of comparing every order's date again. ``builder.at(population, as_of, config)`` returns exactly the
    frame ``build_labels(orders, population, as_of, config)`` returns (same orders, read in the same row order).
    """

    def __init__(self, orders: pd.DataFrame) -> None:
        require_columns(orders, ("customer_id", "order_date", "amount"), what="Table 'orders'",
                        fix="map them in the data config")
        require_naive_datetime(orders, "order_date", what="table 'orders'",
                               fix="pass the table produced by the cleaner")
        keep = orders["order_date"].notna()
        if "status" in orders.columns:
            keep &= orders["status"] == "completed"
        self._has_margin = "margin" in orders.columns or "cost" in orders.columns
        # only the columns the labels read (no copy under copy-on-write); taking rows of the whole table copied
        # every other column too
        self._orders = orders[_future_columns(orders)]
        rows = np.flatnonzero(keep.to_numpy(dtype=bool, na_value=False))  # positions, not a copy of the orders
        dates = orders["order_date"].to_numpy(dtype="datetime64[ns]")[rows]
        order = np.argsort(dates, kind="stable")
        self._by_date, self._dates = rows[order], dates[order]
        # each order's customer as a whole number, once: grouping ~600,000 window orders by their Arrow-string ids
        # at every cut-off was most of the labels' cost (-1: a missing id, which no group and no customer has)
        codes, uniques = pd.factorize(orders["customer_id"].astype("string"))
        self._codes = codes.astype(np.int64, copy=False)
        self._customers = pd.Index(uniques, dtype="string")

    def at(self, population: pd.Series | pd.DataFrame, as_of: Any, config: FeatureConfig) -> pd.DataFrame:
        if not isinstance(config, FeatureConfig):
            raise ConfigError(
                f"The 'config' parameter of build_labels must be a FeatureConfig; got {type(config).__name__}."
            )
        day = coerce_as_of(as_of)
        t = cutoff_end(day)
        ids = _population_ids(population).sort_values(ignore_index=True)
        end = t + pd.Timedelta(days=max(config.churn_horizon_days, config.value_horizon_days))
        lo = np.searchsorted(self._dates, np.datetime64(t.to_datetime64(), "ns"), side="right")
        hi = np.searchsorted(self._dates, np.datetime64(end.to_datetime64(), "ns"), side="right")
        rows = np.sort(self._by_date[lo:hi])  # the orders' own row order, as build_labels reads them
        return _coded_labels(self._orders.iloc[rows], self._codes[rows], self._customers.get_indexer(ids), ids,
                             day, t, config, self._has_margin)


def _coded_labels(future: pd.DataFrame, codes: np.ndarray, population: np.ndarray, ids: pd.Series,
                  day: pd.Timestamp, t: pd.Timestamp, config: FeatureConfig, has_margin: bool) -> pd.DataFrame:
    """:func:`_labels` with the customers as whole numbers: ``codes`` per order of ``future`` and ``population``
    per customer of ``ids`` (-1: unknown), both positions in the same list of customers. The same groups are
    summed over the same orders in the same row order by the same pandas sums, so the labels are the same."""
    churn_end = t + pd.Timedelta(days=config.churn_horizon_days)
    value_end = t + pd.Timedelta(days=config.value_horizon_days)
    dates = future["order_date"].to_numpy(dtype="datetime64[ns]")
    known = codes >= 0
    in_value = known & (dates <= np.datetime64(value_end.to_datetime64(), "ns"))
    rows = future.loc[in_value]
    margin = _margin(rows) if has_margin else None
    grouped = rows.assign(_margin=margin if margin is not None else np.nan).groupby(codes[in_value])
    value = pd.DataFrame({
        "future_orders": grouped.size(),
        "future_revenue": grouped["amount"].sum(),
        "future_margin": grouped["_margin"].sum(min_count=1),
    })
    # bought[c]: customer c has an order in the churn window; the extra last slot, which population -1 (unknown)
    # indexes, stays False
    bought = np.zeros(int(max(codes.max(initial=-1), population.max(initial=-1))) + 2, bool)
    bought[codes[known & (dates <= np.datetime64(churn_end.to_datetime64(), "ns"))]] = True

    return _label_frame(ids, day, lambda c: (~bought[population]).astype("int64"), value.reindex(population),
                        has_margin)


def _label_frame(ids: Any, day: pd.Timestamp, churned: Callable[[pd.Series], Any], joined: pd.DataFrame,
                 has_margin: bool) -> pd.DataFrame:
    """The label frame of ``ids`` at ``day``: ``churned(customer ids)`` and ``joined``, the window's
    future_orders / future_revenue / future_margin per customer aligned with ``ids`` (missing: no order)."""
    out = pd.DataFrame({"customer_id": ids})
    out["as_of"] = pd.Series(day, index=out.index, dtype="datetime64[ns]")
    out["churned"] = churned(out["customer_id"])
    out["future_orders"] = joined["future_orders"].fillna(0).astype("int64").to_numpy()
    out["future_revenue"] = joined["future_revenue"].fillna(0.0).astype("float64").to_numpy()
    if has_margin:
        # customers without future orders earn 0; buyers whose margins are all missing stay NaN
        fm = joined["future_margin"].astype("float64")
        out["future_margin"] = fm.where(joined["future_orders"].notna(), 0.0).to_numpy()
    else:
        out["future_margin"] = np.nan
    return out.loc[:, list(LABEL_COLUMNS)]


def _margin(orders: pd.DataFrame) -> pd.Series:
    """Margin per order: the ``margin`` column, else (or where missing) ``amount - cost``."""
    from_cost = orders["amount"] - orders["cost"] if "cost" in orders.columns else None
    if "margin" in orders.columns:
        return orders["margin"].astype("float64") if from_cost is None else orders["margin"].fillna(from_cost)
    assert from_cost is not None, "orders need a margin or a cost column"
    return from_cost.astype("float64")
