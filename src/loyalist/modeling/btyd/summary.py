"""Customer-days summary of an orders table: the (frequency, recency, T, monetary) input of the BTYD models.

The BG/NBD and Gamma-Gamma models (Fader, Hardie & Lee 2005) see each customer through four numbers measured
over a calibration period that starts at the customer's first purchase and ends at ``calibration_end``. A
*purchase* is a purchase DAY: several orders of one customer on the same day are merged into one purchase whose
amount is their sum (the "customer-days" convention of the papers and of the ``lifetimes`` package).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalist.errors import ConfigError, DataQualityError, InsufficientHistoryError, SchemaError
from loyalist.schema import as_day, require_columns, require_naive_datetime

__all__ = ["customer_days_summary", "SUMMARY_COLUMNS", "HOLDOUT_COLUMNS"]

#: Calibration columns of :func:`customer_days_summary`, in order.
SUMMARY_COLUMNS: tuple[str, ...] = ("frequency", "recency", "T", "monetary_value")
#: Extra columns when ``observation_end`` is given, in order.
HOLDOUT_COLUMNS: tuple[str, ...] = ("frequency_holdout", "monetary_holdout", "duration_holdout")


def _purchase_days(frame: pd.DataFrame, customer_col: str) -> pd.DataFrame:
    """One row per (customer, day): columns customer, day, amount (summed), sorted by customer then day."""
    return (
        frame.groupby([customer_col, "_day"], sort=True, observed=True)["_amount"]
        .sum()
        .reset_index()
    )


def customer_days_summary(
    orders: pd.DataFrame,
    calibration_end: object,
    *,
    observation_end: object = None,
    time_unit_days: float = 7.0,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Summarise orders into BTYD inputs per customer, in customer-days.

    Parameters
    ----------
    orders : pandas.DataFrame
        One row per order with columns ``customer_col`` (id), ``date_col`` (datetime64, any resolution; a time of
        day is ignored) and ``amount_col`` (numeric). When the frame has a ``status`` column only rows with status
        ``'completed'`` are purchases (returns and cancellations are ignored, as in the data contract). The frame
        is not modified.
    calibration_end : date-like
        Last day of the calibration period, inclusive (orders dated on that day count). ``T`` is measured from the
        first purchase day to this day: a customer whose first purchase is 1997-01-01 has
        ``T = 272 / 7 = 38.86`` weeks at ``calibration_end='1997-09-30'``, as in Fader, Hardie & Lee (2005).
    observation_end : date-like, optional
        Last day of the holdout period, inclusive; the holdout is ``(calibration_end, observation_end]``.
    time_unit_days : float, default 7.0
        Length of the time unit in days (7 = weeks, 1 = days).
    customer_col, date_col, amount_col : str
        Names of the id, date and amount columns.

    Returns
    -------
    pandas.DataFrame
        Index ``customer_col`` (sorted): every customer with at least one purchase on or before
        ``calibration_end``. Columns (time in units of ``time_unit_days``):

        - ``frequency`` (int64): repeat purchase days = distinct purchase days <= calibration_end, minus 1;
        - ``recency`` (float64): first to last purchase day (0 without repeats);
        - ``T`` (float64): first purchase day to ``calibration_end``;
        - ``monetary_value`` (float64): mean amount per repeat purchase day, the first day excluded (0 without
          repeats);

        and when ``observation_end`` is given:

        - ``frequency_holdout`` (int64): purchase days in ``(calibration_end, observation_end]``;
        - ``monetary_holdout`` (float64): sum of amounts in that window;
        - ``duration_holdout`` (float64): length of that window (the same for every customer).

    Raises
    ------
    SchemaError
        A column is missing or has the wrong type.
    DataQualityError
        Missing customer ids, dates or amounts.
    ConfigError
        An invalid date or time unit, or ``observation_end`` not after ``calibration_end``.
    InsufficientHistoryError
        No purchase on or before ``calibration_end``.
    """
    require_columns(orders, (customer_col, date_col, amount_col), what="The orders table", kind="BTYD summary",
                    fix="map them in the data config or pass customer_col/date_col/amount_col")
    require_naive_datetime(orders, date_col, what="the orders table",
                           fix="parse it with pandas.to_datetime (the cleaning step does) before summarising")
    if not pd.api.types.is_numeric_dtype(orders[amount_col]) or pd.api.types.is_bool_dtype(orders[amount_col]):
        raise SchemaError(
            f"The orders column {amount_col!r} must be numeric; got dtype {orders[amount_col].dtype}; "
            "convert it to float (the cleaning step does) before summarising."
        )
    if not (np.isfinite(time_unit_days) and time_unit_days > 0):
        raise ConfigError(
            f"The 'time_unit_days' argument must be a positive number of days (7 = weeks); got {time_unit_days!r}."
        )
    cal_end = as_day(calibration_end, "calibration_end", example="1997-09-30")
    obs_end = None if observation_end is None else as_day(observation_end, "observation_end", example="1997-09-30")
    if obs_end is not None and obs_end <= cal_end:
        raise ConfigError(
            f"The 'observation_end' argument must be after 'calibration_end' ({cal_end.date()}); "
            f"got {obs_end.date()}; pass a later end of the holdout period or none."
        )

    dates = orders[date_col]
    frame = pd.DataFrame(
        {
            customer_col: orders[customer_col],
            "_day": dates.dt.normalize(),
            "_amount": orders[amount_col].astype("float64"),
        },
        index=orders.index,
    )
    if "status" in orders.columns:
        completed = orders["status"].eq("completed").fillna(False).to_numpy(dtype=bool)
        frame = frame.loc[completed]
    for col, label in ((customer_col, "customer ids"), ("_day", "dates"), ("_amount", "amounts")):
        n_missing = int(frame[col].isna().sum())
        if n_missing:
            name = {"_day": date_col, "_amount": amount_col}.get(col, col)
            raise DataQualityError(
                f"The orders column {name!r} has {n_missing} missing {label} among the purchases; "
                "expected none; clean or drop those rows before summarising."
            )

    unit = float(time_unit_days)
    cal = _purchase_days(frame.loc[frame["_day"] <= cal_end], customer_col)
    if cal.empty:
        raise InsufficientHistoryError(
            f"No purchase on or before 'calibration_end' ({cal_end.date()}) in the orders table; "
            "expected at least one; choose a later calibration end."
        )
    grouped = cal.groupby(customer_col, sort=True, observed=True)
    first_day = grouped["_day"].min()
    last_day = grouped["_day"].max()
    n_days = grouped["_day"].size()
    total = grouped["_amount"].sum()
    first_amount = grouped["_amount"].first()  # rows are sorted by day within customer

    frequency = (n_days - 1).astype("int64")
    repeat_total = (total - first_amount).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency.to_numpy() > 0, repeat_total / np.maximum(frequency.to_numpy(), 1), 0.0)
    summary = pd.DataFrame(
        {
            "frequency": frequency.to_numpy(),
            "recency": (last_day - first_day).dt.days.to_numpy(dtype="float64") / unit,
            "T": (cal_end - first_day).dt.days.to_numpy(dtype="float64") / unit,
            "monetary_value": monetary.astype("float64"),
        },
        index=pd.Index(first_day.index, name=customer_col),
    )

    if obs_end is not None:
        in_holdout = (frame["_day"] > cal_end) & (frame["_day"] <= obs_end)
        hold = _purchase_days(frame.loc[in_holdout], customer_col)
        hold_grouped = hold.groupby(customer_col, sort=True, observed=True)
        hold_days = hold_grouped["_day"].size().reindex(summary.index, fill_value=0)
        hold_amount = hold_grouped["_amount"].sum().reindex(summary.index, fill_value=0.0)
        summary = summary.assign(
            frequency_holdout=hold_days.to_numpy(dtype="int64"),
            monetary_holdout=hold_amount.to_numpy(dtype="float64"),
            duration_holdout=float((obs_end - cal_end).days) / unit,
        )
    return summary
