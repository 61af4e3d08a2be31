"""Checks at the boundary of a library function: required columns, date columns and date arguments.

Every function that takes a table checks it here, so the one-sentence errors read the same everywhere: what
(the table and the column, quoted), what was expected, what was there, and how to fix it::

    Table 'orders' lacks the required column(s) 'order_date', 'amount'; got columns ['customer_id']; map them in
    the data config.

- :func:`require_columns`: every required column present, all missing ones named in one error;
- :func:`require_naive_datetime`: a date column is naive ``datetime64`` (a time zone is refused, never dropped);
- :func:`as_day`: a date argument (``as_of``, ``calibration_end``...) as the naive midnight Timestamp of its day,
  refusing non-dates, missing values, time zones and years ``datetime64[ns]`` cannot hold.

The error class is the caller's (``SchemaError`` for input tables, ``ModelError`` for a model's own inputs,
``ConfigError`` for arguments, ...): each inherits the matching built-in (see :mod:`loyalist.errors`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from loyalist.errors import ConfigError, SchemaError

__all__ = ["YEARS", "missing_columns", "require_columns", "require_naive_datetime", "as_day"]

#: First and last year whose every day ``datetime64[ns]`` holds.
YEARS: tuple[int, int] = (1678, 2261)


def _quoted(names: Iterable[object]) -> str:
    return ", ".join(repr(str(n)) for n in names)


def missing_columns(columns: Iterable[object], required: Iterable[str]) -> list[str]:
    """The ``required`` names (in their order, without repeats) that are not among ``columns``."""
    present = {str(c) for c in columns}
    return [c for c in dict.fromkeys(required) if c not in present]


def require_columns(
    frame: pd.DataFrame | Sequence[object],
    required: Iterable[str],
    *,
    what: str,
    fix: str,
    kind: str = "required",
    show_columns: bool = True,
    error: type[Exception] = SchemaError,
) -> None:
    """Raise ``error`` naming every ``required`` column absent from ``frame`` (a DataFrame or its column names).

    Parameters
    ----------
    what : str
        The table as the sentence starts, e.g. ``"Table 'orders'"`` or ``"The snapshot"``.
    fix : str
        How to fix it, a clause ending the sentence (without the full stop), e.g. ``"map them in the data config"``.
    kind : str
        The adjective before "column(s)": ``"required"``, ``"feature"``, ``"BTYD summary"``...
    show_columns : bool
        Add the columns that are there (``got columns [...]``); off for wide tables such as the snapshot.

    The message: ``{what} lacks the {kind} column(s) 'a', 'b'; got columns [...]; {fix}.``
    """
    columns = list(frame.columns) if isinstance(frame, pd.DataFrame) else list(frame)
    missing = missing_columns(columns, required)
    if not missing:
        return
    got = f"got columns {[str(c) for c in columns]}; " if show_columns else ""
    raise error(f"{what} lacks the {kind} column(s) {_quoted(missing)}; {got}{fix}.")


def require_naive_datetime(frame: pd.DataFrame, column: str, *, what: str, fix: str,
                           error: type[Exception] = SchemaError) -> None:
    """Raise ``error`` unless ``frame[column]`` is naive ``datetime64`` (any unit).

    Dates are local business time throughout loyalist; a column with a time zone is refused (dropping the zone
    would silently move events across a cut-off), naming the column and the fix.
    """
    dtype = frame[column].dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        raise error(f"Column {column!r} of {what} must hold naive dates (local business time); got {dtype}; "
                    "drop the time zone (tz_convert to local time, then tz_localize(None)).")
    if not pd.api.types.is_datetime64_any_dtype(dtype):
        raise error(f"Column {column!r} of {what} must be naive datetime64; got dtype {dtype}; {fix}.")


def as_day(value: object, name: str = "as_of", *, example: str = "2024-06-30",
           error: type[Exception] = ConfigError) -> pd.Timestamp:
    """The day of a date argument: a naive midnight ``datetime64[ns]`` Timestamp (a time of day is dropped).

    Raises ``error`` (default :class:`~loyalist.errors.ConfigError`) naming the parameter when ``value`` is not
    a date, is missing, carries a time zone, or falls outside the years ``datetime64[ns]`` holds (:data:`YEARS`).
    """
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise error(f"The {name!r} parameter must be a date such as {example!r}; got {value!r}.") from exc
    if ts is pd.NaT or pd.isna(ts) or not YEARS[0] <= ts.year <= YEARS[1]:
        raise error(f"The {name!r} parameter must be a date such as {example!r} (years {YEARS[0]}-{YEARS[1]}); "
                    f"got {value!r}.")
    if ts.tzinfo is not None:
        raise error(f"The {name!r} parameter must be a naive date (local business time, like the tables); got "
                    f"{value!r}; drop the time zone.")
    return ts.as_unit("ns").normalize()
