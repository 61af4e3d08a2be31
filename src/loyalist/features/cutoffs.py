"""Cut-off dates: the scoring cut-off and the grid of past training cut-offs whose label windows are complete.

A cut-off date D means the **end** of day D (DESIGN.md, "Time"): events timestamped at any time during D are
features at D, labels start on day D + 1. :func:`cutoff_day` reduces any cut-off to its day, :func:`cutoff_end`
gives the last instant of that day, the bound every "dated <= T" comparison uses.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from loyalist.errors import ConfigError, InsufficientHistoryError, SchemaError
from loyalist.schema import as_day

__all__ = ["data_period", "resolve_as_of", "cutoff_grid", "cutoff_day", "cutoff_end", "END_OF_DAY"]

#: The last representable instant of a day, at the microsecond resolution SQL engines (DuckDB, Spark) keep:
#: ``cutoff_end(D) = D 00:00 + END_OF_DAY`` = D 23:59:59.999999.
END_OF_DAY = pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)


def cutoff_day(as_of, name: str = "as_of") -> pd.Timestamp:
    """The cut-off's day D (midnight, naive ``datetime64[ns]`` Timestamp); a time of day is dropped.

    Raises
    ------
    ConfigError
        ``as_of`` is not a date, or carries a time zone.
    """
    return as_day(as_of, name, error=ConfigError)


def cutoff_end(as_of, name: str = "as_of") -> pd.Timestamp:
    """The last instant of the cut-off's day D (D 23:59:59.999999): events dated <= it are known at D."""
    return cutoff_day(as_of, name) + END_OF_DAY


def data_period(tables: Mapping[str, pd.DataFrame]) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last order date of the clean ``orders`` table (all statuses).

    ``orders`` may be a DataFrame or a :class:`~loyalist.data.tables.ParquetTable` (then the dates come from the
    file's statistics, without reading the table).
    """
    from loyalist.data.tables import ParquetTable

    orders = tables.get("orders")
    if orders is None or "order_date" not in orders:
        raise SchemaError("The 'orders' table with an 'order_date' column is required to find the data period.")
    if orders.empty:
        raise InsufficientHistoryError("The 'orders' table has no rows; there is no period to analyse.")
    if isinstance(orders, ParquetTable):
        first, last = orders.column_range("order_date")
        if first is None:
            raise InsufficientHistoryError(
                f"The 'orders' table ('{orders.path}') has no order dates; there is no period to analyse."
            )
    else:
        first, last = orders["order_date"].min(), orders["order_date"].max()
    return pd.Timestamp(first).normalize(), pd.Timestamp(last).normalize()


def resolve_as_of(tables: Mapping[str, pd.DataFrame], as_of: str | pd.Timestamp | None) -> pd.Timestamp:
    """The cut-off day T: the given date, or the day of the last order when None (as a day, T includes the
    whole of that day: see :func:`cutoff_end`).

    The day after the last order is accepted (an export taken the next morning); a later date is refused: the
    snapshot would silently call every customer inactive.
    """
    start, end = data_period(tables)
    if as_of is None:
        return end
    try:
        ts = as_day(as_of, "as_of", error=SchemaError)
    except SchemaError as exc:
        raise SchemaError(f"The as-of date {as_of!r} is not a date; pass it as YYYY-MM-DD.") from exc
    latest = end + pd.Timedelta(days=1)
    if ts > latest:
        raise InsufficientHistoryError(
            f"The as-of date {ts.date()} is after the last order in the data ({end.date()}); pass a date on or "
            f"before {latest.date()}, or load newer data."
        )
    if ts < start:
        raise InsufficientHistoryError(
            f"The as-of date {ts.date()} is before the first order in the data ({start.date()}); pass a later date."
        )
    return ts


def cutoff_grid(
    data_start: pd.Timestamp,
    data_end: pd.Timestamp,
    *,
    horizon_days: int,
    min_history_days: int,
    freq: str = "MS",
    max_cutoffs: int = 12,
) -> list[pd.Timestamp]:
    """Past cut-offs T on a calendar grid with ``min_history_days`` of history before T and a complete label
    window (T, T + horizon] inside the data; newest last, at most ``max_cutoffs`` (the newest ones).

    A cut-off is the last day of a period: with ``freq="MS"`` the grid is month ends (T = the day before each
    month start), so a cut-off's snapshot covers whole months.
    """
    first = pd.Timestamp(data_start) + pd.Timedelta(days=min_history_days)
    last = pd.Timestamp(data_end) - pd.Timedelta(days=horizon_days)
    if last < first:
        return []
    starts = pd.date_range(first + pd.Timedelta(days=1), last + pd.Timedelta(days=1), freq=freq)
    grid = [s - pd.Timedelta(days=1) for s in starts]
    grid = [t for t in grid if first <= t <= last]
    return grid[-max_cutoffs:]
